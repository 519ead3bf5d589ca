/**
 * What `kfashion demo` does (src/cli/demo.ts defines the command): the API, console and model server
 * first, so the console's address and token are on the screen at once; then the photos, the import
 * and the training run, whose progress the console shows as it goes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { openDatabase } from '../db/data-source';
import { importDataset } from '../db/import';
import { synthesize } from '../kfashion/synth';
import { dataDir } from '../util/data-dir';
import { DEMO_TRAINING, type DemoOptions } from './demo';
import { demoToken, demoTokenFile } from './demo-token';
import { onShutdown } from './options';
import { serveApi } from './serve';
import { environment } from './environment';

/** The fields of TrainingProgress the demo's subscription asks for (all nullable in the schema). */
interface FollowedProgress {
  phase: string | null;
  step: number | null;
  totalSteps: number | null;
  epoch: number | null;
  epochs: number | null;
  losses: { name: string; value: number }[] | null;
  imagesPerSecond: number | null;
  etaSeconds: number | null;
}

/** The parts of a model version's stored evaluation the demo prints (absent for a run without one). */
interface DemoMetrics {
  box?: { ap50?: number };
  attributes?: { matched?: { kinds?: { color?: { accuracy?: number } } } };
}

function socketProblem(error: unknown): string {
  if (error instanceof Error) return error.message;
  const event = error as { message?: string; code?: number; reason?: string };
  return (
    event.message ??
    (event.code !== undefined ? `the connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})` : String(error))
  );
}

class DemoApi {
  /** `token`: an admin token, since the demo trains, activates and predicts through the API. */
  constructor(
    readonly origin: string,
    private readonly token: string,
  ) {}

  async request<Data>(query: string, variables: Record<string, unknown> = {}): Promise<Data> {
    const response = await fetch(`${this.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as { data?: Data; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(`the API refused: ${body.errors.map((e) => e.message).join('; ')}`);
    return body.data!;
  }

  /** Prints the run's progress as the API pushes it, until the run ends; its final status. */
  follow(runId: string): Promise<string> {
    const client = createClient({
      url: `${this.origin.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 5,
      connectionParams: { authorization: `Bearer ${this.token}` },
    });
    let status = 'unknown';
    let lastPrinted = 0;
    return new Promise<string>((resolve, reject) => {
      client.subscribe<{ trainingRunUpdated: { status: string; error: string | null; progress: FollowedProgress | null } }>(
        {
          query:
            'subscription($id: ID!) { trainingRunUpdated(id: $id) { status error progress { phase step totalSteps epoch epochs losses { name value } imagesPerSecond etaSeconds } } }',
          variables: { id: runId },
        },
        {
          next: ({ data }) => {
            const run = data!.trainingRunUpdated;
            status = run.status;
            const p = run.progress;
            if (p?.step && (Date.now() - lastPrinted > 10_000 || p.step === p.totalSteps)) {
              lastPrinted = Date.now();
              const eta = p.etaSeconds != null ? `, about ${Math.ceil(p.etaSeconds)} s left` : '';
              const loss = p.losses?.find((entry) => entry.name === 'loss')?.value;
              console.log(
                `  ${String(p.phase).toLowerCase()} · step ${p.step}/${p.totalSteps} · epoch ${(p.epoch ?? 0) + 1}/${p.epochs} · loss ${Number(loss ?? NaN).toFixed(3)} · ${Number(p.imagesPerSecond ?? 0).toFixed(1)} images/s${eta}`,
              );
            }
            if (run.error) console.log(`  error: ${run.error}`);
          },
          // graphql-ws reports a socket's ErrorEvent or CloseEvent, not an Error: said in one line.
          error: (error: unknown) => reject(new Error(`following training run ${runId} stopped: ${socketProblem(error)}`)),
          complete: () => resolve(status),
        },
      );
    }).finally(() => client.dispose());
  }
}

async function prepareData(root: string, images: number, seed: number): Promise<void> {
  if (fs.existsSync(path.join(root, 'Training'))) {
    console.log(`2/5 synthetic photos: reusing ${root}`);
  } else {
    console.log(`2/5 synthetic photos: drawing ${images} K-Fashion-format photos (seed ${seed}) into ${root}`);
    await synthesize({ outDir: root, images, seed, width: 192, height: 192, validationFraction: 0.25 });
  }
  const dataSource = await openDatabase({ env: environment() });
  try {
    const stats = await importDataset(dataSource, { root });
    console.log(
      `3/5 import: ${stats.imagesImported} new, ${stats.imagesUnchanged} unchanged, ${stats.garmentsImported} garments (${stats.seconds.toFixed(1)} s)`,
    );
  } finally {
    await dataSource.destroy();
  }
}

async function activeModel(api: DemoApi): Promise<{ id: string; name: string } | null> {
  const { modelVersions } = await api.request<{ modelVersions: { edges: { node: { id: string; name: string; isActive: boolean } }[] } }>(
    '{ modelVersions(first: 100) { edges { node { id name isActive } } } }',
  );
  return modelVersions.edges.map((edge) => edge.node).find((v) => v.isActive) ?? null;
}

