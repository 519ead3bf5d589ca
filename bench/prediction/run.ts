/**
 * `npm run bench:prediction`: sharded batch prediction (predictImages) with 1 and then 2 model-server
 * processes, each pinned to its own CPU core (`taskset -c <core>`), on the tfjs engine (wasm) and then on the onnx
 * engine (ONNX Runtime, one intra-op thread per server), in one run; images/s into the "Batch prediction: wasm and
 * ONNX Runtime engines" section of bench/RESULTS.md with the load average before and after each series.
 *
 * A fresh database on TEST_DATABASE_URL's server gets BENCH_PRED_IMAGES (default 240) synthetic
 * BENCH_PRED_SIZE px photos (default 96) through the real importer, and an untrained ResNet-18
 * Attribute R-CNN as the active model version (random weights predict as slowly as trained ones).
 * Each series starts its servers and warms each up (GET /ready loads the model, one POST /predict
 * runs it once), then times one job in chunks of BENCH_PRED_CHUNK (default 20) images,
 * KFASHION_MAX_BATCH=4, wasm, from its creation to its end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';
import type { DataSource } from 'typeorm';
import { importDataset } from '../../src/db/import';
import { SearchService } from '../../src/db/search';
import { synthesize } from '../../src/kfashion/synth';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { createPredictionJob } from '../../src/db/prediction-jobs';
import { JobQueue } from '../../src/jobs/queue';

const SERVER = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const IMAGES = Number(process.env.BENCH_PRED_IMAGES ?? 480);
const SIZE = Number(process.env.BENCH_PRED_SIZE ?? 96);
const CHUNK = Number(process.env.BENCH_PRED_CHUNK ?? 20);
const MAX_BATCH = 4;
const REPO = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPO, 'bench/RESULTS.md');

/** An untrained model version that keeps every box (box_score_thresh 0), so each image stores garments. */
async function storeModelVersion(dataSource: DataSource, dataDir: string): Promise<void> {
  await initBackend('cpu');
  const config = resolveConfig(
    {
      backbone: 'resnet18',
      min_size: SIZE,
      max_size: SIZE,
      representation_size: 128,
      fpn_out_channels: 64,
      rpn_pre_nms_top_n_test: 150,
      rpn_post_nms_top_n_test: 50,
      box_detections_per_img: 10,
      box_score_thresh: 0,
      class_names: ['__background__', '티셔츠', '팬츠'],
      attributes: [{ kind: 'color', type: 'single', values: ['블랙', '화이트', '레드'] }],
    },
    'bench model',
  );
  const model = AttributeRCNN.create(config, 3);
  const weights = path.join(dataDir, 'bench.safetensors');
  model.save(weights, path.join(dataDir, 'bench.json'));
  model.dispose();
  await dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path, label_space, is_active)
     VALUES ('bench', 'resnet18', $1::jsonb, $2, $3::jsonb, true)`,
    [
      JSON.stringify(config),
      weights,
      JSON.stringify({
        classes: [
          { name: '티셔츠', superCategory: 'TOP' },
          { name: '팬츠', superCategory: 'BOTTOM' },
        ],
      }),
    ],
  );
}

type Engine = 'tfjs' | 'onnx';
const ENGINE_NAMES: Record<Engine, string> = { tfjs: 'tfjs (wasm)', onnx: 'onnx (ONNX Runtime, 1 thread)' };

/** A model server pinned to one core; resolves with its URL once it listens. */
function startServer(core: number, databaseUrl: string, dataDir: string, engine: Engine): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    'taskset',
    ['-c', String(core), process.execPath, path.join(REPO, 'bin/kfashion.js'), 'model-server', '--lease-timeout', '60'],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL: databaseUrl,
        KFASHION_DATA_DIR: dataDir,
        MODEL_SERVER_PORT: '0',
        KFASHION_TF_BACKEND: 'wasm',
        KFASHION_MAX_BATCH: String(MAX_BATCH),
        KFASHION_ENGINE: engine,
        KFASHION_ONNX_THREADS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const listening = output.match(/model server on (http:\/\/\S+:\d+)/);
      if (listening) resolve({ child, url: listening[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`model server on core ${core} exited (${code}):\n${output}`)));
  });
}

/** Loads the active model on the server and runs it once, so the timed job measures prediction only. */
async function warmUp(url: string, photo: Buffer): Promise<void> {
  const ready = await fetch(new URL('/ready', url));
  if (!ready.ok) throw new Error(`${url}/ready: ${ready.status} ${await ready.text()}`);
  const predicted = await fetch(new URL('/predict', url), { method: 'POST', body: photo });
  if (!predicted.ok) throw new Error(`${url}/predict: ${predicted.status} ${await predicted.text()}`);
}

async function stopServers(servers: ChildProcess[]): Promise<void> {
  await Promise.all(
    servers.map(
      (child) =>
        new Promise((resolve) => {
          child.once('close', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}

interface Series {
  engine: Engine;
  servers: number;
  imagesPerSecond: number;
  wallSeconds: number;
  chunksByServer: number[];
  /** CPU seconds each server used during the job. */
  cpuSecondsByServer: number[];
  loadBefore: string;
  loadAfter: string;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = fs
    .readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One job over every image on `cores.length` warmed-up servers, timed from its creation to its end. */
async function series(
  dataSource: DataSource,
  queue: JobQueue,
  databaseUrl: string,
  dataDir: string,
  photo: Buffer,
  cores: number[],
  engine: Engine,
): Promise<Series> {
  const servers: ChildProcess[] = [];
  try {
    for (const core of cores) {
      const server = await startServer(core, databaseUrl, dataDir, engine);
      servers.push(server.child);
      await warmUp(server.url, photo);
    }
    const loadBefore = loadAverage();
    const cpuBefore = servers.map((child) => cpuSeconds(child.pid!));
    const created = Date.now();
    const versionId = Number((await dataSource.query(`SELECT id FROM model_versions WHERE is_active`))[0].id);
    const job = await createPredictionJob(dataSource, queue, new SearchService(dataSource), {
      modelVersionId: versionId,
      filter: null,
      chunkSize: CHUNK,
    });
    for (;;) {
      const [row] = await dataSource.query(`SELECT status, done, error FROM prediction_jobs WHERE id = $1`, [job.id]);
      if (row.status !== 'queued' && row.status !== 'running') {
        const seconds = (Date.now() - created) / 1000;
        const cpu = servers.map((child, i) => cpuSeconds(child.pid!) - cpuBefore[i]);
        if (row.status !== 'succeeded' || row.done !== IMAGES)
          throw new Error(`job ${job.id} ended ${row.status} with ${row.done}/${IMAGES}: ${row.error}`);
        const chunks: { n: number }[] = await dataSource.query(
          `SELECT count(*)::int AS n FROM prediction_chunks WHERE prediction_job_id = $1 GROUP BY worker ORDER BY worker`,
          [job.id],
        );
        return {
          engine,
          servers: cores.length,
          imagesPerSecond: IMAGES / seconds,
          wallSeconds: seconds,
          chunksByServer: chunks.map((c) => c.n),
          cpuSecondsByServer: cpu,
          loadBefore,
          loadAfter: loadAverage(),
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await stopServers(servers);
  }
}

async function main(): Promise<void> {
  await withBenchDatabase(SERVER, 'kf_bench_pred', async ({ url, dataSource, root, dataDir }) => {
    const queue = await JobQueue.open(url);
    try {
      await synthesize({ outDir: root, images: IMAGES, seed: 9, width: SIZE, height: SIZE });
      await importDataset(dataSource, { root, parseWorkers: 0 });
      await storeModelVersion(dataSource, dataDir);
      const photo = fs.readFileSync(
        path.join(
          root,
          (fs.readdirSync(root, { recursive: true }) as string[]).find((f) => f.endsWith('.jpg'))!,
        ),
      );
      const results: Series[] = [];
      for (const engine of ['tfjs', 'onnx'] as const) {
        results.push(await series(dataSource, queue, url, dataDir, photo, [0], engine));
        results.push(await series(dataSource, queue, url, dataDir, photo, [0, 1], engine));
      }
      const rate = (engine: Engine, servers: number) =>
        results.find((r) => r.engine === engine && r.servers === servers)?.imagesPerSecond ?? NaN;
      const body =
        `Run ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC on ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}. ` +
        'The machine is shared with other work: the load average (1/5/15 min) before and after each series says how much of the cores the servers had.\n\n' +
        `\`npm run bench:prediction\`: one predictImages job over ${IMAGES} synthetic ${SIZE}×${SIZE} JPEGs in chunks of ${CHUNK}, ` +
        `untrained ResNet-18-FPN Attribute R-CNN (FPN 64 channels, box head 128), KFASHION_MAX_BATCH=${MAX_BATCH}, on the tfjs engine (wasm) and on the onnx engine ` +
        '(ONNX Runtime, KFASHION_ONNX_THREADS=1; the export is made and cached by the warm-up); ' +
        'each model server is its own process pinned to one core (`taskset -c 0`, `-c 1`); the API is not involved (the job is created as predictImages creates it). ' +
        "Each server is warmed up first (model loaded, one forward pass); images/s = images / wall s, from the job's creation to its end. " +
        'Server CPU s: what each server process used during the job (/proc); a server pinned to a core shared with other work gets only part of it, so ' +
        '"images/s with a core each" = images / the busiest server\'s CPU s is the rate the servers would reach with their cores to themselves.\n\n' +
        '| engine | model servers | images/s | wall s | chunks per server | server CPU s | images/s with a core each | load before | load after |\n| --- | ---: | ---: | ---: | --- | --- | ---: | --- | --- |\n' +
        results
          .map(
            (r) =>
              `| ${ENGINE_NAMES[r.engine]} | ${r.servers} | ${r.imagesPerSecond.toFixed(2)} | ${r.wallSeconds.toFixed(1)} | ${r.chunksByServer.join(' + ')} | ` +
              `${r.cpuSecondsByServer.map((c) => c.toFixed(1)).join(' + ')} | ${(IMAGES / Math.max(...r.cpuSecondsByServer)).toFixed(2)} | ${r.loadBefore} | ${r.loadAfter} |`,
          )
          .join('\n') +
        '\n\n' +
        `onnx / wasm images/s: ${(rate('onnx', 1) / rate('tfjs', 1)).toFixed(2)}× with one server, ${(rate('onnx', 2) / rate('tfjs', 2)).toFixed(2)}× with two.\n`;
      console.log(body);
      if (process.env.BENCH_PRED_NO_WRITE !== '1')
        fs.writeFileSync(
          RESULTS,
          replaceSection(fs.readFileSync(RESULTS, 'utf8'), 'Batch prediction: wasm and ONNX Runtime engines', body),
        );
    } finally {
      await queue.stop();
    }
  });
}

runBench(main);
