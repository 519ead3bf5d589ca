#!/usr/bin/python3
"""Fixtures for the PyTorch checkpoint reader (src/ml/weights/pytorch-checkpoint.ts), written by Debian's torch 1.13 /
torchvision 0.14 with torch.save itself:

  /usr/bin/python3 tools/reference/weights_reference.py            # test/ml/fixtures/weights_*
  /usr/bin/python3 tools/reference/weights_reference.py big OUT.pth  # a ~170 MB checkpoint for the memory measurement

- weights_tensors_{zip,legacy}.pth: every storage dtype, views (offset, transposed, expanded), a state dict
  nested under "model" with a DataParallel "module." prefix, optimizer state beside it; expected float32 values
  in weights_tensors.json.
- weights_resnet18_{zip,legacy,half}.pth: an ImageNet-classification ResNet-18 state dict (conv1, bn1, layer1-4,
  fc) with random weights and perturbed batch-norm statistics; weights_resnet18_features.safetensors holds the
  input image and torchvision's layer1..layer4 outputs (eval mode) for the float32 and the float16 weights.
  To keep the files small every tensor is a strided view of a few shared random storages (torch.save writes a
  storage once, whatever the number of tensors viewing it), which also exercises offsets and strides.
- weights_fasterrcnn_{zip,legacy,half}.pth: the Faster R-CNN of heads_reference.py's TRAINED_CONFIG (ResNet-18
  FPN, 64 channels, attribute heads) with strided-view random weights; the legacy file uses the pre-0.13 key names
  (fpn inner/layer_blocks.N.weight, rpn.head.conv.weight). weights_fasterrcnn.json holds torchvision's
  detections on the first image of heads_trained.json, for the float32 and the float16 weights.
- weights_fasterrcnn_v2_{zip,legacy,half}.pth: fasterrcnn_resnet50_fpn_v2's architecture (BatchNorm FPN, two-conv
  RPN head, FastRCNNConvFCHead) on a ResNet-18 with 64 FPN channels, built from torchvision's own modules;
  weights_fasterrcnn_v2.json holds its config and torchvision's detections as above.
- weights_malicious_{zip,legacy}.pth: a pickle whose GLOBAL is os.system, reduced with a command that would
  create a marker file.
"""
import base64
import io
import json
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNConvFCHead, FastRCNNPredictor
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_torch, write_safetensors  # noqa: E402
from heads_reference import TRAINED_CONFIG, build_model, detections_json  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "ml", "fixtures")
POOL_SIZE = 8191
CLASS_GAIN = 2.0


def head_gain(name):
    """The strided views are correlated, so activations grow through the body: the detector heads get smaller
    weights (or every box regresses off the image), except the class logits, made larger so that most scores
    sit where softmax is flat and float32 rounding differences between frameworks move them least."""
    if name.startswith("roi_heads.box_predictor.cls_score."):
        return CLASS_GAIN
    return 0.3 if name.startswith(("rpn.head.", "roi_heads.")) else 1.0
MALICIOUS_MARKER = "/tmp/kfashion-malicious-pickle-ran"


def save_both(obj, stem):
    torch.save(obj, os.path.join(FIXTURES, f"{stem}_zip.pth"))
    torch.save(obj, os.path.join(FIXTURES, f"{stem}_legacy.pth"), _use_new_zipfile_serialization=False)


def tensors_fixture():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    state = OrderedDict()
    state["module.half"] = (base / 3).half()
    state["module.bfloat"] = (base * 3.3).bfloat16()
    state["module.double"] = base.double() / 7
    state["module.float"] = base
    state["module.offset_view"] = base[1:3, 2:5]  # shares base's storage: offset 8, strides (6, 1)
    state["module.transposed"] = base.t()  # strides (1, 6)
    state["module.expanded"] = torch.tensor([1.5, -2.0, 0.25]).reshape(3, 1).expand(3, 4)  # stride 0
    state["module.scalar"] = torch.tensor(2.5)
    state["module.empty"] = torch.zeros(0, 3)
    state["module.bn.num_batches_tracked"] = torch.tensor(12345)
    state["module.flags"] = torch.tensor([True, False, True])
    checkpoint = {"model": state, "optimizer": {"state": {0: {"momentum_buffer": torch.ones(5)}}, "param_groups": []}, "epoch": 7}
    save_both(checkpoint, "weights_tensors")
    expected = {name[len("module."):]: {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                                        "values": t.double().flatten().tolist()} for name, t in state.items()}
    with open(os.path.join(FIXTURES, "weights_tensors.json"), "w") as f:
        json.dump(expected, f)


