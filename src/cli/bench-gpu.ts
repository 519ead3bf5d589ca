/**
 * `kfashion bench-gpu`: run first on a GPU host (or in the model server's container) and paste its table into an
 * issue: inference images/s on both engines, a training step's images/s and peak memory, each against the CPU
 * (src/ml/doctor/bench.ts).
 */
import { Command } from 'commander';
import { BACKBONES, type BackboneName } from '../ml/model/config';
import { ENGINES, type EngineName } from '../ml/onnx/engine-names';
import { fullLabelSpace } from '../kfashion/vocabulary';
import { environment } from './environment';
import { commaList, integerInRange, listOf } from './options';

interface BenchGpuFlags {
  size: string;
  batches: string;
  iterations: string;
  inferenceBackbone: string;
  trainingBackbones: string;
  trainingBatch: string;
  engines: string;
  training: boolean;
  cpu: boolean;
  backend?: string;
  json?: boolean;
}

function oneBackbone(value: string): BackboneName {
  if (!(BACKBONES as readonly string[]).includes(value))
    throw new Error(`--inference-backbone: expected one of ${BACKBONES.join(', ')}, got "${value}"`);
  return value as BackboneName;
}

export function registerBenchGpu(program: Command): void {
  program
    .command('bench-gpu')
    .description('inference and training-step throughput at real sizes on the backend in use and on the CPU, as one Markdown table')
    .option('--size <pixels>', "side of the square test images (the model's min_size and max_size)", '800')
    .option('--batches <list>', 'inference batch sizes, comma-separated', '1,2,4')
    .option('--iterations <n>', 'timed calls per measurement, after one warm-up call', '3')
    .option('--inference-backbone <name>', `backbone for inference: ${BACKBONES.join(', ')}`, 'resnet50')
    .option('--training-backbones <list>', 'backbones for the training step, comma-separated', 'resnet18,resnet50')
    .option('--training-batch <n>', 'images per training step', '2')
    .option('--engines <list>', `inference engines: ${ENGINES.join(', ')}`, ENGINES.join(','))
    .option('--no-training', 'skip the training steps')
    .option('--no-cpu', 'skip the same runs on the CPU')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)')
    .option('--json', 'print the report as one JSON object instead of the table')
    .action(async (flags: BenchGpuFlags) => {
      const [{ parseBackendName }, { formatGpuBenchMarkdown, runGpuBench }] = await Promise.all([
        import('../ml/backend'),
        import('../ml/doctor/bench'),
      ]);
      // As the doctor: the host's variables (KFASHION_TF_BACKEND, CUDA_VISIBLE_DEVICES), checked once, reach the backend and GPU probes.
      environment();
      const report = await runGpuBench({
        size: integerInRange(flags.size, '--size', 64, 2048),
        batches: [...new Set(commaList(flags.batches).map((b) => integerInRange(b, '--batches', 1, 64)))],
        iterations: integerInRange(flags.iterations, '--iterations', 1, 100),
        inferenceBackbone: oneBackbone(flags.inferenceBackbone),
        trainingBackbones: flags.training ? listOf(flags.trainingBackbones, BACKBONES, '--training-backbones') : [],
        trainingBatch: integerInRange(flags.trainingBatch, '--training-batch', 1, 32),
        engines: listOf(flags.engines, ENGINES, '--engines') as EngineName[],
        cpuReference: flags.cpu,
        labelSpace: fullLabelSpace(),
        backend: parseBackendName(flags.backend, '--backend'),
        env: process.env,
        log: (line) => console.error(line),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatGpuBenchMarkdown(report)}\n`);
    });
}
