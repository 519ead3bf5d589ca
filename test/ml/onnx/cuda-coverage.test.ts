/**
 * The check behind the CUDA coverage of the exported graph (test/ml/onnx/onnx-check.test.ts runs it on the real
 * exports): the table of ONNX Runtime's CUDA kernels reads as extracted, and a node it does not cover — operator,
 * version or input type — is named with the reason.
 */
import { cudaGap, readCudaKernels, type NodeSignature } from './cuda-kernels';

const kernels = readCudaKernels();
const node = (op: string, since: number, inputs: string[]): NodeSignature => ({ op, since, inputs, attributes: {} });

test('the extracted table has a row per operator of the export, with versions and type constraints', () => {
  expect(kernels.size).toBe(46);
  expect(kernels.get('RoiAlign')).toEqual({
    op: 'RoiAlign',
    inputs: ['T1', 'T1', 'T2'],
    from: 10,
    to: Infinity,
    types: { T1: ['double', 'float'], T2: ['int64'] },
  });
  expect(kernels.get('Reshape')).toMatchObject({ from: 14, to: 18, inputs: ['T', 'int64'] });
  expect(kernels.get('NonMaxSuppression')).toMatchObject({ from: 11, to: Infinity, types: {} });
});

test('a covered node has no gap; an unknown operator, version or input type has one, named', () => {
  expect(cudaGap(node('RoiAlign', 16, ['FLOAT', 'FLOAT', 'INT64']), kernels)).toBeNull();
  expect(cudaGap(node('Concat', 13, ['INT64', 'INT64', 'INT64']), kernels)).toBeNull();
  expect(cudaGap(node('Resize', 13, ['FLOAT', '', '', 'INT64']), kernels)).toBeNull();
  expect(cudaGap(node('RoiAlign', 16, ['FLOAT', 'FLOAT', 'INT32']), kernels)).toBe(
    'RoiAlign: input 2 is INT32, the CUDA kernel takes T2 = int64',
  );
  expect(cudaGap(node('Where', 16, ['BOOL', 'BOOL', 'BOOL']), kernels)).toBe(
    'Where: input 1 is BOOL, the CUDA kernel takes T = bfloat16, double, float, float16, int32, int64, uint8',
  );
  expect(cudaGap(node('TopK', 11, ['FLOAT', 'INT32']), kernels)).toBe('TopK: input 1 is INT32, the CUDA kernel takes int64');
  expect(cudaGap(node('ReduceMax', 18, ['INT64', 'INT64']), kernels)).toBe('ReduceMax-18: the CUDA kernels cover versions 1–17');
  expect(cudaGap(node('Einsum', 12, ['FLOAT']), kernels)).toBe('Einsum: no CUDA kernel');
});
