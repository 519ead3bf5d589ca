/**
 * `kfashion doctor [--backend <name>] [--json] [--no-timing]`: run on the GPU host to learn whether the
 * GPU is used, why not, and how the backend in use compares with the plain cpu backend (src/ml/doctor).
 */
import { Command } from 'commander';
import type { DoctorReport, OpReport } from '../ml/doctor/report';
import { environment } from './environment';

function milliseconds(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(1)} ms`;
}

function opLine(op: OpReport): string {
  const error =
    op.relativeError === null
      ? 'not compared (cpu is the backend in use)'
      : `relative error ${op.relativeError.toExponential(2)}${op.agrees ? '' : ` > ${op.tolerance} (DISAGREES)`}`;
  return `  ${op.name.padEnd(16)} cold ${milliseconds(op.coldMs).padStart(10)}  warm ${milliseconds(op.warmMs).padStart(10)}  cpu warm ${milliseconds(op.cpuWarmMs).padStart(10)}  ${error}${op.onHost ? '  (host JavaScript)' : ''}`;
}

function onnxLine({ onnx }: DoctorReport): string {
  if (onnx.version === null) return `ONNX Runtime (--engine onnx): not available: ${onnx.problem}`;
  const cuda = onnx.cudaSkipped ? ` (CUDA not used: ${onnx.cudaSkipped})` : '';
  return `ONNX Runtime (--engine onnx): onnxruntime-node ${onnx.version} on ${onnx.provider}${cuda}, probe graph ${onnx.probeOk ? 'ok' : 'WRONG RESULT'}`;
}

export function formatDoctorText(report: DoctorReport): string {
  const lines = [
    `Node ${report.node} on ${report.platform}`,
    `TensorFlow.js: ${Object.entries(report.packages)
      .map(([name, version]) => `${name} ${version ?? 'not installed'}`)
      .join(', ')}`,
    `Backend: ${report.backend.name} on ${report.backend.device}: ${report.backend.detail}${report.backend.requested ? ` (requested: ${report.backend.requested})` : ''}`,
    ...(report.backend.requestedError ? [`  ${report.backend.requestedError}`] : []),
    ...report.backend.skipped.map(
      (s) =>
        `  not used: ${s.module}: ${s.installed ? '' : 'not installed; '}${s.missingLibrary ? `missing ${s.missingLibrary}; ` : ''}${s.reason}`,
    ),
    `libtensorflow: ${report.libtensorflow ?? '— (tensorflow backend not in use)'}`,
    ...(report.gpu.gpus.length === 0
      ? [`GPU: ${report.gpu.problem}`]
      : report.gpu.gpus.map(
          (g) =>
            `GPU ${g.index}: ${g.name}, compute capability ${g.computeCapability ?? 'unknown'}, driver ${g.driverVersion}, ${g.memoryUsedMiB}/${g.memoryTotalMiB} MiB used`,
        )),
    `CUDA_VISIBLE_DEVICES: ${report.gpu.cudaVisibleDevices ?? '(unset)'}`,
  ];
  lines.push(onnxLine(report));
  if (report.ops) lines.push('Ops (first call = cold, second = warm):', ...report.ops.map(opLine));
  lines.push(`Verdict: ${report.verdict}`);
  return lines.join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'is the GPU used? the TensorFlow.js backend, why better ones did not load, the GPU, and op timings against the cpu backend',
    )
    .option(
      '--backend <name>',
      'TensorFlow.js backend to diagnose: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)',
    )
    .option('--json', 'print the report as one JSON object')
    .option('--no-timing', 'skip timing the ops (only the cheap facts)')
    .action(async (options: { backend?: string; json?: boolean; timing: boolean }) => {
      const [{ parseBackendName }, { runDoctor }] = await Promise.all([import('../ml/backend'), import('../ml/doctor/report')]);
      const backend = parseBackendName(options.backend, '--backend');
      // The doctor examines the host: it reads its variables (KFASHION_TF_BACKEND, CUDA_VISIBLE_DEVICES) and runs its commands in it.
      environment();
      const report = await runDoctor({ backend, timing: options.timing, env: process.env });
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorText(report)}\n`);
    });
}
