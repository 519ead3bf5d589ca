/**
 * Starting a run from an existing checkpoint (safetensors or a PyTorch `.pth`/`.pt`: a torchvision Faster
 * R-CNN state_dict, an ImageNet classification ResNet, or an Attribute R-CNN of another label space):
 * every tensor whose name and shape match is loaded; the rest of the model keeps its fresh initialisation. When the label space differs, the class and attribute heads do
 * not match and are re-initialised; the report says which, for the run log.
 */
import type { ParameterStore } from '../../ml/model/params';
import { detectorNames, loadStateDict } from '../../ml/weights/state-dict';
import { readWeightsFile } from '../../ml/weights/weights-file';

export interface InitReport {
  loaded: number;
  /** model parameters that kept their fresh values, with the reason */
  reinitialised: string[];
  /** file tensors the model has no use for */
  unused: string[];
}

export function loadMatchingWeights(store: ParameterStore, file: string): InitReport {
  const { tensors } = readWeightsFile(file);
  const names = detectorNames(tensors.keys());
  const matching = new Map<string, { shape: number[]; data: Float32Array }>();
  const unused: string[] = [];
  const mismatched = new Map<string, string>();
  for (const [fileName, tensor] of tensors) {
    if (fileName.endsWith('num_batches_tracked')) continue;
    const name = names.get(fileName)!;
    if (!store.has(name)) {
      unused.push(fileName);
      continue;
    }
    const expected = store.info(name).torchShape;
    if (expected.join() !== tensor.shape.join()) {
      mismatched.set(name, `shape [${tensor.shape}] in the file, [${expected}] in the model`);
      continue;
    }
    matching.set(name, tensor);
  }
  const report = loadStateDict(store, matching, file, { allowMissing: () => true });
  const reinitialised = report.missing.map((name) => `${name} (${mismatched.get(name) ?? 'not in the file'})`);
  return { loaded: report.loaded.length, reinitialised, unused };
}