/** A demo run that an interrupted demo left queued or running (the model server resumes it from its checkpoint). */
async function unfinishedRun(api: DemoApi): Promise<string | null> {
  const { trainingRuns } = await api.request<{
    trainingRuns: { edges: { node: { id: string; status: string; params: { name?: string } } }[] };
  }>('{ trainingRuns(first: 20) { edges { node { id status params { name } } } } }');
  const runs = trainingRuns.edges.map((edge) => edge.node);
  return runs.find((run) => ['QUEUED', 'RUNNING'].includes(run.status) && run.params.name === DEMO_TRAINING.name)?.id ?? null;
}

async function train(api: DemoApi, consoleUrl: string, options: DemoOptions): Promise<string> {
  const unfinished = options.retrain ? null : await unfinishedRun(api);
  const runId = unfinished ?? (await startRun(api, options));
  const started = Date.now();
  console.log(
    `4/5 training run ${runId} ${unfinished ? 'resumed (an earlier demo was stopped during it)' : 'started through the API'}; watch it live at ${consoleUrl}training?run=${runId}`,
  );
  const status = await api.follow(runId);
  if (status !== 'SUCCEEDED') throw new Error(`training run ${runId} ended ${status.toLowerCase()}; its log is on the Training page`);
  const { trainingRun } = await api.request<{ trainingRun: { modelVersion: { id: string; metrics: DemoMetrics | null } } }>(
    'query($id: ID!) { trainingRun(id: $id) { modelVersion { id metrics } } }',
    { id: runId },
  );
  const { metrics, id } = trainingRun.modelVersion;
  const colour = metrics?.attributes?.matched?.kinds?.color?.accuracy;
  console.log(
    `  finished in ${Math.round((Date.now() - started) / 1000)} s: model version ${id}, box AP@0.5 ${Number(metrics?.box?.ap50 ?? 0).toFixed(3)}` +
      (colour != null ? `, colour accuracy ${Number(colour).toFixed(2)} on the garments it found` : ''),
  );
  await api.request('mutation($id: ID!) { activateModelVersion(id: $id) { id } }', { id });
  return id;
}

async function startRun(api: DemoApi, options: DemoOptions): Promise<string> {
  const epochs = options.epochs ? Number(options.epochs) : DEMO_TRAINING.epochs;
  const input = {
    ...DEMO_TRAINING,
    epochs,
    lrMilestones: [Math.max(1, epochs - 1)],
    maxImages: options.trainImages ? Number(options.trainImages) : DEMO_TRAINING.maxImages,
  };
  const { startTraining } = await api.request<{ startTraining: { id: string } }>(
    'mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }',
    { input },
  );
  return startTraining.id;
}

function expiryText(expiresAt: Date | null): string {
  return expiresAt === null ? 'no expiry' : `until ${expiresAt.toISOString().slice(0, 10)}`;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const started = Date.now();
  const served = await serveApi(true);
  onShutdown('stopping the demo', () => served.close());
  const origin = `http://localhost:${served.api.port}`;
  const consoleUrl = `${origin}/`;
  console.log(`1/5 serving: web console ${consoleUrl}, GraphQL ${origin}/graphql, model server ${served.modelServer!.url}`);
  // Printed before the slow steps: the console's token field (Analyze, Start training) needs it while they run.
  const tokenFile = demoTokenFile(dataDir(environment()));
  const admin = await demoToken(served.dataSource, tokenFile);
  console.log(
    `    API token (admin, ${expiryText(admin.expiresAt)}) for the console's "API token" field: ${admin.token}\n` +
      `    ${admin.reused ? 'the token of the earlier demo, kept in' : 'a new token, kept for the next demo in'} ${tokenFile}` +
      (admin.revokedIds.length ? `; revoked the older demo token(s) ${admin.revokedIds.join(', ')}` : ''),
  );
  await prepareData(path.join(dataDir(environment()), 'demo'), Number(options.images), Number(options.seed));
  const api = new DemoApi(origin, admin.token);
  const active = options.retrain ? null : await activeModel(api);
  const versionId = active ? active.id : await train(api, consoleUrl, options);
  if (active) console.log(`4/5 model version ${active.id} ("${active.name}") is active already (--retrain trains a new one)`);
  const { predictImages } = await api.request<{ predictImages: { id: string } }>(
    'mutation($id: ID!) { predictImages(where: { split: VALIDATION }, modelVersionId: $id) { id } }',
    { id: versionId },
  );
  console.log(
    `5/5 model version ${versionId} is active; predicting the validation photos (job ${predictImages.id}) — ready after ${Math.round((Date.now() - started) / 1000)} s`,
  );
  console.log(`    Analyze a photo of your own:     ${consoleUrl}analyze`);
  console.log(`    Search the predictions:          ${consoleUrl}  (switch the source to predictions)`);
  console.log(`    Training runs and their curves:  ${consoleUrl}training`);
  console.log(`    API token for the console:       ${tokenFile}`);
  console.log('    Ctrl-C stops the API, the model server and the embedded database.');
}
