#!/usr/bin/python3
"""Reference fixtures for the ML-BACKBONE tests (issue 6, parts 2, 3, 5), from torchvision 0.14.

Run from the repository root with Debian's python:  /usr/bin/python3 tools/reference/backbone_reference.py
Writes test/ml/fixtures/backbone_*.safetensors (committed; npm test never runs this script).

- backbone_dtypes.safetensors: one tensor per dtype the reader converts (F16, BF16, F64, I64 num_batches_tracked),
  each with its float32 value under "<name>.expected", plus __metadata__.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_torch, write_safetensors  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "ml", "fixtures")


def export_dtypes():
    values = np.array([0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, -0.333251953125, 3.140625], dtype=np.float64)
    f16 = values.astype(np.float16)
    f64 = np.array([[0.1, -1e-3], [12345.678, 1e30]], dtype=np.float64)
    bf16 = torch.tensor([1.0, -0.5, 3.140625, 1e10, -7.5e-6], dtype=torch.bfloat16)
    tensors = {
        "half": f16,
        "half.expected": f16.astype(np.float32),
        "double": f64,
        "double.expected": f64.astype(np.float32),
        "bfloat.expected": bf16.float().numpy(),
        "bn.num_batches_tracked": np.array(12345, dtype=np.int64),
        "counts": np.array([[1, -2, 3]], dtype=np.int64),
        "counts.expected": np.array([[1, -2, 3]], dtype=np.float32),
    }
    raw = {"bfloat": ("BF16", list(bf16.shape), bf16.view(torch.int16).numpy().astype("<i2").tobytes())}
    write_safetensors(os.path.join(FIXTURES, "backbone_dtypes.safetensors"), tensors, {"format": "pt", "writer": "backbone_reference.py"}, raw)


def main():
    setup_torch()
    os.makedirs(FIXTURES, exist_ok=True)
    export_dtypes()


if __name__ == "__main__":
    main()
