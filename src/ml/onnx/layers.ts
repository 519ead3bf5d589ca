/**
 * The layers the detector's modules export themselves with (src/ml/model/*: each module writes its own part of the
 * ONNX graph with these): nn.Conv2d, conv + batch norm folded as the tfjs engine folds it, nn.Linear, each reading its
 * tensors by state_dict name from a WeightSource.
 */
import type { ParameterStore } from '../model/params';
import type { ConvBnGeometry } from '../model/resnet';
import type { GraphBuilder } from './graph';

/** Where the exporter reads tensors: PyTorch layout (OIHW convs, [out, in] linears), as in the state_dict. */
export interface WeightSource {
  has(name: string): boolean;
  values(name: string): Float32Array;
  shape(name: string): number[];
}

export function storeWeights(store: ParameterStore): WeightSource {
  return {
    has: (name) => store.has(name),
    values: (name) => store.torchValues(name),
    shape: (name) => store.info(name).torchShape,
  };
}

export class OnnxLayers {
  /** `batchNormEps`: the eps of every batch norm folded here (the tfjs engine's, src/ml/model/resnet.ts). */
  constructor(
    readonly g: GraphBuilder,
    private readonly weights: WeightSource,
    private readonly batchNormEps: number,
  ) {}

  private conv(x: string, weight: string, bias: string | undefined, shape: number[], stride: number, padding: number): string {
    const [, , kh, kw] = shape;
    return this.g.op('Conv', bias ? [x, weight, bias] : [x, weight], {
      kernel_shape: [kh, kw],
      strides: [stride, stride],
      pads: [padding, padding, padding, padding],
    });
  }

  private tensor(name: string): string {
    return this.g.floats(name, this.weights.values(name), this.weights.shape(name));
  }

  /** nn.Conv2d, with its bias when `bias` is set. */
  plainConv(x: string, prefix: string, stride: number, padding: number, bias: boolean): string {
    const weight = this.tensor(`${prefix}.weight`);
    return this.conv(x, weight, bias ? this.tensor(`${prefix}.bias`) : undefined, this.weights.shape(`${prefix}.weight`), stride, padding);
  }

  /**
   * conv → batch norm (running statistics) → optional ReLU, the norm folded into the conv as the tfjs engine folds
   * it: scale = w·rsqrt(var + eps) in float32, filter·scale, bias = b − mean·scale.
   */
  convBn(x: string, unit: ConvBnGeometry, relu: boolean): string {
    const shape = this.weights.shape(`${unit.conv}.weight`);
    const filter = Float32Array.from(this.weights.values(`${unit.conv}.weight`));
    const [w, b, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => this.weights.values(`${unit.bn}.${k}`));
    const perOutput = filter.length / shape[0];
    const shift = new Float32Array(shape[0]);
    for (let o = 0; o < shape[0]; o++) {
      const scale = Math.fround(w[o] * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(variance[o] + this.batchNormEps)))));
      shift[o] = Math.fround(b[o] - Math.fround(mean[o] * scale));
      for (let k = o * perOutput; k < (o + 1) * perOutput; k++) filter[k] = Math.fround(filter[k] * scale);
    }
    const y = this.conv(
      x,
      this.g.floats(`${unit.conv}.weight_folded`, filter, shape),
      this.g.floats(`${unit.bn}.shift_folded`, shift, [shape[0]]),
      shape,
      unit.stride,
      unit.padding,
    );
    return relu ? this.g.op('Relu', [y]) : y;
  }

  /** nn.Linear: Gemm with the [out, in] weight transposed. */
  linear(x: string, prefix: string): string {
    return this.g.op('Gemm', [x, this.tensor(`${prefix}.weight`), this.tensor(`${prefix}.bias`)], { transB: 1 });
  }

  /** NCHW → [N, C·H·W] in torch's order, as the first fc of a box head expects. */
  flatten(x: string): string {
    return this.g.op('Flatten', [x], { axis: 1 });
  }
}
