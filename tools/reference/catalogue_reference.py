#!/usr/bin/python3
"""What Debian's torchvision 0.14 says about the checkpoints of the weights catalogue (src/ml/weights/catalogue.ts):

  /usr/bin/python3 tools/reference/catalogue_reference.py      # test/ml/fixtures/weights_catalogue.json

Per entry: the URL of torchvision's weight enum (whose file name carries the SHA-256 prefix), its num_params, and
the size torch.save gives the state dict of the architecture the enum belongs to (random weights, 91 COCO classes
for the detectors), in the zip format and in the legacy one. torchvision 0.14's enums carry no `_file_size` (later
releases added it); a checkpoint is its tensors plus a few kB of pickle and archive records, so a published size
that is not within a few hundredths of a percent of these belongs to another file.
"""
import io
import json
import os

import torch
import torchvision
import torchvision.models as M
from torchvision.models import detection as D

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'ml', 'fixtures', 'weights_catalogue.json')

ENTRIES = [
    ('resnet18', M.ResNet18_Weights.IMAGENET1K_V1, lambda: M.resnet18(weights=None)),
    ('resnet34', M.ResNet34_Weights.IMAGENET1K_V1, lambda: M.resnet34(weights=None)),
    ('resnet50', M.ResNet50_Weights.IMAGENET1K_V1, lambda: M.resnet50(weights=None)),
    ('resnet101', M.ResNet101_Weights.IMAGENET1K_V1, lambda: M.resnet101(weights=None)),
    ('fasterrcnn_resnet50_fpn', D.FasterRCNN_ResNet50_FPN_Weights.COCO_V1,
     lambda: D.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)),
    ('fasterrcnn_resnet50_fpn_v2', D.FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1,
     lambda: D.fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=91)),
]


def saved_bytes(state_dict, zip_format):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer, _use_new_zipfile_serialization=zip_format)
    return buffer.tell()


def main():
    torch.manual_seed(0)
    entries = []
    for name, weights, build in ENTRIES:
        state_dict = build().state_dict()
        entries.append({
            'name': name,
            'url': weights.url,
            'num_params': weights.meta['num_params'],
            'tensor_bytes': sum(t.numel() * t.element_size() for t in state_dict.values()),
            'zip_bytes': saved_bytes(state_dict, True),
            'legacy_bytes': saved_bytes(state_dict, False),
        })
    with open(OUT, 'w') as f:
        json.dump({'torchvision': torchvision.__version__, 'entries': entries}, f, indent=1)
        f.write('\n')
    print('wrote', OUT)


if __name__ == '__main__':
    main()
