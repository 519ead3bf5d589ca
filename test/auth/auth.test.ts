/**
 * Authentication and roles over real HTTP and WebSocket: every mutation called anonymously and
 * with each role, the upload and image routes, subscriptions' connectionParams, expired, revoked
 * and malformed tokens, tokens stored only hashed and shown once by the CLI, and initWeights kept
 * inside the weights folder.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { getMetadataStorage } from 'type-graphql';
import { ROLES, type Role } from '../../src/auth/roles';
import { createApiToken, revokeApiToken } from '../../src/db/api-tokens';
import { buildApiSchema } from '../../src/graphql/schema';
import { globalId } from '../../src/graphql/ids';
import { publicRead } from '../../src/cli/serve';
import { readEnvironment } from '../../src/cli/environment';
import { parseExpiry } from '../../src/cli/token';
import { ApiClient, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let api: ApiClient;
let dataDir: string;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-auth-'));
  api = await startTestServer(db.dataSource, { publicRead: false, dataDir });
  for (const role of ROLES) tokens[role] = (await createApiToken(db.dataSource, { role, name: `${role} test` })).token;
});
afterAll(async () => {
  await api.server.stop();
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Each mutation with arguments that pass authorization and then fail on the (empty) data, and the least role it needs. */
const MUTATIONS: Record<string, { document: string; role: Role; whenAllowed: string }> = {
  startTraining: { document: `mutation { startTraining(input: { epochs: 0 }) { id } }`, role: 'admin', whenAllowed: 'BAD_USER_INPUT' },
  cancelTraining: {
    document: `mutation { cancelTraining(id: "${globalId('TrainingRun', 999)}") { id } }`,
    role: 'admin',
    whenAllowed: 'NOT_FOUND',
  },
  activateModelVersion: {
    document: `mutation { activateModelVersion(id: "${globalId('ModelVersion', 999)}") { id } }`,
    role: 'admin',
    whenAllowed: 'NOT_FOUND',
  },
  // An analyst may stop the prediction jobs analysts may start.
  cancelPrediction: {
    document: `mutation { cancelPrediction(id: "${globalId('PredictionJob', 999)}") { id } }`,
    role: 'analyst',
    whenAllowed: 'NOT_FOUND',
  },
  analyzeImage: {
    document: `mutation { analyzeImage(imageId: "${globalId('Image', 999)}") { image { id } } }`,
    role: 'analyst',
    whenAllowed: 'NOT_FOUND',
  },
  predictImages: {
    document: `mutation { predictImages(modelVersionId: "${globalId('ModelVersion', 999)}") { id } }`,
    role: 'analyst',
    whenAllowed: 'NOT_FOUND',
  },
};

function expectedCode(caller: Role | null, required: Role, whenAllowed: string): string {
  if (caller === null) return 'UNAUTHENTICATED';
  return ROLES.indexOf(caller) >= ROLES.indexOf(required) ? whenAllowed : 'FORBIDDEN';
}

it('lists every mutation of the schema in the table below', () => {
  expect(Object.keys(buildApiSchema().getMutationType()!.getFields()).sort()).toEqual(Object.keys(MUTATIONS).sort());
});

it('names a role with @Authorized on every root field', () => {
  const schema = buildApiSchema();
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    Object.keys(type!.getFields()),
  );
  const authorized = new Set(
    getMetadataStorage()
      .authorizedFields.filter((field) => field.roles.length === 1)
      .map((field) => field.fieldName),
  );
  expect(roots.filter((name) => !authorized.has(name))).toEqual([]);
});

