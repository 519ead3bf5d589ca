/**
 * The API's client of a model server's `POST /predict`. Clients of the API see what went wrong in
 * their terms (unreachable, too slow, cannot decode, no such version), never the model server's address or
 * its own messages; those go to the server log. Every call carries the model server's token when one
 * is set, and has deadlines: a model server that accepts and then stalls costs a request at most
 * `timeoutMs`, not forever.
 */
import { GraphQLError } from 'graphql';
import type { StoredDetection } from '../../db/predictions';
import { badInput, ErrorCode } from '../errors';
import { globalId } from '../ids';
import { postBytes, PostTimeout } from '../../util/http-post';
import type { MemoryBudget } from '../../ml/train/step-memory';
import { GarmentEmbedding, InvalidEmbedding } from '../../ml/embedding/garment-embedding';

export interface ModelServerPrediction {
  width: number;
  height: number;
  detections: StoredDetection[];
  modelVersion: { id: number; name: string };
}

type Log = (message: string, error?: unknown) => void;

export interface ModelServerSettings {
  /** Base URL of a model server; undefined when none is configured. */
  url: string | undefined;
  /** Sent as `Authorization: Bearer <token>` (the model server's MODEL_SERVER_TOKEN). */
  token: string | undefined;
  connectTimeoutMs: number;
  /** The whole call, the model's answer included. */
  timeoutMs: number;
}

/** The deadlines of a call when the server's options give none (MODEL_SERVER_CONNECT_TIMEOUT_MS and MODEL_SERVER_TIMEOUT_MS, read by the CLI, set them). */
export const MODEL_SERVER_TIMEOUT_DEFAULTS = { connectTimeoutMs: 5_000, timeoutMs: 60_000 } as const;
/** An answer is a few hundred detections at most; anything near this is not one. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class ModelServerClient {
  constructor(
    private readonly settings: ModelServerSettings,
    private readonly log: Log,
  ) {}

  /** Detections in `bytes` (an encoded photo) by a model version (default: the active one). */
  async predict(bytes: Buffer, versionId: number | null): Promise<ModelServerPrediction> {
    const { url: baseUrl, token, connectTimeoutMs, timeoutMs } = this.settings;
    if (!baseUrl)
      throw new GraphQLError('no model server is configured to analyse images with', {
        extensions: { code: ErrorCode.ModelServerUnavailable },
      });
    const url = new URL('/predict', baseUrl);
    if (versionId !== null) url.searchParams.set('modelVersionId', String(versionId));
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    let answer: { status: number; body: Buffer };
    try {
      answer = await postBytes(url, bytes, headers, { connectTimeoutMs, timeoutMs, maxResponseBytes: MAX_ANSWER_BYTES });
    } catch (error) {
      throw this.unreachable(url, error);
    }
    const body = parseObject(answer.body);
    if (answer.status < 200 || answer.status > 299) throw this.refusal(answer.status, body, versionId);
    return this.withEmbeddings(body as unknown as ModelServerPrediction);
  }

  /** The answer's embeddings (JSON: base64 int8) decoded and checked; a malformed one is the model server's failure. */
  private withEmbeddings(prediction: ModelServerPrediction): ModelServerPrediction {
    try {
      const detections = prediction.detections.map((d, i) => ({
        ...d,
        embedding: d.embedding == null ? null : GarmentEmbedding.fromJson(d.embedding, `detections[${i}].embedding`),
      }));
      return { ...prediction, detections };
    } catch (error) {
      if (!(error instanceof InvalidEmbedding)) throw error;
      this.log('the model server answered a malformed embedding:', error.message);
      throw new GraphQLError('the model server failed to analyse the photo (malformed answer)', {
        extensions: { code: ErrorCode.ModelServerError },
      });
    }
  }

  /**
   * What one training step may use on the model server (its /health `trainingMemory`), or null when no model
   * server is configured, it cannot be reached or does not know: the model server checks again before a run.
   */
  async trainingMemory(): Promise<MemoryBudget | null> {
    const { url: baseUrl, connectTimeoutMs } = this.settings;
    if (!baseUrl) return null;
    try {
      // /health answers from memory: the connect deadline bounds the whole call.
      const response = await fetch(new URL('/health', baseUrl), { signal: AbortSignal.timeout(connectTimeoutMs) });
      const budget = ((await response.json()) as { trainingMemory?: unknown }).trainingMemory as Partial<MemoryBudget> | null | undefined;
      return response.ok && typeof budget?.bytes === 'number' && typeof budget.of === 'string'
        ? { bytes: budget.bytes, of: budget.of }
        : null;
    } catch (error) {
      this.log('the model server cannot be reached for its training memory:', error);
      return null;
    }
  }

  private unreachable(url: URL, error: unknown): GraphQLError {
    if (error instanceof PostTimeout && error.phase === 'response') {
      this.log(`the model server at ${url.origin} did not answer in time:`, error);
      return new GraphQLError(`the model server did not answer within ${error.ms / 1000} s`, {
        extensions: { code: ErrorCode.ModelServerTimeout },
      });
    }
    this.log(`the model server at ${url.origin} cannot be reached:`, error);
    return new GraphQLError('the model server cannot be reached', { extensions: { code: ErrorCode.ModelServerUnavailable } });
  }

  private refusal(status: number, body: Record<string, unknown>, versionId: number | null): GraphQLError {
    if (status === 404) {
      const message =
        versionId === null
          ? 'no model version is active: activate one (activateModelVersion) or name modelVersionId'
          : `model version ${globalId('ModelVersion', versionId)} does not exist`;
      return new GraphQLError(message, { extensions: { code: ErrorCode.NotFound } });
    }
    if (status === 415 || status === 413 || status === 400) return badInput('uploadId', 'the model server cannot decode this photo');
    this.log(`the model server answered HTTP ${status}:`, body.error ?? body);
    // 401: the API's MODEL_SERVER_TOKEN is not the model server's; the log says so, the client sees a failure.
    return new GraphQLError(`the model server failed to analyse the photo (HTTP ${status})`, {
      extensions: { code: ErrorCode.ModelServerError },
    });
  }
}

function parseObject(bytes: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
