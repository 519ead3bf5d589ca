#!/usr/bin/python3
"""torchvision's detections of the trained fixture model (heads_reference.py) on the extra images of the ONNX
engine's parity test: non-square images (one padded, one resized and padded) and an image without detections.

Run with Debian's torch 1.13 / torchvision 0.14:   /usr/bin/python3 tools/reference/onnx_reference.py
Writes test/ml/fixtures/onnx_parity.json. Never run by npm test.
"""
import base64
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heads_reference import FIXTURES, TRAINED_CONFIG, build_model, detections_json, draw_shapes, fill_with_formula, write_json  # noqa: E402


def read_safetensors(path):
    with open(path, 'rb') as f:
        size = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        start, end = entry['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype='<f4').copy()).reshape(entry['shape'])
    return out


def trained_model():
    torch.manual_seed(0)
    model = build_model(TRAINED_CONFIG)
    fill_with_formula(model, only='backbone.body.')
    state = model.state_dict()
    for name, value in read_safetensors(os.path.join(FIXTURES, 'heads_trained.safetensors')).items():
        state[name].copy_(value)
    return model.eval()


def images():
    rng = np.random.default_rng(7)
    square = [draw_shapes(rng)[0] for _ in range(2)]
    padded = np.ascontiguousarray(square[0][24:136])  # 112 x 160: kept as is, padded to 128 x 160
    resized = np.ascontiguousarray(np.repeat(square[1], 3, axis=1)[:, ::2])  # 160 x 240: resized to 107 x 160
    blank = np.full((160, 160, 3), 235, dtype=np.uint8)
    return [padded, resized, blank]


def check_against_trained_fixture(model, to_tensor):
    """The model rebuilt here must be heads_trained.json's: same detections on its images."""
    with open(os.path.join(FIXTURES, 'heads_trained.json')) as f:
        fixture = json.load(f)
    decoded = [np.frombuffer(base64.b64decode(i['rgb_base64']), dtype=np.uint8).reshape(i['height'], i['width'], 3) for i in fixture['images']]
    with torch.no_grad():
        again = detections_json(TRAINED_CONFIG, model([to_tensor(img) for img in decoded]))
    for mine, theirs in zip(again, fixture['detections']):
        assert mine['labels'] == theirs['labels'] and np.allclose(mine['scores'], theirs['scores'], atol=1e-5), 'not the fixture model'


def main():
    torch.set_num_threads(2)
    model = trained_model()
    to_tensor = lambda img: torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
    check_against_trained_fixture(model, to_tensor)
    test_images = images()
    with torch.no_grad():
        result = model([to_tensor(img) for img in test_images])
    detections = detections_json(TRAINED_CONFIG, result)
    print('detections per image:', [len(d['scores']) for d in detections])
    write_json('onnx_parity.json', {
        'images': [{'width': img.shape[1], 'height': img.shape[0], 'rgb_base64': base64.b64encode(img.tobytes()).decode('ascii')}
                   for img in test_images],
        'detections': detections})


if __name__ == '__main__':
    main()