describe.each([null, ...ROLES] as (Role | null)[])('as %s', (caller) => {
  const client = () => api.as(caller ? tokens[caller] : undefined);

  it.each(Object.keys(MUTATIONS))('calls %s only with the role it needs', async (name) => {
    const { document, role, whenAllowed } = MUTATIONS[name];
    const result = await client().query(document);
    expect(result.errors?.[0]?.extensions?.code).toBe(expectedCode(caller, role, whenAllowed));
  });

  it('uploads a photo only as an analyst or admin', async () => {
    const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: 'red' } })
      .jpeg()
      .toBuffer();
    const { status, body } = await client().upload(jpeg);
    const expected = { UNAUTHENTICATED: 401, FORBIDDEN: 403, CREATED: 201 }[expectedCode(caller, 'analyst', 'CREATED')];
    expect(status).toBe(expected);
    if (status !== 201) expect(body.code).toBe(expectedCode(caller, 'analyst', 'CREATED'));
  });

  it('tells the caller its role (viewer), anonymously only with public reads', async () => {
    const result = await client().query(`{ viewer { role } }`);
    if (caller === null) expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    else expect(result.data).toEqual({ viewer: { role: caller.toUpperCase() } });
  });

  it('reads queries and image routes with any token, not anonymously', async () => {
    const result = await client().query(`{ vocabulary(kind: COLOR) { value } }`);
    const image = await client().get('/images/1/thumbnail');
    if (caller === null) {
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(result.data).toBeNull();
      expect(image.status).toBe(401);
    } else {
      expect(result.errors).toBeUndefined();
      expect(image.status).toBe(404);
    }
  });
});

it('opens reads, and only reads, to anonymous callers with publicRead', async () => {
  const open = await startTestServer(db.dataSource, { publicRead: true, dataDir });
  try {
    const anonymous = open.as(undefined);
    expect((await anonymous.query(`{ vocabulary(kind: COLOR) { value } }`)).errors).toBeUndefined();
    expect((await anonymous.query(`{ viewer { role } }`)).data).toEqual({ viewer: { role: null } });
    expect((await anonymous.get('/images/1')).status).toBe(404);
    expect((await anonymous.query(MUTATIONS.cancelTraining.document)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await anonymous.upload(Buffer.from('x'))).status).toBe(401);
  } finally {
    await open.server.stop();
  }
});

it('refuses expired, revoked, unknown and malformed tokens with 401, on GraphQL and the plain routes', async () => {
  const expired = await createApiToken(db.dataSource, { role: 'admin', expiresAt: new Date(Date.now() - 1000) });
  const soon = await createApiToken(db.dataSource, { role: 'admin', expiresAt: new Date(Date.now() + 60_000) });
  const revoked = await createApiToken(db.dataSource, { role: 'admin' });
  const query = `{ vocabulary(kind: COLOR) { value } }`;
  expect((await api.as(soon.token).query(query)).status).toBe(200);
  expect((await api.as(revoked.token).query(query)).status).toBe(200);
  expect(await revokeApiToken(db.dataSource, revoked.id)).toBe(true);
  for (const token of [expired.token, revoked.token, `${soon.token}x`, 'not a token']) {
    const result = await api.as(token).query(query);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await api.as(token).get('/images/1')).status).toBe(401);
  }
  const basic = await fetch(`${api.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic YTpi' },
    body: '{}',
  });
  expect(basic.status).toBe(401);
});

it("lets the image routes read the console's token cookie", async () => {
  const cookie = (token: string) => ({ cookie: `theme=dark; kfashion_token=${token}` });
  expect((await api.as(undefined).get('/images/1', cookie(tokens.viewer))).status).toBe(404);
  expect((await api.as(undefined).get('/images/1', cookie('kf_unknown'))).status).toBe(401);
  // The cookie never authorises a write.
  const upload = await fetch(`${api.origin}/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', ...cookie(tokens.admin) },
    body: 'x',
  });
  expect(upload.status).toBe(401);
});

it('stores tokens only as their SHA-256', async () => {
  const { id, token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'hash check' });
  const [row] = await db.dataSource.query(`SELECT row_to_json(t)::text AS text, token_hash FROM api_tokens t WHERE id = $1`, [id]);
  expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
  expect(row.text).not.toContain(token);
  expect(row.text).not.toContain(token.slice(3, 20));
});

