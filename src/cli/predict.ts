/**
 * `kfashion predict <image…> (--weights W.safetensors --config C.json | --model ID) [--json]`: runs the
 * Attribute R-CNN on each image and prints, with --json, one JSON array with one element per image:
 * {"image", "width", "height", "detections": [{"box", "label", "className", "score", "attributes", "embedding"}]},
 * each detection's box in the image's pixels (x1, y1, x2, y2), its class label and name, score,
 * per attribute kind the values with their probabilities, most likely first, and its appearance embedding
 * ({"scale", "vector"}: int8 components in base64, src/ml/embedding; null when it has none). The model server's
 * /predict and the API answer with the same detection objects.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Detection, InputImage } from '../ml/model/attribute-rcnn';
import { readConfigFile } from '../ml/model/config';
import type { EngineName, Predictor } from '../ml/onnx/engine';
import { parsePositiveId } from '../util/ids';
import { environment } from './environment';

export interface ImagePrediction {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
}

/** Predicts image by image (one decoded image in memory at a time). */
export async function predictFiles(model: Predictor, paths: string[]): Promise<ImagePrediction[]> {
  const { readImageFile } = await import('../images/image-input');
  const out: ImagePrediction[] = [];
  for (const path of paths) {
    const image: InputImage = await readImageFile(path);
    const [detections] = await model.predict([image]);
    out.push({ image: path, width: image.width, height: image.height, detections });
  }
  return out;
}

/** The model of a stored version (its config and weights path from the database), or of --weights/--config. */
async function loadModel(options: { weights?: string; config?: string; model?: number }, engine: EngineName): Promise<Predictor> {
  if (options.model !== undefined) {
    if (options.weights || options.config) throw new Error('--model cannot be combined with --weights/--config');
    const [{ openDatabase }, { readModelVersion }, { instantiateModelVersion }] = await Promise.all([
      import('../db/data-source'),
      import('../db/model-versions'),
      import('../model-server/models'),
    ]);
    const dataSource = await openDatabase({ env: environment() });
    try {
      const { onnxThreads } = await import('../ml/onnx/engine');
      return await instantiateModelVersion(await readModelVersion(dataSource, options.model), engine, {
        threads: onnxThreads(environment()),
      });
    } finally {
      await dataSource.destroy();
    }
  }
  if (!options.weights) throw new Error('--weights <file> is required (or --model <id> for a stored model version)');
  if (!options.config) throw new Error('--config <file> is required (or --model <id> for a stored model version)');
  const { loadPredictor } = await import('../ml/onnx/engine');
  const { onnxThreads } = await import('../ml/onnx/engine');
  return loadPredictor(readConfigFile(options.config), options.weights, engine, { threads: onnxThreads(environment()) });
}

function parseModelVersionId(value: string): number {
  const id = parsePositiveId(value);
  if (id === null) throw new InvalidArgumentError(`--model takes a model version id (a positive integer), got "${value}"`);
  return id;
}

function formatText(predictions: ImagePrediction[]): string {
  return predictions
    .map((p) => {
      const lines = p.detections.map((d) => {
        const attrs = Object.entries(d.attributes).map(
          ([kind, values]) => `${kind}=${values[0]?.value ?? '-'} (${(values[0]?.probability ?? 0).toFixed(2)})`,
        );
        return `  ${d.className} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}] ${attrs.join(' ')}`;
      });
      return [`${p.image} (${p.width}x${p.height}): ${p.detections.length} detection(s)`, ...lines].join('\n');
    })
    .join('\n');
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('detect garments and their attributes in images with an Attribute R-CNN model')
    .argument('<images...>', 'image files (JPEG, PNG, …)')
    .option('--weights <file>', 'model weights (.safetensors, or a PyTorch .pth/.pt checkpoint; torchvision state_dict names)')
    .option('--config <file>', 'model config JSON (beside the weights)')
    .option('--model <id>', 'a stored model version (DATABASE_URL, or the embedded database)', parseModelVersionId)
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: KFASHION_TF_BACKEND or best available)')
    .option('--engine <name>', 'inference engine: tfjs or onnx (ONNX Runtime; default: KFASHION_ENGINE, else tfjs)')
    .option('--json', 'print one JSON array: per image {image, width, height, detections}')
    .action(
      async (
        images: string[],
        options: { weights?: string; config?: string; model?: number; backend?: string; engine?: string; json?: boolean },
      ) => {
        const [{ resolveEngine }, { initBackend }] = await Promise.all([import('../ml/onnx/engine'), import('../ml/backend')]);
        const engine = resolveEngine(options.engine, environment());
        await initBackend(options.backend, { env: environment() });
        const model = await loadModel(options, engine);
        try {
          const predictions = await predictFiles(model, images);
          process.stdout.write(options.json ? `${JSON.stringify(predictions)}\n` : `${formatText(predictions)}\n`);
        } finally {
          model.dispose();
        }
      },
    );
}
