"""Shared helpers for the reference-fixture scripts (run with Debian's /usr/bin/python3: torch 1.13, torchvision 0.14).

- write_safetensors: the safetensors format by hand (python3-safetensors does not exist in Debian here),
  in the same canonical form as src/ml/weights/safetensors.ts (tensors sorted by name, header padded with
  spaces to a multiple of 8).
- synthetic_tensor / fill_synthetic: the deterministic weight formula of src/ml/weights/synthetic.ts,
  so fixtures need not contain the weights.

Never imported by npm test; the fixtures these scripts write are committed.
"""
import json
import math
import struct

import numpy as np
import torch

DTYPE_NAMES = {
    np.dtype(np.float64): "F64",
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.uint8): "U8",
}


def setup_torch():
    torch.set_num_threads(2)
    torch.manual_seed(0)


def write_safetensors(path, tensors, metadata=None, raw=None):
    """tensors: name -> numpy array (dtype kept) or torch tensor; raw: name -> (dtype name, shape, bytes) for dtypes numpy lacks (BF16)."""
    entries = {}
    for name, value in tensors.items():
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        entries[name] = (DTYPE_NAMES[array.dtype], list(array.shape), array.astype(array.dtype.newbyteorder("<")).tobytes(order="C"))
    for name, (dtype, shape, data) in (raw or {}).items():
        entries[name] = (dtype, list(shape), data)
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    names = sorted(entries)
    for name in names:
        dtype, shape, data = entries[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text.encode("utf8")) % 8) % 8)
    header_bytes = text.encode("utf8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for name in names:
            f.write(entries[name][2])


def _fnv1a32(text):
    h = 0x811C9DC5
    for byte in text.encode("utf8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _mix(x):
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def synthetic_affine(name, shape):
    if name.endswith(".running_var"):
        return 1.0, 0.5
    if name.endswith(".running_mean"):
        return 0.0, 0.1
    if len(shape) == 1 and name.endswith(".weight"):
        return 1.0, 0.25
    if len(shape) == 1:
        return 0.0, 0.1
    fan_in = shape[1] * int(np.prod(shape[2:], dtype=np.int64))
    return 0.0, math.sqrt(6 / fan_in)


def synthetic_tensor(name, shape):
    """Same values as syntheticTensor() in src/ml/weights/synthetic.ts (see the formula there)."""
    shape = list(shape)
    size = int(np.prod(shape, dtype=np.int64))
    seed = np.uint32(_fnv1a32(name))
    with np.errstate(over="ignore"):
        h = _mix(_mix(np.arange(size, dtype=np.uint32)) ^ seed)
    u = (2.0 * (h >> np.uint32(8)).astype(np.float64) + 1.0) / 16777216.0 - 1.0
    offset, scale = synthetic_affine(name, shape)
    return (offset + scale * u).astype(np.float32).reshape(shape)


def fill_synthetic(module):
    """Overwrites every parameter and float buffer of `module` (state_dict names) with synthetic values."""
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.from_numpy(synthetic_tensor(name, tensor.shape)))
