/**
 * `npm run bench:infer`: our Attribute R-CNN (ResNet-50-FPN) on the wasm backend and on ONNX Runtime (the onnx engine,
 * src/ml/onnx) against torchvision 0.14 on the CPU, same weights, same image, in the same run; results into the
 * "Inference: torchvision, wasm and ONNX Runtime" section of bench/RESULTS.md.
 *
 * 1. A temporary folder gets the model config (torchvision's defaults, the K-Fashion label space of
 *    src/kfashion/vocabulary.ts), the image (a real K-Fashion sample resized by sharp to 800×800, and to
 *    512×512 for the training step) as raw RGB, and the weights: tools/reference/bench_export.py builds
 *    torchvision's architecture and writes them as safetensors; we load them with our loader.
 * 2. Series (each with the load average before and after, wall and CPU seconds):
 *    single-image latency (torch 2 threads; ours one wasm worker; ours on ONNX Runtime, one worker with 2 intra-op
 *    threads), throughput on both cores (torch 2 processes × 1 thread; ours 2 worker threads each with its own wasm
 *    backend and model; ONNX Runtime 2 worker threads × 1 intra-op thread), one training step at 512×512 (torch 2
 *    threads; ours one wasm worker; BENCH_INFER_TRAIN=0 skips it), and optionally the plain cpu backend once
 *    (BENCH_INFER_CPU=1).
 *
 * torchvision must run on an optimised BLAS (apt-get install libopenblas0-pthread): the bench checks which BLAS
 * torch maps and refuses to start on the reference BLAS, unless BENCH_INFER_REFERENCE_BLAS=1, which runs it and
 * marks every torchvision figure in the results as measured on the reference BLAS.
 *
 * Environment: BENCH_INFER_RUNS (measured calls per series, default 5), BENCH_INFER_THROUGHPUT_RUNS (per
 * worker/process, default 3), BENCH_INFER_TRAIN_RUNS (default 3), BENCH_INFER_CPU=1, BENCH_INFER_KEEP=1
 * (keep the temporary folder), BENCH_INFER_NO_WRITE=1 (print only).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { configToJson, resolveConfig, type ModelConfig } from '../../src/ml/model/config';
import { fullLabelSpace } from '../../src/kfashion/vocabulary';
import type { WorkerDone, WorkerTask } from './worker';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = '/usr/bin/python3';
/** A real K-Fashion photo kept in the repository (test/fixtures/kfashion-samples/README.md says where from). */
const SAMPLE = path.join(ROOT, 'test/fixtures/kfashion-samples/1070263.jpg');
/** A BLAS that users of torchvision get (OpenBLAS, MKL, BLIS); Debian's reference libblas makes torch 2–4× slower. */
const FAST_BLAS = /openblas|mkl|blis/i;
const INFER_SIZE = 800;
const TRAIN_SIZE = 512;
/** Ground truth for the training step, in 512×512 pixels (two garments; labels index class_names). */
const TRAIN_BOXES = [
  [96, 40, 330, 280],
  [150, 230, 400, 500],
];
const TRAIN_LABELS = [1, 9];
/** SGD as torchvision's detection reference except the learning rate: with synthetic weights lr 0.01 takes the
 * losses to ~1e7 in one step and to NaN in the next. The cost of a step does not depend on the value. */
const TRAIN_SGD = { lr: 1e-6, momentum: 0.9, weight_decay: 1e-4 };

const envInt = (name: string, fallback: number) => (process.env[name] ? Number.parseInt(process.env[name], 10) : fallback);
const RUNS = envInt('BENCH_INFER_RUNS', 5);
const THROUGHPUT_RUNS = envInt('BENCH_INFER_THROUGHPUT_RUNS', 3);
const TRAIN_RUNS = envInt('BENCH_INFER_TRAIN_RUNS', 3);

type Mode = 'infer' | 'train';

