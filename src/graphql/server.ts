/**
 * The API's one HTTP server (plain node:http): POST/GET /graphql through Apollo Server, the
 * offline explorer page at GET /graphql for browsers, GET /health, POST /uploads, and the image routes.
 * Everything a request needs (search, services, routes) is built once here at start and closed at
 * stop; stopping drains in-flight requests before closing.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { DataSource } from 'typeorm';
import { SearchService } from '../db/search';
import { VocabularyCache } from '../db/search-vocabulary';
import { FacetCounts } from '../db/search-counts';
import { GarmentIdFilter } from '../db/garment-id-filter';
import { SimilarityIndexes } from '../similarity/similarity-indexes';
import { DEFAULT_SIMILARITY_LIMITS, SimilarGarments, type SimilarityLimits } from '../similarity/similar-garments';
import { RequestQueryTracker } from '../db/request-queries';
import { DatabaseProbe, isDatabaseUnavailable } from '../db/health';
import { MAX_PAGE_SIZE } from './connection';
import { GraphQLContext, ImageUrls } from './context';
import { InvalidToken, RequestAuth } from './auth';
import { denial, type Principal, type Role } from '../auth/roles';
import { DATABASE_UNAVAILABLE_MESSAGE, ErrorCode, type ErrorLog } from './errors';
import { explorerPage } from './explorer';
import { ImageRoutes } from './image-routes';
import { ExpensiveGate } from './expensive-gate';
import { queryLimits } from './limits';
import { OperationPolicy } from './operation-policy';
import { RequestDeadlines } from './request-deadline';
import { Loaders } from './loaders';
import { buildApiSchema } from './schema';
import { createApiServices, type ApiServices } from './services';
import { attachWebSocket, type WebSocketGraphql } from './websocket';
import { WebConsole } from './web-console';
import { weightsDir } from '../ml/weights/catalogue';
import { dataDir } from '../util/data-dir';
import { listen } from '../util/listen';
import { BodyTooLargeError, readBoundedBody } from '../util/http-body';
import { sendJson } from '../util/http-json';
import { UploadStore } from '../uploads/upload-store';
import { handleUpload, UPLOADS_PATH } from './upload-route';
import { MODEL_SERVER_TIMEOUT_DEFAULTS, type ModelServerSettings } from './services/model-server-client';

export interface ApiServerOptions {
  dataSource: DataSource;
  /** 0 picks a free port (tests). */
  port?: number;
  host?: string;
  /** Production defaults: introspection and the query page off (the CLI sets it from NODE_ENV=production). */
  production?: boolean;
  /** Schema introspection, over HTTP and WebSocket alike; when off, error messages carry no "Did you mean" hints either. Default: on unless `production`. */
  introspection?: boolean;
  /** The query page at GET /graphql; default: on unless `production`. */
  explorer?: boolean;
  /** Prefix for image URLs in responses (e.g. https://api.example.com); default: relative URLs. */
  publicUrl?: string;
  /** Data folder: uploaded photos are under its `uploads/` (default: `.kfashion`; the CLI passes KFASHION_DATA_DIR). */
  dataDir?: string;
  /** The only folder `startTraining(initWeights:)` may name a file in (default: `<dataDir>/weights`; the CLI passes KFASHION_WEIGHTS_DIR). */
  weightsDir?: string;
  /** Base URL of the model server analyzeImage sends photos to (the CLI passes MODEL_SERVER_URL; none: analyzeImage is unavailable). */
  modelServerUrl?: string;
  /**
   * Run a lease watchdog in this process with this lease timeout (seconds), so that a run or chunk whose
   * model server died goes back to the queue even when no other model server is left to notice; default none.
   */
  leaseTimeoutSeconds?: number;
  /** Images per prediction chunk when predictImages gives no chunkSize (the CLI passes KFASHION_PREDICTION_CHUNK; default 256). */
  predictionChunkSize?: number;
  /** The model server's token, sent with every call (the CLI passes MODEL_SERVER_TOKEN). */
  modelServerToken?: string;
  /** Deadlines of a call to the model server (default 5 s to connect and 60 s in all; the CLI passes MODEL_SERVER_CONNECT_TIMEOUT_MS and MODEL_SERVER_TIMEOUT_MS). */
  modelServerTimeouts?: { connectTimeoutMs?: number; timeoutMs?: number };
  /**
   * Longest a query or image request may take in all (default 30 s): past it, its running statements
   * are cancelled and its next ones refused, as they are for any request whose client disconnects.
   */
  requestTimeoutMs?: number;
  maxPageSize?: number;
  maxDepth?: number;
  maxComplexity?: number;
  /** Root fields per operation, aliases counted (default 20). */
  maxRootFields?: number;
  /**
   * Tokens per document (default 5,000; the console's largest operation has a few hundred). Parsing
   * stops there: parsing and validating a bomb of 4,900 aliased facets took about 1 s of the event
   * loop, before any cost limit could look at it.
   */
  maxTokens?: number;
  /** Characters of a POSTed query, refused before parsing (default 50,000; the console's largest is a few thousand). */
  maxQueryLength?: number;
  /**
   * Operations costing at least `cost` (default 1,000: a facet of 5 kinds, a page of many images
   * with their garments) run at most `limit` at once (default a quarter of the database pool, at
   * least 1; it must stay below the pool size), the next ones waiting at most `maxWaitMs` (default
   * 5 s) before SERVER_BUSY.
   */
  expensive?: { cost?: number; limit?: number; maxWaitMs?: number };
  /**
   * Answer broad filters' facets and counts from the precomputed table when it is current, and
   * rebuild it in the background when stale (at most once per `countsRebuildIntervalMs`). Default on.
   */
  precomputedCounts?: boolean;
  countsRebuildIntervalMs?: number;
  /**
   * Keep the similarity indexes in step with every change as it is notified (LISTEN on
   * garment_embeddings), not only before each search; default on.
   */
  similarityListen?: boolean;
  /** Up to how many garments a similarity search compares every one (tests make it small to reach the graph). */
  similarityLimits?: Partial<SimilarityLimits>;
  /** Largest accepted request body. */
  maxBodyBytes?: number;
  /** Anonymous callers may read (queries, images, subscriptions), never write; default off. */
  publicRead?: boolean;
  log?: (message: string, error?: unknown) => void;
}

