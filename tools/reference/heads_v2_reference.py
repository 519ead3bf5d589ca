#!/usr/bin/python3
"""Training-loss reference for architecture v2 (fasterrcnn_resnet50_fpn_v2: BatchNorm FPN, two-conv RPN head,
FastRCNNConvFCHead with BatchNorm), the v2 counterpart of heads_reference.py's heads fixture:

  /usr/bin/python3 tools/reference/heads_v2_reference.py      # test/ml/fixtures/heads_v2_random.json

torchvision 0.14's own modules (FeaturePyramidNetwork with norm_layer=nn.BatchNorm2d, RPNHead(conv_depth=2),
FastRCNNConvFCHead(norm_layer=nn.BatchNorm2d)) plus heads_reference.py's attribute heads, every tensor from the
deterministic formula (test/ml/model/heads-formula.ts), on formula body features C2..C5 of a ResNet-18. In
training mode the FPN and the box head normalise with batch statistics. Made deterministic as the v1 fixture: both
samplers take every anchor / RoI (batch sizes 100000) and the RoI heads get fixed proposals (the eval-mode RPN's,
recorded). Recorded: the four detector losses and the attribute losses, probe sums of the gradients of their total
w.r.t. the body features and every FPN / RPN / RoI-head parameter, and the batch norms' running statistics after
the training forward (momentum 0.1).
"""
import os
import sys
from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNConvFCHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heads_reference import (  # noqa: E402  (the formula and the attribute heads are shared with the v1 fixture)
    HEADS_CONFIG, HEADS_GARMENTS, IMAGE_SIZES, LEVEL_SIZES, PADDED, AttributePredictor, AttributeRoIHeads,
    fill_with_formula, floats, formula_values, probe_sums, to_targets, write_json)

V2_HEADS_CONFIG = {**HEADS_CONFIG, 'architecture': 'v2'}
BODY_CHANNELS = [64, 128, 256, 512]  # ResNet-18's layer1..layer4


def build_v2_heads(cfg):
    channels, rep = cfg['fpn_out_channels'], cfg['representation_size']
    body = torch.nn.Module()  # never run: the FPN is fed formula body features
    backbone = BackboneWithFPN(body, {}, BODY_CHANNELS, channels, extra_blocks=LastLevelMaxPool(), norm_layer=nn.BatchNorm2d)
    box_head = FastRCNNConvFCHead((channels, 7, 7), [channels] * 4, [rep], norm_layer=nn.BatchNorm2d)
    predictor = AttributePredictor(rep, cfg['num_classes'], cfg['attributes'])
    kwargs = {k: v for k, v in cfg.items() if k.startswith('rpn_') or k.startswith('box_')}
    model = FasterRCNN(backbone, num_classes=None, rpn_head=RPNHead(channels, 3, conv_depth=2), box_head=box_head,
                       box_predictor=predictor, min_size=64, max_size=96, **kwargs)
    old = model.roi_heads
    model.roi_heads = AttributeRoIHeads(
        cfg['attributes'], old.box_roi_pool, old.box_head, old.box_predictor, 0.5, 0.5,
        cfg['box_batch_size_per_image'], 0.25, None, cfg['box_score_thresh'], cfg['box_nms_thresh'], cfg['box_detections_per_img'])
    return model


def body_features(dtype):
    """C2..C5 named body.<i>, generated in NHWC order (as the TS side) and handed to torch in NCHW."""
    feats = OrderedDict()
    for i, ((h, w), c) in enumerate(zip(LEVEL_SIZES[:4], BODY_CHANNELS)):
        nhwc = formula_values(f'body.{i}', [2, h, w, c])
        feats[str(i)] = torch.from_numpy(nhwc.transpose(0, 3, 1, 2).copy()).to(dtype).requires_grad_(True)
    return feats


def running_statistics(model):
    return {name: floats(t) for name, t in model.state_dict().items() if name.endswith(('running_mean', 'running_var'))}


def reference(dtype):
    cfg = V2_HEADS_CONFIG
    model = build_v2_heads(cfg)
    fill_with_formula(model)  # float32 formula values, exact in float64 too
    model.to(dtype)
    body = body_features(dtype)
    images = ImageList(torch.zeros(2, 3, *PADDED, dtype=dtype), IMAGE_SIZES)
    out = {'config': cfg, 'padded': list(PADDED), 'image_sizes': [list(s) for s in IMAGE_SIZES],
           'level_sizes': [list(s) for s in LEVEL_SIZES], 'body_channels': BODY_CHANNELS, 'garments': HEADS_GARMENTS}

    # Fixed proposals: the eval-mode RPN's (running statistics in the FPN).
    model.eval()
    with torch.no_grad():
        proposals, _ = model.rpn(images, model.backbone.fpn(body))
    # rounded to float32, as the test reads them
    proposals = [p.float().to(dtype) for p in proposals]
    out['proposals'] = [floats(p) for p in proposals]

    model.train()
    targets = [{k: v.to(dtype) if v.is_floating_point() else v for k, v in t.items()} for t in to_targets(cfg, HEADS_GARMENTS)]
    features = model.backbone.fpn(body)
    assert list(features.keys()) == ['0', '1', '2', '3', 'pool'], list(features.keys())
    _, rpn_losses = model.rpn(images, features, targets)
    _, roi_losses = model.roi_heads(features, [p.clone() for p in proposals], IMAGE_SIZES, targets)
    losses = {**rpn_losses, **roi_losses}
    out['losses'] = {k: float(v) for k, v in losses.items()}
    out['running_statistics'] = running_statistics(model)
    total = sum(losses.values())
    params = [(n, p) for n, p in model.named_parameters() if n.startswith(('backbone.fpn.', 'rpn.', 'roi_heads.'))]
    grads = torch.autograd.grad(total, list(body.values()) + [p for _, p in params])
    named = OrderedDict()
    for i, ((h, w), c, g) in enumerate(zip(LEVEL_SIZES[:4], BODY_CHANNELS, grads[:4])):
        named[f'body.{i}'] = (g, [2, h, w, c], lambda t: t.permute(0, 2, 3, 1))
    for (n, p), g in zip(params, grads[4:]):
        named[n] = (g, list(p.shape), lambda t: t)
    out['gradients'] = probe_sums(named)
    return out


def main():
    torch.set_num_threads(2)
    out = reference(torch.float64)
    # torch's own float32 run, for the record: how far float32 arithmetic alone moves these sums
    single = reference(torch.float32)
    out['float32_relative_error'] = {
        'losses': max(abs(single['losses'][k] - v) / abs(v) for k, v in out['losses'].items()),
        'gradient_sq': max(abs(single['gradients'][k]['sq'] - v['sq']) / v['sq'] for k, v in out['gradients'].items()),
    }
    print({k: round(v, 6) for k, v in out['losses'].items()}, len(out['gradients']), 'gradients', out['float32_relative_error'])
    write_json('heads_v2_random.json', out)


if __name__ == '__main__':
    main()
