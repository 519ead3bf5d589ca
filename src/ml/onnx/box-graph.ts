/**
 * torchvision's box logic as ONNX nodes, batched: anchors from the feature maps' sizes, box decoding and clipping,
 * RegionProposalNetwork.filter_proposals and RoIHeads.postprocess_detections. The TypeScript versions
 * (src/ml/ops, src/ml/model/rpn.ts, roi-heads.ts) are the tfjs engine's; test/ml/onnx/box-graph.test.ts compares the two.
 *
 * Variable-size sets in fixed-size tensors: images of a batch keep different numbers of boxes, but ONNX tensors are
 * rectangular. A box that is filtered out (too small, under the score threshold, a padding row) is kept in place with
 * the score MASKED = −1, below every real score (probabilities, ≥ 0). NonMaxSuppression is given a score threshold
 * between the two, so it never selects a masked box, and a sorted TopK puts the real boxes first: a set is "its
 * first `count` rows", with `count` the number of scores above the threshold. Each set is cut to the longest image's
 * count, so a batch of one image carries no padding.
 *
 * Grouped NMS (by level, by class) is ONNX NonMaxSuppression's per-class NMS: the scores go in as [N, groups, S]
 * with each box scored only in its own group's row (MASKED in the others), so boxes of different groups never
 * suppress each other, as torchvision's batched_nms. IoU is compared with `>` as torchvision's kernel.
 */
import type { GraphBuilder } from './graph';
import type { RoiSettings } from '../model/roi-heads';
import { RPN_BOX_WEIGHTS, type RpnSettings } from '../model/rpn';
import { BBOX_XFORM_CLIP } from '../ops/boxes';

const MASKED = -1;
const MASK_THRESHOLD = -0.5;

/** The inference settings of the tfjs engine's filterProposals and postprocessDetections (rpn.ts, roi-heads.ts). */
export type ProposalSettings = Pick<RpnSettings, 'preNmsTopN' | 'postNmsTopN' | 'nmsThresh' | 'scoreThresh' | 'minSize'>;
export type DetectionSettings = Pick<RoiSettings, 'scoreThresh' | 'nmsThresh' | 'detectionsPerImage' | 'minSize' | 'boxWeights'>;

/** Boxes [N, K, 4] with a validity mask [N, K] (bool): each image's valid ones come first, `counts` [N] of them. */
export interface BoxSet {
  boxes: string;
  scores: string;
  /** Row indices into the set the boxes were selected from, [N, K] int64. */
  indices: string;
  valid: string;
  counts: string;
}

export class BoxGraph {
  constructor(readonly g: GraphBuilder) {}

  /** Size of `axis` of x as an int64 [1]. */
  dim(x: string, axis: number): string {
    return this.g.shape(x, axis, axis + 1);
  }

  /** An int64 [1] as a scalar (Range's bounds). */
  private scalarOf(x: string): string {
    return this.g.op('Squeeze', [x, this.g.ints([0])]);
  }

  /** 0, 1, …, n − 1 for an int64 [1] `n`. */
  range(n: string): string {
    return this.g.op('Range', [this.g.intScalar(0), this.scalarOf(n), this.g.intScalar(1)]);
  }

  private columns(boxes: string): string[] {
    return this.g.node('Split', [boxes], { axis: -1 }, 4);
  }

