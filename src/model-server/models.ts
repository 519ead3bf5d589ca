/**
 * Model versions loaded for inference. The active version (model_versions.is_active) serves requests
 * that name no version; a request may name any stored version. Each loaded model has its own
 * RequestBatcher, so concurrent requests for it become one forward pass.
 */
import type { DataSource } from 'typeorm';
import type { Detection, InputImage } from '../ml/model/attribute-rcnn';
import { resolveConfig } from '../ml/model/config';
import { loadPredictor, type EngineName, type Predictor } from '../ml/onnx/engine';
import { RequestBatcher, type BatcherOptions } from './batcher';
import { afterBackendError, BackendAborted } from '../ml/backend';
import { ModelVersionNotFound, activeModelVersionId, readModelVersion, type ModelVersionRow } from '../db/model-versions';

export { ModelVersionNotFound } from '../db/model-versions';

/**
 * Builds the model of a stored version on an engine (default tfjs): its config, then its
 * safetensors weights (all tensors required); the onnx engine exports it once and caches the export beside them.
 */
export function instantiateModelVersion(
  version: ModelVersionRow,
  engine: EngineName = 'tfjs',
  options: { threads?: number } = {},
): Promise<Predictor> {
  return loadPredictor(resolveConfig(version.config, `model version ${version.id} config`), version.weightsPath, engine, options);
}

export interface LoadedModel {
  version: ModelVersionRow;
  model: Predictor;
  batcher: RequestBatcher<InputImage, Detection[]>;
}

/** A loaded (or loading) version and who is using it: an evicted model is disposed once its last user is done. */
interface Entry {
  loading: Promise<LoadedModel>;
  users: number;
  evicted: boolean;
}

export class ModelRegistry {
  private readonly loaded = new Map<number, Entry>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly batching: BatcherOptions = {},
    /** How many versions stay loaded (least recently used ones are disposed once no request or job uses them). */
    private readonly capacity = 2,
    readonly engine: EngineName = 'tfjs',
    /** ONNX Runtime's intra-op threads on the onnx engine (KFASHION_ONNX_THREADS; undefined: one per physical core). */
    private readonly onnxThreads?: number,
  ) {}

  /** The model of `versionId`, or of the active version when absent; loads it on first use. For reading its version only: predict through use(). */
  async get(versionId?: number | null): Promise<LoadedModel> {
    return this.use(versionId, async (model) => model);
  }

  /**
   * Runs `work` with the model of `versionId` (or the active version), which stays undisposed until
   * `work` settles even when loading other versions evicts it meanwhile: a batch in flight, or a job
   * predicting page after page, never meets a disposed model.
   */
  async use<T>(versionId: number | null | undefined, work: (model: LoadedModel) => Promise<T>): Promise<T> {
    const entry = await this.entryOf(versionId);
    try {
      const model = await entry.loading;
      this.evict();
      return await work(model);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) await disposeEntry(entry);
    }
  }

  /** The entry of a version, counted as used (before any other task can evict it). */
  private async entryOf(versionId: number | null | undefined): Promise<Entry> {
    const id = versionId ?? (await activeModelVersionId(this.dataSource));
    if (id === null) throw new ModelVersionNotFound('no model version is active: activate one (activateModelVersion) or name one');
    let entry = this.loaded.get(id);
    if (!entry) {
      const created: Entry = { loading: this.load(id), users: 0, evicted: false };
      created.loading.catch(() => this.loaded.get(id) === created && this.loaded.delete(id));
      entry = created;
    }
    // (Re-)insert: Map order is recency order.
    this.loaded.delete(id);
    this.loaded.set(id, entry);
    entry.users++;
    return entry;
  }

  /** Ids of the versions currently loaded (readiness reports them). */
  async loadedIds(): Promise<number[]> {
    const ids: number[] = [];
    for (const [id, entry] of this.loaded) {
      if (
        await entry.loading.then(
          () => true,
          () => false,
        )
      )
        ids.push(id);
    }
    return ids;
  }

  private async load(id: number): Promise<LoadedModel> {
    const version = await readModelVersion(this.dataSource, id);
    let model: Predictor;
    try {
      model = await instantiateModelVersion(version, this.engine, { threads: this.onnxThreads });
    } catch (error) {
      throw await this.afterBackendError(error);
    }
    const batcher = new RequestBatcher<InputImage, Detection[]>((images) => model.predict(images), this.batching);
    return { version, model, batcher };
  }

  /**
   * Call with any error of a job or request that used a model: a backend trap replaces the backend (see
   * src/ml/backend.ts) and unloads every model, whose tensors died with it; the next request loads its model
   * again (until then /ready answers 503). Returns the error to report (BackendAborted for a trap).
   */
  async afterBackendError(error: unknown): Promise<unknown> {
    const reported = await afterBackendError(error);
    if (reported instanceof BackendAborted) await this.dispose();
    return reported;
  }

  /** Drops the least recently used versions over capacity; one still in use is disposed by its last user. */
  private evict(): void {
    for (const [id, entry] of this.loaded) {
      if (this.loaded.size <= this.capacity) return;
      this.loaded.delete(id);
      entry.evicted = true;
      if (entry.users === 0) void disposeEntry(entry);
    }
  }

  /** Disposes every model now (shutdown, or a backend whose tensors are gone). */
  async dispose(): Promise<void> {
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    for (const entry of entries) await disposeEntry(entry);
  }
}

async function disposeEntry(entry: Entry): Promise<void> {
  (await entry.loading.catch(() => null))?.model.dispose();
}