interface Series {
  label: string;
  side: 'torchvision' | 'ours';
  mode: Mode;
  parallel: number;
  images: number;
  /** median over calls, per image */
  medianWall: number;
  medianCpu: number;
  /** images / wall seconds of the whole series (all workers or processes together) */
  imagesPerSecond: number;
  /** CPU seconds per image over the whole series */
  cpuPerImage: number;
  loadBefore: number[];
  loadAfter: number[];
  note: string;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The K-Fashion label space: every category as a class, every other garment kind as an attribute head. */
function benchConfig(minSize: number): ModelConfig {
  return resolveConfig({ backbone: 'resnet50', ...fullLabelSpace(), min_size: minSize, max_size: 1333 }, 'bench:infer config');
}

async function writeInputs(directory: string): Promise<ModelConfig> {
  for (const [mode, size] of [
    ['infer', INFER_SIZE],
    ['train', TRAIN_SIZE],
  ] as const) {
    const config = benchConfig(size);
    const pixels = await sharp(SAMPLE).resize(size, size, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    writeFileSync(path.join(directory, `${mode}.rgb`), pixels);
    writeFileSync(path.join(directory, `${mode}.config.json`), configToJson(config));
    const extra = mode === 'train' ? { boxes: TRAIN_BOXES, labels: TRAIN_LABELS, ...TRAIN_SGD } : {};
    writeFileSync(path.join(directory, `${mode}.json`), JSON.stringify({ config, height: size, width: size, ...extra }));
  }
  const config = benchConfig(INFER_SIZE);
  execFileSync(
    PYTHON,
    [
      path.join(ROOT, 'tools/reference/bench_export.py'),
      path.join(directory, 'infer.config.json'),
      path.join(directory, 'weights.safetensors'),
    ],
    { stdio: 'inherit' },
  );
  return config;
}

/** A process or thread that warms up, says ready, then runs on 'go' and reports. */
interface Participant<T> {
  ready: Promise<void>;
  go(): void;
  done: Promise<T>;
}

interface TorchReport {
  wall: number[];
  cpu: number[];
  threads: number;
  torch: string;
  torchvision: string;
  blas_build: string;
  blas_libraries: string[];
  output: Record<string, unknown>;
}

function torchParticipant(mode: Mode, directory: string, threads: number, runs: number): Participant<TorchReport> {
  const child = spawn(
    PYTHON,
    [path.join(ROOT, 'tools/reference/bench_torch.py'), mode, directory, '--threads', String(threads), '--runs', String(runs), '--wait'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let stdout = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('READY\n')) markReady();
  });
  const done = new Promise<TorchReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench_torch.py ${mode} exited with ${code}: ${stdout}`));
      try {
        resolve(
          JSON.parse(
            stdout
              .split('\n')
              .filter((line) => line.startsWith('{'))
              .pop() as string,
          ),
        );
      } catch (error) {
        reject(new Error(`bench_torch.py ${mode}: unreadable report (${(error as Error).message}): ${stdout.slice(0, 500)}`));
      }
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

function workerParticipant(task: WorkerTask): Participant<WorkerDone> {
  const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: task });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const done = new Promise<WorkerDone>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: { type: string; message?: string }) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'error') reject(new Error(`bench worker: ${message.message}`));
      else if (message.type === 'done') resolve(message as WorkerDone);
    });
  }).finally(() => worker.terminate());
  return { ready, go: () => worker.postMessage('go'), done };
}

/** Starts every participant's measured calls together (after all warmed up) and times the whole series. */
async function runTogether<T extends { wall: number[]; cpu: number[] }>(
  participants: Participant<T>[],
): Promise<{ reports: T[]; seconds: number; loadBefore: number[]; loadAfter: number[] }> {
  await Promise.all(participants.map((p) => p.ready));
  const loadBefore = os.loadavg();
  const start = process.hrtime.bigint();
  participants.forEach((p) => p.go());
  const reports = await Promise.all(participants.map((p) => p.done));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { reports, seconds, loadBefore, loadAfter: os.loadavg() };
}

const log = (line: string) => console.log(`[bench:infer ${new Date().toISOString().slice(11, 19)}] ${line}`);

function summarise(label: string, side: Series['side'], mode: Mode, result: Awaited<ReturnType<typeof runTogether>>, note: string): Series {
  const wall = result.reports.flatMap((r) => r.wall);
  const cpu = result.reports.flatMap((r) => r.cpu);
  // Parallel workers share one process: each worker's cpuUsage delta counts both, so divide by their number.
  const cpuShare = side === 'ours' ? result.reports.length : 1;
  const series: Series = {
    label,
    side,
    mode,
    parallel: result.reports.length,
    images: wall.length,
    medianWall: median(wall),
    medianCpu: median(cpu) / cpuShare,
    imagesPerSecond: wall.length / result.seconds,
    cpuPerImage: cpu.reduce((a, b) => a + b, 0) / cpuShare / wall.length,
    loadBefore: result.loadBefore,
    loadAfter: result.loadAfter,
    note,
  };
  log(
    `${label}: median ${series.medianWall.toFixed(2)} s wall, ${series.medianCpu.toFixed(2)} s CPU per image; ${series.imagesPerSecond.toFixed(3)} images/s; load ${series.loadBefore[0].toFixed(1)} → ${series.loadAfter[0].toFixed(1)}; ${note}`,
  );
  return series;
}

async function torchSeries(
  label: string,
  mode: Mode,
  directory: string,
  processes: number,
  threads: number,
  runs: number,
): Promise<{ series: Series; report: TorchReport }> {
  const result = await runTogether(Array.from({ length: processes }, () => torchParticipant(mode, directory, threads, runs)));
  const report = result.reports[0];
  const note = JSON.stringify(report.output).slice(0, 300);
  return { series: summarise(label, 'torchvision', mode, result, note), report };
}

async function oursSeries(
  label: string,
  mode: Mode,
  directory: string,
  workers: number,
  runs: number,
  backend: WorkerTask['backend'] = 'wasm',
  warmup = 1,
  onnx?: { threads: number },
): Promise<{ series: Series; report: WorkerDone }> {
  const engine = onnx ? { engine: 'onnx' as const, onnxThreads: onnx.threads } : {};
  const result = await runTogether(
    Array.from({ length: workers }, () => workerParticipant({ backend, mode, directory, runs, warmup, ...engine })),
  );
  const report = result.reports[0];
  const note = `${JSON.stringify(report.output).slice(0, 300)}; tensors alive after the series: ${report.numTensors}`;
  return { series: summarise(label, 'ours', mode, result, note), report };
}

/** Which BLAS torch maps; throws on the reference BLAS unless BENCH_INFER_REFERENCE_BLAS=1 accepts it. */
function checkTorchBlas(): { libraries: string[]; reference: boolean } {
  const { blas_libraries: libraries } = JSON.parse(
    execFileSync(PYTHON, [path.join(ROOT, 'tools/reference/bench_torch.py'), 'blas']).toString(),
  ) as { blas_libraries: string[] };
  const reference = !libraries.some((library) => FAST_BLAS.test(path.basename(library)) || FAST_BLAS.test(path.dirname(library)));
  if (reference && process.env.BENCH_INFER_REFERENCE_BLAS !== '1') {
    throw new Error(
      `torch runs on the reference BLAS (${libraries.join(', ') || 'no BLAS library mapped'}), which makes torchvision 2–4× slower than its users see it. ` +
        'Install OpenBLAS (apt-get install libopenblas0-pthread), or set BENCH_INFER_REFERENCE_BLAS=1 to run anyway with the results marked.',
    );
  }
  return { libraries, reference };
}

async function main(): Promise<void> {
  const blas = checkTorchBlas();
  if (blas.reference) log('WARNING: torch on the reference BLAS; every torchvision figure is marked as such');
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kfashion-bench-infer-'));
  const startedAt = new Date();
  const uptimeStart = execFileSync('uptime').toString().trim();
  log(`folder ${directory}; ${uptimeStart}`);
  try {
    const config = await writeInputs(directory);
    const series: Series[] = [];
    const failures: string[] = [];
    /** A failing series is reported in the results, and the others still run. */
    const attempt = async <T>(label: string, body: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await body();
      } catch (error) {
        failures.push(`${label}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
        log(`FAILED ${failures[failures.length - 1]}`);
        return undefined;
      }
    };
    const add = (result?: { series: Series }) => result && series.push(result.series);
    const torchLatency = await attempt('torch latency', () =>
      torchSeries('torchvision, 1 process × 2 threads, one image per call', 'infer', directory, 1, 2, RUNS),
    );
    add(torchLatency);
    const oursLatency = await attempt('ours latency', () =>
      oursSeries('ours (wasm), 1 worker thread, one image per call', 'infer', directory, 1, RUNS),
    );
    add(oursLatency);
    // The first ONNX series exports the model and caches it beside the weights; the later ones read the cache.
    const onnxLatency = await attempt('onnx latency', () =>
      oursSeries('ours (ONNX Runtime), 1 worker thread × 2 intra-op threads, one image per call', 'infer', directory, 1, RUNS, 'wasm', 1, {
        threads: 2,
      }),
    );
    add(onnxLatency);
    add(
      await attempt('torch throughput', () =>
        torchSeries('torchvision, 2 processes × 1 thread', 'infer', directory, 2, 1, THROUGHPUT_RUNS),
      ),
    );
    add(
      await attempt('ours throughput', () =>
        oursSeries('ours (wasm), 2 worker threads, a backend and model each', 'infer', directory, 2, THROUGHPUT_RUNS),
      ),
    );
    add(
      await attempt('onnx throughput', () =>
        oursSeries(
          'ours (ONNX Runtime), 2 worker threads × 1 intra-op thread, a session each',
          'infer',
          directory,
          2,
          THROUGHPUT_RUNS,
          'wasm',
          1,
          { threads: 1 },
        ),
      ),
    );
    if (process.env.BENCH_INFER_TRAIN !== '0') {
      add(
        await attempt('torch training', () =>
          torchSeries('torchvision training step 512×512, 2 threads', 'train', directory, 1, 2, TRAIN_RUNS),
        ),
      );
      add(
        await attempt('ours training', () =>
          oursSeries('ours (wasm) training step 512×512, 1 worker thread', 'train', directory, 1, TRAIN_RUNS),
        ),
      );
    }
    if (process.env.BENCH_INFER_CPU === '1') {
      add(
        await attempt('ours cpu backend', () =>
          oursSeries('ours (plain cpu backend), 1 worker thread, once', 'infer', directory, 1, 1, 'cpu', 0),
        ),
      );
    }
    const uptimeEnd = execFileSync('uptime').toString().trim();
    const section = renderSection({
      startedAt,
      uptimeStart,
      uptimeEnd,
      config,
      series,
      failures,
      torch: torchLatency?.report,
      ours: oursLatency?.report,
      onnx: onnxLatency?.report,
      referenceBlas: blas.reference,
    });
    console.log(section);
    if (process.env.BENCH_INFER_NO_WRITE !== '1') writeSection(section);
  } finally {
    if (process.env.BENCH_INFER_KEEP === '1') log(`kept ${directory}`);
    else rmSync(directory, { recursive: true, force: true });
  }
}