  /**
   * Anchors of one level, [H·W·A, 4] in torchvision's (y, x, anchor) order: stride = padded size // feature size
   * per axis, the cell anchors (generate_anchors, rounded half-to-even) shifted to every grid point.
   */
  levelAnchors(paddedSize: string, feature: string, cellAnchors: Float32Array): string {
    const g = this.g;
    const stride = g.op('Div', [paddedSize, g.shape(feature, 2, 4)]);
    const [height, width] = [this.dim(feature, 2), this.dim(feature, 3)];
    const shift = (n: string, axis: number) =>
      g.cast(g.op('Mul', [this.range(n), g.op('Slice', [stride, g.ints([axis]), g.ints([axis + 1])])]), 'float32');
    const grid = g.op('Concat', [height, width], { axis: 0 });
    const xs = g.op('Expand', [g.op('Unsqueeze', [shift(width, 1), g.ints([0])]), grid]);
    const ys = g.op('Expand', [g.op('Unsqueeze', [shift(height, 0), g.ints([1])]), grid]);
    const corner = (t: string) => g.op('Unsqueeze', [t, g.ints([2])]);
    const shifts = g.op('Reshape', [g.op('Concat', [corner(xs), corner(ys), corner(xs), corner(ys)], { axis: 2 }), g.ints([-1, 1, 4])]);
    const cell = g.constant(cellAnchors, [1, cellAnchors.length / 4, 4]);
    return g.op('Reshape', [g.op('Add', [shifts, cell]), g.ints([-1, 4])]);
  }

  /** BoxCoder.decode: deltas [..., 4] applied to boxes [..., 4] (broadcast), dw and dh clamped at BBOX_XFORM_CLIP. */
  decode(deltas: string, boxes: string, weights: [number, number, number, number]): string {
    const g = this.g;
    const [x1, y1, x2, y2] = this.columns(boxes);
    const widths = g.op('Sub', [x2, x1]);
    const heights = g.op('Sub', [y2, y1]);
    const half = g.scalar(0.5);
    const ctrX = g.op('Add', [x1, g.op('Mul', [half, widths])]);
    const ctrY = g.op('Add', [y1, g.op('Mul', [half, heights])]);
    const [rx, ry, rw, rh] = this.columns(deltas);
    const [wx, wy, ww, wh] = weights.map((w) => g.scalar(w));
    const clip = g.scalar(BBOX_XFORM_CLIP);
    const predCtrX = g.op('Add', [g.op('Mul', [g.op('Div', [rx, wx]), widths]), ctrX]);
    const predCtrY = g.op('Add', [g.op('Mul', [g.op('Div', [ry, wy]), heights]), ctrY]);
    const halfW = g.op('Mul', [half, g.op('Mul', [g.op('Exp', [g.op('Min', [g.op('Div', [rw, ww]), clip])]), widths])]);
    const halfH = g.op('Mul', [half, g.op('Mul', [g.op('Exp', [g.op('Min', [g.op('Div', [rh, wh]), clip])]), heights])]);
    return g.op(
      'Concat',
      [g.op('Sub', [predCtrX, halfW]), g.op('Sub', [predCtrY, halfH]), g.op('Add', [predCtrX, halfW]), g.op('Add', [predCtrY, halfH])],
      { axis: -1 },
    );
  }

  /** clip_boxes_to_image: x into [0, w], y into [0, h]; `upper` is [w, h, w, h] broadcast against the boxes. */
  clip(boxes: string, upper: string): string {
    return this.g.op('Min', [this.g.op('Max', [boxes, this.g.scalar(0)]), upper]);
  }

  /** [N, 4] of [w, h, w, h] from image sizes [N, 2] of (h, w). */
  upperBounds(imageSizes: string): string {
    return this.g.op('Gather', [imageSizes, this.g.ints([1, 0, 1, 0])], { axis: 1 });
  }

  /** remove_small_boxes as a mask [...]: width and height ≥ minSize. */
  private bigEnough(boxes: string, minSize: number): string {
    const g = this.g;
    const [x1, y1, x2, y2] = this.columns(boxes);
    const threshold = g.scalar(minSize);
    const ok = g.op('And', [
      g.op('GreaterOrEqual', [g.op('Sub', [x2, x1]), threshold]),
      g.op('GreaterOrEqual', [g.op('Sub', [y2, y1]), threshold]),
    ]);
    return g.op('Squeeze', [ok, g.ints([-1])]);
  }

