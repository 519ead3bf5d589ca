/**
 * The detector's modules, composed as torchvision's GeneralizedRCNN(transform, backbone, rpn, roi_heads): each module
 * owns its state_dict names, init, tfjs forward pass and ONNX export, and is chosen by the config (architecture v1/v2,
 * backbone, heads), never by the names of loaded weights. The tfjs model (attribute-rcnn.ts), the ONNX exporter
 * (src/ml/onnx/export.ts) and the training memory estimate (src/ml/train/step-memory.ts) all walk these modules.
 */
import type { ModelConfig } from './config';
import { FeaturePyramid } from './fpn';
import type { ParameterSpec } from './params';
import { resnetParameterSpecs } from './resnet';
import { RoiHeads, type RoiHeadsConfig } from './roi-heads';
import { RpnHead } from './rpn';

/** The config keys the detector's layers depend on (the rest are settings of the transform, RPN and RoI heads). */
export type ArchitectureConfig = RoiHeadsConfig & Pick<ModelConfig, 'backbone' | 'trainable_backbone_layers' | 'norm_layer'>;

export class DetectorModules {
  readonly fpn: FeaturePyramid;
  readonly rpn: RpnHead;
  readonly roiHeads: RoiHeads;

  constructor(readonly config: ArchitectureConfig) {
    this.fpn = new FeaturePyramid(config);
    this.rpn = new RpnHead(config);
    this.roiHeads = new RoiHeads(config);
  }

  /** Every parameter, in torchvision's state_dict order (body, FPN, RPN head, box head, predictor). */
  parameterSpecs(): ParameterSpec[] {
    return [
      ...resnetParameterSpecs(this.config),
      ...this.fpn.parameterSpecs(),
      ...this.rpn.parameterSpecs(),
      ...this.roiHeads.parameterSpecs(),
    ];
  }
}
