/**
 * docker/compose.yaml: validated by Debian's docker-compose (`config`, the compose specification's
 * schema and interpolation; no Docker engine needed) and checked for what the deployment relies on:
 * GPU reservation, healthchecks, volumes, no secret in the file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '../..');
const COMPOSE_FILE = join(ROOT, 'docker/compose.yaml');
const EMPTY_ENV_FILE = join(mkdtempSync(join(tmpdir(), 'kfashion-compose-')), 'empty.env');
writeFileSync(EMPTY_ENV_FILE, '');

const REQUIRED_ENV = {
  POSTGRES_PASSWORD: 'c0ffee42',
  KFASHION_DATASET_DIR: '/srv/kfashion-test',
  MODEL_SERVER_TOKEN: 'a-model-server-token-for-tests',
};

/** docker-compose with only the given variables (and PATH), never a developer's docker/.env. */
function compose(args: string[], env: Record<string, string>, files: string | string[] = COMPOSE_FILE) {
  const fileArgs = (Array.isArray(files) ? files : [files]).flatMap((file) => ['-f', file]);
  const result = spawnSync('docker-compose', ['--env-file', EMPTY_ENV_FILE, ...fileArgs, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('docker-compose is not installed: `apt-get install -y --no-install-recommends docker-compose` (.ci/run does it)');
  }
  if (result.error) throw result.error;
  return result;
}

type Service = Record<string, any>;

describe('docker/compose.yaml', () => {
  const resolved = compose(['config'], REQUIRED_ENV);
  const config = parse(resolved.stdout ?? '') as { services: Record<string, Service>; volumes: Record<string, unknown> };

  it('is valid for docker-compose (schema and interpolation)', () => {
    const quiet = compose(['config', '-q'], REQUIRED_ENV);
    expect({ status: quiet.status, stderr: quiet.stderr }).toEqual({ status: 0, stderr: '' });
    expect(resolved.status).toBe(0);
    expect(Object.keys(config.services).sort()).toEqual(['api', 'api-token', 'db', 'model-server']);
  });

  it('the validation has teeth: a misspelt healthcheck key is rejected', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'kfashion-compose-')), 'compose.yaml');
    writeFileSync(broken, readFileSync(COMPOSE_FILE, 'utf8').replace('start_period: 30s', 'start_periode: 30s'));
    const result = compose(['config', '-q'], REQUIRED_ENV, broken);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/start_periode/);
  });

  it.each(Object.keys(REQUIRED_ENV))('refuses to run without %s', (name) => {
    const env: Record<string, string> = { ...REQUIRED_ENV };
    delete env[name];
    const result = compose(['config', '-q'], env);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`set ${name}`);
  });

  it.each(['compose.yaml', 'compose.model-server.yaml'])(
    'holds no secret: every password in %s is interpolated from the environment',
    (name) => {
      const text = readFileSync(join(ROOT, 'docker', name), 'utf8');
      const passwords = text.split('\n').filter((line) => /password/i.test(line) && !line.trim().startsWith('#'));
      expect(passwords.length).toBeGreaterThan(0);
      for (const line of passwords) expect(line).toMatch(/\$\{POSTGRES_PASSWORD:\?[^}]+\}/);
      expect(config.services.db.environment.POSTGRES_PASSWORD).toBe(REQUIRED_ENV.POSTGRES_PASSWORD);
    },
  );

  it('db: PostgreSQL 15 on a named volume, with a readiness healthcheck', () => {
    const db = config.services.db;
    expect(db.image).toMatch(/^postgres:15([.-]|$)/);
    expect(db.volumes).toContain('pgdata:/var/lib/postgresql/data:rw');
    expect(db.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(config.volumes).toHaveProperty('pgdata');
  });

  it('api: waits for a healthy db, knows the database and the model servers, mounts the images read-only', () => {
    const api = config.services.api;
    expect(api.build.dockerfile).toBe('docker/api.Dockerfile');
    expect(api.depends_on).toEqual({ db: { condition: 'service_healthy' }, 'api-token': { condition: 'service_completed_successfully' } });
    expect(api.environment.KFASHION_PUBLIC_READ).toBe('0');
    expect(api.environment.DATABASE_URL).toBe(`postgres://kfashion:${REQUIRED_ENV.POSTGRES_PASSWORD}@db:5432/kfashion`);
    expect(api.environment.MODEL_SERVER_URL).toBe('http://model-server:4100');
    expect(api.ports).toEqual([{ published: 4000, target: 4000 }]);
    expect(api.volumes).toEqual([`${REQUIRED_ENV.KFASHION_DATASET_DIR}:/data/kfashion:ro`, 'kfashion-data:/var/lib/kfashion:rw']);
    expect(api.healthcheck.test.join(' ')).toContain('127.0.0.1:4000/health');
  });

  it('api-token: on first start, before the API, writes an admin token into the data volume', () => {
    const init = config.services['api-token'];
    expect(init.image).toBe(config.services.api.image);
    expect(init.command).toEqual(['token', 'init-admin', '--out', '/var/lib/kfashion/admin-token']);
    expect(init.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(init.environment.DATABASE_URL).toBe(config.services.api.environment.DATABASE_URL);
    expect(init.volumes).toEqual(['kfashion-data:/var/lib/kfashion:rw']);
    expect(init.restart).toBe('no');
  });

  it('model-server: reserves GPU 0, shares checkpoints and uploads, is health-checked and reachable by its alias', () => {
    const server = config.services['model-server'];
    expect(server.build.dockerfile).toBe('docker/model-server.Dockerfile');
    expect(server.deploy.resources.reservations.devices).toEqual([{ driver: 'nvidia', device_ids: ['0'], capabilities: ['gpu'] }]);
    expect(server.environment.CUDA_VISIBLE_DEVICES).toBe('0');
    expect(server.networks.default.aliases).toEqual(['model-server']);
    expect(server.environment.KFASHION_TF_BACKEND).toBe('tensorflow');
    expect(server.environment.DATABASE_URL).toBe(config.services.api.environment.DATABASE_URL);
    expect(server.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(server.volumes).toEqual(config.services.api.volumes);
    expect(server.healthcheck.test.join(' ')).toContain('127.0.0.1:4100/health');
    // reachable on the compose network, so bound to every interface, behind the token the API sends
    expect(server.environment.MODEL_SERVER_HOST).toBe('0.0.0.0');
    expect(server.environment.MODEL_SERVER_TOKEN).toBe(REQUIRED_ENV.MODEL_SERVER_TOKEN);
    expect(config.services.api.environment.MODEL_SERVER_TOKEN).toBe(REQUIRED_ENV.MODEL_SERVER_TOKEN);
    // one server per GPU on one host: no fixed host port and no container_name
    expect(server.ports).toBeUndefined();
    expect(server.container_name).toBeUndefined();
    expect(Object.keys(config.volumes).sort()).toEqual(['kfashion-data', 'pgdata']);
  });
});

describe.each([
  { gpus: 1, files: [] as string[] },
  { gpus: 2, files: ['compose.gpus-2.yaml'] },
  { gpus: 8, files: ['compose.gpus-8.yaml'] },
])('$gpus GPU(s): compose.yaml $files', ({ gpus, files }) => {
  const all = [COMPOSE_FILE, ...files.map((name) => join(ROOT, 'docker', name))];
  const resolved = compose(['config'], REQUIRED_ENV, all);
  const services = (parse(resolved.stdout ?? '') as { services?: Record<string, Service> }).services ?? {};
  const servers = Object.entries(services).filter(([name]) => name.startsWith('model-server'));

  it('is valid for docker-compose', () => {
    expect({ status: resolved.status, stderr: resolved.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('runs one model server per GPU, each reserving its own GPU and using it as its CUDA device 0', () => {
    expect(servers).toHaveLength(gpus);
    const deviceIds = servers.map(([, server]) => server.deploy.resources.reservations.devices.map((d: Service) => d.device_ids).flat());
    expect(deviceIds.flat().sort((a: string, b: string) => Number(a) - Number(b))).toEqual(
      Array.from({ length: gpus }, (_, i) => String(i)),
    );
    expect(deviceIds.every((ids) => ids.length === 1)).toBe(true);
    for (const [, server] of servers) {
      expect(server.deploy.resources.reservations.devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
      expect(server.deploy.resources.reservations.devices[0].count).toBeUndefined();
      expect(server.environment.CUDA_VISIBLE_DEVICES).toBe('0');
    }
  });

  it('gives every server the same image, database, volumes, healthcheck and the alias the API calls', () => {
    const [[, first]] = servers;
    for (const [, server] of servers) {
      for (const key of ['image', 'environment', 'volumes', 'healthcheck', 'depends_on', 'networks', 'expose'])
        expect(server[key]).toEqual(first[key]);
      expect(server.ports).toBeUndefined();
    }
    expect(first.networks.default.aliases).toEqual(['model-server']);
    expect(services.api.environment.MODEL_SERVER_URL).toBe('http://model-server:4100');
    expect(first.environment.DATABASE_URL).toBe(services.api.environment.DATABASE_URL);
    expect(first.volumes).toContain('kfashion-data:/var/lib/kfashion:rw');
  });
});

describe('compose.yaml + compose.onnx.yaml', () => {
  const files = [COMPOSE_FILE, join(ROOT, 'docker/compose.onnx.yaml')];
  const resolve = (env: Record<string, string>) => {
    const resolved = compose(['config'], env, files);
    return { resolved, services: (parse(resolved.stdout ?? '') as { services?: Record<string, Service> }).services ?? {} };
  };
  const { resolved, services } = resolve(REQUIRED_ENV);
  const onnx = services['model-server-onnx'];

  it('is valid for docker-compose and adds one ONNX Runtime server to the TensorFlow.js one', () => {
    expect({ status: resolved.status, stderr: resolved.stderr }).toEqual({ status: 0, stderr: '' });
    expect(
      Object.keys(services)
        .filter((name) => name.startsWith('model-server'))
        .sort(),
    ).toEqual(['model-server', 'model-server-onnx']);
  });

  it('builds the CUDA 12 image and works only the prediction queue on the onnx engine', () => {
    expect(onnx.build.dockerfile).toBe('docker/model-server-onnx.Dockerfile');
    expect(onnx.image).toBe('kfashion-model-server-onnx:local');
    expect(onnx.command).toEqual(['model-server', '--engine', 'onnx', '--queues', 'prediction']);
    expect(onnx.environment).toMatchObject({ KFASHION_ENGINE: 'onnx', CUDA_VISIBLE_DEVICES: '0' });
  });

  it('shares the database, the data volume and the alias the API calls with the TensorFlow.js server', () => {
    const tfjs = services['model-server'];
    expect(onnx.environment.DATABASE_URL).toBe(tfjs.environment.DATABASE_URL);
    expect(onnx.volumes).toEqual(tfjs.volumes);
    expect(onnx.networks).toEqual(tfjs.networks);
    expect(onnx.depends_on).toEqual(tfjs.depends_on);
  });

  it('reserves the GPU KFASHION_ONNX_GPU names (default 0)', () => {
    const device = (s: Service) => s.deploy.resources.reservations.devices[0];
    expect(device(onnx)).toMatchObject({ driver: 'nvidia', device_ids: ['0'], capabilities: ['gpu'] });
    expect(device(resolve({ ...REQUIRED_ENV, KFASHION_ONNX_GPU: '3' }).services['model-server-onnx']).device_ids).toEqual(['3']);
  });
});