interface RenderInput {
  startedAt: Date;
  uptimeStart: string;
  uptimeEnd: string;
  config: ModelConfig;
  series: Series[];
  failures: string[];
  torch?: TorchReport;
  ours?: WorkerDone;
  onnx?: WorkerDone;
  /** torch ran on the reference BLAS (accepted by BENCH_INFER_REFERENCE_BLAS=1): its figures are 2–4× too slow. */
  referenceBlas: boolean;
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);
const load = (values: number[]) => values.map((v) => v.toFixed(1)).join(' / ');

function machine(): string {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} cores (nproc ${execFileSync('nproc').toString().trim()}), ${cpuModel}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
}

function find(series: Series[], side: Series['side'], mode: Mode, parallel: number, label?: string): Series | undefined {
  return series.find((s) => s.side === side && s.mode === mode && s.parallel === parallel && (!label || s.label.includes(label)));
}

function renderSection(input: RenderInput): string {
  const { series, config } = input;
  const rows = series.map(
    (s) =>
      `| ${s.label} | ${s.parallel} | ${s.images} | ${fmt(s.medianWall)} | ${fmt(s.medianCpu)} | ${fmt(s.imagesPerSecond, 3)} | ${fmt(s.cpuPerImage)} | ${fmt(os.cpus().length / s.cpuPerImage, 3)} | ${load(s.loadBefore)} | ${load(s.loadAfter)} |`,
  );
  const ratio = (ours?: Series, theirs?: Series, pick: (s: Series) => number = (s) => s.medianWall) =>
    ours && theirs ? fmt(pick(ours) / pick(theirs)) : 'n/a';
  const tl = find(series, 'torchvision', 'infer', 1);
  const ol = find(series, 'ours', 'infer', 1, 'wasm');
  const xl = find(series, 'ours', 'infer', 1, 'ONNX');
  const tt = find(series, 'torchvision', 'infer', 2);
  const ot = find(series, 'ours', 'infer', 2, 'wasm');
  const xt = find(series, 'ours', 'infer', 2, 'ONNX');
  const tr = find(series, 'torchvision', 'train', 1);
  const or = find(series, 'ours', 'train', 1);
  const ips = (s: Series) => s.imagesPerSecond;
  const cpuRate = (s: Series) => 1 / s.cpuPerImage;
  return [
    SECTION,
    '',
    ...(input.referenceBlas
      ? [
          '**WARNING: torchvision ran on the reference BLAS in this run (BENCH_INFER_REFERENCE_BLAS=1): its times are 2–4× slower than its users see with OpenBLAS or MKL, so every ratio below flatters ours.**',
          '',
        ]
      : []),
    'The machine is shared with other processes (see the load averages): compare the ratios within this run rather than the absolute times across runs.',
    '',
    `Run ${input.startedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC on ${machine()}.`,
    `\`uptime\` at the start: \`${input.uptimeStart}\`; at the end: \`${input.uptimeEnd}\`. When other work shares the 2 cores (the load averages say how much), wall-clock figures include waiting for a core; the CPU columns (process CPU time: \`time.process_time()\` for torch, \`process.cpuUsage()\` for ours, all threads) do not.`,
    '',
    `\`npm run bench:infer\`: Faster R-CNN ResNet-50-FPN (torchvision's fasterrcnn_resnet50_fpn architecture: FrozenBatchNorm2d body, trainable_backbone_layers 3, torchvision 0.14 defaults), ${config.num_classes} classes (background + the K-Fashion categories); ours also has ${config.attributes.length} attribute heads (${config.attributes.reduce((n, a) => n + a.values.length, 0)} outputs over 1024 features; their cost is a few extra linear rows plus the re-pooling of the final boxes through the box head, small next to the backbone) which torchvision lacks. Same weights on both sides: tools/reference/bench_export.py fills the model with the deterministic synthetic values of tools/reference/common.py (batch norms not at identity) and writes safetensors into a temporary folder; torch loads them with load_state_dict(strict), ours with src/ml/weights. Input: K-Fashion sample 1070263.jpg resized to 800×800 (min_size 800, max_size 1333: no resize inside the model, padded 800×800). ${describeTorch(input.torch)} Ours: ${input.ours?.backendDetail ?? 'n/a'}. Ours on ONNX Runtime: ${input.onnx?.backendDetail ?? 'n/a'} (one graph, src/ml/onnx/export.ts: body, FPN, RPN with per-level TopK and NMS by level, RoiAlign, heads, per-class NMS postprocess and the re-pooled attribute heads all in ONNX; only the transform before it and the box scaling after it in TypeScript; the export is cached before the measured calls). Each series: 1 warm-up call per process/worker, then the measured calls; parallel series start together after every participant has warmed up.`,
    '',
    '| series | parallel | images | median s/image (wall) | median s/image (CPU) | images/s (wall) | CPU s/image (series) | images/s if the CPU time had both cores to itself | load before (1/5/15) | load after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows,
    '',
    'Ratios (ours / torchvision; above 1 = ours slower):',
    '',
    `- Single-image latency at 800×800: ${ratio(ol, tl)}× wall, ${ratio(ol, tl, (s) => s.medianCpu)}× CPU time.`,
    `- Throughput on both cores (torch 2 processes × 1 thread vs ours 2 worker threads): torchvision/ours images/s = ${ot && tt ? fmt(ips(tt) / ips(ot)) : 'n/a'}× wall-clock, ${ot && tt ? fmt(cpuRate(tt) / cpuRate(ot)) : 'n/a'}× by CPU time per image; torch with 2 threads in one process: ${tl ? fmt(tl.imagesPerSecond, 3) : 'n/a'} images/s. Target: within 1.5×.`,
    or && tr
      ? `- Training step at 512×512 (batch 1, SGD momentum ${TRAIN_SGD.momentum}, weight decay ${TRAIN_SGD.weight_decay}, lr ${TRAIN_SGD.lr}: lr 0.01 diverges in one step with synthetic weights, and the value does not change the cost; min_size 512 so the image is not resized; ground truth: two garments): ${ratio(or, tr)}× wall, ${ratio(or, tr, (s) => s.medianCpu)}× CPU time. Torch's step has no attribute losses; ours adds them (a few linear rows on the foreground RoIs).`
      : '- Training step: not run in this run (BENCH_INFER_TRAIN=0).',
    `- ONNX Runtime engine, single-image latency: ${ratio(xl, tl)}× torchvision's wall, ${ratio(xl, tl, (s) => s.medianCpu)}× its CPU time; ${ratio(xl, ol)}× the wasm engine's wall.`,
    `- ONNX Runtime engine, throughput on both cores (2 worker threads × 1 intra-op thread): torchvision/ours images/s = ${xt && tt ? fmt(ips(tt) / ips(xt)) : 'n/a'}× wall-clock, ${xt && tt ? fmt(cpuRate(tt) / cpuRate(xt)) : 'n/a'}× by CPU time per image; against the wasm engine ${xt && ot ? fmt(ips(xt) / ips(ot)) : 'n/a'}× its images/s. Target: at or ahead of torchvision (ratio ≤ 1).`,
    `- Same weights, same answer: wasm: ${agreement(input.torch, input.ours)} ONNX Runtime: ${agreement(input.torch, input.onnx)}`,
    ...(process.env.BENCH_INFER_CPU === '1'
      ? []
      : [
          '- The plain cpu backend was not run (BENCH_INFER_CPU=1 runs it once): it is about 20× slower than wasm on this model, many minutes per image on a loaded machine.',
        ]),
    ...input.failures.map((f) => `- FAILED: ${f}`),
    '',
    CUDA_NOTE,
    '',
  ].join('\n');
}