export interface RunningApiServer {
  url: string;
  port: number;
  httpServer: http.Server;
  /** The precomputed counts in use (undefined when switched off). */
  facetCounts?: FacetCounts;
  /** The vector indexes of similarGarments and shopTheLook. */
  similarity: SimilarityIndexes;
  /** Stops accepting connections, lets in-flight requests finish, then resolves (once, however often called). */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';

type Log = ErrorLog;

/** Option values with their defaults applied. */
interface Settings {
  introspection: boolean;
  explorer: boolean;
  maxPageSize: number;
  maxBodyBytes: number;
  maxQueryLength: number;
  requestTimeoutMs: number;
  publicRead: boolean;
  log: Log;
}

function settingsOf(options: ApiServerOptions): Settings {
  const production = options.production ?? false;
  return {
    introspection: options.introspection ?? !production,
    explorer: options.explorer ?? !production,
    maxPageSize: options.maxPageSize ?? MAX_PAGE_SIZE,
    // 100 kB holds any real operation with its variables; reading and JSON-parsing bigger bodies is work an attacker chooses.
    maxBodyBytes: options.maxBodyBytes ?? 100_000,
    maxQueryLength: options.maxQueryLength ?? 50_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    publicRead: options.publicRead ?? false,
    log: options.log ?? ((message: string, error?: unknown) => console.error(message, error ?? '')),
  };
}

/** Facet counts whose background rebuild belongs to no request, so a request that is cancelled never cancels it. */
class DetachedFacetCounts extends FacetCounts {
  constructor(
    private readonly tracker: RequestQueryTracker,
    ...args: ConstructorParameters<typeof FacetCounts>
  ) {
    super(...args);
  }

