/**
 * The Attribute R-CNN as one ONNX graph, built from the same config and weights as the TensorFlow.js model.
 *
 * - Pre-step, TypeScript: GeneralizedRCNNTransform's resize, normalisation and padding to a multiple of 32, by the
 *   very code of the tfjs engine (src/ml/model/transform.ts), gives the graph's `images` [N, H, W, 3] and
 *   `image_sizes` [N, 2] (each image's (h, w) before padding). The post-step scales the boxes back to each input
 *   image's size (transform.postprocess), also the tfjs engine's code.
 * - The graph: NHWC → NCHW; ResNet body (batch norms folded into the convs); FPN (P2..P6); RPN head; anchors from the
 *   feature maps' sizes; RPN proposal filtering (per-level TopK, decode, clip, small boxes and score threshold,
 *   NonMaxSuppression by level, the post-NMS TopK); MultiScaleRoIAlign (torchvision's LevelMapper, one RoiAlign per
 *   level); box head and predictor; postprocess_detections (softmax, per-class
 *   decode, clip, score threshold, NonMaxSuppression per class, TopK); and the attribute heads (softmax for single
 *   kinds, sigmoid for multi kinds) on features pooled again at the final boxes. The box logic is in box-graph.ts; every
 *   layer (names, sizes, pool settings) is exported by its own module of src/ml/model (detector.ts), as the tfjs engine runs it.
 * - Outputs: see OUTPUTS. Sets of boxes are padded to a rectangle; `detection_counts` says how many rows are real.
 *
 * Opset 16 (graph.ts): RoiAlign's coordinate_transformation_mode needs it. Dynamic sizes: batch, image height and
 * width, and every box count are symbolic dimensions.
 */
import type { ModelConfig } from '../model/config';
import { DetectorModules } from '../model/detector';
import { BATCH_NORM_EPS, exportResnetBody } from '../model/resnet';
import { roiSettings } from '../model/roi-heads';
import { ANCHOR_ASPECT_RATIOS, ANCHOR_SIZES, rpnSettings } from '../model/rpn';
import { AnchorGenerator } from '../ops/anchors';
import { BoxGraph } from './box-graph';
import { GraphBuilder } from './graph';
import { OnnxLayers, storeWeights, type WeightSource } from './layers';

export { storeWeights, type WeightSource };

/** The graph's inputs: the transformed batch (NHWC, normalised, padded) and each image's size before padding (h, w). */
export const INPUTS = { images: 'images', imageSizes: 'image_sizes' } as const;

/**
 * The graph's outputs, per image the first `detection_counts[n]` rows being its detections, best first (the rest is
 * padding): boxes [N, D, 4] in the resized image's pixels, scores [N, D], labels [N, D] and, per attribute kind,
 * `attribute_<kind>` [N, D, values].
 */
export const OUTPUTS = {
  boxes: 'boxes',
  scores: 'scores',
  labels: 'labels',
  counts: 'detection_counts',
  /** [N, D, representation]: the box head's representation of each detection, pooled again at its final box */
  representations: 'representations',
} as const;

/**
 * The embedding graph (buildEmbeddingGraph): the transformed batch and given boxes [N, K, 4] in the resized images'
 * pixels (each image's boxes first, padded to the longest list) → `representations` [N, K, representation].
 */
export const EMBEDDING_INPUTS = { images: INPUTS.images, boxes: 'boxes' } as const;
export const EMBEDDING_OUTPUTS = { representations: OUTPUTS.representations } as const;

/** The graphs the engine builds from one config and weights file. */
export type GraphKind = 'detect' | 'embed';

/** Bump when the graph changes: cached exports of an older layout are then rebuilt. */
export const EXPORT_FORMAT = 3;

/** Output name of an attribute kind's probabilities. */
export function attributeOutput(kind: string): string {
  return `attribute_${kind}`;
}

/** Anchors of every level (torchvision's AnchorGenerator) for the padded batch of `images` [N, H, W, 3]. */
function anchors(boxes: BoxGraph, images: string, levels: string[]): string[] {
  const paddedSize = boxes.g.shape(images, 1, 3);
  return levels.map((level, l) =>
    boxes.levelAnchors(paddedSize, level, AnchorGenerator.cellAnchors(ANCHOR_SIZES[l], ANCHOR_ASPECT_RATIOS[l])),
  );
}