/** Reasoning, not a measurement: no GPU on this machine and @tensorflow/tfjs-node-gpu cannot install here. */
const CUDA_NOTE = [
  '### What the CUDA path would change',
  '',
  'Nothing here was measured on a GPU (none on this machine, and @tensorflow/tfjs-node-gpu cannot download libtensorflow here). ' +
    'The work per 800×800 image is roughly 130 G multiply-adds: ResNet-50 body ≈ 52 G (4.1 G at 224² × 12.8), FPN ≈ 35 G ' +
    '(the 3×3 output convs at 200×200 alone ≈ 24 G), RPN head 3×3 conv over ≈ 53,000 positions ≈ 31 G, box head fc6 on 1,000 ' +
    'proposals ≈ 13 G. Two AVX2 cores at a few tens of GFLOP/s explain the several CPU-seconds per image above. With ' +
    "initBackend picking 'tensorflow' from tfjs-node-gpu, convolutions run in cuDNN and matMuls in cuBLAS inside libtensorflow, " +
    'and the wasm kernel shims of src/ml/wasm-kernels.ts (Conv2DBackpropFilter and friends built from forward kernels) are not ' +
    'registered at all: TensorFlow has native gradient kernels. A mid-range GPU (T4: ~8 TFLOP/s FP32; V100/A100: 15–20) ' +
    'should bring the dense part of inference to tens of milliseconds, i.e. an expected order of 0.05–0.2 s per image ' +
    '(30–100× the 2-core CPU), and a 512×512 training step to a few tenths of a second, with batches of 2–8 images per step ' +
    'in 16 GB (torchvision trains this model at 2 images per GPU). What does not shrink: the JavaScript parts (NMS, top-k, ' +
    'anchor matching on Float32Arrays) and every dataSync()/data() that copies a result from the GPU and waits for the ' +
    'stream — they become the larger share of a step, so batching images per call matters more there than on the CPU.',
].join('\n');

