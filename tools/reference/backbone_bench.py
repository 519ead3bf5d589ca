#!/usr/bin/python3
"""torchvision side of the backbone timing: resnet_fpn_backbone forward (eval, no grad) on one 1x3xHxW image,
2 threads, synthetic weights of common.py (same values the tfjs side can load). Prints median seconds.

  /usr/bin/python3 tools/reference/backbone_bench.py [backbone] [size] [repeats]
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fill_synthetic, setup_torch  # noqa: E402
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone  # noqa: E402


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "resnet50"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 800
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    setup_torch()
    wrapper = torch.nn.Module()
    wrapper.backbone = resnet_fpn_backbone(backbone_name=name, weights=None, trainable_layers=3).eval()
    fill_synthetic(wrapper)
    images = torch.randn(1, 3, size, size)
    times = []
    cpu_times = []
    with torch.no_grad():
        wrapper.backbone(images)  # warm-up
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            wrapper.backbone(images)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    # CPU seconds matter on a shared machine: wall time there depends on everyone else's load.
    print(f"torchvision {torch.__version__} {name}-FPN {size}x{size}, {torch.get_num_threads()} threads: "
          f"median {statistics.median(times):.3f} s wall (min {min(times):.3f}), "
          f"median {statistics.median(cpu_times):.3f} CPU s over {repeats} runs")


if __name__ == "__main__":
    main()
