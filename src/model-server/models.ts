/**
 * Model versions loaded for inference. The active version (model_versions.is_active) serves requests
 * that name no version; a request may name any stored version. Each loaded model has its own
 * RequestBatcher, so concurrent requests for it become one forward pass.
 */
import type { DataSource } from 'typeorm';
import type { Detection, InputImage } from '../ml/model/attribute-rcnn';
import { resolveConfig } from '../ml/model/config';
import { loadPredictor, resolveEngine, type EngineName, type Predictor } from '../ml/onnx/engine';
import { RequestBatcher, type BatcherOptions } from './batcher';
import { afterBackendError, BackendAborted } from '../ml/backend';
import { ModelVersionNotFound, activeModelVersionId, readModelVersion, type ModelVersionRow } from '../db/model-versions';

export { ModelVersionNotFound } from '../db/model-versions';

/**
 * Builds the model of a stored version on an engine (default: KFASHION_ENGINE, else tfjs): its config, then its
 * safetensors weights (all tensors required); the onnx engine exports it once and caches the export beside them.
 */
export function instantiateModelVersion(version: ModelVersionRow, engine: EngineName = resolveEngine()): Promise<Predictor> {
  return loadPredictor(resolveConfig(version.config, `model version ${version.id} config`), version.weightsPath, engine);
}

export interface LoadedModel {
  version: ModelVersionRow;
  model: Predictor;
  batcher: RequestBatcher<InputImage, Detection[]>;
}

export class ModelRegistry {
  private readonly loaded = new Map<number, Promise<LoadedModel>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly batching: BatcherOptions = {},
    /** How many versions stay loaded (least recently used ones are disposed). */
    private readonly capacity = 2,
    readonly engine: EngineName = resolveEngine(),
  ) {}

  /** The model of `versionId`, or of the active version when absent; loads it on first use. */
  async get(versionId?: number | null): Promise<LoadedModel> {
    const id = versionId ?? (await activeModelVersionId(this.dataSource));
    if (id === null) throw new ModelVersionNotFound('no model version is active: activate one (activateModelVersion) or name one');
    let entry = this.loaded.get(id);
    if (!entry) {
      entry = this.load(id);
      this.loaded.set(id, entry);
      entry.catch(() => this.loaded.delete(id));
    } else {
      // Re-insert: Map order is recency order.
      this.loaded.delete(id);
      this.loaded.set(id, entry);
    }
    const model = await entry;
    await this.evict();
    return model;
  }

  /** Ids of the versions currently loaded (readiness reports them). */
  async loadedIds(): Promise<number[]> {
    const ids: number[] = [];
    for (const [id, entry] of this.loaded) {
      if (await entry.then(() => true, () => false)) ids.push(id);
    }
    return ids;
  }

  private async load(id: number): Promise<LoadedModel> {
    const version = await readModelVersion(this.dataSource, id);
    let model: Predictor;
    try {
      model = await instantiateModelVersion(version, this.engine);
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

  private async evict(): Promise<void> {
    while (this.loaded.size > this.capacity) {
      const [oldest, entry] = this.loaded.entries().next().value as [number, Promise<LoadedModel>];
      this.loaded.delete(oldest);
      const loaded = await entry.catch(() => null);
      loaded?.model.dispose();
    }
  }

  async dispose(): Promise<void> {
    for (const entry of this.loaded.values()) (await entry.catch(() => null))?.model.dispose();
    this.loaded.clear();
  }
}
