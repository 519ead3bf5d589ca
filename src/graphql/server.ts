/**
 * The API's one HTTP server (plain node:http): POST/GET /graphql through Apollo Server, the
 * offline explorer page at GET /graphql for browsers, GET /health, POST /uploads, and the image routes.
 * Stopping drains in-flight requests before closing.
 */
import * as http from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { DataSource } from 'typeorm';
import { SearchService, VocabularyCache } from '../db/search';
import { FacetCounts } from '../db/search-counts';
import { MAX_PAGE_SIZE } from './connection';
import { GraphQLContext, ImageUrls } from './context';
import { InvalidToken, RequestAuth } from './auth';
import { denial, type Principal, type Role } from '../auth/roles';
import { formatError } from './errors';
import { explorerPage } from './explorer';
import { ImageRoutes } from './image-routes';
import { MAX_VARIABLE_DEPTH, nestingDepth } from './input-guards';
import { ExpensiveGate } from './expensive-gate';
import { LIMIT_EXCEEDED, queryLimits } from './limits';
import { Loaders } from './loaders';
import { buildApiSchema } from './schema';
import { attachSubscriptions } from './training/subscriptions';
import { WebConsole } from './web-console';
import { listen } from '../util/listen';
import { BodyTooLargeError, readBoundedBody } from '../util/http-body';
import { sendJson } from '../util/http-json';
import { UploadStore } from '../uploads/upload-store';
import { handleUpload, UPLOADS_PATH } from './upload-route';
import { trainingApiConfig } from './training/services';

export interface ApiServerOptions {
  dataSource: DataSource;
  /** 0 picks a free port (tests). */
  port?: number;
  host?: string;
  /** Schema introspection; default: on unless NODE_ENV=production. */
  introspection?: boolean;
  /** The query page at GET /graphql; default: on unless NODE_ENV=production. */
  explorer?: boolean;
  /** Prefix for image URLs in responses (e.g. https://api.example.com); default: relative URLs. */
  publicUrl?: string;
  /** Data folder: uploaded photos are under its `uploads/` (default: the training API's, i.e. KFASHION_DATA_DIR). */
  dataDir?: string;
  maxPageSize?: number;
  maxDepth?: number;
  maxComplexity?: number;
  /** Root fields per operation, aliases counted (default 20). */
  maxRootFields?: number;
  /**
   * Tokens per document (default 5,000; the console's largest operation has a few hundred). Parsing
   * stops there: parsing and validating the 4,900-alias bomb of issue 11 took about 1 s of the
   * event loop, before any cost limit could look at it.
   */
  maxTokens?: number;
  /** Characters of a POSTed query, refused before parsing (default 50,000; the console's largest is a few thousand). */
  maxQueryLength?: number;
  /**
   * Operations costing at least `cost` (default 1,000: a facet of 5 kinds, a page of many images
   * with their garments) run at most `limit` at once (default 4), the next ones waiting at most
   * `maxWaitMs` (default 5 s) before SERVER_BUSY.
   */
  expensive?: { cost?: number; limit?: number; maxWaitMs?: number };
  /**
   * Answer broad filters' facets and counts from the precomputed table when it is current, and
   * rebuild it in the background when stale (at most once per `countsRebuildIntervalMs`). Default on.
   */
  precomputedCounts?: boolean;
  countsRebuildIntervalMs?: number;
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
  /** Stops accepting connections, lets in-flight requests finish, then resolves (once, however often called). */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';


export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const production = process.env.NODE_ENV === 'production';
  const introspection = options.introspection ?? !production;
  const explorer = options.explorer ?? !production;
  const maxPageSize = options.maxPageSize ?? MAX_PAGE_SIZE;
  // 100 kB holds any real operation with its variables; reading and JSON-parsing bigger bodies is work an attacker chooses.
  const maxBodyBytes = options.maxBodyBytes ?? 100_000;
  const maxQueryLength = options.maxQueryLength ?? 50_000;
  const log = options.log ?? ((message: string, error?: unknown) => console.error(message, error ?? ''));
  const { dataSource } = options;
  const schema = buildApiSchema();
  const counts =
    options.precomputedCounts === false ? undefined : new FacetCounts(dataSource, options.countsRebuildIntervalMs, log);
  const search = new SearchService(dataSource, new VocabularyCache(dataSource), counts);
  const urls = new ImageUrls(options.publicUrl?.replace(/\/$/, '') ?? '');
  const uploads = new UploadStore(options.dataDir ?? trainingApiConfig().dataDir);
  const images = new ImageRoutes(dataSource, { uploadsDir: uploads.dir });
  const webConsole = new WebConsole();
  const auth = new RequestAuth(dataSource, options.publicRead ?? false);

