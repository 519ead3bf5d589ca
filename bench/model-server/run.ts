/**
 * `npm run bench:model-server`: training and serving throughput of the model server's code paths on
 * this machine; results into the "Training" and "Serving" sections of bench/RESULTS.md.
 *
 * 1. A fresh PostgreSQL database (TEST_DATABASE_URL's server) gets synthetic K-Fashion photos
 *    (BENCH_MS_SIZE px, default 128) through the real importer.
 * 2. Training: a real training run (src/model-server/training, as `kfashion train` runs it: sharp
 *    decoding with prefetch, SGD steps, metrics written per step) of a small ResNet-18 config on each
 *    backend; images/s as the run reports it (steps after the first, data loading included).
 * 3. Serving: the trained model version behind the model server's HTTP API (wasm); the same photos
 *    posted one at a time, then BENCH_MS_CONCURRENCY (default 8) at a time; requests/s and how many
 *    forward passes the batcher made.
 *
 * Environment: BENCH_MS_CPU=0 skips the plain cpu backend; BENCH_MS_NO_WRITE=1 prints only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';
import { openDatabase } from '../../src/db/data-source';
import { importDataset } from '../../src/db/import';
import { synthesize } from '../../src/kfashion/synth';
import { initBackend, type BackendName } from '../../src/ml/backend';
import type { NormLayer } from '../../src/ml/model/config';
import { claim, type Lease } from '../../src/db/leases';
import { normaliseTrainingParams } from '../../src/jobs/training-params';
import { runTraining, type TrainingProgress } from '../../src/model-server/training/trainer';
import { ModelRegistry } from '../../src/model-server/models';
import { startModelHttp } from '../../src/model-server/http';

const SERVER = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const SIZE = Number(process.env.BENCH_MS_SIZE ?? 128);
const CONCURRENCY = Number(process.env.BENCH_MS_CONCURRENCY ?? 8);
const RESULTS = path.resolve(__dirname, '../../../bench/RESULTS.md');

const MODEL = {
  backbone: 'resnet18',
  min_size: SIZE,
  max_size: SIZE,
  representation_size: 128,
  fpn_out_channels: 64,
  rpn_pre_nms_top_n_train: 300,
  rpn_post_nms_top_n_train: 150,
  rpn_pre_nms_top_n_test: 150,
  rpn_post_nms_top_n_test: 50,
  rpn_batch_size_per_image: 64,
  box_batch_size_per_image: 64,
  box_detections_per_img: 10,
};

interface TrainingResult {
  backend: BackendName;
  trainable: number;
  normLayer: NormLayer;
  batchSize: number;
  steps: number;
  imagesPerSecond: number;
  seconds: number;
  load: string;
}

async function train(
  dataSource: Awaited<ReturnType<typeof openDatabase>>,
  dataDir: string,
  backend: BackendName,
  images: number,
  trainable: number,
  normLayer: NormLayer,
): Promise<TrainingResult & { modelVersionId: number }> {
  await initBackend(backend);
  const params = normaliseTrainingParams({
    model: { ...MODEL, trainable_backbone_layers: trainable, norm_layer: normLayer },
    data: { attributeKinds: ['color', 'print'], maxImages: images, evalMaxImages: 4 },
    epochs: 1,
    batchSize: 4,
    lr: 0.005,
    warmupIterations: 2,
    checkpointEvery: 1000,
    seed: 1,
  });
  const [row] = await dataSource.query(`INSERT INTO training_runs (params) VALUES ($1::jsonb) RETURNING id`, [JSON.stringify(params)]);
  const lease: Lease = { table: 'training_runs', id: Number(row.id), worker: `bench:${process.pid}` };
  await claim(dataSource, lease, 'bench', 600);
  let last: TrainingProgress | null = null;
  let firstStepAt = 0;
  let firstStepImages = 0;
  const started = Date.now();
  const outcome = await runTraining({
    dataSource,
    lease,
    dataDir,
    onProgress: (p) => {
      if (p.step === 1 && firstStepAt === 0) {
        firstStepAt = Date.now();
        firstStepImages = Math.min(4, p.trainImages);
      }
      if (p.phase === 'training') last = p;
    },
  });
  if (outcome.status !== 'succeeded') throw new Error(`bench training run ended ${outcome.status}`);
  const final = last as TrainingProgress | null;
  if (!final) throw new Error('no training progress');
  const [timing] = await dataSource.query(
    `SELECT extract(epoch FROM max(recorded_at) - min(recorded_at)) AS seconds, count(*)::int AS steps
       FROM training_metrics WHERE training_run_id = $1 AND name = 'lr'`,
    [lease.id],
  );
  const trainedImages = final.trainImages - firstStepImages;
  return {
    backend,
    trainable,
    normLayer,
    batchSize: 4,
    steps: final.step,
    imagesPerSecond: trainedImages / Number(timing.seconds),
    seconds: (Date.now() - started) / 1000,
    load: loadAverage(),
    modelVersionId: outcome.modelVersionId,
  };
}

interface ServingResult {
  concurrency: number;
  requests: number;
  seconds: number;
  batches: number;
  largestBatch: number;
}

async function serve(dataSource: Awaited<ReturnType<typeof openDatabase>>, versionId: number, photos: Buffer[]): Promise<ServingResult[]> {
  const backend = await initBackend('wasm');
  const registry = new ModelRegistry(dataSource, { maxBatch: CONCURRENCY, maxWaitMs: 5 });
  const http = await startModelHttp({ registry, backend, port: 0, host: '127.0.0.1' });
  try {
    const post = async (body: Buffer) => {
      const response = await fetch(`${http.url}/predict?modelVersionId=${versionId}`, { method: 'POST', body });
      if (response.status !== 200) throw new Error(`predict answered ${response.status}`);
      await response.json();
    };
    await post(photos[0]); // loads the model
    const loaded = await registry.get(versionId);
    const results: ServingResult[] = [];
    for (const concurrency of [1, CONCURRENCY]) {
      const before = { ...loaded.batcher.stats };
      const started = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < photos.length) await post(photos[next++]);
        }),
      );
      results.push({
        concurrency,
        requests: photos.length,
        seconds: (Date.now() - started) / 1000,
        batches: loaded.batcher.stats.batches - before.batches,
        largestBatch: loaded.batcher.stats.largestBatch,
      });
    }
    return results;
  } finally {
    await http.close();
    await registry.dispose();
  }
}

async function main(): Promise<void> {
  await withBenchDatabase(SERVER, 'kf_bench_ms', async ({ dataSource, root, dataDir }) => {
    await synthesize({ outDir: path.join(root, 'data'), images: 64, seed: 5, width: SIZE, height: SIZE });
    await importDataset(dataSource, { root: path.join(root, 'data'), parseWorkers: 0 });
    const training: TrainingResult[] = [];
    const wasm = await train(dataSource, dataDir, 'wasm', 40, 0, 'frozen_batch_norm');
    training.push(wasm);
    training.push(await train(dataSource, dataDir, 'wasm', 24, 5, 'frozen_batch_norm'));
    // A run from scratch's default (torchvision's): every stage trained, nn.BatchNorm2d.
    training.push(await train(dataSource, dataDir, 'wasm', 24, 5, 'batch_norm'));
    if (process.env.BENCH_MS_CPU !== '0') training.push(await train(dataSource, dataDir, 'cpu', 8, 0, 'frozen_batch_norm'));
    const photos = (fs.readdirSync(path.join(root, 'data'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.jpg'))
      .sort()
      .slice(0, 32)
      .map((f) => fs.readFileSync(path.join(root, 'data', f)));
    const serving = await serve(dataSource, wasm.modelVersionId, photos);
    const cpuInfo = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()})`;
    const header = `Run ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC on ${cpuInfo}, Node ${process.version}; load average (1/5/15 min) at the end: ${loadAverage()} (wall-clock rates fall when other work shares the 2 cores; the load average says how much).\n\n`;
    const trainingBody =
      header +
      "`npm run bench:model-server`: one epoch of a real training run (the model server's code: sharp decoding with prefetch, " +
      `horizontal flips, SGD steps, per-step metrics written to PostgreSQL) on ${SIZE}×${SIZE} synthetic photos, ResNet-18-FPN ` +
      '(FPN 64 channels, box head 128), heads for colour and print, batch 4. images/s = images trained after the first step / time between the first and last step.\n\n' +
      '| backend | trainable backbone stages | norm layer | steps | images/s | run seconds (incl. model creation, evaluation) | load avg after |\n| --- | ---: | --- | ---: | ---: | ---: | --- |\n' +
      training
        .map(
          (t) =>
            `| ${t.backend} | ${t.trainable} | ${t.normLayer} | ${t.steps} | ${t.imagesPerSecond.toFixed(2)} | ${t.seconds.toFixed(0)} | ${t.load} |`,
        )
        .join('\n') +
      '\n';
    const servingBody =
      header +
      `The model version trained above (wasm) behind the model server's HTTP API: ${photos.length} synthetic ${SIZE}×${SIZE} JPEGs POSTed to /predict, ` +
      `one at a time, then ${CONCURRENCY} at a time (the batcher gathers concurrent requests into one forward pass, up to ${CONCURRENCY} images).\n\n` +
      '| concurrent requests | requests | seconds | images/s | forward passes | largest batch |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n' +
      serving
        .map(
          (s) =>
            `| ${s.concurrency} | ${s.requests} | ${s.seconds.toFixed(1)} | ${(s.requests / s.seconds).toFixed(2)} | ${s.batches} | ${s.largestBatch} |`,
        )
        .join('\n') +
      '\n';
    console.log(trainingBody);
    console.log(servingBody);
    if (process.env.BENCH_MS_NO_WRITE !== '1') {
      let text = fs.readFileSync(RESULTS, 'utf8');
      text = replaceSection(text, 'Training', trainingBody);
      text = replaceSection(text, 'Serving', servingBody);
      fs.writeFileSync(RESULTS, text);
    }
  });
}

runBench(main);
