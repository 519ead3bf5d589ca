/**
 * The model server's HTTP side (plain node:http), for the API and for load balancers:
 *   GET  /health   the process is up, which backend it computes on, why better ones were not used, the GPUs,
 *                  and what one training step may use (trainingMemory: {bytes, of}, null when unknown)
 *   GET  /ready    the backend is initialised and the active model version is loaded (503 otherwise)
 *   POST /predict  body = image bytes (JPEG, PNG or WebP, at most `maxBodyBytes`), optional
 *                  ?modelVersionId=N → {"image", "width", "height", "detections", "modelVersion"}
 *                  with detections as `kfashion predict --json` prints them (src/cli/predict.ts).
 *   POST /embed    body = image bytes as for /predict, ?boxes=x1,y1,x2,y2[,x1,…] (at most MAX_EMBED_BOXES boxes in the
 *                  image's pixels) and optional ?modelVersionId=N → {"embeddings", "modelVersion"}: each box's
 *                  appearance embedding ({scale, vector}, src/ml/embedding) or null, in the boxes' order.
 * Concurrent /predict requests for one model are batched into one forward pass (models.ts).
 *
 * It binds to loopback unless told otherwise. Bound anywhere else it needs a token, and /predict and
 * /ready then answer only requests carrying `Authorization: Bearer <token>` (the API sends it): the
 * port must not let whoever reaches it run any model version. /health stays open for load balancers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import { BackendAborted, type BackendInfo } from '../ml/backend';
import type { Detection, InputImage } from '../ml/model/attribute-rcnn';
import { trainingMemoryBudget } from '../ml/train/step-memory';
import { decodeImage, UnsupportedImageError } from '../images/image-input';
import { backendSummary } from '../ml/doctor/report';
import { ModelRegistry, ModelVersionNotFound, type LoadedModel } from './models';
import { isLoopbackHost, listen, localUrl } from '../util/listen';
import { DEFAULT_MODEL_SERVER_HOST, DEFAULT_MODEL_SERVER_PORT } from './address';

export { DEFAULT_MODEL_SERVER_HOST, DEFAULT_MODEL_SERVER_PORT };
import { parsePositiveId } from '../util/ids';
import { sendJson } from '../util/http-json';
import { BodyTooLargeError, readBoundedBody } from '../util/http-body';

export interface ModelHttpOptions {
  registry: ModelRegistry;
  backend: BackendInfo;
  port?: number;
  /** Address to bind (default loopback); any other needs `token`. */
  host?: string;
  /** The secret callers of /predict and /ready must send as a bearer token (at least TOKEN_MIN_LENGTH characters). */
  token?: string;
  maxBodyBytes?: number;
  log?: (message: string, error?: unknown) => void;
}

export interface RunningModelHttp {
  port: number;
  /** The address bound to. */
  host: string;
  /** Where a client on this machine reaches the server. */
  url: string;
  /** Whether /predict and /ready need the token. */
  requiresToken: boolean;
  server: http.Server;
  close(): Promise<void>;
}

export const DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Shortest token accepted: a guessable one would protect nothing. */
export const TOKEN_MIN_LENGTH = 16;

/** Refuses a bind the port could be abused through: off loopback without a token, or with a short token. */
export function checkAccess(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < TOKEN_MIN_LENGTH) {
    throw new Error(
      `MODEL_SERVER_TOKEN: expected at least ${TOKEN_MIN_LENGTH} characters, got ${token.length} (e.g. \`openssl rand -hex 32\`)`,
    );
  }
  if (token === undefined && !isLoopbackHost(host)) {
    throw new Error(
      `MODEL_SERVER_HOST: "${host}" is not a loopback address, so anyone who reaches it could run /predict: set MODEL_SERVER_TOKEN (the API sends the same value)`,
    );
  }
}