  override requestRebuild(): void {
    this.tracker.detached(() => super.requestRebuild());
  }
}

/** What the server builds once at start and every request shares. */
interface ServerParts {
  dataSource: DataSource;
  schema: GraphQLSchema;
  tracker: RequestQueryTracker;
  deadlines: RequestDeadlines;
  counts?: FacetCounts;
  search: SearchService;
  similarity: SimilarityIndexes;
  similar: SimilarGarments;
  urls: ImageUrls;
  uploads: UploadStore;
  images: ImageRoutes;
  webConsole: WebConsole;
  auth: RequestAuth;
  services: ApiServices;
  probe: DatabaseProbe;
  policy: OperationPolicy;
}

/**
 * The expensive gate must leave pooled connections to cheap operations. One operation can hold
 * several connections at once (the DataLoader batches of sibling fields run side by side), so by
 * default it admits a quarter of the pool, and never as many operations as the pool has
 * connections. (/health has a connection of its own: DatabaseProbe.)
 */
function expensiveGate(options: ApiServerOptions): ExpensiveGate {
  const poolSize = (options.dataSource.options as { poolSize?: number }).poolSize ?? 10;
  const limit = options.expensive?.limit ?? Math.max(1, Math.floor(poolSize / 4));
  const most = Math.max(1, poolSize - 1);
  if (!Number.isInteger(limit) || limit < 1 || limit > most) {
    throw new Error(`expensive.limit must be a whole number from 1 to ${most} (below the database pool size ${poolSize}); got ${limit}`);
  }
  return new ExpensiveGate(limit, options.expensive?.maxWaitMs ?? 5_000);
}

function operationPolicy(options: ApiServerOptions, settings: Settings, schema: GraphQLSchema): OperationPolicy {
  return new OperationPolicy({
    schema,
    introspection: settings.introspection,
    maxTokens: options.maxTokens ?? 5_000,
    maxQueryLength: settings.maxQueryLength,
    log: settings.log,
    limits: {
      maxDepth: options.maxDepth ?? 10,
      maxComplexity: options.maxComplexity ?? 25_000,
      maxRootFields: options.maxRootFields ?? 20,
      expensive: { cost: options.expensive?.cost ?? 1_000, gate: expensiveGate(options) },
    },
  });
}

/** The model server settings of the options, with the default deadlines. */
function modelServerOf(options: ApiServerOptions): ModelServerSettings {
  return {
    url: options.modelServerUrl,
    token: options.modelServerToken,
    connectTimeoutMs: options.modelServerTimeouts?.connectTimeoutMs ?? MODEL_SERVER_TIMEOUT_DEFAULTS.connectTimeoutMs,
    timeoutMs: options.modelServerTimeouts?.timeoutMs ?? MODEL_SERVER_TIMEOUT_DEFAULTS.timeoutMs,
  };
}

function buildParts(options: ApiServerOptions, settings: Settings): ServerParts {
  const { dataSource } = options;
  const schema = buildApiSchema();
  const tracker = new RequestQueryTracker(dataSource, settings.log);
  const counts =
    options.precomputedCounts === false
      ? undefined
      : new DetachedFacetCounts(tracker, dataSource, options.countsRebuildIntervalMs, settings.log);
  const search = new SearchService(dataSource, new VocabularyCache(dataSource), counts);
  // Builds and catch-ups serve every request alike: none belongs to the request that started it.
  const similarity = new SimilarityIndexes(dataSource, { detach: (work) => tracker.detached(work), log: settings.log });
  const dataFolder = options.dataDir ?? dataDir();
  const uploads = new UploadStore(dataFolder);
  const services = createApiServices({
    dataSource,
    search,
    uploads,
    modelServer: modelServerOf(options),
    leaseTimeoutSeconds: options.leaseTimeoutSeconds,
    predictionChunkSize: options.predictionChunkSize,
    weightsDir: options.weightsDir ?? weightsDir({ KFASHION_DATA_DIR: path.resolve(dataFolder) }),
    log: settings.log,
  });
  return {
    dataSource,
    schema,
    tracker,
    deadlines: new RequestDeadlines(tracker, settings.requestTimeoutMs),
    counts,
    search,
    similarity,
    similar: new SimilarGarments(similarity, new GarmentIdFilter(dataSource, search.vocabulary, counts), {
      ...DEFAULT_SIMILARITY_LIMITS,
      ...options.similarityLimits,
    }),
    urls: new ImageUrls(options.publicUrl?.replace(/\/$/, '') ?? ''),
    uploads,
    images: new ImageRoutes(dataSource, { uploadsDir: uploads.dir, publicRead: settings.publicRead }),
    webConsole: new WebConsole(),
    auth: new RequestAuth(dataSource, settings.publicRead),
    services,
    probe: new DatabaseProbe(dataSource),
    policy: operationPolicy(options, settings, schema),
  };
}

/** Answers 503 when the database was unavailable to an operation (its errors say SERVICE_UNAVAILABLE). */
const serviceUnavailableStatus: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
        if (errors?.some((error) => error.extensions?.code === ErrorCode.ServiceUnavailable)) response.http.status = 503;
      },
    };
  },
};

async function startApollo(httpServer: http.Server, parts: ServerParts): Promise<ApolloServer<GraphQLContext>> {
  const { schema, policy } = parts;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    // The policy's validation rules decide (NoSchemaIntrospection when off), for WebSocket alike.
    introspection: true,
    validationRules: [...policy.validationRules],
    csrfPrevention: true,
    parseOptions: { maxTokens: policy.maxTokens },
    // The process owner (kfashion serve) handles SIGINT/SIGTERM and calls stop(); Apollo's own
    // handler would stop first and then re-raise the signal, running the shutdown twice.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => policy.format(formatted, error),
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      parts.deadlines.plugin(),
      queryLimits(policy.limits),
      serviceUnavailableStatus,
    ],
  });
  await apollo.start();
  return apollo;
}