  const httpServer = http.createServer();
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection,
    csrfPrevention: true,
    parseOptions: { maxTokens: options.maxTokens ?? 5_000 },
    // The process owner (kfashion serve) handles SIGINT/SIGTERM and calls stop(); Apollo's own
    // handler would stop first and then re-raise the signal, running the shutdown twice.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatError(formatted, error, log),
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      queryLimits(schema, {
        maxDepth: options.maxDepth ?? 10,
        maxComplexity: options.maxComplexity ?? 25_000,
        maxRootFields: options.maxRootFields ?? 20,
        expensive: {
          cost: options.expensive?.cost ?? 1_000,
          gate: new ExpensiveGate(options.expensive?.limit ?? 4, options.expensive?.maxWaitMs ?? 5_000),
        },
      }),
    ],
  });
  await apollo.start();
  // Subscriptions (trainingRunUpdated) over graphql-ws on the same server and path.
  const context = (principal: Principal): GraphQLContext => ({
    dataSource, search, loaders: new Loaders(dataSource), urls, maxPageSize, uploads, principal, publicRead: auth.publicRead,
  });
  const subscriptions = attachSubscriptions(httpServer, schema, context, GRAPHQL_PATH, async (params) => {
    const principal = await auth.connectionPrincipal(params);
    return denial(principal, 'viewer', auth.publicRead) ? null : principal;
  });

  /** Answers 401/403 and false when the caller may not do what needs `required`. */
  function allowed(response: http.ServerResponse, principal: Principal, required: Role): boolean {
    const refused = denial(principal, required, auth.publicRead);
    if (refused) {
      // A refused upload's body is not read: close the connection after answering.
      response.setHeader('connection', 'close');
      sendJson(response, refused.status, { error: refused.message, code: refused.code });
    }
    return !refused;
  }

  async function graphql(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    const accept = request.headers.accept ?? '';
    if (request.method === 'GET' && explorer && accept.includes('text/html') && !url.searchParams.has('query')) {
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
      const text = (await readBoundedBody(request, maxBodyBytes)).toString('utf8');
      const contentType = headers.get('content-type') ?? '';
      if (contentType.startsWith('application/json')) {
        try {
          body = JSON.parse(text);
        } catch {
          return sendJson(response, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      } else body = text;
      const variables = (body as { variables?: unknown } | undefined)?.variables;
      if (nestingDepth(variables, MAX_VARIABLE_DEPTH) > MAX_VARIABLE_DEPTH) {
        return sendJson(response, 400, {
          errors: [{ message: `variables nest deeper than ${MAX_VARIABLE_DEPTH} levels`, extensions: { code: 'BAD_USER_INPUT', field: 'variables' } }],
        });
      }
      const query = (body as { query?: unknown } | undefined)?.query;
      if (typeof query === 'string' && query.length > maxQueryLength) {
        return sendJson(response, 400, {
          errors: [{ message: `the query is ${query.length} characters long; the maximum is ${maxQueryLength}`, extensions: { code: LIMIT_EXCEEDED } }],
        });
      }
    }
    const principal = await auth.principal(request.headers.authorization);
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
  }

  async function health(response: http.ServerResponse): Promise<void> {
    try {
      await dataSource.query('SELECT 1');
      sendJson(response, 200, { status: 'ok', database: 'ok' });
    } catch (error) {
      log('health check failed:', error);
      sendJson(response, 503, { status: 'unavailable', database: 'unreachable' });
    }
  }

  httpServer.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = async () => {
      if (url.pathname === GRAPHQL_PATH || url.pathname === `${GRAPHQL_PATH}/`) return graphql(request, response, url);
      if (url.pathname === '/health') return health(response);
      if (url.pathname === UPLOADS_PATH) {
        if (allowed(response, await auth.principal(request.headers.authorization), 'analyst')) await handleUpload(request, response, uploads);
        return;
      }
      if (images.serves(url) && !allowed(response, await auth.imageReader(request.headers), 'viewer')) return;
      if (await images.handle(request, response, url)) return;
      if (await webConsole.handle(request, response, url)) return;
      sendJson(response, 404, { error: `no route ${url.pathname}` });
    };
    route().catch((error: unknown) => {
      if (error instanceof InvalidToken) {
        // GraphQL clients read `errors`; the plain routes answer `{error, code}` like their other refusals.
        const graphqlRoute = url.pathname.startsWith(GRAPHQL_PATH);
        const body = graphqlRoute ? { errors: [{ message: error.message, extensions: { code: error.code } }] } : { error: error.message, code: error.code };
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
      log(`request ${request.method} ${url.pathname} failed:`, error);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal server error' });
      else response.destroy();
    });
  });

  const port = await listen(httpServer, options.port ?? 4000, options.host ?? '0.0.0.0');
  const shownHost = !options.host || options.host === '0.0.0.0' ? 'localhost' : options.host;
  if (counts && !(await counts.isFresh())) counts.requestRebuild();
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}${GRAPHQL_PATH}`,
    port,
    httpServer,
    facetCounts: counts,
    stop() {
      stopping ??= (async () => {
        await subscriptions.close();
        await apollo.stop();
        await counts?.cancel();
      })();
      return stopping;
    },
  };
}
