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

const REQUIRED_ENV = { POSTGRES_PASSWORD: 'c0ffee42', KFASHION_DATASET_DIR: '/srv/kfashion-test' };

/** docker-compose with only the given variables (and PATH), never a developer's docker/.env. */
function compose(args: string[], env: Record<string, string>, file = COMPOSE_FILE) {
  const result = spawnSync('docker-compose', ['--env-file', EMPTY_ENV_FILE, '-f', file, ...args], {
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

type Service = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('docker/compose.yaml', () => {
  const resolved = compose(['config'], REQUIRED_ENV);
  const config = parse(resolved.stdout ?? '') as { services: Record<string, Service>; volumes: Record<string, unknown> };

  it('is valid for docker-compose (schema and interpolation)', () => {
    const quiet = compose(['config', '-q'], REQUIRED_ENV);
    expect({ status: quiet.status, stderr: quiet.stderr }).toEqual({ status: 0, stderr: '' });
    expect(resolved.status).toBe(0);
    expect(Object.keys(config.services).sort()).toEqual(['api', 'db', 'model-server']);
  });

  it('the validation has teeth: a misspelt healthcheck key is rejected', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'kfashion-compose-')), 'compose.yaml');
    writeFileSync(broken, readFileSync(COMPOSE_FILE, 'utf8').replace('start_period: 60s', 'start_periode: 60s'));
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

  it('holds no secret: every password is interpolated from the environment', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    const passwords = text.split('\n').filter((line) => /password/i.test(line) && !line.trim().startsWith('#'));
    expect(passwords.length).toBeGreaterThan(0);
    for (const line of passwords) expect(line).toMatch(/\$\{POSTGRES_PASSWORD:\?[^}]+\}/);
    expect(config.services.db.environment.POSTGRES_PASSWORD).toBe(REQUIRED_ENV.POSTGRES_PASSWORD);
  });

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
    expect(api.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(api.environment.DATABASE_URL).toBe(`postgres://kfashion:${REQUIRED_ENV.POSTGRES_PASSWORD}@db:5432/kfashion`);
    expect(api.environment.MODEL_SERVER_URL).toBe('http://model-server:4100');
    expect(api.ports).toEqual([{ published: 4000, target: 4000 }]);
    expect(api.volumes).toEqual([`${REQUIRED_ENV.KFASHION_DATASET_DIR}:/data/kfashion:ro`, 'kfashion-data:/var/lib/kfashion:rw']);
    expect(api.healthcheck.test.join(' ')).toContain('127.0.0.1:4000/health');
  });

  it('model-server: reserves the GPUs, shares checkpoints and uploads, is health-checked and scalable', () => {
    const server = config.services['model-server'];
    expect(server.build.dockerfile).toBe('docker/model-server.Dockerfile');
    expect(server.deploy.resources.reservations.devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
    expect(server.environment.KFASHION_TF_BACKEND).toBe('tensorflow');
    expect(server.environment.DATABASE_URL).toBe(config.services.api.environment.DATABASE_URL);
    expect(server.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(server.volumes).toEqual(config.services.api.volumes);
    expect(server.healthcheck.test.join(' ')).toContain('127.0.0.1:4100/health');
    // --scale model-server=N needs no fixed host port and no container_name
    expect(server.ports).toBeUndefined();
    expect(server.container_name).toBeUndefined();
    expect(Object.keys(config.volumes).sort()).toEqual(['kfashion-data', 'pgdata']);
  });
});