/** A GraphQL error answered before Apollo sees the request. */
function refuseGraphql(response: http.ServerResponse, status: number, message: string, extensions: Record<string, unknown>): void {
  sendJson(response, status, { errors: [{ message, extensions }] });
}

/** The POSTed body, parsed and checked for shapes that are refused before parsing the query; undefined once refused. */
async function graphqlBody(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  contentType: string,
  settings: Settings,
  policy: OperationPolicy,
): Promise<{ body: unknown } | undefined> {
  const text = (await readBoundedBody(request, settings.maxBodyBytes)).toString('utf8');
  if (!contentType.startsWith('application/json')) return { body: text };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return void refuseGraphql(response, 400, 'request body is not valid JSON', { code: ErrorCode.BadRequest });
  }
  const { variables, query } = (body ?? {}) as { variables?: unknown; query?: unknown };
  const refused = policy.refusal(query, variables);
  if (refused) {
    const { http: status, ...extensions } = refused.extensions as { http: { status: number } };
    return void refuseGraphql(response, status.status, refused.message, extensions);
  }
  return { body };
}

type RouteHandler = (request: http.IncomingMessage, response: http.ServerResponse, url: URL) => Promise<void>;

function graphqlRoute(
  apollo: ApolloServer<GraphQLContext>,
  context: (principal: Principal) => GraphQLContext,
  parts: ServerParts,
  settings: Settings,
): RouteHandler {
  return async (request, response, url) => {
    const accept = request.headers.accept ?? '';
    if (request.method === 'GET' && settings.explorer && accept.includes('text/html') && !url.searchParams.has('query')) {
      const page = explorerPage(GRAPHQL_PATH);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
      response.end(page);
      return;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (request.method === 'POST') {
      const read = await graphqlBody(request, response, headers.get('content-type') ?? '', settings, parts.policy);
      if (!read) return;
      body = read.body;
    }
    const principal = await parts.auth.principal(request.headers.authorization);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context: async () => context(principal),
    });
    for (const [name, value] of result.headers) response.setHeader(name, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) response.write(chunk);
      response.end();
    }
  };
}

async function health(response: http.ServerResponse, probe: DatabaseProbe, log: Log): Promise<void> {
  try {
    await probe.ping();
    sendJson(response, 200, { status: 'ok', database: 'ok' });
  } catch (error) {
    log('health check failed:', error);
    sendJson(response, 503, { status: 'unavailable', database: 'unreachable' });
  }
}

/** Answers 401/403 and false when the caller may not do what needs `required`. */
function allowed(response: http.ServerResponse, principal: Principal, required: Role, publicRead: boolean): boolean {
  const refused = denial(principal, required, publicRead);
  if (refused) {
    // A refused upload's body is not read: close the connection after answering.
    response.setHeader('connection', 'close');
    sendJson(response, refused.status, { error: refused.message, code: refused.code });
  }
  return !refused;
}

function router(parts: ServerParts, settings: Settings, graphql: RouteHandler): RouteHandler {
  const { auth, images, uploads, webConsole } = parts;
  return async (request, response, url) => {
    if (url.pathname === GRAPHQL_PATH || url.pathname === `${GRAPHQL_PATH}/`) return graphql(request, response, url);
    if (url.pathname === '/health') return health(response, parts.probe, settings.log);
    if (url.pathname === UPLOADS_PATH) {
      if (allowed(response, await auth.principal(request.headers.authorization), 'analyst', auth.publicRead))
        await handleUpload(request, response, uploads);
      return;
    }
    if (images.serves(url) && !allowed(response, await auth.imageReader(request.headers), 'viewer', auth.publicRead)) return;
    if (await images.handle(request, response, url)) return;
    if (await webConsole.handle(request, response, url)) return;
    sendJson(response, 404, { error: `no route ${url.pathname.slice(0, 200)}` });
  };
}

