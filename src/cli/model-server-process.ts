/**
 * A model server as a child process of `kfashion serve --model-server` and `kfashion demo`: its own
 * process, so training and inference compute on their own core instead of stalling the API's event
 * loop, on the same database (the embedded server is shared by every process of the data folder).
 * The child binds to loopback and requires a token only its parent knows; a child that dies is
 * replaced (ModelServerSupervisor) on the same port, so the API's URL stays right.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as readline from 'node:readline';
import { isProcessAlive } from '../util/process-alive';
import { environment } from './environment';

export interface ModelServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM (running jobs go back to the queue), then waits for the exit. */
  stop(): Promise<void>;
}

const READY_LINE = /^model server on (http:\/\/\S+)/;

type Log = (line: string) => void;
const defaultLog: Log = (line) => console.log(`[model-server] ${line}`);

/** Starts one child with these extra environment variables; resolves once it printed its start line. */
export function spawnModelServer(log: Log = defaultLog, env: NodeJS.ProcessEnv = {}): Promise<ModelServerProcess> {
  const child = spawn(process.execPath, [process.argv[1], 'model-server'], {
    env: {
      ...process.env,
      MODEL_SERVER_PORT: String(environment().MODEL_SERVER_PORT ?? 0),
      ...env,
      KFASHION_PARENT_PID: String(process.pid),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  readline.createInterface({ input: child.stderr }).on('line', log);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the model server exited before it was ready (${signal ?? `status ${code}`})`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const ready = READY_LINE.exec(line);
      if (ready) resolve({ url: ready[1], child, stop });
      log(line);
    });
  });
}

/** Restart delays: doubling from the first to the last, back to the first once a child has lived `STABLE_MS`. */
export const RESTART_BACKOFF_MS = { first: 1_000, max: 30_000 };
const STABLE_MS = 60_000;

/** One model server child, replaced when it dies (after a delay that doubles while children keep dying young). */
export class ModelServerSupervisor {
  private stopping = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private restarting: Promise<void> | null = null;

  private constructor(
    private current: ModelServerProcess,
    /** The child's environment: the port and token every replacement keeps. */
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Log,
  ) {
    this.watch(current);
  }

  /**
   * Starts the first child on MODEL_SERVER_PORT (default any free port) with a fresh random token
   * (`configuredToken`, MODEL_SERVER_TOKEN, when set), which the API must send: `token`.
   */
  static async start(log: Log = defaultLog, configuredToken?: string): Promise<ModelServerSupervisor> {
    const token = configuredToken || randomBytes(32).toString('hex');
    const first = await spawnModelServer(log, { MODEL_SERVER_TOKEN: token });
    const env = { MODEL_SERVER_TOKEN: token, MODEL_SERVER_PORT: new URL(first.url).port };
    log(`child ${first.child.pid} ready at ${first.url}`);
    return new ModelServerSupervisor(first, env, log);
  }

  get url(): string {
    return this.current.url;
  }

  get token(): string {
    return this.env.MODEL_SERVER_TOKEN!;
  }

  get child(): ChildProcess {
    return this.current.child;
  }

  private watch(server: ModelServerProcess): void {
    const started = Date.now();
    server.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      if (Date.now() - started >= STABLE_MS) this.failures = 0;
      this.scheduleRestart(`child ${server.child.pid} exited (${signal ?? `status ${code}`})`);
    });
  }

  private scheduleRestart(why: string): void {
    const delay = Math.min(RESTART_BACKOFF_MS.first * 2 ** this.failures, RESTART_BACKOFF_MS.max);
    this.failures++;
    this.log(`${why}; starting another in ${delay / 1000} s`);
    this.timer = setTimeout(() => {
      this.restarting = this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    this.timer = null;
    if (this.stopping) return;
    try {
      const next = await spawnModelServer(this.log, this.env);
      this.current = next;
      this.log(`child ${next.child.pid} ready at ${next.url}`);
      // stop() waits for this restart, then stops `current`: the new child.
      if (!this.stopping) this.watch(next);
    } catch (error) {
      if (!this.stopping) this.scheduleRestart((error as Error).message);
    }
  }

  /** Stops replacing children and stops the current one (its jobs go back to the queue). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.restarting;
    await this.current.stop();
  }
}

/** In a child model server: exit when the parent process is gone (it may have been killed without a chance to stop us). */
export function exitWithParent(pid: number | undefined, shutdown: () => void): void {
  if (pid === undefined) return;
  setInterval(() => {
    if (!isProcessAlive(pid)) shutdown();
  }, 1000).unref();
}