/** Compares the request's bearer token with the expected one in constant time (digests, so lengths leak nothing). */
function hasToken(request: http.IncomingMessage, token: string): boolean {
  const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The posted image bytes; a body over the bound is a 413 naming it. */
async function readImageBody(request: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  try {
    return await readBoundedBody(request, maxBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new HttpError(413, `image larger than ${maxBytes} bytes`);
    throw error;
  }
}

function parseVersionId(url: URL): number | null {
  const raw = url.searchParams.get('modelVersionId');
  if (raw === null || raw === '') return null;
  const id = parsePositiveId(raw);
  if (id === null) throw new HttpError(400, `modelVersionId: "${raw}" is not an id`);
  return id;
}

/** Most boxes one /embed request may ask for (a photo holds a handful of garments). */
export const MAX_EMBED_BOXES = 64;

/** ?boxes= as flat x1, y1, x2, y2 values, each box of positive size inside the image; errors name the box. */
function parseBoxes(url: URL, image: { width: number; height: number }): Float32Array {
  const raw = url.searchParams.get('boxes');
  if (!raw) throw new HttpError(400, 'boxes: give x1,y1,x2,y2 of each box, comma-separated');
  const values = raw.split(',').map(Number);
  if (values.length % 4 !== 0 || values.length / 4 > MAX_EMBED_BOXES)
    throw new HttpError(400, `boxes: expected 4 numbers per box and at most ${MAX_EMBED_BOXES} boxes, got ${values.length} numbers`);
  for (let k = 0; k < values.length / 4; k++) {
    const [x1, y1, x2, y2] = values.slice(4 * k, 4 * k + 4);
    const inside = [x1, y1, x2, y2].every(Number.isFinite) && x1 >= 0 && y1 >= 0 && x2 <= image.width && y2 <= image.height;
    if (!inside || !(x2 > x1 && y2 > y1))
      throw new HttpError(400, `boxes[${k}]: expected x1 < x2 and y1 < y2 inside the ${image.width}×${image.height} image`);
  }
  return Float32Array.from(values);
}

/** Work on a loaded model; a backend trap answers 503 (the registry has replaced the backend). */
async function onBackend<T>(registry: ModelRegistry, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const reported = await registry.afterBackendError(error);
    if (reported instanceof BackendAborted)
      throw new HttpError(503, "the model server's backend failed and was restarted; retry the request");
    throw reported;
  }
}

/** One image through the model's batcher. */
function runBatch(registry: ModelRegistry, loaded: LoadedModel, image: InputImage): Promise<Detection[]> {
  return onBackend(registry, () => loaded.batcher.run(image));
}

/** The image a POST carries as its body, decoded (400 when the body is empty). */
async function readPostedImage(request: http.IncomingMessage, maxBodyBytes: number): Promise<InputImage> {
  const body = await readImageBody(request, maxBodyBytes);
  if (body.length === 0) throw new HttpError(400, 'empty body: POST the image bytes');
  return decodeImage(body, 'request body');
}

/** The model version an answer names. */
const versionOf = (loaded: LoadedModel) => ({ id: loaded.version.id, name: loaded.version.name });

/** POST /predict: decodes the body, predicts it with the asked (or active) model version. */
async function predict(
  registry: ModelRegistry,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
  maxBodyBytes: number,
): Promise<void> {
  const versionId = parseVersionId(url);
  const image = await readPostedImage(request, maxBodyBytes);
  const { loaded, detections } = await registry.use(versionId, async (loaded) => ({
    loaded,
    detections: await runBatch(registry, loaded, image),
  }));
  sendJson(response, 200, {
    image: url.searchParams.get('name') ?? 'request body',
    width: image.width,
    height: image.height,
    detections,
    modelVersion: versionOf(loaded),
  });
}

/** POST /embed: decodes the body, embeds the given boxes of it with the asked (or active) model version. */
async function embed(
  registry: ModelRegistry,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
  maxBodyBytes: number,
): Promise<void> {
  const versionId = parseVersionId(url);
  const image = await readPostedImage(request, maxBodyBytes);
  const boxes = parseBoxes(url, image);
  const { loaded, embeddings } = await registry.use(versionId, async (loaded) => ({
    loaded,
    embeddings: (await onBackend(registry, () => loaded.model.embedBoxes([{ image, boxes }])))[0],
  }));
  sendJson(response, 200, { embeddings, modelVersion: versionOf(loaded) });
}

/** GET /ready: 200 once the active model version is loaded, else 503 with the reason. */
async function ready(registry: ModelRegistry, backend: BackendInfo, response: http.ServerResponse): Promise<void> {
  try {
    const loaded = await registry.get(null);
    sendJson(response, 200, { status: 'ready', backend: backend.name, device: backend.device, modelVersion: loaded.version.id });
  } catch (error) {
    const reason = error instanceof ModelVersionNotFound ? error.message : `active model cannot be loaded: ${(error as Error).message}`;
    sendJson(response, 503, { status: 'not ready', backend: backend.name, reason });
  }
}

/** The answer to a failed request: the client's own mistakes by name, anything else a logged 500 without internals. */
function sendFailure(response: http.ServerResponse, error: unknown, logUnexpected: (error: unknown) => void): void {
  let status = 500;
  let message = 'internal error';
  if (error instanceof HttpError) ({ status, message } = error);
  else if (error instanceof UnsupportedImageError) [status, message] = [415, error.message];
  else if (error instanceof ModelVersionNotFound) [status, message] = [404, error.message];
  else logUnexpected(error);
  if (!response.headersSent) {
    response.setHeader('connection', 'close');
    sendJson(response, status, { error: message });
  } else response.destroy();
}

export async function startModelHttp(options: ModelHttpOptions): Promise<RunningModelHttp> {
  const host = options.host ?? DEFAULT_MODEL_SERVER_HOST;
  checkAccess(host, options.token);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const log = options.log ?? ((message: string, error?: unknown) => console.error(message, error ?? ''));
  const { registry, backend } = options;
  // One nvidia-smi call at start-up, shared by every /health: a health check must stay cheap.
  const summary = backendSummary(backend);
  // GPU memory is read once too (nvidia-smi); the wasm limit and free RAM are read per request.
  const gpuBudget = backend.device === 'cuda' ? trainingMemoryBudget(backend) : null;

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = async () => {
      if (url.pathname === '/health' && request.method === 'GET') {
        // trainingMemory: what one training step may use here; the API checks startTraining against it.
        return sendJson(response, 200, {
          status: 'ok',
          ...(await summary),
          trainingMemory: await (gpuBudget ?? trainingMemoryBudget(backend)),
        });
      }
      if (options.token !== undefined && !hasToken(request, options.token)) {
        response.setHeader('www-authenticate', 'Bearer');
        throw new HttpError(401, 'send the model server token as "Authorization: Bearer <token>"');
      }
      if (url.pathname === '/ready' && request.method === 'GET') return ready(registry, backend, response);
      if (url.pathname === '/predict') {
        if (request.method !== 'POST') throw new HttpError(405, 'POST the image bytes to /predict');
        return predict(registry, request, response, url, maxBodyBytes);
      }
      if (url.pathname === '/embed') {
        if (request.method !== 'POST') throw new HttpError(405, 'POST the image bytes to /embed');
        return embed(registry, request, response, url, maxBodyBytes);
      }
      throw new HttpError(404, `no route ${request.method} ${url.pathname}`);
    };
    route().catch((error: unknown) =>
      sendFailure(response, error, (unexpected) => log(`model server: ${request.method} ${url.pathname} failed:`, unexpected)),
    );
  });

  const port = await listen(server, options.port ?? DEFAULT_MODEL_SERVER_PORT, host);
  return {
    port,
    host,
    url: localUrl(host, port),
    requiresToken: options.token !== undefined,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