  private masked(valid: string, scores: string): string {
    return this.g.op('Where', [valid, scores, this.g.scalar(MASKED)]);
  }

  /**
   * batched_nms per image: boxes [N, S, 4], scores [N, S] (MASKED where not candidates), groups [N or 1, S] int64 in
   * [0, groupCount). Returns [N, S]: the kept boxes' scores, MASKED elsewhere.
   */
  private groupedNms(boxes: string, scores: string, groups: string, groupCount: number, maxPerGroup: number, iouThreshold: number): string {
    const g = this.g;
    const groupIds = g.ints(
      Array.from({ length: groupCount }, (_, i) => i),
      [1, groupCount, 1],
    );
    const perGroup = g.op('Where', [
      g.op('Equal', [g.op('Unsqueeze', [groups, g.ints([1])]), groupIds]),
      g.op('Unsqueeze', [scores, g.ints([1])]),
      g.scalar(MASKED),
    ]);
    const selected = g.op(
      'NonMaxSuppression',
      [
        boxes,
        perGroup,
        g.ints([maxPerGroup]),
        g.constant(Float32Array.of(iouThreshold), [1]),
        g.constant(Float32Array.of(MASK_THRESHOLD), [1]),
      ],
      { center_point_box: 0 },
    );
    const keptScores = g.op('GatherND', [perGroup, selected]);
    const positions = g.op('Gather', [selected, g.ints([0, 2])], { axis: 1 });
    return g.op('ScatterND', [g.op('Expand', [g.scalar(MASKED), g.shape(scores)]), positions, keptScores]);
  }

  /**
   * The best `k` of each image's boxes by score (all when fewer), best first, cut to the longest image's count of
   * valid boxes: the rows after it are padding in every image, and the heads would only spend time on them.
   */
  private best(boxes: string, scores: string, k: number): BoxSet {
    const g = this.g;
    const count = g.op('Min', [this.dim(scores, 1), g.ints([k])]);
    const [top, indices] = g.node('TopK', [scores, count], { axis: 1, largest: 1, sorted: 1 }, 2);
    const valid = g.op('Greater', [top, g.scalar(MASK_THRESHOLD)]);
    const counts = g.op('ReduceSum', [g.cast(valid, 'int64'), g.ints([1])], { keepdims: 0 });
    const cut = (x: string) => g.op('Slice', [x, g.ints([0]), g.op('ReduceMax', [counts], { keepdims: 1 }), g.ints([1])]);
    return {
      boxes: g.op('GatherND', [boxes, g.op('Unsqueeze', [cut(indices), g.ints([2])])], { batch_dims: 1 }),
      scores: cut(top),
      indices: cut(indices),
      valid: cut(valid),
      counts,
    };
  }

  /**
   * filter_proposals: per level the pre-NMS top-n anchors by objectness logit, decoded (the RPN's weights), sigmoid, clipped;
   * boxes under minSize or the score threshold (≥) dropped; NMS by level; the post-NMS top-n. `logits` [N, A_l],
   * `deltas` [N, A_l, 4] and `anchors` [A_l, 4] per level; `upper` [N, 1, 4].
   */
  proposals(logits: string[], deltas: string[], anchors: string[], upper: string, settings: ProposalSettings): BoxSet {
    const g = this.g;
    const boxes: string[] = [];
    const scores: string[] = [];
    const groups: string[] = [];
    logits.forEach((levelLogits, level) => {
      const count = g.op('Min', [this.dim(levelLogits, 1), g.ints([settings.preNmsTopN])]);
      const [top, indices] = g.node('TopK', [levelLogits, count], { axis: 1, largest: 1, sorted: 1 }, 2);
      const levelDeltas = g.op('GatherND', [deltas[level], g.op('Unsqueeze', [indices, g.ints([2])])], { batch_dims: 1 });
      boxes.push(this.decode(levelDeltas, g.op('Gather', [anchors[level], indices], { axis: 0 }), RPN_BOX_WEIGHTS));
      scores.push(g.op('Sigmoid', [top]));
      groups.push(g.op('Expand', [g.ints([level]), g.shape(indices)]));
    });
    const all = this.clip(g.op('Concat', boxes, { axis: 1 }), upper);
    const probabilities = g.op('Concat', scores, { axis: 1 });
    const valid = g.op('And', [
      this.bigEnough(all, settings.minSize),
      g.op('GreaterOrEqual', [probabilities, g.scalar(settings.scoreThresh)]),
    ]);
    const kept = this.groupedNms(
      all,
      this.masked(valid, probabilities),
      g.op('Concat', groups, { axis: 1 }),
      logits.length,
      settings.postNmsTopN,
      settings.nmsThresh,
    );
    return this.best(all, kept, settings.postNmsTopN);
  }

