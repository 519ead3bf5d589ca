/**
 * The API's client of a model server's `POST /predict`. Clients of the API see what went wrong in
 * their terms (unreachable, cannot decode, no such version), never the model server's address or
 * its own messages; those go to the server log.
 */
import { GraphQLError } from 'graphql';
import type { StoredDetection } from '../../db/predictions';
import { badInput } from '../errors';
import type { MemoryBudget } from '../../ml/train/step-memory';

export interface ModelServerPrediction {
  width: number;
  height: number;
  detections: StoredDetection[];
  modelVersion: { id: number; name: string };
}

type Log = (message: string, error?: unknown) => void;

export class ModelServerClient {
  constructor(
    /** Base URL of a model server; undefined when none is configured. */
    private readonly baseUrl: string | undefined,
    private readonly log: Log,
  ) {}

  /** Detections in `bytes` (an encoded photo) by a model version (default: the active one). */
  async predict(bytes: Buffer, versionId: number | null): Promise<ModelServerPrediction> {
    if (!this.baseUrl) throw new GraphQLError('no model server is configured to analyse images with', { extensions: { code: 'MODEL_SERVER_UNAVAILABLE' } });
    const url = new URL('/predict', this.baseUrl);
    if (versionId !== null) url.searchParams.set('modelVersionId', String(versionId));
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    } catch (error) {
      this.log(`the model server at ${url.origin} cannot be reached:`, error);
      throw new GraphQLError('the model server cannot be reached', { extensions: { code: 'MODEL_SERVER_UNAVAILABLE' } });
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) throw this.refusal(response.status, body, versionId);
    return body as unknown as ModelServerPrediction;
  }

  /**
   * What one training step may use on the model server (its /health `trainingMemory`), or null when no model
   * server is configured, it cannot be reached or does not know: the model server checks again before a run.
   */
  async trainingMemory(): Promise<MemoryBudget | null> {
    if (!this.baseUrl) return null;
    try {
      const response = await fetch(new URL('/health', this.baseUrl));
      const budget = ((await response.json()) as { trainingMemory?: unknown }).trainingMemory as Partial<MemoryBudget> | null | undefined;
      return response.ok && typeof budget?.bytes === 'number' && typeof budget.of === 'string' ? { bytes: budget.bytes, of: budget.of } : null;
    } catch (error) {
      this.log('the model server cannot be reached for its training memory:', error);
      return null;
    }
  }

  private refusal(status: number, body: Record<string, unknown>, versionId: number | null): GraphQLError {
    if (status === 404) {
      const message = versionId === null ? 'no model version is active: activate one (activateModelVersion) or name modelVersionId' : `model version ${versionId} does not exist`;
      return new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } });
    }
    if (status === 415 || status === 413 || status === 400) return badInput('uploadId', 'the model server cannot decode this photo');
    this.log(`the model server answered HTTP ${status}:`, body.error ?? body);
    return new GraphQLError(`the model server failed to analyse the photo (HTTP ${status})`, { extensions: { code: 'MODEL_SERVER_ERROR' } });
  }
}
