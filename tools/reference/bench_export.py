#!/usr/bin/python3
"""Weights for `npm run bench:infer` (bench/infer/run.ts): torchvision's fasterrcnn_resnet50_fpn architecture with
the label space of the bench's model config, filled with the deterministic synthetic values of common.py (batch
norms included, so no frozen batch norm is the identity), written as one safetensors file that both sides load.

The model is built as torchvision's builder builds it with pretrained weights (ResNet-50 body with FrozenBatchNorm2d,
_resnet_fpn_extractor with trainable_backbone_layers=3, FasterRCNN): the builder called with weights=None would switch
to plain BatchNorm2d and 5 trainable stages, which is not the architecture we run. The attribute heads of our
Attribute R-CNN (roi_heads.box_predictor.<kind>_score) are appended to the file; torchvision has no such heads and
bench_torch.py ignores them.

  /usr/bin/python3 tools/reference/bench_export.py CONFIG_JSON OUT_SAFETENSORS

Run at bench time into a temporary folder (the file is ~170 MB and never committed).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fill_synthetic, setup_torch, synthetic_tensor, write_safetensors  # noqa: E402
from torchvision.models import resnet50  # noqa: E402
from torchvision.models.detection import FasterRCNN  # noqa: E402
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor  # noqa: E402
from torchvision.ops import FrozenBatchNorm2d  # noqa: E402

# Model config keys (src/ml/model/config.ts) that are FasterRCNN keyword arguments of the same name.
FASTER_RCNN_KWARGS = [
    "min_size", "max_size", "image_mean", "image_std",
    "rpn_pre_nms_top_n_train", "rpn_pre_nms_top_n_test", "rpn_post_nms_top_n_train", "rpn_post_nms_top_n_test",
    "rpn_nms_thresh", "rpn_fg_iou_thresh", "rpn_bg_iou_thresh", "rpn_batch_size_per_image", "rpn_positive_fraction",
    "rpn_score_thresh", "box_score_thresh", "box_nms_thresh", "box_detections_per_img", "box_fg_iou_thresh",
    "box_bg_iou_thresh", "box_batch_size_per_image", "box_positive_fraction", "bbox_reg_weights",
]


def build_model(config):
    """torchvision FasterRCNN with a FrozenBatchNorm2d ResNet-50-FPN body, configured from our model config."""
    if config["backbone"] != "resnet50" or config["representation_size"] != 1024 or config["fpn_out_channels"] != 256:
        raise SystemExit("bench_export.py: the bench compares torchvision's fasterrcnn_resnet50_fpn "
                         "(backbone resnet50, representation_size 1024, fpn_out_channels 256)")
    body = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(body, config["trainable_backbone_layers"])
    kwargs = {key: config[key] for key in FASTER_RCNN_KWARGS}
    if isinstance(kwargs["min_size"], list):
        kwargs["min_size"] = tuple(kwargs["min_size"])
    return FasterRCNN(backbone, num_classes=config["num_classes"], **kwargs)


def attribute_head_tensors(config):
    """Our extra heads: one Linear(1024 -> number of values) per attribute kind, PyTorch layout [out, in]."""
    tensors = {}
    for spec in config["attributes"]:
        for part, shape in (("weight", [len(spec["values"]), config["representation_size"]]), ("bias", [len(spec["values"])])):
            name = f"roi_heads.box_predictor.{spec['kind']}_score.{part}"
            tensors[name] = synthetic_tensor(name, shape)
    return tensors


def calibrate_fpn_outputs(model, size):
    """Divides each FPN output conv (layer_blocks) by the standard deviation of its output on a deterministic
    image: through 50 layers the synthetic weights grow activations to ~1e4, so every RPN delta saturates, every
    proposal is clipped to a degenerate box and the heads get no work. Unit-scale features keep the workload
    (1000 proposals through the box head, detections to post-process and re-pool) what a trained model has."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(3, size, size, generator=generator)
    with torch.no_grad():
        batch, _ = model.transform([image])
        features = model.backbone(batch.tensors)
        for index, name in enumerate(["0", "1", "2", "3"]):
            scale = float(features[name].std())
            block = model.backbone.fpn.layer_blocks[index][0]
            block.weight.div_(scale)
            block.bias.div_(scale)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    config_path, out_path = sys.argv[1], sys.argv[2]
    with open(config_path, encoding="utf8") as f:
        config = json.load(f)
    setup_torch()
    model = build_model(config)
    fill_synthetic(model)
    model.eval()
    calibrate_fpn_outputs(model, config["min_size"] if isinstance(config["min_size"], int) else config["min_size"][-1])
    tensors = {name: t for name, t in model.state_dict().items() if t.is_floating_point()}
    tensors.update(attribute_head_tensors(config))
    write_safetensors(out_path, tensors, metadata={"source": "tools/reference/bench_export.py", "torchvision": __import__("torchvision").__version__})
    print(f"{out_path}: {len(tensors)} tensors, {sum(t.numel() if isinstance(t, torch.Tensor) else t.size for t in tensors.values())} values")


if __name__ == "__main__":
    main()
