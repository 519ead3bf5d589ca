/**
 * torchvision state_dicts ↔ ParameterStore.
 *
 * Names: the store uses the names torchvision >= 0.13 writes. Older checkpoints (e.g. torchvision's
 * v1 COCO Faster R-CNN) name three modules differently, because torchvision later wrapped those convs in
 * Conv2dNormActivation (torchvision's FeaturePyramidNetwork._load_from_state_dict and
 * RPNHead._load_from_state_dict do the same renaming when loading):
 *   backbone.fpn.inner_blocks.<i>.{weight,bias}  ↔  backbone.fpn.inner_blocks.<i>.0.{weight,bias}
 *   backbone.fpn.layer_blocks.<i>.{weight,bias}  ↔  backbone.fpn.layer_blocks.<i>.0.{weight,bias}
 *   rpn.head.conv.{weight,bias}                  ↔  rpn.head.conv.0.0.{weight,bias}
 * `num_batches_tracked` entries (BatchNorm step counters, unused by FrozenBatchNorm2d) are ignored.
 *
 * Layouts: tensors in files are PyTorch layouts; ParameterStore converts (see params.ts).
 */
import { ParameterStore } from '../model/params';
import { writeSafetensors, encodeSafetensors, SafetensorsEntry, TensorToWrite } from './safetensors';
import { readWeightsFile } from './weights-file';

const OLD_FPN = /^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.(weight|bias)$/;
const NEW_FPN = /^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.0\.(weight|bias)$/;
const OLD_RPN_CONV = /^rpn\.head\.conv\.(weight|bias)$/;
const NEW_RPN_CONV = /^rpn\.head\.conv\.0\.0\.(weight|bias)$/;

/** Old (pre-0.13) state_dict name → the name torchvision >= 0.13 uses; other names unchanged. */
export function toCurrentName(name: string): string {
  const fpn = OLD_FPN.exec(name);
  if (fpn) return `${fpn[1]}.0.${fpn[2]}`;
  const rpn = OLD_RPN_CONV.exec(name);
  if (rpn) return `rpn.head.conv.0.0.${rpn[1]}`;
  return name;
}

const IMAGENET_BODY = /^(conv1|bn1|layer[1-4])\./;

/**
 * The names of a file's tensors as the detection model calls them. An ImageNet classification ResNet
 * (torchvision's `resnet50-0676ba61.pth`: `conv1.*`, `bn1.*`, `layer1-4.*`, `fc.*`, no `backbone.`) is the
 * detector's body: its stem and stages move under `backbone.body.`, and `fc.*`, the classifier, keeps its
 * name, which the detector has no use for. Detection checkpoints keep their names.
 */
export function detectorNames(names: Iterable<string>): Map<string, string> {
  const list = [...names];
  const imagenet = list.includes('conv1.weight') && !list.some((name) => name.startsWith('backbone.'));
  return new Map(list.map((name) => [name, imagenet && IMAGENET_BODY.test(name) ? `backbone.body.${name}` : toCurrentName(name)]));
}

/** Current name → the pre-0.13 name (for writing checkpoints older torchvision can load). */
export function toLegacyName(name: string): string {
  const fpn = NEW_FPN.exec(name);
  if (fpn) return `${fpn[1]}.${fpn[2]}`;
  const rpn = NEW_RPN_CONV.exec(name);
  if (rpn) return `rpn.head.conv.${rpn[1]}`;
  return name;
}

function isIgnored(name: string): boolean {
  return name.endsWith('.num_batches_tracked') || name === 'num_batches_tracked';
}

export interface LoadOptions {
  /** Store parameters that may be absent from the file (they keep their current values). */
  allowMissing?: (name: string) => boolean;
  /** File tensors that may have no parameter in the store (they are skipped). */
  allowUnexpected?: (name: string) => boolean;
}

export interface LoadReport {
  loaded: string[];
  missing: string[];
  skipped: string[];
}

type TensorLike = Pick<SafetensorsEntry, 'shape' | 'data'>;

const formatShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Loads tensors (PyTorch names and layouts) into the store. Every problem is collected, then one
 * Error lists them all: unknown tensors, missing parameters, and shape mismatches with both shapes.
 */
export function loadStateDict(
  store: ParameterStore,
  tensors: ReadonlyMap<string, TensorLike>,
  source: string,
  options: LoadOptions = {},
): LoadReport {
  const byCurrentName = new Map<string, { fileName: string; tensor: TensorLike }>();
  const problems: string[] = [];
  const skipped: string[] = [];
  for (const [fileName, tensor] of tensors) {
    if (isIgnored(fileName)) continue;
    const name = toCurrentName(fileName);
    const previous = byCurrentName.get(name);
    if (previous) {
      problems.push(`tensors "${previous.fileName}" and "${fileName}" are both the parameter "${name}"`);
      continue;
    }
    if (!store.has(name)) {
      if (options.allowUnexpected?.(name)) skipped.push(fileName);
      else problems.push(`unexpected tensor "${fileName}" ${formatShape(tensor.shape)}: the model has no such parameter`);
      continue;
    }
    byCurrentName.set(name, { fileName, tensor });
  }
  const missing: string[] = [];
  for (const name of store.names()) {
    const found = byCurrentName.get(name);
    const expected = store.info(name).torchShape;
    if (!found) {
      if (options.allowMissing?.(name)) missing.push(name);
      else problems.push(`missing tensor "${name}" (model shape ${formatShape(expected)})`);
      continue;
    }
    const shape = found.tensor.shape;
    if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
      problems.push(
        `tensor "${found.fileName}" has shape ${formatShape(shape)} in the file but the model expects ${formatShape(expected)}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${source}: cannot load weights (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`,
    );
  }
  const loaded: string[] = [];
  for (const [name, { tensor }] of byCurrentName) {
    store.assignFromTorch(name, tensor.data);
    loaded.push(name);
  }
  return { loaded, missing, skipped };
}

/** Reads a weights file (safetensors or PyTorch checkpoint) and loads it (see loadStateDict); returns the file's metadata too. */
export function loadSafetensorsInto(
  store: ParameterStore,
  path: string,
  options: LoadOptions = {},
): LoadReport & { metadata: Record<string, string> } {
  const file = readWeightsFile(path);
  return { ...loadStateDict(store, file.tensors, path, options), metadata: file.metadata };
}

/** The store as a state_dict: current torchvision names (or legacy ones), PyTorch layouts. */
export function exportStateDict(store: ParameterStore, names: 'current' | 'legacy' = 'current'): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const name of store.names()) {
    out.set(names === 'legacy' ? toLegacyName(name) : name, { shape: store.info(name).torchShape, data: store.torchValues(name) });
  }
  return out;
}

export function saveSafetensors(store: ParameterStore, path: string, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, exportStateDict(store), metadata);
}

export function encodeStateDict(store: ParameterStore, metadata: Record<string, string> = {}): Buffer {
  return encodeSafetensors(exportStateDict(store), metadata);
}
