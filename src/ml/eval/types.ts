/**
 * Inputs and report of the evaluation. Everything is plain arrays and numbers so that
 * the report can be stored as JSON (model_versions.metrics) and served over GraphQL unchanged.
 */

/** x1, y1, x2, y2 in image pixels (torchvision convention, no +1). */
export type Box = [number, number, number, number];

export interface AttributeScore {
  value: string;
  probability: number;
}

/** Per kind: every value with its probability, as AttributeRCNN.predict returns them. */
export type AttributePrediction = Record<string, AttributeScore[]>;

/**
 * A ground-truth attribute: one value (single-label kind), a list of values (multi-label kind; `[]` means
 * "labelled, none of them"), or null/absent when the garment is not labelled for that kind.
 */
export type AttributeTruth = string | string[] | null | undefined;

export interface GroundTruthGarment {
  box: Box;
  /** class index, 1..classNames.length-1 (0 is the background) */
  label: number;
  attributes?: Record<string, AttributeTruth>;
  /**
   * Optional "oracle box" predictions: the model's attributes for this ground-truth box (RoI pooled from
   * the true box). When given, attributes are evaluated a second time on them, without detection errors.
   */
  predictedAttributes?: AttributePrediction;
}

export interface DetectedGarment {
  box: Box;
  label: number;
  score: number;
  attributes: AttributePrediction;
}

export interface EvaluationAttributeSpec {
  kind: string;
  type: 'single' | 'multi';
  values: string[];
}

export interface EvaluationConfig {
  /** index = class label; index 0 is the background and is not evaluated */
  classNames: string[];
  attributes: EvaluationAttributeSpec[];
  /** a multi-label value is predicted when its probability is at least this (default 0.5) */
  multiLabelThreshold?: number;
  /** detections kept per image and category, highest score first (COCO maxDets, default 100) */
  maxDetections?: number;
}

/** A metric that is undefined for lack of ground truth is null (pycocotools reports -1). */
export type Metric = number | null;

export interface CategoryBoxMetrics {
  label: number;
  name: string;
  groundTruth: number;
  detections: number;
  ap: Metric;
  ap50: Metric;
  ap75: Metric;
  ar100: Metric;
}

export interface BoxMetrics {
  /** COCO AP averaged over IoU .50:.05:.95 and the categories with ground truth */
  map: Metric;
  ap50: Metric;
  ap75: Metric;
  /** COCO AR@100: recall averaged over the IoU thresholds and categories */
  ar100: Metric;
  perCategory: CategoryBoxMetrics[];
}

export interface SingleKindMetrics {
  type: 'single';
  /** garments with a labelled value for this kind */
  evaluated: number;
  accuracy: Metric;
  macroF1: Metric;
  /** how many values the macro-F1 averages over (present in ground truth or predictions) */
  macroValues: number;
}

export interface MultiKindMetrics {
  type: 'multi';
  evaluated: number;
  threshold: number;
  microF1: Metric;
  macroF1: Metric;
  macroValues: number;
  /** mean over values with at least one positive of the average precision of ranking garments by that value */
  map: Metric;
  mapValues: number;
}

export type KindMetrics = SingleKindMetrics | MultiKindMetrics;

export interface AttributeMetrics {
  /** ground-truth garments that took part (matched detections, or ground-truth boxes for the oracle) */
  garments: number;
  kinds: Record<string, KindMetrics>;
}

export interface FashionpediaMetrics {
  /** AP averaged over IoU .50:.05:.95 x attribute-F1 .50:.05:.95 and the categories with ground truth */
  ap: Metric;
  apIou50F150: Metric;
  apIou75F175: Metric;
  /** rows: IoU thresholds, columns: F1 thresholds; each cell averaged over categories */
  grid: Metric[][];
  perCategory: { label: number; name: string; ap: Metric }[];
}

export interface EvaluationReport {
  images: number;
  groundTruthGarments: number;
  detections: number;
  box: BoxMetrics;
  attributes: {
    /** on detections matched to ground truth at IoU >= 0.5 (COCO matching, same category) */
    matched: AttributeMetrics;
    /** on the ground-truth boxes' own predictions; null unless every garment carries predictedAttributes */
    oracle: AttributeMetrics | null;
  };
  fashionpedia: FashionpediaMetrics;
  settings: {
    iouThresholds: number[];
    f1Thresholds: number[];
    recallPoints: number;
    maxDetections: number;
    multiLabelThreshold: number;
    attributeMatchIou: number;
  };
}
