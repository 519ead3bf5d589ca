/**
 * The CUDA execution provider's kernel table (test/ml/fixtures/ort_cuda_kernels.md) and the check of an exported
 * graph's node signatures against it: ONNX Runtime runs a node on CUDA only when a CUDA kernel covers the
 * operator's version and every input's element type; otherwise it places the node on the CPU provider, silently.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface CudaKernel {
  op: string;
  /** Each input's type constraint ("T") or fixed type ("int64"), in order; a trailing "T..." repeats. */
  inputs: string[];
  from: number;
  /** Inclusive; Infinity for "13+". */
  to: number;
  /** Allowed element types per constraint, lower case as the table writes them ("float", "int64"). */
  types: Record<string, string[]>;
}

/** One distinct node of the exported graph, as tools/reference/onnx_check.py lists it. */
export interface NodeSignature {
  op: string;
  since: number;
  /** ONNX element type names (FLOAT, INT64, BOOL); "" for an omitted optional input. */
  inputs: string[];
  attributes: Record<string, string | number>;
}

export const CUDA_KERNELS_FILE = path.join(__dirname, '../fixtures/ort_cuda_kernels.md');

function parseVersions(text: string, line: string): { from: number; to: number } {
  const open = /^(\d+)\+$/.exec(text);
  if (open) return { from: Number(open[1]), to: Infinity };
  const range = /^\[(\d+), (\d+)\]$/.exec(text);
  if (range) return { from: Number(range[1]), to: Number(range[2]) };
  const single = /^(\d+)$/.exec(text);
  if (single) return { from: Number(single[1]), to: Number(single[1]) };
  throw new Error(`${CUDA_KERNELS_FILE}: opset versions "${text}" not understood in: ${line}`);
}

function parseTypes(text: string): Record<string, string[]> {
  if (text === '') return {};
  return Object.fromEntries(
    text.split('; ').map((part) => {
      const [name, list] = part.split(' = ');
      return [name, list.split(', ')];
    }),
  );
}

export function readCudaKernels(file = CUDA_KERNELS_FILE): Map<string, CudaKernel> {
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| op |') && !line.startsWith('| ---'));
  return new Map(
    rows.map((line) => {
      const [op, inputs, versions, types] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      return [op, { op, inputs: inputs.split(', '), ...parseVersions(versions, line), types: parseTypes(types) }];
    }),
  );
}

/** The constraint or fixed type of input `index` ("T..." stands for every input from there on). */
function inputSpec(kernel: CudaKernel, index: number): string {
  const last = kernel.inputs[kernel.inputs.length - 1];
  if (index < kernel.inputs.length) return kernel.inputs[index].replace(/\.\.\.$/, '');
  return last.endsWith('...') ? last.slice(0, -3) : '';
}

/** Why no CUDA kernel runs this node, or null when one does. */
export function cudaGap(node: NodeSignature, kernels: ReadonlyMap<string, CudaKernel>): string | null {
  const kernel = kernels.get(node.op);
  if (!kernel) return `${node.op}: no CUDA kernel`;
  if (node.since < kernel.from || node.since > kernel.to)
    return `${node.op}-${node.since}: the CUDA kernels cover versions ${kernel.from}–${kernel.to}`;
  for (const [index, type] of node.inputs.entries()) {
    if (type === '') continue;
    const spec = inputSpec(kernel, index);
    const allowed = kernel.types[spec] ?? [spec];
    if (!allowed.includes(type.toLowerCase()))
      return `${node.op}: input ${index} is ${type}, the CUDA kernel takes ${spec === allowed[0] ? spec : `${spec} = ${allowed.join(', ')}`}`;
  }
  return null;
}