  /**
   * postprocess_detections: softmax, per-class decode, clip, background dropped, score threshold (>), boxes under
   * minSize dropped, NMS per class, the best detectionsPerImage. `classLogits` [N·P, C] and `boxRegression`
   * [N·P, C·4] of the proposals [N, P, 4] (valid [N, P]); `upper` [N, 1, 4]. Returns the boxes with `labels` [N, D].
   */
  detections(
    classLogits: string,
    boxRegression: string,
    proposals: Pick<BoxSet, 'boxes' | 'valid'>,
    upper: string,
    numClasses: number,
    settings: DetectionSettings,
  ): BoxSet & { labels: string } {
    const g = this.g;
    const batchAndRows = g.shape(proposals.boxes, 0, 2);
    const probabilities = g.reshapeTo(g.op('Softmax', [classLogits], { axis: 1 }), batchAndRows, [numClasses]);
    const regression = g.reshapeTo(boxRegression, batchAndRows, [numClasses, 4]);
    const decoded = this.decode(regression, g.op('Unsqueeze', [proposals.boxes, g.ints([2])]), settings.boxWeights);
    const boxes = this.clip(decoded, g.op('Unsqueeze', [upper, g.ints([1])]));
    const foreground = (t: string) => g.op('Slice', [t, g.ints([1]), g.ints([numClasses]), g.ints([2])]);
    const scores = this.masked(g.op('Unsqueeze', [proposals.valid, g.ints([2])]), foreground(probabilities));
    const flatBoxes = g.op('Reshape', [foreground(boxes), g.ints([0, -1, 4])]);
    const flatScores = g.op('Reshape', [scores, g.ints([0, -1])]);
    const valid = g.op('And', [this.bigEnough(flatBoxes, settings.minSize), g.op('Greater', [flatScores, g.scalar(settings.scoreThresh)])]);
    const foregroundClasses = g.ints([numClasses - 1]);
    const classOfRow = g.op('Unsqueeze', [g.op('Mod', [this.range(this.dim(flatScores, 1)), foregroundClasses]), g.ints([0])]);
    const kept = this.groupedNms(
      flatBoxes,
      this.masked(valid, flatScores),
      classOfRow,
      numClasses - 1,
      settings.detectionsPerImage,
      settings.nmsThresh,
    );
    const best = this.best(flatBoxes, kept, settings.detectionsPerImage);
    return { ...best, labels: g.op('Add', [g.op('Mod', [best.indices, foregroundClasses]), g.ints([1])]) };
  }

  /** Boxes [N, K, 4] as RoIs [N·K, 4] with their batch indices [N·K]. */
  rois(boxes: string): { rois: string; batchIndices: string } {
    const g = this.g;
    const perImage = g.op('Unsqueeze', [this.range(this.dim(boxes, 0)), g.ints([1])]);
    return {
      rois: g.op('Reshape', [boxes, g.ints([-1, 4])]),
      batchIndices: g.op('Reshape', [g.op('Expand', [perImage, g.shape(boxes, 0, 2)]), g.ints([-1])]),
    };
  }
}
