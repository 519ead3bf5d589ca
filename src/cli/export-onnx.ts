/**
 * `kfashion export-onnx --weights W --config C OUT.onnx`: the Attribute R-CNN as one ONNX model (src/ml/onnx/export.ts)
 * without serving it: the file the onnx engine caches beside the weights.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { readConfigFile } from '../ml/model/config';

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('export an Attribute R-CNN (config + weights) as one ONNX model: the whole inference graph after the transform')
    .argument('<out>', 'output file (.onnx)')
    .requiredOption('--weights <file>', 'model weights (.safetensors, or a PyTorch .pth/.pt checkpoint)')
    .requiredOption('--config <file>', 'model config JSON')
    .action(async (out: string, options: { weights: string; config: string }) => {
      const [{ initBackend }, { exportFromWeights }] = await Promise.all([import('../ml/backend'), import('../ml/onnx/engine')]);
      // The weights are read through the tfjs loader (same names, dtypes and checks as the tfjs engine).
      await initBackend('cpu', { log: () => undefined });
      writeFileSync(out, exportFromWeights(readConfigFile(options.config), options.weights));
      process.stdout.write(`${out}\n`);
    });
}
