/**
 * `kfashion export-onnx --weights W --config C OUT.onnx`: the Attribute R-CNN as ONNX graphs (src/ml/onnx/export.ts)
 * without serving it. The model is two graphs with TypeScript between them, so OUT.onnx names a pair:
 * OUT.features.onnx and OUT.roi-heads.onnx (the files the onnx engine caches beside the weights).
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { initBackend } from '../ml/backend';
import { readConfigFile } from '../ml/model/config';
import { exportFromWeights } from '../ml/onnx/engine';

export function exportedPaths(out: string): { features: string; roiHeads: string } {
  const base = out.replace(/\.onnx$/, '');
  return { features: `${base}.features.onnx`, roiHeads: `${base}.roi-heads.onnx` };
}

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('export an Attribute R-CNN (config + weights) as ONNX graphs: OUT.features.onnx and OUT.roi-heads.onnx')
    .argument('<out>', 'output name (OUT.onnx gives OUT.features.onnx and OUT.roi-heads.onnx)')
    .requiredOption('--weights <file>', 'model weights (.safetensors, or a PyTorch .pth/.pt checkpoint)')
    .requiredOption('--config <file>', 'model config JSON')
    .action(async (out: string, options: { weights: string; config: string }) => {
      // The weights are read through the tfjs loader (same names, dtypes and checks as the tfjs engine).
      await initBackend('cpu', { log: () => undefined });
      const graphs = exportFromWeights(readConfigFile(options.config), options.weights);
      const paths = exportedPaths(out);
      writeFileSync(paths.features, graphs.features);
      writeFileSync(paths.roiHeads, graphs.roiHeads);
      process.stdout.write(`${paths.features}\n${paths.roiHeads}\n`);
    });
}
