#!/usr/bin/python3
"""torchvision side of `npm run bench:infer` (bench/infer/run.ts starts it; never run by npm test).

  /usr/bin/python3 tools/reference/bench_torch.py infer|train DIR --threads N --runs R [--warmup W] [--wait]
  /usr/bin/python3 tools/reference/bench_torch.py blas

blas: prints one JSON line with the BLAS libraries torch maps after a matrix product and torch's BLAS build
line, so that the bench can refuse a run on the reference BLAS before it starts.

DIR is the bench's temporary folder: <mode>.json (our model config plus the image size and, for train, the
targets), weights.safetensors (tools/reference/bench_export.py), <mode>.rgb (raw RGB bytes, row by row).
- infer: model.eval(), torch.no_grad(), one image per call (single-image latency).
- train: model.train(), one SGD step (lr, momentum, weight decay from <mode>.json) on one image with its targets.
--wait: after the warm-up print READY and wait for a line on stdin, so that several processes start together.
Prints one JSON line: wall and CPU seconds per run (time.perf_counter, time.process_time: all threads of this
process), the BLAS libraries mapped into the process, torch's BLAS build line, and the detection count / losses.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_export import build_model  # noqa: E402


def read_safetensors(path):
    """name -> float32 tensor (F32 only: the file comes from bench_export.py)."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_length])
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + header_length:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} has dtype {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype="<f4").copy().reshape(entry["shape"]))
    return tensors


def load_model(directory, spec):
    model = build_model(spec["config"])
    state = {k: v for k, v in read_safetensors(os.path.join(directory, "weights.safetensors")).items()
             if not k.startswith("roi_heads.box_predictor.") or k.split(".")[2] in ("cls_score", "bbox_pred")}
    model.load_state_dict(state, strict=True)
    return model


def read_image(directory, mode, spec):
    height, width = spec["height"], spec["width"]
    pixels = np.fromfile(os.path.join(directory, f"{mode}.rgb"), dtype=np.uint8)
    if pixels.size != height * width * 3:
        raise SystemExit(f"{mode}.rgb: {pixels.size} bytes, expected {height}x{width}x3")
    return torch.from_numpy(pixels.reshape(height, width, 3)).permute(2, 0, 1).float().div(255.0)


def blas_libraries():
    with open("/proc/self/maps", encoding="utf8") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.lower() or "lapack" in line.lower()}
    return sorted(p for p in paths if p.startswith("/"))


def blas_build_line():
    for part in torch.__config__.show().replace(",", "\n").splitlines():
        if "BLAS_INFO" in part:
            return part.strip()
    return "BLAS_INFO not reported"


def report_blas():
    torch.ones(64, 64) @ torch.ones(64, 64)
    print(json.dumps({"blas_build": blas_build_line(), "blas_libraries": blas_libraries()}), flush=True)


def main():
    if sys.argv[1:] == ["blas"]:
        return report_blas()
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["infer", "train"])
    parser.add_argument("directory")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(os.path.join(args.directory, f"{args.mode}.json"), encoding="utf8") as f:
        spec = json.load(f)
    model = load_model(args.directory, spec)
    image = read_image(args.directory, args.mode, spec)

    if args.mode == "infer":
        model.eval()

        def run():
            with torch.no_grad():
                found = model([image])[0]
            top = [[*map(float, found["boxes"][i]), float(found["scores"][i]), int(found["labels"][i])] for i in range(min(3, len(found["boxes"])))]
            return {"detections": len(found["boxes"]), "top": top}
    else:
        model.train()
        target = {"boxes": torch.tensor(spec["boxes"], dtype=torch.float32),
                  "labels": torch.tensor(spec["labels"], dtype=torch.int64)}
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(parameters, lr=spec["lr"], momentum=spec["momentum"], weight_decay=spec["weight_decay"])

        def run():
            losses = model([image], [target])
            total = sum(losses.values())
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            # str() keeps a non-finite loss readable as JSON (json.dumps would write a bare NaN).
            return {"losses": {k: float(v) if torch.isfinite(v) else str(float(v)) for k, v in losses.items()}}

    for _ in range(args.warmup):
        run()
    if args.wait:
        print("READY", flush=True)
        sys.stdin.readline()
    wall, cpu, outputs = [], [], None
    started = time.time()
    for _ in range(args.runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        outputs = run()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    print(json.dumps({
        "wall": wall, "cpu": cpu, "started": started, "ended": time.time(), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "torchvision": __import__("torchvision").__version__,
        "blas_build": blas_build_line(), "blas_libraries": blas_libraries(), "output": outputs,
    }), flush=True)


if __name__ == "__main__":
    main()
