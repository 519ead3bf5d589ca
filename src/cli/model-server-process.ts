/**
 * A model server as a child process of `kfashion serve --model-server` and `kfashion demo`: its own
 * process, so training and inference compute on their own core instead of stalling the API's event
 * loop, on the same database (the embedded server is shared by every process of the data folder).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { isProcessAlive } from '../util/process-alive';

export interface ModelServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM (running jobs go back to the queue), then waits for the exit. */
  stop(): Promise<void>;
}

const READY_LINE = /^model server on (http:\/\/\S+)/;

export function spawnModelServer(log: (line: string) => void = (line) => console.log(`[model-server] ${line}`)): Promise<ModelServerProcess> {
  const child = spawn(process.execPath, [process.argv[1], 'model-server'], {
    env: { ...process.env, MODEL_SERVER_PORT: process.env.MODEL_SERVER_PORT ?? '0', KFASHION_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  readline.createInterface({ input: child.stderr! }).on('line', log);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the model server exited before it was ready (${signal ?? `status ${code}`})`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const ready = READY_LINE.exec(line);
      if (ready) resolve({ url: ready[1], child, stop });
      log(line);
    });
  });
}

/** In a child model server: exit when the parent process is gone (it may have been killed without a chance to stop us). */
export function exitWithParent(parentPid: string | undefined, shutdown: () => void): void {
  const pid = Number(parentPid);
  if (!Number.isInteger(pid) || pid <= 0) return;
  setInterval(() => {
    if (!isProcessAlive(pid)) shutdown();
  }, 1000).unref();
}
