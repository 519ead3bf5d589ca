#!/usr/bin/python3
"""Convert a PyTorch checkpoint (torchvision Faster R-CNN state_dict, e.g. fasterrcnn_resnet50_fpn_coco-258fb6c6.pth,
or a K-COORD Attribute R-CNN checkpoint) to the safetensors file the TensorFlow.js model loads.

  /usr/bin/python3 tools/reference/backbone_convert_checkpoint.py model.pth model.safetensors

Names are kept (old and new torchvision names both load; src/ml/weights/state-dict.ts maps them), tensors are
written as float32 in PyTorch layout, BatchNorm num_batches_tracked counters are dropped. A checkpoint saved as
{"model": state_dict} or {"state_dict": ...} is unwrapped, and a DataParallel "module." prefix is removed.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_safetensors  # noqa: E402


def load_state_dict(path):
    checkpoint = torch.load(path, map_location="cpu")
    for key in ("model", "state_dict"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict):
        raise SystemExit(f"{path}: not a state_dict (got {type(checkpoint).__name__})")
    return {(name[len("module."):] if name.startswith("module.") else name): value for name, value in checkpoint.items()}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, target = sys.argv[1], sys.argv[2]
    tensors = {
        name: value.detach().to(torch.float32).contiguous()
        for name, value in load_state_dict(source).items()
        if torch.is_tensor(value) and not name.endswith("num_batches_tracked")
    }
    write_safetensors(target, tensors, {"format": "pt", "source": os.path.basename(source)})
    print(f"{target}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
