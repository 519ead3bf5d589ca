/**
 * `--queues`: a model server works only the job queues it is given (an ONNX Runtime server, which cannot train,
 * takes prediction chunks and leaves training to the tfjs servers), and a bad queue name is named with the option.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobQueue, PREDICTION_QUEUE, TRAINING_QUEUE } from '../../src/jobs/queue';
import { startModelServer, type RunningModelServer } from '../../src/model-server/server';
import { runCli } from '../ml/run-cli';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';

jest.setTimeout(60_000);

let db: TestDatabase;
let queue: JobQueue;
let dataDir: string;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  queue = await JobQueue.open(db.url, { retryDelaySeconds: 0 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-queues-'));
});
afterAll(async () => {
  await queue?.stop();
  await db?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function server(queues?: ('training' | 'prediction')[]): Promise<RunningModelServer> {
  return startModelServer({
    dataSource: db.dataSource,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    backend: 'cpu',
    pollIntervalMs: 50,
    queues,
    log: () => undefined,
  });
}

async function state(id: string): Promise<string | undefined> {
  return (await queue.job(TRAINING_QUEUE, id))?.state;
}

/** The job's state once a worker has taken and finished it ('created' and 'active' are on the way), or after 10 s. */
async function settled(id: string): Promise<string | undefined> {
  for (let i = 0; i < 200 && ['created', 'active'].includes((await state(id)) ?? ''); i++) await new Promise((r) => setTimeout(r, 50));
  return state(id);
}

it('a server of the prediction queue leaves a training job alone; one of both queues takes it', async () => {
  // A training job for a run that does not exist: a worker that takes it finds nothing to claim and completes it.
  const id = await queue.sendTraining({ runId: 987654 });
  const predictionOnly = await server([PREDICTION_QUEUE]);
  try {
    await new Promise((r) => setTimeout(r, 1500)); // 30 polls of the prediction queue
    expect(predictionOnly.worker).not.toBeNull();
    expect(await state(id)).toBe('created');
  } finally {
    await predictionOnly.stop();
  }
  const both = await server();
  try {
    expect(await settled(id)).toBe('completed');
  } finally {
    await both.stop();
  }
});

it('an unknown queue name is named with the option', async () => {
  await expect(runCli(['model-server', '--queues', 'prediction,gpu'])).rejects.toThrow(
    '--queues: expected one or more of training, prediction (comma-separated), got "prediction,gpu"',
  );
});
