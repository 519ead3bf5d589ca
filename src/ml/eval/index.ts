/** Evaluation of detections with attributes: COCO box AP, attribute metrics, Fashionpedia AP^{IoU+F1}. */
export { evaluate, evaluationConfigOf, ATTRIBUTE_MATCH_IOU } from './evaluate';
export { boxIou, IOU_THRESHOLDS, RECALL_THRESHOLDS } from './coco';
export { F1_THRESHOLDS, attributeSetF1 } from './fashionpedia';
export { rankingAveragePrecision } from './attributes';
export type * from './types';
