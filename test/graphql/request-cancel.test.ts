/**
 * A request's database work ends with the request: when the client disconnects before the answer,
 * or when the request's deadline passes, its running statements are cancelled at once (not at
 * statement_timeout). A search is made slow for real by another session holding an exclusive lock
 * on `garments`, so its statement waits in PostgreSQL until cancelled. Background work that reads
 * garments is kept off that lock, since its statements belong to no request: the precomputed facet
 * counts are off, and the active model version's similarity index (whose build reads each
 * embedding's garment) is built before the lock is taken.
 */
import * as fs from 'node:fs';
import { Client } from 'pg';
import { importDataset } from '../../src/db/import';
import { globalId } from '../../src/graphql/ids';
import type { ApiServerOptions } from '../../src/graphql/server';
import { ApiClient, makeSampleTree, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let root: string;
let locker: Client;
let observer: Client;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  locker = new Client({ connectionString: db.url });
  observer = new Client({ connectionString: db.url });
  await Promise.all([locker.connect(), observer.connect()]);
});
afterAll(async () => {
  await Promise.all([locker.end(), observer.end()]);
  await db.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

const SEARCH = JSON.stringify({
  query: `{ searchGarments(where: { superCategory: [TOP] }, first: 5) { totalCount edges { node { id } } } }`,
});

/** Statements of this database waiting on the lock (the search's), by backend pid. */
async function waitingStatements(): Promise<number[]> {
  const { rows } = await observer.query(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return rows.map((row) => row.pid);
}

/** A server whose background work is done or off (see above). */
async function startQuietServer(options: Partial<ApiServerOptions> = {}): Promise<ApiClient> {
  const api = await startTestServer(db.dataSource, { precomputedCounts: false, ...options });
  const active = await api.server.similarity.activeModelVersionId();
  if (active !== null) await api.server.similarity.current(active);
  return api;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

async function withLocked<T>(table: string, work: () => Promise<T>): Promise<T> {
  await locker.query(`BEGIN`);
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  try {
    return await work();
  } finally {
    await locker.query(`ROLLBACK`);
  }
}

function post(api: ApiClient, signal?: AbortSignal): Promise<Response> {
  return fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body: SEARCH,
    signal,
  });
}

it('cancels the statements of a search whose client disconnects, within a second', async () => {
  const api = await startQuietServer();
  try {
    await withLocked('garments', async () => {
      const abort = new AbortController();
      const answer = post(api, abort.signal).then(
        () => 'answered',
        (error: Error) => error.name,
      );
      await until(async () => (await waitingStatements()).length > 0, 5_000);
      abort.abort();
      expect(await answer).toBe('AbortError');
      const gone = await until(async () => (await waitingStatements()).length === 0, 1_000);
      console.log(`search statement gone ${gone} ms after the client disconnected`);
    });
    // The server goes on answering.
    expect(
      (await api.data(`{ searchGarments(where: { superCategory: [TOP] }, first: 1) { totalCount } }`)).searchGarments.totalCount,
    ).toBeGreaterThan(0);
  } finally {
    await api.server.stop();
  }
});

it('cancels the statements of a request past its deadline and answers QUERY_TIMEOUT', async () => {
  const api = await startQuietServer({ requestTimeoutMs: 300 });
  try {
    await withLocked('garments', async () => {
      const started = Date.now();
      const response = await post(api);
      const elapsed = Date.now() - started;
      const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TIMEOUT');
      // PostgreSQL's own words ("canceling statement due to user request") stay in the server.
      expect(body.errors?.[0]?.message).not.toMatch(/cancel|statement|QueryFailed/i);
      expect(elapsed).toBeLessThan(5_000);
      expect(await waitingStatements()).toEqual([]);
    });
  } finally {
    await api.server.stop();
  }
});

async function modelVersion(name: string): Promise<string> {
  const [version] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ($1, 'resnet18', '{}', 'w.safetensors') RETURNING id`,
    [name],
  );
  return globalId('ModelVersion', version.id);
}

const ACTIVATE = `mutation($id: ID!) { activateModelVersion(id: $id) { id isActive } }`;

it('lets a cancelled request roll its transaction back, leaving no connection inside a transaction', async () => {
  const api = await startQuietServer();
  const id = await modelVersion('cancel-test');
  try {
    await withLocked('model_versions', async () => {
      // Activation locks the version's row first, inside its transaction: it waits for this lock.
      const abort = new AbortController();
      const answer = fetch(`${api.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
        body: JSON.stringify({ query: ACTIVATE, variables: { id } }),
        signal: abort.signal,
      }).then(
        () => 'answered',
        (error: Error) => error.name,
      );
      await until(async () => (await waitingStatements()).length > 0, 5_000);
      abort.abort();
      expect(await answer).toBe('AbortError');
      await until(async () => (await waitingStatements()).length === 0, 1_000);
    });
    const { rows } = await observer.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(rows[0].n).toBe(0);
    // The pool's connections are usable: the same activation now succeeds.
    expect((await api.data(ACTIVATE, { id })).activateModelVersion).toEqual({ id, isActive: true });
  } finally {
    await api.server.stop();
  }
});

it('gives mutations no deadline: their client waits for work such as an analysis', async () => {
  const api = await startQuietServer({ requestTimeoutMs: 300 });
  const id = await modelVersion('no-deadline');
  try {
    // Wrapped, so the lock is released before the answer is awaited.
    const { pending } = await withLocked('model_versions', async () => {
      const pending = api.query(ACTIVATE, { id });
      await until(async () => (await waitingStatements()).length > 0, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { pending };
    });
    const answer = await pending;
    expect(answer.errors).toBeUndefined();
    expect(answer.data.activateModelVersion).toEqual({ id, isActive: true });
  } finally {
    await api.server.stop();
  }
});

describe('over graphql-ws', () => {
  it('cancels the statements of a query whose socket closes, within a second', async () => {
    const api = await startQuietServer();
    try {
      await withLocked('garments', async () => {
        const client = api.webSocket();
        client.subscribe({ query: JSON.parse(SEARCH).query }, { next: () => {}, error: () => {}, complete: () => {} });
        await until(async () => (await waitingStatements()).length > 0, 5_000);
        await client.dispose();
        const gone = await until(async () => (await waitingStatements()).length === 0, 1_000);
        console.log(`search statement gone ${gone} ms after the socket closed`);
      });
      expect(
        (await api.overWebSocket(`{ searchGarments(where: { superCategory: [TOP] }, first: 1) { totalCount } }`)).data.searchGarments
          .totalCount,
      ).toBeGreaterThan(0);
    } finally {
      await api.server.stop();
    }
  });

  it('gives a query the same deadline as over HTTP: QUERY_TIMEOUT, its statements cancelled', async () => {
    const api = await startQuietServer({ requestTimeoutMs: 300 });
    try {
      await withLocked('garments', async () => {
        const answer = await api.overWebSocket(JSON.parse(SEARCH).query);
        expect(answer.errors?.[0]?.extensions?.code).toBe('QUERY_TIMEOUT');
        expect(answer.errors?.[0]?.message).not.toMatch(/cancel|statement|QueryFailed/i);
        expect(await waitingStatements()).toEqual([]);
      });
    } finally {
      await api.server.stop();
    }
  });
});
