/**
 * A small builder for ONNX graphs on the protobuf classes of `onnx-proto` (onnx.proto compiled by protobufjs):
 * named initializers, nodes with generated output names, typed graph inputs/outputs, and the encoded ModelProto.
 *
 * Opset 16 (default domain): the first opset whose RoiAlign has `coordinate_transformation_mode`, needed for
 * torchvision's `aligned=False` ("output_half_pixel").
 */
import { onnx } from 'onnx-proto';

export const OPSET = 16;
/** IR version 8 goes with opset 16 (ONNX 1.11). */
const IR_VERSION = 8;

export type ElementType = 'float32' | 'int64';
const ELEMENT_TYPES: Record<ElementType, onnx.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;
export type AttributeValue = number | number[] | string | { float: number };

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INT, i: value };
}

function valueInfo(name: string, type: ElementType, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializerNames = new Set<string>();
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: ElementType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Marks `value` as a graph output named `name` (through an Identity when the names differ). */
  output(value: string, name: string, type: ElementType, dims: Dim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `${name}_out` });
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 initializer (row-major data, little-endian raw bytes). */
  floats(name: string, data: Float32Array, dims: number[]): string {
    // A module applied several times (the RPN head on every level) shares its tensors.
    if (this.initializerNames.has(name)) return name;
    this.initializerNames.add(name);
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, dataType: ELEMENT_TYPES.float32, rawData: bytes });
    return name;
  }

  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dims, dataType: ELEMENT_TYPES.int64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.floats(`const_${this.counter++}`, Float32Array.of(value), []);
  }

  /** A float32 constant of any shape. */
  constant(data: Float32Array, dims: number[]): string {
    return this.floats(`const_${this.counter++}`, data, dims);
  }

  /** An int64 constant (shapes, axes, indices), 1-D unless `dims` say otherwise. */
  ints(values: number[], dims: number[] = [values.length]): string {
    return this.int64s(`const_${this.counter++}`, values, dims);
  }

  /** An int64 scalar constant (Range bounds). */
  intScalar(value: number): string {
    return this.int64s(`const_${this.counter++}`, [value], []);
  }

  /** One node; returns its output names (`outputs` of them, generated). */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs = 1): string[] {
    const id = this.counter++;
    const names = Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}_${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push({
      opType,
      name: `${opType}_${id}`,
      input: inputs,
      output: names,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return names;
  }

  /** A node with one output. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, attributes)[0];
  }

  /** x's dimensions [start, end) as an int64 1-D tensor (Shape with start/end, opset 15+). */
  shape(x: string, start = 0, end?: number): string {
    return this.op('Shape', [x], end === undefined ? { start } : { start, end });
  }

  /**
   * x [R, ...] as [...leading, ...trailing]: `leading` an int64 1-D tensor of dimensions read off the data (e.g. a
   * shape slice), `trailing` fixed sizes. allowzero: a 0 there is a real empty dimension (no boxes), not Reshape's
   * default "copy this dimension from the input", which would turn [0, V] into [1, V, V].
   */
  reshapeTo(x: string, leading: string, trailing: number[]): string {
    return this.op('Reshape', [x, this.op('Concat', [leading, this.ints(trailing)], { axis: 0 })], { allowzero: 1 });
  }

  /** x converted to `type`. */
  cast(x: string, type: ElementType): string {
    return this.op('Cast', [x], { to: ELEMENT_TYPES[type] });
  }

  /** The encoded ModelProto. */
  encode(docString: string): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      producerName: 'kfashion',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}