class Pools:
    """Shared random storages, one per (kind, fan-in); every tensor is a strided view of one of them."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.pools = {}
        self.generator = torch.Generator().manual_seed(3)

    def pool(self, key, low, high):
        if key not in self.pools:
            values = torch.rand(POOL_SIZE, generator=self.generator, dtype=torch.float64) * (high - low) + low
            self.pools[key] = values.to(self.dtype)
        return self.pools[key]

    def view(self, name, shape):
        if name.endswith("running_var"):
            pool = self.pool("var", 0.5, 1.5)
        elif name.endswith("running_mean"):
            pool = self.pool("mean", -0.1, 0.1)
        elif len(shape) == 1 and name.endswith("weight"):
            pool = self.pool("gamma", 0.75, 1.25)
        elif len(shape) == 1:
            pool = self.pool("beta", -0.1, 0.1)
        else:
            fan_in = int(torch.tensor(shape[1:]).prod())
            gain = head_gain(name)
            bound = gain * (6 / fan_in) ** 0.5
            pool = self.pool(f"fan{fan_in}x{gain}", -bound, bound)
        strides = strides_within(shape)
        reach = sum((d - 1) * s for d, s in zip(shape, strides))
        offset = (sum(map(ord, name)) * 37) % (POOL_SIZE - reach)
        return pool.as_strided(shape, strides, offset)


def strides_within(shape):
    """Small, distinct strides (so that the view is no Hankel matrix) that stay inside the pool."""
    for candidates in ([7, 5, 3, 1], [5, 3, 2, 1], [3, 2, 1, 1], [2, 1, 1, 1], [1, 1, 1, 1]):
        strides = candidates[-len(shape):]
        if sum((d - 1) * s for d, s in zip(shape, strides)) < POOL_SIZE:
            return strides
    raise ValueError(f"no strides fit {shape}")


def strided_state_dict(model, dtype):
    pools = Pools(dtype)
    state = OrderedDict()
    for name, tensor in model.state_dict().items():
        state[name] = tensor.clone() if not tensor.is_floating_point() else pools.view(name, list(tensor.shape))
    return state


def body_features(model, image):
    x = model.maxpool(model.relu(model.bn1(model.conv1(image))))
    outputs = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        outputs.append(x)
    return outputs


def resnet_fixture():
    model = torchvision.models.resnet18(weights=None).eval()
    image = torch.rand(1, 3, 45, 61, generator=torch.Generator().manual_seed(5)) * 2 - 1
    features = {"image": image.permute(0, 2, 3, 1).contiguous()}
    for variant, dtype in (("float", torch.float32), ("half", torch.float16)):
        state = strided_state_dict(model, dtype)
        if dtype == torch.float32:
            save_both(state, "weights_resnet18")
        else:
            torch.save(state, os.path.join(FIXTURES, "weights_resnet18_half.pth"))
        model.load_state_dict(state)
        with torch.no_grad():
            for level, out in enumerate(body_features(model, image)):
                features[f"{variant}.layer{level + 1}"] = out.permute(0, 2, 3, 1).contiguous()
    write_safetensors(os.path.join(FIXTURES, "weights_resnet18_features.safetensors"), features,
                      {"writer": "weights_reference.py", "torch": torch.__version__})


def legacy_detection_name(name):
    """torchvision >= 0.13 name -> the name older torchvision wrote (see toLegacyName in state-dict.ts)."""
    for new, old in ((".0.weight", ".weight"), (".0.bias", ".bias")):
        if name.startswith(("backbone.fpn.inner_blocks.", "backbone.fpn.layer_blocks.")) and name.endswith(new):
            return name[: -len(new)] + old
    return name.replace("rpn.head.conv.0.0.", "rpn.head.conv.")


V2_CONFIG = {
    "backbone": "resnet18", "architecture": "v2", "norm_layer": "batch_norm", "num_classes": 4,
    "class_names": ["__background__", "rectangle", "ellipse", "triangle"], "attributes": [],
    "representation_size": 64, "fpn_out_channels": 64, "min_size": 160, "max_size": 160,
    "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_test": 100, "box_detections_per_img": 20,
}


def build_v2(cfg):
    """fasterrcnn_resnet50_fpn_v2's builder, with the body and widths of `cfg` (the builder fixes ResNet-50, 256, 1024)."""
    channels, rep = cfg["fpn_out_channels"], cfg["representation_size"]
    body = torchvision.models.resnet.__dict__[cfg["backbone"]](weights=None)
    in_channels = [body.inplanes // 8, body.inplanes // 4, body.inplanes // 2, body.inplanes]
    backbone = BackboneWithFPN(body, {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}, in_channels, channels,
                               extra_blocks=LastLevelMaxPool(), norm_layer=nn.BatchNorm2d)
    box_head = FastRCNNConvFCHead((channels, 7, 7), [channels] * 4, [rep], norm_layer=nn.BatchNorm2d)
    kwargs = {k: v for k, v in cfg.items() if k.startswith(("rpn_", "box_")) or k in ("min_size", "max_size")}
    return FasterRCNN(backbone, num_classes=None, rpn_head=RPNHead(channels, 3, conv_depth=2), box_head=box_head,
                      box_predictor=FastRCNNPredictor(rep, cfg["num_classes"]), **kwargs)


def first_test_image():
    with open(os.path.join(FIXTURES, "heads_trained.json")) as f:
        first = json.load(f)["images"][0]
    pixels = torch.frombuffer(bytearray(base64.b64decode(first["rgb_base64"])), dtype=torch.uint8)
    return pixels.reshape(first["height"], first["width"], 3).permute(2, 0, 1).float() / 255


def detector_fixture(stem, cfg, model, rename_legacy):
    image = first_test_image()
    out = {"config": cfg, "image": 0}
    for variant, dtype in (("float", torch.float32), ("half", torch.float16)):
        state = strided_state_dict(model, dtype)
        if dtype == torch.float32:
            torch.save(state, os.path.join(FIXTURES, f"{stem}_zip.pth"))
            legacy = OrderedDict((rename_legacy(n), t) for n, t in state.items())
            torch.save(legacy, os.path.join(FIXTURES, f"{stem}_legacy.pth"), _use_new_zipfile_serialization=False)
        else:
            torch.save(state, os.path.join(FIXTURES, f"{stem}_half.pth"))
        model.load_state_dict(state)
        with torch.no_grad():
            out[variant] = detections_json(cfg, model([image]))[0]
    with open(os.path.join(FIXTURES, f"{stem}.json"), "w") as f:
        json.dump(out, f)


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {MALICIOUS_MARKER}",))


def malicious_fixture():
    payload = pickle.dumps(Exploit(), protocol=2).replace(b"cposix\nsystem\n", b"cos\nsystem\n")
    assert b"cos\nsystem\n" in payload
    with zipfile.ZipFile(os.path.join(FIXTURES, "weights_malicious_zip.pth"), "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("weights_malicious_zip/data.pkl", payload)
        archive.writestr("weights_malicious_zip/version", "3\n")
    legacy = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, legacy, protocol=2)
    legacy.write(payload)
    with open(os.path.join(FIXTURES, "weights_malicious_legacy.pth"), "wb") as f:
        f.write(legacy.getvalue())


def big_checkpoint(path):
    """A resnet50-like state dict of ~170 MB of float32 (contiguous tensors, as published checkpoints are)."""
    state = OrderedDict()
    generator = torch.Generator().manual_seed(1)
    for i in range(170):
        state[f"layer.{i}.weight"] = torch.rand(250, 250, 2, 2, generator=generator) * 0.01
        state[f"layer.{i}.bias"] = torch.rand(250, generator=generator)
    torch.save(state, path)
    print(path, os.path.getsize(path), "bytes")


def main():
    setup_torch()
    if len(sys.argv) == 3 and sys.argv[1] == "big":
        big_checkpoint(sys.argv[2])
        return
    os.makedirs(FIXTURES, exist_ok=True)
    tensors_fixture()
    resnet_fixture()
    detector_fixture("weights_fasterrcnn", TRAINED_CONFIG, build_model(TRAINED_CONFIG).eval(), legacy_detection_name)
    detector_fixture("weights_fasterrcnn_v2", V2_CONFIG, build_v2(V2_CONFIG).eval(), lambda name: name)
    malicious_fixture()


if __name__ == "__main__":
    main()