function describeTorch(report?: TorchReport): string {
  if (!report) return 'Torch: n/a.';
  return `Torch: ${report.torch} / torchvision ${report.torchvision}, ${report.threads} threads, ${report.blas_build} (the system libblas), BLAS libraries mapped in the process: ${report.blas_libraries.join(', ') || 'none'}; convolutions go through oneDNN (MKL-DNN), the linear layers through that BLAS.`;
}

/** The first detections of both sides next to each other (the largest box coordinate and score differences). */
function agreement(torch?: TorchReport, ours?: WorkerDone): string {
  const theirs = torch?.output.top as number[][] | undefined;
  const mine = ours?.output.top as number[][] | undefined;
  if (!theirs || !mine) return 'n/a';
  let box = 0;
  let score = 0;
  let labels = theirs.length === mine.length;
  theirs.forEach((t, i) => {
    const m = mine[i] ?? [];
    for (let j = 0; j < 4; j++) box = Math.max(box, Math.abs(t[j] - m[j]));
    score = Math.max(score, Math.abs(t[4] - m[4]));
    labels &&= t[5] === m[5];
  });
  return `torchvision ${torch?.output.detections} detections, ours ${ours?.output.detections}; top ${theirs.length}: labels ${labels ? 'equal' : 'DIFFER'}, boxes within ${box.toFixed(3)} px, scores within ${score.toExponential(1)} (first: torch ${JSON.stringify(theirs[0]?.map((v) => +v.toFixed(3)))}, ours ${JSON.stringify(mine[0]?.map((v) => +v.toFixed(3)))}).`;
}

/** Keeps the hand-written "### Where the time goes" subsection of the previous section (stage profile notes). */
function withNotesOf(previous: string, section: string): string {
  const begin = previous.indexOf('### Where the time goes');
  if (begin < 0) return section;
  const end = previous.indexOf('\n### ', begin + 1);
  const notes = previous.slice(begin, end < 0 ? undefined : end + 1).trimEnd();
  return section.replace('### What the CUDA path would change', `${notes}\n\n### What the CUDA path would change`);
}

const SECTION = '## Inference: torchvision, wasm and ONNX Runtime';

/** Replaces (or appends) this bench's section, leaving every other section as it is. */
function writeSection(section: string): void {
  const file = path.join(ROOT, 'bench/RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`\n${SECTION}\n`);
  let updated: string;
  if (start < 0) {
    updated = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf('\n## ', start + 1);
    const old = text.slice(start + 1, next < 0 ? undefined : next + 1);
    updated = `${text.slice(0, start + 1)}${withNotesOf(old, section)}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
  }
  writeFileSync(file, updated);
  log(`wrote the Inference section of ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
