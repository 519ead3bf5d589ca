/**
 * What analyzeImage's callers see when the model server fails: their own kind of error (unreachable,
 * no such version, failed) and never the model server's address or its own message, which go to the
 * server log instead. The model server here is a real HTTP server answering as a broken one would, or
 * one that stalls; every call has deadlines and carries the model server's token.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { listen } from '../../src/util/listen';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, startTestServer } from './support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let dataDir: string;
let broken: http.Server;
let brokenUrl: string;
const INTERNAL = 'it failed reading /srv/kfashion/weights/secret.safetensors on gpu-node-7';
let answer = { status: 500, body: { error: INTERNAL } };
/** The authorization header of each request the broken server got. */
const authorizations: (string | undefined)[] = [];

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-model-server-errors-'));
  broken = http.createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    request.resume();
    request.on('end', () => {
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  brokenUrl = `http://127.0.0.1:${await listen(broken, 0, '127.0.0.1')}`;
});
afterAll(async () => {
  await new Promise((resolve) => broken.close(resolve));
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function analyzeOnce(api: ApiClient, modelVersionId?: string) {
  const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: 'blue' } })
    .jpeg()
    .toBuffer();
  const uploadId = await api.uploadId(jpeg);
  return api.query(`mutation($u: ID!, $v: ID) { analyzeImage(uploadId: $u, modelVersionId: $v) { image { id } } }`, {
    u: uploadId,
    v: modelVersionId ?? null,
  });
}

it('names neither the host of an unreachable model server nor the error of the connection', async () => {
  const logged: string[] = [];
  // Port 9 (discard) on loopback: nothing listens, the connection is refused.
  const api = await startTestServer(db.dataSource, {
    dataDir,
    modelServerUrl: 'http://127.0.0.1:9',
    log: (message) => logged.push(message),
  });
  try {
    const result = await analyzeOnce(api);
    expect(result.errors?.[0]).toMatchObject({
      message: 'the model server cannot be reached',
      extensions: { code: 'MODEL_SERVER_UNAVAILABLE' },
    });
    expect(JSON.stringify(result)).not.toMatch(/127\.0\.0\.1|:9\b|ECONNREFUSED|fetch failed/);
    expect(logged.join('\n')).toMatch(/127\.0\.0\.1:9/);
  } finally {
    await api.server.stop();
  }
});

it("keeps the model server's own messages out of the answers for a failure and for an unknown version", async () => {
  const logged: string[] = [];
  const api = await startTestServer(db.dataSource, {
    dataDir,
    modelServerUrl: brokenUrl,
    log: (message, error) => logged.push(`${message} ${String(error)}`),
  });
  try {
    answer = { status: 500, body: { error: INTERNAL } };
    const failed = await analyzeOnce(api);
    expect(failed.errors?.[0]).toMatchObject({
      message: 'the model server failed to analyse the photo (HTTP 500)',
      extensions: { code: 'MODEL_SERVER_ERROR' },
    });
    expect(logged.join('\n')).toContain(INTERNAL);

    answer = { status: 404, body: { error: INTERNAL } };
    const unknown = await analyzeOnce(api, globalId('ModelVersion', 77));
    expect(unknown.errors?.[0]).toMatchObject({
      message: `model version ${globalId('ModelVersion', 77)} does not exist`,
      extensions: { code: 'NOT_FOUND' },
    });
    const noneActive = await analyzeOnce(api);
    expect(noneActive.errors?.[0]?.message).toMatch(/^no model version is active/);
    for (const result of [failed, unknown, noneActive]) expect(JSON.stringify(result)).not.toMatch(/srv|gpu-node|127\.0\.0\.1/);
  } finally {
    await api.server.stop();
  }
});

it('answers MODEL_SERVER_TIMEOUT when the model server accepts the photo and never answers', async () => {
  // Accepts the connection and reads the body, then stalls: what a wedged model server does.
  const stalled: http.ServerResponse[] = [];
  const stalling = http.createServer((request, response) => {
    request.resume();
    stalled.push(response);
  });
  const url = `http://127.0.0.1:${await listen(stalling, 0, '127.0.0.1')}`;
  const logged: string[] = [];
  const api = await startTestServer(db.dataSource, {
    dataDir,
    modelServerUrl: url,
    modelServerTimeouts: { timeoutMs: 1_500 },
    log: (message, error) => logged.push(`${message} ${String(error)}`),
  });
  try {
    const started = Date.now();
    const result = await analyzeOnce(api);
    const took = Date.now() - started;
    expect(result.errors?.[0]).toMatchObject({
      message: 'the model server did not answer within 1.5 s',
      extensions: { code: 'MODEL_SERVER_TIMEOUT' },
    });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(10_000);
    expect(stalled.length).toBe(1);
    expect(JSON.stringify(result)).not.toMatch(/127\.0\.0\.1/);
    expect(logged.join('\n')).toMatch(/did not answer in time/);
  } finally {
    await api.server.stop();
    stalling.closeAllConnections();
    await new Promise((resolve) => stalling.close(resolve));
  }
});

it('gives up connecting after the connect timeout (a model server whose accept queue is full)', async () => {
  // A process that listens with the smallest backlog and then blocks its event loop never accepts:
  // once its queue is full, the kernel drops further connection attempts and connect() itself hangs.
  const wedged = spawn(
    process.execPath,
    [
      '-e',
      `
    const server = require('node:net').createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      console.log(server.address().port);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = Number(await new Promise<string>((resolve) => wedged.stdout.once('data', (chunk) => resolve(String(chunk)))));
    const fillers = Array.from({ length: 8 }, () => net.connect({ port, host: '127.0.0.1' }).on('error', () => undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const logged: string[] = [];
    const api = await startTestServer(db.dataSource, {
      dataDir,
      modelServerUrl: `http://127.0.0.1:${port}`,
      modelServerTimeouts: { connectTimeoutMs: 700, timeoutMs: 30_000 },
      log: (message, error) => logged.push(`${message} ${String(error)}`),
    });
    try {
      const started = Date.now();
      const result = await analyzeOnce(api);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(result.errors?.[0]).toMatchObject({
        message: 'the model server cannot be reached',
        extensions: { code: 'MODEL_SERVER_UNAVAILABLE' },
      });
      expect(logged.join('\n')).toMatch(/no connection within 700 ms/);
    } finally {
      await api.server.stop();
      for (const socket of fillers) socket.destroy();
    }
  } finally {
    wedged.kill('SIGKILL');
  }
});

it('sends the model server token on every call', async () => {
  authorizations.length = 0;
  answer = { status: 500, body: { error: INTERNAL } };
  const token = 'the-token-the-model-server-expects';
  const api = await startTestServer(db.dataSource, { dataDir, modelServerUrl: brokenUrl, modelServerToken: token });
  try {
    await analyzeOnce(api);
    await analyzeOnce(api);
    expect(authorizations).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
  } finally {
    await api.server.stop();
  }
});
