/**
 * @jest-environment ./test/support/host-typed-arrays-environment.js
 */
/**
 * `kfashion bench-gpu` (src/ml/doctor/bench.ts) at tiny settings on this machine's CPU paths (wasm, ONNX Runtime on
 * the CPU): the Markdown table has one row per engine and batch and per training backbone, with positive measured
 * numbers; the JSON report carries the same; bad options are named. The CPU-reference columns of a GPU host are
 * checked on the formatter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatGpuBenchMarkdown, type GpuBenchReport } from '../../src/ml/doctor/bench';
import { runCli } from './run-cli';

const TINY = [
  'bench-gpu',
  '--size',
  '64',
  '--batches',
  '1,2',
  '--iterations',
  '1',
  '--inference-backbone',
  'resnet18',
  '--training-backbones',
  'resnet18',
  '--training-batch',
  '1',
  '--backend',
  'wasm',
];

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** The cells of the table's body rows. */
function tableRows(markdown: string): string[][] {
  const lines = markdown.trim().split('\n');
  const header = lines.findIndex((line) => line.startsWith('| workload |'));
  expect(header).toBeGreaterThan(0);
  expect(lines[header + 1]).toMatch(/^\| --- \|/);
  return lines.slice(header + 2).map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

test('the table: inference per engine and batch, a training step, positive numbers, the CPU column', async () => {
  const markdown = await runCli(TINY);
  expect(markdown).toMatch(
    /^kfashion bench-gpu, .*TensorFlow\.js backend wasm \(cpu\), ONNX Runtime on cpu \(CUDA not used: .+\), no GPU \(/,
  );
  const rows = tableRows(markdown);
  expect(rows.map((r) => [r[0], r[1].replace(' (best)', ''), r[2]])).toEqual([
    ['inference resnet18 64×64', '1', 'tfjs on wasm (cpu)'],
    ['inference resnet18 64×64', '2', 'tfjs on wasm (cpu)'],
    ['inference resnet18 64×64', '1', 'onnx on cpu'],
    ['inference resnet18 64×64', '2', 'onnx on cpu'],
    ['training step resnet18 64×64', '1', 'tfjs on wasm (cpu)'],
  ]);
  for (const row of rows) {
    expect(row).toHaveLength(8);
    expect(Number(row[3])).toBeGreaterThan(0);
    // Both cells have three significant digits: their product is 1 within their rounding.
    expect(Math.abs(Number(row[4]) * Number(row[3]) - 1)).toBeLessThan(0.01);
    expect(row[6]).toBe('— (runs on the CPU)');
  }
  expect(rows.filter((r) => r[1].endsWith('(best)') && r[2] === 'tfjs on wasm (cpu)')).toHaveLength(1);
  expect(rows[4][5]).toMatch(/^[1-9]\d* MiB$/);
  expect(rows[0][5]).toBe('—');
});

test('a training step too large for the backend is refused before it starts, with the estimate and the limit', async () => {
  const args = [
    '--size',
    '800',
    '--engines',
    'onnx',
    '--batches',
    '1',
    '--iterations',
    '1',
    '--inference-backbone',
    'resnet18',
    '--training-backbones',
    'resnet50',
    '--training-batch',
    '1',
  ];
  const report = JSON.parse(await runCli(['bench-gpu', ...args, '--backend', 'wasm', '--json'])) as GpuBenchReport;
  const training = report.rows.find((row) => row.workload === 'training step resnet50 800×800');
  expect(training?.measured).toMatchObject({
    imagesPerSecond: null,
    failed: expect.stringMatching(
      /^refused before the step: one training step needs about [\d.]+ GiB .*resnet50\) but the wasm backend's heap limit is 4\.0 GiB; use /,
    ),
  });
});

test('--json: the same measurements as numbers; --no-training and --engines leave rows out', async () => {
  const report = JSON.parse(await runCli([...TINY, '--engines', 'onnx', '--no-training', '--json'])) as GpuBenchReport;
  expect(report.backend).toMatchObject({ name: 'wasm', device: 'cpu' });
  expect(report.onnx).toMatchObject({ provider: 'cpu', cudaSkipped: expect.stringMatching(/nvidia-smi|GPU/) });
  expect(report.rows.map((r) => [r.runsOn, r.batch])).toEqual([
    ['onnx on cpu', 1],
    ['onnx on cpu', 2],
  ]);
  for (const row of report.rows) {
    expect(row.measured).toMatchObject({ imagesPerSecond: expect.any(Number), failed: null });
    expect(row.measured.imagesPerSecond).toBeGreaterThan(0);
    expect(row).toMatchObject({ onCpu: true, cpu: null });
  }
});

test.each([
  [['--size', '16'], '--size: expected an integer from 64 to 2048, got "16"'],
  [['--batches', '1,0'], '--batches: expected an integer from 1 to 64, got "0"'],
  [['--iterations', 'many'], '--iterations: expected an integer from 1 to 100, got "many"'],
  [['--inference-backbone', 'vgg16'], '--inference-backbone: expected one of resnet18, resnet34, resnet50, resnet101, got "vgg16"'],
  [['--training-backbones', 'resnet18,resnet152'], '--training-backbones: expected one or more of resnet18, resnet34, resnet50, resnet101'],
  [['--engines', 'tensorrt'], '--engines: expected one or more of tfjs, onnx'],
])('rejects %j', async (args, message) => {
  await expect(runCli([...TINY, ...args])).rejects.toThrow(message);
});

test('on a GPU host the table puts each run next to the CPU and gives the ratio; a failed run keeps its row', () => {
  const report: GpuBenchReport = {
    date: '2026-12-07T05:00:00.000Z',
    node: 'v24.21.0',
    backend: { name: 'tensorflow', device: 'cuda', detail: '@tensorflow/tfjs-node-gpu' },
    gpus: ['NVIDIA A10 (compute capability 8.6, 23028 MiB, driver 550.54.15)'],
    gpuProblem: null,
    onnx: null,
    settings: {
      size: 800,
      batches: [1, 4],
      iterations: 3,
      inferenceBackbone: 'resnet50',
      trainingBackbones: ['resnet50'],
      trainingBatch: 2,
      engines: ['tfjs'],
      cpuReference: true,
    },
    rows: [
      {
        workload: 'inference resnet50 800×800',
        batch: 4,
        runsOn: 'tfjs on tensorflow (cuda)',
        measured: { imagesPerSecond: 12, peakBytes: null, failed: null },
        onCpu: false,
        cpu: { imagesPerSecond: 0.2, peakBytes: null, failed: null },
        best: true,
      },
      {
        workload: 'training step resnet50 800×800',
        batch: 2,
        runsOn: 'tfjs on tensorflow (cuda)',
        measured: { imagesPerSecond: 4, peakBytes: 3 * 2 ** 30, failed: null },
        onCpu: false,
        cpu: null,
        best: true,
      },
      {
        workload: 'training step resnet101 800×800',
        batch: 8,
        runsOn: 'tfjs on tensorflow (cuda)',
        measured: { imagesPerSecond: null, peakBytes: null, failed: 'OOM when allocating tensor' },
        onCpu: false,
        cpu: { imagesPerSecond: 0.05, peakBytes: 2 ** 30, failed: null },
        best: false,
      },
    ],
  };
  const rows = tableRows(formatGpuBenchMarkdown(report));
  expect(rows[0]).toEqual(['inference resnet50 800×800', '4 (best)', 'tfjs on tensorflow (cuda)', '12.0', '0.0833', '—', '0.200', '60.0×']);
  expect(rows[1]).toEqual([
    'training step resnet50 800×800',
    '2',
    'tfjs on tensorflow (cuda)',
    '4.00',
    '0.250',
    '3072 MiB',
    '— (--no-cpu)',
    '—',
  ]);
  // A run that failed (out of GPU memory) keeps its row, with the reason.
  expect(rows[2]).toEqual([
    'training step resnet101 800×800',
    '8',
    'tfjs on tensorflow (cuda)',
    'failed: OOM when allocating tensor',
    '—',
    '—',
    '0.0500',
    '—',
  ]);
});