/**
 * What both graphs start with: the config's modules, the `images` input [N, H, W, 3] and its FPN levels (P2..P6,
 * NCHW); `represent` pools boxes [N, K, 4] from the levels as final boxes are pooled and runs the box head →
 * [N·K, representation]; `outputRepresentations` writes such rows as an output [N, K, representation].
 */
function startGraph(name: string, config: ModelConfig, weights: WeightSource) {
  const modules = new DetectorModules(config);
  const layers = new OnnxLayers(new GraphBuilder(name), weights, BATCH_NORM_EPS);
  const { g } = layers;
  const boxes = new BoxGraph(g);
  const images = g.input(INPUTS.images, 'float32', ['batch', 'height', 'width', 3]);
  const body = exportResnetBody(layers, g.op('Transpose', [images], { perm: [0, 3, 1, 2] }), config.backbone);
  const levels = modules.fpn.exportOnnx(layers, body);
  const width = modules.roiHeads.boxHead.outFeatures;
  const represent = (boxSet: string) => {
    const { rois, batchIndices } = boxes.rois(boxSet);
    return modules.roiHeads.exportBoxFeatures(layers, levels, rois, batchIndices);
  };
  const outputRepresentations = (rows: string, boxSet: string, rowsName: string) =>
    g.output(g.reshapeTo(rows, g.shape(boxSet, 0, 2), [width]), OUTPUTS.representations, 'float32', ['batch', rowsName, width]);
  return { modules, layers, g, boxes, images, levels, represent, outputRepresentations };
}

/** The graph of `kind` (see buildModelGraph and buildEmbeddingGraph). */
export function buildGraph(kind: GraphKind, config: ModelConfig, weights: WeightSource): Uint8Array {
  return kind === 'embed' ? buildEmbeddingGraph(config, weights) : buildModelGraph(config, weights);
}

/** The whole inference graph of the Attribute R-CNN (see the top of this file): the config's modules, each exporting itself. */
export function buildModelGraph(config: ModelConfig, weights: WeightSource): Uint8Array {
  const { modules, layers, g, boxes, images, levels, represent, outputRepresentations } = startGraph('attribute_rcnn', config, weights);
  const imageSizes = g.input(INPUTS.imageSizes, 'float32', ['batch', 2]);
  const head = modules.rpn.exportOnnx(layers, levels);
  const upper = g.op('Unsqueeze', [boxes.upperBounds(imageSizes), g.ints([1])]);
  const proposals = boxes.proposals(head.logits, head.deltas, anchors(boxes, images, levels), upper, rpnSettings(config, false));
  const { predictor } = modules.roiHeads;
  const { classLogits, boxRegression } = predictor.exportBoxes(layers, represent(proposals.boxes));
  const detections = boxes.detections(classLogits, boxRegression, proposals, upper, config.num_classes, roiSettings(config));
  g.output(detections.boxes, OUTPUTS.boxes, 'float32', ['batch', 'detections', 4]);
  g.output(detections.scores, OUTPUTS.scores, 'float32', ['batch', 'detections']);
  g.output(detections.labels, OUTPUTS.labels, 'int64', ['batch', 'detections']);
  g.output(detections.counts, OUTPUTS.counts, 'int64', ['batch']);
  const final = represent(detections.boxes);
  outputRepresentations(final, detections.boxes, 'detections');
  const perDetection = g.shape(detections.boxes, 0, 2);
  for (const { spec, probabilities } of predictor.exportAttributes(layers, final)) {
    g.output(g.reshapeTo(probabilities, perDetection, [spec.values.length]), attributeOutput(spec.kind), 'float32', [
      'batch',
      'detections',
      spec.values.length,
    ]);
  }
  return g.encode('Attribute R-CNN, the whole inference graph after the transform (src/ml/onnx/export.ts)');
}

/**
 * The embedding graph: backbone and FPN as in the whole graph, then the given boxes pooled and through the box head
 * as the whole graph pools its final boxes (no RPN, no predictor).
 */
export function buildEmbeddingGraph(config: ModelConfig, weights: WeightSource): Uint8Array {
  const { g, represent, outputRepresentations } = startGraph('attribute_rcnn_embedding', config, weights);
  const given = g.input(EMBEDDING_INPUTS.boxes, 'float32', ['batch', 'boxes', 4]);
  outputRepresentations(represent(given), given, 'boxes');
  return g.encode('Attribute R-CNN, box-head representations of given boxes (src/ml/onnx/export.ts)');
}
