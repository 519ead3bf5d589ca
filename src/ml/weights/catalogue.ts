/**
 * torchvision's published checkpoints that fit this model (ResNet bodies, ResNet-50-FPN Faster R-CNN). URLs,
 * file names and sizes as torchvision's weight enums give them (`ResNet50_Weights.IMAGENET1K_V1.url`,
 * `meta["_file_size"]` in MiB, torchvision ≥ 0.15); torchvision names every file `<model>-<first 8 hex digits of its
 * SHA-256>.pth`, which is the digest a download is checked against. test/ml/weights-download.test.ts checks the URLs
 * and sizes against Debian's torchvision 0.14 (the size of its architecture's state dict as torch.save writes it).
 */
import { join, resolve } from 'node:path';
import { WEIGHTS_EXTENSIONS } from './weights-file';
import { dataDir } from '../../util/data-dir';

export interface CatalogueEntry {
  name: string;
  fileName: string;
  /** torchvision's `_file_size`, MiB. */
  sizeMiB: number;
  description: string;
}

export const DEFAULT_WEIGHTS_BASE_URL = 'https://download.pytorch.org/models/';

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'resnet18',
    fileName: 'resnet18-f37072fd.pth',
    sizeMiB: 44.661,
    description: 'ResNet-18 ImageNet-1k (acc@1 69.8): the body of a resnet18 detector',
  },
  {
    name: 'resnet34',
    fileName: 'resnet34-b627a593.pth',
    sizeMiB: 83.275,
    description: 'ResNet-34 ImageNet-1k (acc@1 73.3): the body of a resnet34 detector',
  },
  {
    name: 'resnet50',
    fileName: 'resnet50-0676ba61.pth',
    sizeMiB: 97.781,
    description: "ResNet-50 ImageNet-1k (acc@1 76.1): the body of a resnet50 detector, as torchvision's Faster R-CNN recipe starts",
  },
  {
    name: 'resnet101',
    fileName: 'resnet101-63fe2227.pth',
    sizeMiB: 170.511,
    description: 'ResNet-101 ImageNet-1k (acc@1 77.4): the body of a resnet101 detector',
  },
  {
    name: 'fasterrcnn_resnet50_fpn',
    fileName: 'fasterrcnn_resnet50_fpn_coco-258fb6c6.pth',
    sizeMiB: 159.743,
    description: 'Faster R-CNN ResNet-50-FPN COCO (box AP 37.0): body, FPN, RPN and box head of a resnet50 detector',
  },
  {
    name: 'fasterrcnn_resnet50_fpn_v2',
    fileName: 'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth',
    sizeMiB: 167.104,
    description:
      'Faster R-CNN v2 ResNet-50-FPN COCO (box AP 46.7): body, FPN, RPN and box head of a resnet50 detector with "architecture": "v2" (its body alone fits v1)',
  },
];

/** The 8 hex digits of the SHA-256 torchvision puts in the file name. */
export function sha256Prefix(entry: CatalogueEntry): string {
  const match = /-([0-9a-f]{8,})\.pth$/.exec(entry.fileName);
  if (!match) throw new Error(`catalogue entry ${entry.name}: file name ${entry.fileName} carries no SHA-256 prefix`);
  return match[1];
}

export function catalogueEntry(name: string): CatalogueEntry {
  const entry = CATALOGUE.find((e) => e.name === name);
  if (!entry) throw new Error(`unknown weights "${name}"; the catalogue has: ${CATALOGUE.map((e) => e.name).join(', ')}`);
  return entry;
}

/** The weights folder: KFASHION_WEIGHTS_DIR, default `<data dir>/weights` (where `fetch` writes and `initWeights` may read). */
/** The variables of the weights folder and downloads, as the CLI read them (absent: the defaults). */
export interface WeightsEnvironment {
  readonly KFASHION_DATA_DIR?: string;
  readonly KFASHION_WEIGHTS_DIR?: string;
  readonly KFASHION_WEIGHTS_BASE_URL?: string;
}

export function weightsDir(env: WeightsEnvironment = {}): string {
  return env.KFASHION_WEIGHTS_DIR ? resolve(env.KFASHION_WEIGHTS_DIR) : join(dataDir(env), 'weights');
}

export function weightsBaseUrl(env: WeightsEnvironment = {}): string {
  const base = env.KFASHION_WEIGHTS_BASE_URL || DEFAULT_WEIGHTS_BASE_URL;
  return base.endsWith('/') ? base : `${base}/`;
}

/**
 * What an init-weights argument names: a catalogue name becomes its file in the weights folder
 * (fetched by `kfashion weights fetch NAME`); anything else is a path, kept as given.
 */
export function resolveWeightsArgument(value: string, env: WeightsEnvironment = {}): string {
  const entry = CATALOGUE.find((e) => e.name === value);
  return entry ? join(weightsDir(env), entry.fileName) : value;
}

/** A catalogue name or the path of a weights file the loaders read. */
export function isWeightsArgument(value: string): boolean {
  return CATALOGUE.some((e) => e.name === value) || WEIGHTS_EXTENSIONS.some((extension) => value.endsWith(extension));
}