/** The answer to a request whose handler failed: refusals with their status, anything else a logged 500 without details. */
function answerFailure(request: http.IncomingMessage, response: http.ServerResponse, url: URL, error: unknown, log: Log): void {
  if (error instanceof InvalidToken) {
    // GraphQL clients read `errors`; the plain routes answer `{error, code}` like their other refusals.
    const graphqlRoute = url.pathname.startsWith(GRAPHQL_PATH);
    const body = graphqlRoute
      ? { errors: [{ message: error.message, extensions: { code: error.code } }] }
      : { error: error.message, code: error.code };
    if (!response.headersSent) sendJson(response, error.status, body);
    return;
  }
  if (error instanceof BodyTooLargeError) {
    if (!response.headersSent) {
      response.setHeader('connection', 'close');
      sendJson(response, 413, { error: error.message });
    }
    return;
  }
  const graphqlRoute = url.pathname.startsWith(GRAPHQL_PATH);
  if (response.headersSent) {
    log(`request ${request.method} ${url.pathname} failed:`, error);
    response.destroy();
  } else if (isDatabaseUnavailable(error)) {
    log(`request ${request.method} ${url.pathname}: the database is unavailable`);
    const code = ErrorCode.ServiceUnavailable;
    sendJson(
      response,
      503,
      graphqlRoute
        ? { errors: [{ message: DATABASE_UNAVAILABLE_MESSAGE, extensions: { code } }] }
        : { error: DATABASE_UNAVAILABLE_MESSAGE, code },
    );
  } else {
    log(`request ${request.method} ${url.pathname} failed:`, error);
    const code = ErrorCode.InternalServerError;
    sendJson(
      response,
      500,
      graphqlRoute ? { errors: [{ message: 'Internal server error', extensions: { code } }] } : { error: 'internal server error' },
    );
  }
}

/** Runs each request with its database work tracked, and cancelled when its client goes away or its deadline passes. */
function handleRequests(
  parts: ServerParts,
  settings: Settings,
  route: RouteHandler,
): (request: http.IncomingMessage, response: http.ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const queries = parts.deadlines.begin(response);
    // GraphQL requests get theirs once the operation is known (queries only: RequestDeadlines).
    if (!url.pathname.startsWith(GRAPHQL_PATH)) parts.deadlines.arm(queries);
    parts.tracker
      .run(queries, () => route(request, response, url))
      .catch((error: unknown) => answerFailure(request, response, url, error, settings.log));
  };
}

/** The caller of a WebSocket connection (checked at connection, for every message and before every event). */
async function connectionPrincipal(
  auth: RequestAuth,
  params: Readonly<Record<string, unknown>> | undefined,
  publicRead: boolean,
): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await auth.connectionPrincipal(params);
  } catch (error) {
    if (error instanceof InvalidToken) throw new GraphQLError(error.message, { extensions: { code: error.code } });
    throw error;
  }
  const refused = denial(principal, 'viewer', publicRead);
  if (refused) throw new GraphQLError(refused.message, { extensions: { code: refused.code } });
  return principal;
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const settings = settingsOf(options);
  const parts = buildParts(options, settings);
  const httpServer = http.createServer();
  const apollo = await startApollo(httpServer, parts);
  const context = (principal: Principal): GraphQLContext => ({
    search: parts.search,
    similar: parts.similar,
    services: parts.services,
    loaders: new Loaders(parts.dataSource),
    urls: parts.urls,
    maxPageSize: settings.maxPageSize,
    principal,
    publicRead: settings.publicRead,
  });
  // graphql-ws on the same server and path (subscriptions, and queries for clients that send them there).
  const subscriptions = attachWebSocket(httpServer, {
    path: GRAPHQL_PATH,
    schema: parts.schema,
    policy: parts.policy,
    tracker: parts.tracker,
    deadlines: parts.deadlines,
    context,
    authenticate: (params) => connectionPrincipal(parts.auth, params, settings.publicRead),
  });
  httpServer.on('request', handleRequests(parts, settings, router(parts, settings, graphqlRoute(apollo, context, parts, settings))));
  const port = await listen(httpServer, options.port ?? 4000, options.host ?? '0.0.0.0');
  if (parts.counts && !(await parts.counts.isFresh())) parts.counts.requestRebuild();
  if (options.similarityListen !== false) await parts.similarity.start();
  parts.tracker.detached(() => void parts.similarity.prepareActive().catch((error) => settings.log('similarity index:', error)));
  const shownHost = !options.host || options.host === '0.0.0.0' ? 'localhost' : options.host;
  return runningServer(`http://${shownHost}:${port}${GRAPHQL_PATH}`, port, httpServer, parts, apollo, subscriptions);
}

function runningServer(
  url: string,
  port: number,
  httpServer: http.Server,
  parts: ServerParts,
  apollo: ApolloServer<GraphQLContext>,
  subscriptions: WebSocketGraphql,
): RunningApiServer {
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    httpServer,
    facetCounts: parts.counts,
    similarity: parts.similarity,
    stop() {
      stopping ??= (async () => {
        await subscriptions.close();
        await apollo.stop();
        await parts.counts?.cancel();
        await parts.similarity.close();
        await parts.services.close();
        await parts.tracker.close();
        await parts.probe.close();
      })();
      return stopping;
    },
  };
}
