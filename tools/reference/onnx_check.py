"""The ONNX project's own checks on an exported model (test/ml/onnx/onnx-check.test.ts).

Usage: /usr/bin/python3 tools/reference/onnx_check.py MODEL.onnx

Runs onnx.checker.check_model with full_check (the IR and opset rules, then strict shape inference over the whole
graph) and prints, as JSON, the opset, the op types used, each graph input and output with its element type
and rank after inference, and each distinct node signature (op type and version, input element types, scalar attributes:
what decides which execution provider kernel runs it; test/ml/onnx/cuda-coverage.test.ts). Needs Debian's python3-onnx; no network, no ONNX Runtime.
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


def element_types(inferred):
    """Element type name of every value of the inferred graph: inputs, initializers, node outputs."""
    types = {i.name: onnx.TensorProto.DataType.Name(i.data_type) for i in inferred.graph.initializer}
    for value in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        types[value.name] = onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)
    return types


def scalar_attributes(node):
    out = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            out[attribute.name] = value.decode()
        elif isinstance(value, (int, float)):
            out[attribute.name] = value
    return out


def signatures(inferred):
    types = element_types(inferred)
    opsets = {o.domain: o.version for o in inferred.opset_import}
    seen = {}
    for node in inferred.graph.node:
        signature = {
            "op": node.op_type,
            # The operator's version at the model's opset: the version an execution provider's kernel must cover.
            "since": onnx.defs.get_schema(node.op_type, opsets[node.domain], node.domain).since_version,
            "inputs": [types.get(name, "UNKNOWN") if name else "" for name in node.input],
            "attributes": scalar_attributes(node),
        }
        seen[json.dumps(signature, sort_keys=True)] = signature
    return [seen[key] for key in sorted(seen)]


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
        "signatures": signatures(inferred),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