describe('subscriptions', () => {
  function subscribe(authorization: string | undefined): Promise<string> {
    const client = createClient({
      url: `ws://127.0.0.1:${api.server.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: authorization ? { authorization } : {},
    });
    return new Promise<string>((resolve) => {
      client.subscribe(
        { query: `subscription { trainingRunUpdated(id: "${globalId('TrainingRun', 999)}") { id } }` },
        {
          next: () => resolve('next'),
          error: (error) =>
            resolve(Array.isArray(error) ? String(error[0].extensions?.code) : `closed ${(error as { code?: number }).code}`),
          complete: () => resolve('complete'),
        },
      );
    }).finally(() => client.dispose());
  }

  it('refuses a connection without a valid token in connectionParams (4403) and serves one with it', async () => {
    expect(await subscribe(undefined)).toBe('closed 4403');
    expect(await subscribe('Bearer kf_unknown')).toBe('closed 4403');
    expect(await subscribe(`Bearer ${tokens.viewer}`)).toBe('NOT_FOUND');
  });
});

it('confines initWeights to the weights folder', async () => {
  const weights = path.join(dataDir, 'weights');
  fs.mkdirSync(weights, { recursive: true });
  fs.symlinkSync('/etc/hostname', path.join(weights, 'escape.safetensors'));
  const start = (initWeights: string) =>
    api.query(`mutation($w: String) { startTraining(input: { initWeights: $w }) { id } }`, { w: initWeights });
  for (const outside of ['/etc/passwd.safetensors', '../../x.safetensors', 'escape.safetensors']) {
    const result = await start(outside);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'initWeights' });
  }
  // Inside the folder, or a catalogue name (fetched into it), the request goes on to the next check (an empty dataset).
  for (const inside of ['resnet18.safetensors', 'resnet50.pth', 'fasterrcnn_resnet50_fpn']) {
    const result = await start(inside);
    expect(result.errors?.[0]?.extensions?.field).not.toBe('initWeights');
  }
});

describe('settings', () => {
  it('opens reads by default only on the embedded database', () => {
    expect(publicRead({})).toBe(true);
    expect(publicRead({ DATABASE_URL: 'postgres://db/kf' })).toBe(false);
    expect(publicRead(readEnvironment({ DATABASE_URL: 'postgres://db/kf', KFASHION_PUBLIC_READ: 'on' }))).toBe(true);
    expect(publicRead(readEnvironment({ KFASHION_PUBLIC_READ: '0' }))).toBe(false);
  });

  it('reads --expires as a duration or a future date, naming the option otherwise', () => {
    const now = new Date('2026-12-06T00:00:00Z');
    expect(parseExpiry('12h', now).toISOString()).toBe('2026-12-06T12:00:00.000Z');
    expect(parseExpiry('90d', now).toISOString()).toBe('2027-03-06T00:00:00.000Z');
    expect(parseExpiry('2027-01-31', now).toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(() => parseExpiry('2020-01-01', now)).toThrow(/--expires: 2020-01-01 is already past/);
    expect(() => parseExpiry('soon', now)).toThrow(/--expires: expected a duration/);
  });
});

describe('kfashion token (the built CLI)', () => {
  // Asynchronous: a blocked event loop would let the server close the client's idle keep-alive socket unseen.
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.resolve(__dirname, '../../bin/kfashion.js'), 'token', ...args],
        { env: { ...process.env, DATABASE_URL: db.url, NODE_OPTIONS: '' }, encoding: 'utf8' },
        (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });

  it('shows a created token once, lists it without the secret, and revokes it', async () => {
    const created = await cli('create', '--role', 'analyst', '--name', 'ci uploads', '--expires', '30d');
    expect(created.status).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^kf_[A-Za-z0-9_-]{43}$/);
    expect((await api.as(token).query(MUTATIONS.analyzeImage.document)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const id = /token (\d+) \(analyst, expires /.exec(created.stderr)![1];
    const listed = await cli('list');
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\tanalyst\\tci uploads\\t`, 'm'));
    expect(listed.stdout).not.toContain(token);
    expect((await cli('revoke', id)).status).toBe(0);
    expect((await api.as(token).query(MUTATIONS.analyzeImage.document)).status).toBe(401);
    const badRole = await cli('create', '--role', 'root');
    expect(badRole.status).not.toBe(0);
    expect(badRole.stderr).toMatch(/--role: expected one of viewer, analyst, editor, admin, got "root"/);
    expect((await cli('revoke', '12; DROP TABLE api_tokens')).stderr).toMatch(/ID: expected a token id/);
  });

  it('creates the first admin token into a file once (docker compose first start)', async () => {
    await db.dataSource.query(`UPDATE api_tokens SET revoked_at = now() WHERE role = 'admin'`);
    const file = path.join(dataDir, 'admin-token');
    expect((await cli('init-admin', '--out', file)).status).toBe(0);
    const token = fs.readFileSync(file, 'utf8').trim();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await api.as(token).query(MUTATIONS.activateModelVersion.document)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const again = await cli('init-admin', '--out', file);
    expect(again.stdout).toMatch(/an admin token exists already/);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(token);
  });
});
