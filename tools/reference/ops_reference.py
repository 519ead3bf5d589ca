#!/usr/bin/python3
"""Reference outputs of torchvision's detection ops for the TypeScript ops in src/ml/ops/.

Run with Debian's python (torch 1.13, torchvision 0.14):  /usr/bin/python3 tools/reference/ops_reference.py
Writes small JSON fixtures to test/ml/fixtures/ops_*.json (never run by npm test). Inputs are generated
here with fixed seeds and stored in the fixtures, so the tests feed exactly these values to our ops.
Feature maps are stored NHWC (our layout); torchvision gets them NCHW.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import boxes as box_ops
from torchvision.ops import MultiScaleRoIAlign, roi_align

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'ml', 'fixtures')


def flat(t):
    return t.detach().reshape(-1).tolist()


def write(name, payload):
    payload = {'generator': 'tools/reference/ops_reference.py', 'torch': torch.__version__,
               'torchvision': torchvision.__version__, **payload}
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(payload, f, separators=(',', ':'))
    print(f'{path}: {os.path.getsize(path)} bytes')


def random_boxes(g, n, size=100.0, min_wh=1.0, max_wh=40.0):
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


def boxes_fixture():
    g = torch.Generator().manual_seed(1)
    a = random_boxes(g, 9)
    b = random_boxes(g, 7)
    b[0] = a[2]                                   # identical box: IoU 1
    b[1] = torch.tensor([500., 500., 510., 520.])  # disjoint: IoU 0
    a[8] = torch.tensor([3., 4., 3., 9.])          # zero width: area 0

    coder_cases = []
    for weights in [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]:
        coder = BoxCoder(weights)
        proposals = random_boxes(g, 6)
        reference = random_boxes(g, 6)
        encoded = coder.encode_single(reference, proposals)
        k = 3
        rel_codes = torch.randn(6, 4 * k, generator=g) * 2.0
        rel_codes[0, 2] = 12.0 * weights[2]   # beyond bbox_xform_clip: clamped
        rel_codes[1, 7] = 9.0 * weights[3]
        decoded = coder.decode(rel_codes, [proposals])
        coder_cases.append({'weights': list(weights), 'bboxXformClip': coder.bbox_xform_clip,
                            'proposals': flat(proposals), 'reference': flat(reference), 'encoded': flat(encoded),
                            'k': k, 'relCodes': flat(rel_codes), 'decoded': flat(decoded)})

    clip_in = torch.tensor([[-5., -3., 50., 40.], [10., 20., 130., 90.], [-20., 70., -2., 95.], [3., 4., 5., 6.]])
    clipped = box_ops.clip_boxes_to_image(clip_in, (80, 120))
    small_in = torch.tensor([[0., 0., 1., 5.], [0., 0., 0.999, 5.], [2., 2., 7., 2.5], [1., 1., 4., 4.], [0., 0., 2., 1.]])

    nms_cases = []
    # Clustered random boxes so that suppression happens, scores rounded to create ties.
    for seed, n, thr in [(2, 60, 0.5), (3, 40, 0.7), (4, 30, 0.3)]:
        gg = torch.Generator().manual_seed(seed)
        centres = torch.rand(5, 2, generator=gg) * 80
        pick = torch.randint(0, 5, (n,), generator=gg)
        xy = centres[pick] + torch.randn(n, 2, generator=gg) * 4
        wh = 10 + torch.rand(n, 2, generator=gg) * 20
        boxes = torch.cat([xy, xy + wh], dim=1)
        scores = torch.round(torch.rand(n, generator=gg) * 10) / 10
        groups = torch.randint(0, 3, (n,), generator=gg)
        nms_cases.append({'boxes': flat(boxes), 'scores': flat(scores), 'groups': groups.tolist(), 'iouThreshold': thr,
                          'keep': box_ops.nms(boxes, scores, thr).tolist(),
                          'batchedKeep': box_ops.batched_nms(boxes, scores, groups, thr).tolist()})
    # IoU exactly at the threshold (50 / 100) is kept; above is suppressed; equal scores keep index order.
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.], [0., 0., 10., 5.1], [20., 20., 30., 30.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.6])
    groups = torch.tensor([0, 0, 0, 1, 2])
    nms_cases.append({'boxes': flat(boxes), 'scores': flat(scores), 'groups': groups.tolist(), 'iouThreshold': 0.5,
                      'keep': box_ops.nms(boxes, scores, 0.5).tolist(),
                      'batchedKeep': box_ops.batched_nms(boxes, scores, groups, 0.5).tolist()})

    write('ops_boxes.json', {
        'iou': {'a': flat(a), 'b': flat(b), 'iou': flat(box_ops.box_iou(a, b)), 'areaA': flat(box_ops.box_area(a))},
        'coder': coder_cases,
        'clip': {'boxes': flat(clip_in), 'imageSize': [80, 120], 'clipped': flat(clipped)},
        'removeSmall': {'boxes': flat(small_in), 'minSize': 1.0,
                        'keep': box_ops.remove_small_boxes(small_in, 1.0).tolist()},
        'nms': nms_cases,
    })


def anchors_fixture():
    cases = []
    configs = [
        # torchvision's Faster R-CNN default: one size per level, three ratios.
        (((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5, (64, 96),
         [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]),
        # Several sizes per level (ratios outer, scales inner), odd sizes whose halves round to even.
        (((45, 90), (23, 51)), ((0.5, 1.0, 1.5, 2.0), (1.0, 0.25)), (40, 56), [(10, 14), (5, 7)]),
    ]
    for sizes, ratios, image_size, feature_sizes in configs:
        gen = AnchorGenerator(sizes, ratios)
        image = torch.zeros(1, 3, *image_size)
        feats = [torch.zeros(1, 1, h, w) for h, w in feature_sizes]
        anchors = gen(ImageList(image, [image_size]), feats)[0]
        cases.append({'sizes': [list(s) for s in sizes], 'aspectRatios': [list(r) for r in ratios],
                      'imageSize': list(image_size), 'featureSizes': [list(s) for s in feature_sizes],
                      'numAnchorsPerLocation': gen.num_anchors_per_location(),
                      'anchors': flat(anchors)})
    write('ops_anchors.json', {'cases': cases})


def matcher_fixture():
    g = torch.Generator().manual_seed(5)
    cases = []
    for num_gt, num_pred, high, low, allow in [(4, 30, 0.7, 0.3, True), (4, 30, 0.7, 0.3, False),
                                              (3, 25, 0.5, 0.5, False), (5, 12, 0.6, 0.4, True)]:
        iou = torch.rand(num_gt, num_pred, generator=g) * 0.8
        iou[0, 3] = iou[1, 3] = 0.75          # a tie between ground truths: the first wins
        iou[2 % num_gt, 5] = 0.3              # exactly at the low threshold
        iou[1, 7] = high                      # exactly at the high threshold
        iou[num_gt - 1] *= 0.2                # a gt whose best match is low quality ...
        iou[num_gt - 1, 10] = iou[num_gt - 1, 11] = 0.17  # ... shared by two predictions
        iou = iou.float()
        matches = Matcher(high, low, allow)(iou.clone())
        cases.append({'numGt': num_gt, 'numPred': num_pred, 'high': high, 'low': low, 'allowLowQualityMatches': allow,
                      'iou': flat(iou), 'matches': matches.tolist()})
    write('ops_matcher.json', {'cases': cases})


def losses_fixture():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(7, 4, generator=g)
    y = x + torch.randn(7, 4, generator=g) * 0.2
    logits = torch.randn(5, 6, generator=g) * 3
    targets = (torch.rand(5, 6, generator=g) > 0.5).float()
    weights = (torch.rand(5, 6, generator=g) > 0.3).float()
    ce_logits = torch.randn(6, 5, generator=g) * 2
    labels = torch.tensor([0, 3, 4, 1, 1, 2])
    mask = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.bool)
    write('ops_losses.json', {
        'smoothL1': {'input': flat(x), 'target': flat(y), 'shape': [7, 4],
                     'beta': {str(b): F.smooth_l1_loss(x, y, beta=b, reduction='sum').item() for b in [1.0 / 9, 1.0, 0.0]}},
        'bce': {'logits': flat(logits), 'targets': flat(targets), 'weights': flat(weights), 'shape': [5, 6],
                'mean': F.binary_cross_entropy_with_logits(logits, targets).item(),
                'weightedSum': F.binary_cross_entropy_with_logits(logits, targets, weight=weights, reduction='sum').item(),
                'weightSum': weights.sum().item()},
        'ce': {'logits': flat(ce_logits), 'labels': labels.tolist(), 'mask': mask.int().tolist(), 'shape': [6, 5],
               'mean': F.cross_entropy(ce_logits, labels).item(),
               'maskedMean': F.cross_entropy(ce_logits[mask], labels[mask]).item()},
    })


def roi_align_fixture():
    g = torch.Generator().manual_seed(7)
    n, c, h, w = 2, 3, 9, 11
    feats = torch.randn(n, c, h, w, generator=g)
    # Boxes in image coordinates (spatial_scale 0.5 → an 18×22 image); some cross or leave the borders.
    boxes = torch.tensor([
        [1.0, 2.0, 15.0, 12.0],
        [-6.0, -4.0, 8.0, 9.0],      # crosses the top-left border
        [14.0, 10.0, 30.0, 26.0],    # crosses the bottom-right border, partly beyond y > H
        [5.3, 6.1, 5.9, 6.4],        # tiny: roi size clamps to 1 (aligned=False)
        [0.0, 0.0, 22.0, 18.0],      # the whole image
        [-30.0, -30.0, -20.0, -22.0],  # entirely outside: zeros
        [16.0, 14.0, 21.9, 17.9],    # near the last row/column: y >= H-1 handling
        [3.7, 0.2, 19.4, 7.7],
    ])
    batch_index = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1])
    rois = torch.cat([batch_index[:, None].float(), boxes], dim=1)
    cases = []
    for output_size, sampling_ratio, aligned in [((3, 4), 2, False), ((2, 2), -1, False), ((3, 3), 2, True), ((2, 3), 0, True)]:
        f = feats.clone().requires_grad_(True)
        out = roi_align(f, rois, output_size, spatial_scale=0.5, sampling_ratio=sampling_ratio, aligned=aligned)
        cotangent = torch.randn(out.shape, generator=g)
        (out * cotangent).sum().backward()
        cases.append({'outputSize': list(output_size), 'samplingRatio': sampling_ratio, 'aligned': aligned,
                      'output': flat(out.permute(0, 2, 3, 1)), 'cotangent': flat(cotangent.permute(0, 2, 3, 1)),
                      'featureGrad': flat(f.grad.permute(0, 2, 3, 1))})

    # MultiScaleRoIAlign as Faster R-CNN uses it: levels '0'..'3' at strides 4..32, 7×7, sampling ratio 2.
    image_sizes = [(256, 300), (240, 200)]    # per-image sizes; the batch is padded to 256×320 (multiple of 32)
    level_shapes = [(64, 80), (32, 40), (16, 20), (8, 10)]
    cms = 3
    levels = [torch.randn(2, cms, hh, ww, generator=g) for hh, ww in level_shapes]
    # √area spans all four levels (< 112 → P2, < 224 → P3, < 448 → P4, else P5), incl. the boundaries.
    per_image_boxes = [
        torch.tensor([[2.0, 3.0, 42.0, 54.0], [0.0, 0.0, 300.0, 256.0], [10.0, 5.0, 122.0, 117.0], [30.0, 20.0, 141.9, 132.0],
                      [-4.0, 150.0, 120.0, 270.0], [1.0, 1.0, 1.5, 1.7], [-100.0, -120.0, 380.0, 390.0], [200.0, 100.0, 424.0, 324.0]]),
        torch.tensor([[5.0, 5.0, 190.0, 230.0], [20.0, 10.0, 28.0, 19.0], [0.0, 0.0, 200.0, 240.0], [60.0, 70.0, 180.0, 235.0]]),
    ]
    pooler = MultiScaleRoIAlign(['0', '1', '2', '3'], output_size=7, sampling_ratio=2)
    params = [lv.clone().requires_grad_(True) for lv in levels]
    pooled = pooler({str(i): p for i, p in enumerate(params)}, per_image_boxes, image_sizes)
    cotangent = torch.randn(pooled.shape, generator=g)
    (pooled * cotangent).sum().backward()
    multi = {'imageSizes': [list(s) for s in image_sizes], 'levels': [flat(lv.permute(0, 2, 3, 1)) for lv in levels],
             'levelShapes': [[2, hh, ww, cms] for hh, ww in level_shapes],
             'boxes': [flat(b) for b in per_image_boxes], 'scales': pooler.scales,
             'mappedLevels': pooler.map_levels(per_image_boxes).tolist(),
             'output': flat(pooled.permute(0, 2, 3, 1)), 'cotangent': flat(cotangent.permute(0, 2, 3, 1)),
             'levelGrads': [flat(p.grad.permute(0, 2, 3, 1)) for p in params]}

    write('ops_roi_align.json', {'features': flat(feats.permute(0, 2, 3, 1)), 'featureShape': [n, h, w, c],
                                 'spatialScale': 0.5, 'boxes': flat(boxes), 'boxImageIndex': batch_index.tolist(),
                                 'cases': cases, 'multiScale': multi})


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    boxes_fixture()
    anchors_fixture()
    matcher_fixture()
    losses_fixture()
    roi_align_fixture()
