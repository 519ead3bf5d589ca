/**
 * One entry point for a weights file, whatever its format: safetensors, or a PyTorch checkpoint
 * (`torch.save`, zip or legacy), told apart by their first bytes rather than by the file's extension.
 */
import { isPytorchCheckpoint, readPytorchCheckpoint } from './pytorch-checkpoint';
import { readSafetensors, type SafetensorsFile } from './safetensors';

export type WeightsFormat = 'safetensors' | 'pytorch';

export interface WeightsFile extends SafetensorsFile {
  format: WeightsFormat;
}

export function readWeightsFile(path: string): WeightsFile {
  if (isPytorchCheckpoint(path)) return { format: 'pytorch', tensors: readPytorchCheckpoint(path), metadata: {} };
  return { format: 'safetensors', ...readSafetensors(path) };
}

/** File names the weight loaders take. */
export const WEIGHTS_EXTENSIONS = ['.safetensors', '.pth', '.pt'] as const;
