#!/usr/bin/python3
"""Reference outputs for the Attribute R-CNN heads (RPN, RoI heads, attribute heads, losses, SGD).

Run with Debian's torch 1.13 / torchvision 0.14:   /usr/bin/python3 tools/reference/heads_reference.py
Writes test/ml/fixtures/heads_*.json (and heads_trained.safetensors). Never run by npm test.

Weights, features and gradients used by the fixtures come from a deterministic integer-hash
formula (`formula_tensor`) that test/ml/model/heads-formula.ts reimplements bit for bit, so the
random-weight fixtures commit no weights at all. The attribute part of the model is written here
independently of the TypeScript implementation, straight from the rules in SPEC section 1:
attribute losses on foreground RoIs only, with the matched ground-truth garment's labels, and an
attribute the garment has no label for is masked out.
"""
import base64
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN, resnet_fpn_backbone
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, 'test', 'ml', 'fixtures')

# ----------------------------------------------------------------------------------------------
# Deterministic formula values (mirrored in test/ml/model/heads-formula.ts)
# ----------------------------------------------------------------------------------------------


def name_seed(name):
    """FNV-1a 32-bit hash of the UTF-8 name."""
    h = 0x811C9DC5
    for b in name.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def uniform01(seed, count):
    """murmur3 fmix32 of (i + seed * golden) → [0, 1), exact in float64."""
    i = np.arange(count, dtype=np.uint64)
    h = (i + np.uint64((seed * 0x9E3779B9) & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return h.astype(np.float64) / 4294967296.0


def formula_values(name, shape):
    """Value rule by tensor name (float64 arithmetic, then rounded to float32)."""
    count = int(np.prod(shape)) if len(shape) else 1
    u = uniform01(name_seed(name), count)
    s = 2.0 * u - 1.0  # uniform in [-1, 1)
    if name.endswith('running_var'):
        v = 1.0 + 0.5 * s
    elif name.endswith('running_mean'):
        v = 0.1 * s
    elif name.endswith('bn1.weight') or name.endswith('bn2.weight') or name.endswith('bn3.weight') or name.endswith('downsample.1.weight'):
        v = 1.0 + 0.2 * s
    elif name.endswith('.bias'):
        v = 0.1 * s
    elif name.endswith('.weight'):
        fan_in = int(np.prod(shape[1:]))
        v = s * math.sqrt(3.0 / fan_in)
    else:  # features, gradients probes, anything else: unit variance
        v = s * math.sqrt(3.0)
    return v.astype(np.float32).reshape(shape)


def formula_tensor(name, shape):
    return torch.from_numpy(formula_values(name, list(shape)).copy())


# ----------------------------------------------------------------------------------------------
# The model: torchvision Faster R-CNN + attribute heads, written plainly
# ----------------------------------------------------------------------------------------------


class AttributePredictor(FastRCNNPredictor):
    """FastRCNNPredictor plus one Linear per attribute kind, named <kind>_score."""

    def __init__(self, in_channels, num_classes, attributes):
        super().__init__(in_channels, num_classes)
        self.attributes = attributes
        for spec in attributes:
            setattr(self, spec['kind'] + '_score', torch.nn.Linear(in_channels, len(spec['values'])))

    def attribute_logits(self, x):
        x = x.flatten(start_dim=1)
        return {spec['kind']: getattr(self, spec['kind'] + '_score')(x) for spec in self.attributes}


class AttributeRoIHeads(RoIHeads):
    """RoIHeads whose forward also trains / predicts the attributes.

    Targets carry, per kind, `attr_<kind>`: single → int64 [G] with -1 for "no label";
    multi → float [G, V] multi-hot plus `attr_<kind>_present` bool [G].
    """

    def __init__(self, attributes, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attributes = attributes

    def forward(self, features, proposals, image_shapes, targets=None):
        if self.training:
            proposals, matched_idxs, labels, regression_targets = self.select_training_samples(proposals, targets)
        box_features = self.box_head(self.box_roi_pool(features, proposals, image_shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels, regression_targets)
            losses = {'loss_classifier': loss_classifier, 'loss_box_reg': loss_box_reg}
            attr_logits = self.box_predictor.attribute_logits(box_features)
            losses.update(self.attribute_losses(attr_logits, labels, matched_idxs, targets))
            return [], losses
        boxes, scores, labels = self.postprocess_detections(class_logits, box_regression, proposals, image_shapes)
        # Attributes from the final boxes, pooled again (as torchvision's mask branch does).
        final_features = self.box_head(self.box_roi_pool(features, boxes, image_shapes))
        attr_logits = self.box_predictor.attribute_logits(final_features)
        counts = [len(b) for b in boxes]
        result = []
        offset = 0
        for b, s, l, n in zip(boxes, scores, labels, counts):
            entry = {'boxes': b, 'scores': s, 'labels': l}
            for spec in self.attributes:
                logits = attr_logits[spec['kind']][offset:offset + n]
                entry['attr_' + spec['kind']] = F.softmax(logits, -1) if spec['type'] == 'single' else torch.sigmoid(logits)
            offset += n
            result.append(entry)
        return result, {}

    def attribute_losses(self, attr_logits, labels, matched_idxs, targets):
        labels = torch.cat(labels)
        foreground = labels > 0
        losses = {}
        for spec in self.attributes:
            kind = spec['kind']
            logits = attr_logits[kind]
            if spec['type'] == 'single':
                per_roi = torch.cat([t['attr_' + kind][m] for t, m in zip(targets, matched_idxs)])
                use = foreground & (per_roi >= 0)
                if use.any():
                    loss = F.cross_entropy(logits[use], per_roi[use])
                else:
                    loss = logits.sum() * 0.0
            else:
                per_roi = torch.cat([t['attr_' + kind][m] for t, m in zip(targets, matched_idxs)])
                present = torch.cat([t['attr_' + kind + '_present'][m] for t, m in zip(targets, matched_idxs)])
                use = foreground & present
                if use.any():
                    loss = F.binary_cross_entropy_with_logits(logits[use], per_roi[use])
                else:
                    loss = logits.sum() * 0.0
            losses['loss_attr_' + kind] = loss
        return losses


def build_model(cfg):
    """A torchvision FasterRCNN built from a SPEC-style config dict."""
    channels = cfg.get('fpn_out_channels', 256)
    if channels == 256:
        backbone = resnet_fpn_backbone(backbone_name=cfg['backbone'], weights=None,
                                       trainable_layers=cfg.get('trainable_backbone_layers', 3))
    else:  # torchvision hard-codes 256; build the same BackboneWithFPN with fewer channels
        body = torchvision.models.resnet.__dict__[cfg['backbone']](weights=None, norm_layer=FrozenBatchNorm2d)
        trainable = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'][:cfg.get('trainable_backbone_layers', 3)]
        for name, parameter in body.named_parameters():
            if all(not name.startswith(layer) for layer in trainable):
                parameter.requires_grad_(False)
        in_channels = [body.inplanes // 8, body.inplanes // 4, body.inplanes // 2, body.inplanes]
        backbone = BackboneWithFPN(body, {'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'}, in_channels, channels,
                                   extra_blocks=LastLevelMaxPool())
    rep = cfg['representation_size']
    box_head = TwoMLPHead(channels * 7 * 7, rep)
    predictor = AttributePredictor(rep, cfg['num_classes'], cfg['attributes'])
    kwargs = {k: v for k, v in cfg.items() if k.startswith('rpn_') or k.startswith('box_') or k in ('min_size', 'max_size', 'image_mean', 'image_std')}
    model = FasterRCNN(backbone, num_classes=None, box_head=box_head, box_predictor=predictor, **kwargs)
    old = model.roi_heads
    model.roi_heads = AttributeRoIHeads(
        cfg['attributes'], old.box_roi_pool, old.box_head, old.box_predictor,
        cfg.get('box_fg_iou_thresh', 0.5), cfg.get('box_bg_iou_thresh', 0.5),
        cfg.get('box_batch_size_per_image', 512), cfg.get('box_positive_fraction', 0.25),
        None, cfg.get('box_score_thresh', 0.05), cfg.get('box_nms_thresh', 0.5), cfg.get('box_detections_per_img', 100))
    return model


def fill_with_formula(model, prefix='', only=''):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked') or not name.startswith(only):
                continue
            t.copy_(formula_tensor(prefix + name, t.shape))


def to_targets(cfg, garments):
    """SPEC-style garments → torchvision target dicts with attribute tensors."""
    targets = []
    for image_garments in garments:
        t = {'boxes': torch.tensor([g['box'] for g in image_garments], dtype=torch.float32).reshape(-1, 4),
             'labels': torch.tensor([g['label'] for g in image_garments], dtype=torch.int64)}
        for spec in cfg['attributes']:
            kind = spec['kind']
            values = [g['attributes'].get(kind) for g in image_garments]
            if spec['type'] == 'single':
                t['attr_' + kind] = torch.tensor([-1 if v is None else v for v in values], dtype=torch.int64)
            else:
                hot = torch.zeros((len(values), len(spec['values'])))
                for i, v in enumerate(values):
                    for j in (v or []):
                        hot[i, j] = 1.0
                t['attr_' + kind] = hot
                t['attr_' + kind + '_present'] = torch.tensor([v is not None for v in values], dtype=torch.bool)
        targets.append(t)
    return targets


def floats(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def detections_json(cfg, result):
    out = []
    for r in result:
        out.append({'boxes': floats(r['boxes']), 'scores': floats(r['scores']), 'labels': [int(x) for x in r['labels']],
                    'attributes': {s['kind']: floats(r['attr_' + s['kind']]) for s in cfg['attributes']}})
    return out


def write_json(name, data):
    path = os.path.join(FIXTURES, name)
    with open(path, 'w') as f:
        json.dump(data, f, separators=(',', ':'))
    print('wrote', path, os.path.getsize(path), 'bytes')


# ----------------------------------------------------------------------------------------------
# Fixture 1: heads on formula features and formula weights
# ----------------------------------------------------------------------------------------------

HEADS_CONFIG = {
    'backbone': 'resnet18', 'num_classes': 4,
    'class_names': ['__background__', 'rectangle', 'ellipse', 'triangle'],
    'attributes': [{'kind': 'color', 'type': 'single', 'values': ['red', 'green', 'blue', 'yellow']},
                   {'kind': 'pattern', 'type': 'multi', 'values': ['stripes', 'dots', 'outline']}],
    'representation_size': 64, 'fpn_out_channels': 64,
    'rpn_pre_nms_top_n_test': 150, 'rpn_post_nms_top_n_test': 60,
    'rpn_pre_nms_top_n_train': 150, 'rpn_post_nms_top_n_train': 60,
    'rpn_batch_size_per_image': 100000, 'box_batch_size_per_image': 100000,
    'box_score_thresh': 0.05, 'box_nms_thresh': 0.5, 'box_detections_per_img': 300,
}
PADDED = (64, 96)
IMAGE_SIZES = [(60, 90), (64, 80)]
LEVELS = ['0', '1', '2', '3', 'pool']
LEVEL_SIZES = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
HEADS_GARMENTS = [
    [{'box': [10.0, 8.0, 50.0, 40.0], 'label': 1, 'attributes': {'color': 2, 'pattern': [0, 2]}},
     {'box': [40.5, 20.25, 88.0, 58.0], 'label': 3, 'attributes': {'color': None, 'pattern': [1]}}],
    [{'box': [5.0, 30.0, 70.0, 62.0], 'label': 2, 'attributes': {'color': 0, 'pattern': None}}],
]


def formula_features(batch, channels):
    """NCHW features named features.<level>; the TS side builds the same values in NHWC."""
    feats = OrderedDict()
    for level, (h, w) in zip(LEVELS, LEVEL_SIZES):
        # generated in NHWC order so that both sides index the same flat array
        nhwc = formula_values('features.' + level, [batch, h, w, channels])
        feats[level] = torch.from_numpy(nhwc.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    return feats


def probe_sums(named_grads):
    """Per tensor: sum(g * probe) with a formula probe in the tensor's own (NHWC/torch) layout, and sum(g^2)."""
    out = {}
    for name, (g, layout_shape, to_layout) in named_grads.items():
        g_layout = to_layout(g).contiguous()
        probe = formula_tensor('probe.' + name, layout_shape)
        out[name] = {'dot': float((g_layout.double() * probe.double()).sum()), 'sq': float((g_layout.double() ** 2).sum())}
    return out


def heads_fixture():
    cfg = HEADS_CONFIG
    model = build_model(cfg)
    fill_with_formula(model)
    features = formula_features(2, cfg['fpn_out_channels'])
    images = ImageList(torch.zeros(2, 3, *PADDED), IMAGE_SIZES)
    out = {'config': cfg, 'padded': list(PADDED), 'image_sizes': [list(s) for s in IMAGE_SIZES],
           'level_sizes': [list(s) for s in LEVEL_SIZES], 'garments': HEADS_GARMENTS}

    # --- RPN, eval mode
    model.eval()
    with torch.no_grad():
        feats_list = list(features.values())
        objectness, deltas = model.rpn.head(feats_list)
        from torchvision.models.detection.rpn import concat_box_prediction_layers
        obj_flat, deltas_flat = concat_box_prediction_layers(objectness, deltas)
        out['rpn_objectness'] = floats(obj_flat)  # [N * A_total], image-major
        out['rpn_deltas'] = floats(deltas_flat)
        proposals, _ = model.rpn(images, features)
        # scores are not returned by rpn.forward; recompute through filter_proposals for the record
        anchors = model.rpn.anchor_generator(images, feats_list)
        num_anchors_per_level = [o[0].numel() for o in objectness]
        boxes = model.rpn.box_coder.decode(deltas_flat.detach(), anchors).view(2, -1, 4)
        props2, scores2 = model.rpn.filter_proposals(boxes, obj_flat, images.image_sizes, num_anchors_per_level)
        for a, b in zip(proposals, props2):
            assert torch.equal(a, b)
        out['anchors'] = floats(anchors[0])
        out['rpn_proposals'] = [floats(p) for p in proposals]
        out['rpn_scores'] = [floats(s) for s in scores2]

        # --- RoI heads on the fixed proposals, eval mode
        box_features = model.roi_heads.box_head(model.roi_heads.box_roi_pool(features, proposals, IMAGE_SIZES))
        class_logits, box_regression = model.roi_heads.box_predictor(box_features)
        attr = model.roi_heads.box_predictor.attribute_logits(box_features)
        out['roi_class_logits'] = floats(class_logits)
        out['roi_box_regression'] = floats(box_regression)
        out['roi_attribute_logits'] = {k: floats(v) for k, v in attr.items()}
        result, _ = model.roi_heads(features, proposals, IMAGE_SIZES)
        out['detections'] = detections_json(cfg, result)

    # --- losses, train mode, samplers take everything
    model.train()
    targets = to_targets(cfg, HEADS_GARMENTS)
    fixed = [p.clone() for p in proposals]
    _, rpn_losses = model.rpn(images, features, targets)
    _, roi_losses = model.roi_heads(features, fixed, IMAGE_SIZES, targets)
    losses = {**rpn_losses, **roi_losses}
    out['losses'] = {k: float(v) for k, v in losses.items()}
    total = sum(losses.values())
    params = [(n, p) for n, p in model.named_parameters() if n.startswith('rpn.') or n.startswith('roi_heads.')]
    grads = torch.autograd.grad(total, list(features.values()) + [p for _, p in params])
    named = OrderedDict()
    for (level, (h, w)), g in zip(zip(LEVELS, LEVEL_SIZES), grads[:len(LEVELS)]):
        named['features.' + level] = (g, [2, h, w, cfg['fpn_out_channels']], lambda t: t.permute(0, 2, 3, 1))
    for (n, p), g in zip(params, grads[len(LEVELS):]):
        named[n] = (g, list(p.shape), lambda t: t)
    out['gradients'] = probe_sums(named)
    write_json('heads_random.json', out)


# ----------------------------------------------------------------------------------------------
# Fixture 2: SGD with momentum + weight decay, and the detection reference's LR schedule
# ----------------------------------------------------------------------------------------------


def sgd_fixture():
    p = torch.nn.Parameter(formula_tensor('sgd.param', [7]))
    opt = torch.optim.SGD([p], lr=0.02, momentum=0.9, weight_decay=1e-4)
    iters_per_epoch, epochs, milestones = 4, 3, [1, 2]
    warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / 1000, total_iters=min(1000, iters_per_epoch - 1))
    main = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    lrs, values = [], []
    step = 0
    for epoch in range(epochs):
        for it in range(iters_per_epoch):
            lrs.append(opt.param_groups[0]['lr'])
            p.grad = formula_tensor('sgd.grad.%d' % step, [7])
            opt.step()
            values.append(floats(p))
            if epoch == 0:
                warmup.step()
            step += 1
        main.step()
    write_json('heads_sgd.json', {'lr': 0.02, 'momentum': 0.9, 'weight_decay': 1e-4, 'iters_per_epoch': iters_per_epoch,
                                  'epochs': epochs, 'milestones': milestones, 'gamma': 0.1,
                                  'initial': floats(formula_tensor('sgd.param', [7])), 'lrs': lrs, 'values': values})


# ----------------------------------------------------------------------------------------------
# Fixture 3: a small model trained briefly on drawn shapes
# ----------------------------------------------------------------------------------------------

TRAINED_CONFIG = {
    'backbone': 'resnet18', 'num_classes': 4,
    'class_names': ['__background__', 'rectangle', 'ellipse', 'triangle'],
    'attributes': [{'kind': 'color', 'type': 'single', 'values': ['red', 'green', 'blue', 'yellow']},
                   {'kind': 'pattern', 'type': 'multi', 'values': ['stripes', 'dots']}],
    'representation_size': 64, 'fpn_out_channels': 64, 'trainable_backbone_layers': 0,
    'min_size': 160, 'max_size': 160,
    'rpn_pre_nms_top_n_test': 300, 'rpn_post_nms_top_n_test': 100,
    'rpn_pre_nms_top_n_train': 600, 'rpn_post_nms_top_n_train': 300,
    'box_score_thresh': 0.05, 'box_detections_per_img': 20,
}
COLOURS = [(220, 40, 40), (40, 180, 60), (40, 70, 220), (230, 210, 40)]


def draw_shapes(rng, size=160):
    """An image with 1-3 shapes on a light background; returns uint8 HWC and its garments."""
    img = np.full((size, size, 3), 235, dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    garments = []
    for _ in range(int(rng.integers(1, 4))):
        w, h = int(rng.integers(36, 80)), int(rng.integers(36, 80))
        x1, y1 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        label = int(rng.integers(1, 4))
        colour = int(rng.integers(0, 4))
        stripes, dots = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        inside_box = (xx >= x1) & (xx < x1 + w) & (yy >= y1) & (yy < y1 + h)
        if label == 1:
            mask = inside_box
        elif label == 2:
            mask = ((xx + 0.5 - x1 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - y1 - h / 2) / (h / 2)) ** 2 <= 1
        else:  # triangle pointing up
            rel_y = (yy + 0.5 - y1) / h
            mask = inside_box & (np.abs(xx + 0.5 - x1 - w / 2) <= rel_y * w / 2)
        img[mask] = COLOURS[colour]
        if stripes:
            img[mask & ((yy // 4) % 2 == 0)] = (np.array(COLOURS[colour]) * 0.5).astype(np.uint8)
        if dots:
            img[mask & (xx % 8 < 3) & (yy % 8 < 3)] = 255
        pattern = [i for i, on in enumerate([stripes, dots]) if on]
        garments.append({'box': [float(x1), float(y1), float(x1 + w), float(y1 + h)], 'label': label,
                         'attributes': {'color': colour, 'pattern': pattern}})
    return img, garments


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(',', ':')).encode('utf-8')
    raw += b' ' * ((8 - len(raw) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    print('wrote', path, os.path.getsize(path), 'bytes')


def trained_fixture(iterations=int(os.environ.get('HEADS_TRAIN_ITERS', '300'))):
    cfg = TRAINED_CONFIG
    torch.manual_seed(0)
    model = build_model(cfg)
    fill_with_formula(model, only='backbone.body.')  # FPN and heads keep torchvision's init (seeded)
    rng = np.random.default_rng(7)
    train_set = [draw_shapes(rng) for _ in range(8)]
    to_tensor = lambda img: torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
    # The ResNet body keeps its formula values (trainable_backbone_layers 0); the FPN (64 channels)
    # and the heads learn, so the fixture file holds only those (small) tensors.
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(trainable, lr=0.005, momentum=0.9, weight_decay=1e-4)
    warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=50)
    model.train()
    for it in range(iterations):
        batch = [train_set[(2 * it) % 8], train_set[(2 * it + 1) % 8]]
        images = [to_tensor(img) for img, _ in batch]
        targets = to_targets(cfg, [g for _, g in batch])
        losses = model(images, targets)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        # random (untrained) body features are large: clip so that the short run stays stable
        torch.nn.utils.clip_grad_norm_(trainable, 5.0)
        opt.step()
        warmup.step()
        if it % 25 == 0 or it == iterations - 1:
            print(it, {k: round(float(v), 4) for k, v in losses.items()})
    model.eval()
    state = model.state_dict()
    heads = OrderedDict((n, state[n]) for n, p in model.named_parameters() if p.requires_grad)
    write_safetensors(os.path.join(FIXTURES, 'heads_trained.safetensors'), heads)
    test_rng = np.random.default_rng(11)
    test_images = [train_set[0], train_set[1], draw_shapes(test_rng)]
    with torch.no_grad():
        result = model([to_tensor(img) for img, _ in test_images])
    formula_names = [[n, list(t.shape)] for n, t in state.items() if n not in heads and not n.endswith('num_batches_tracked')]
    write_json('heads_trained.json', {
        'config': cfg, 'formula_tensors': formula_names,
        'images': [{'width': 160, 'height': 160, 'rgb_base64': base64.b64encode(img.tobytes()).decode('ascii'),
                    'garments': g} for img, g in test_images],
        'detections': detections_json(cfg, result)})


if __name__ == '__main__':
    os.makedirs(FIXTURES, exist_ok=True)
    which = os.environ.get('HEADS_FIXTURES', 'random,sgd,trained').split(',')
    if 'random' in which:
        heads_fixture()
    if 'sgd' in which:
        sgd_fixture()
    if 'trained' in which:
        trained_fixture()
