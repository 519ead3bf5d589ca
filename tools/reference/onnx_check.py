"""The ONNX project's own checks on an exported model (test/ml/onnx/onnx-check.test.ts).

Usage: /usr/bin/python3 tools/reference/onnx_check.py MODEL.onnx

Runs onnx.checker.check_model with full_check (the IR and opset rules, then strict shape inference over the whole
graph) and prints, as JSON, the opset, the op types used and each graph input and output with its element type
and rank after inference. Needs Debian's python3-onnx; no network, no ONNX Runtime.
"""
import json
import sys

import onnx


def describe(values):
    out = []
    for value in values:
        tensor = value.type.tensor_type
        out.append({
            "name": value.name,
            "type": onnx.TensorProto.DataType.Name(tensor.elem_type),
            "rank": len(tensor.shape.dim),
        })
    return out


def main(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    print(json.dumps({
        "onnx": onnx.__version__,
        "ir_version": model.ir_version,
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "ops": sorted({node.op_type for node in model.graph.node}),
        "inputs": describe(inferred.graph.input),
        "outputs": describe(inferred.graph.output),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
