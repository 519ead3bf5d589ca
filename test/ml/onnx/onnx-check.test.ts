/**
 * The exported model against the ONNX project's own checker (tools/reference/onnx_check.py, Debian's python3-onnx,
 * independent of ONNX Runtime): the IR and opset rules and strict shape inference over the whole graph, for the v1
 * fixture model with attribute heads and the v2 checkpoint; the inferred input and output types are the ones
 * docs/onnx.md documents. Every node signature (operator version, input types) must have a kernel on ONNX Runtime's
 * CUDA execution provider (test/ml/fixtures/ort_cuda_kernels.md): a node without one runs on the CPU, silently.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../../src/ml/backend';
import { readConfigFile, resolveConfig } from '../../../src/ml/model/config';
import { exportFromWeights } from '../../../src/ml/onnx/engine';
import { trainedFixture, writeTrainedModel } from '../model/heads-trained';
import { cudaGap, readCudaKernels, type NodeSignature } from './cuda-kernels';

const SCRIPT = path.join(__dirname, '../../../tools/reference/onnx_check.py');
// Debian's python, where python3-onnx is installed (tools/test-prerequisites.sh), whatever python3 is first on PATH.
const PYTHON = '/usr/bin/python3';

interface Checked {
  opset: { domain: string; version: number }[];
  ops: string[];
  inputs: { name: string; type: string; rank: number }[];
  outputs: { name: string; type: string; rank: number }[];
  signatures: NodeSignature[];
}

const cudaKernels = readCudaKernels();

/** The nodes of a checked model that no CUDA kernel runs, with the reason. */
function cudaGaps(checked: Checked): string[] {
  return checked.signatures.map((node) => cudaGap(node, cudaKernels)).filter((gap): gap is string => gap !== null);
}

function check(file: string): Checked {
  const result = spawnSync(PYTHON, [SCRIPT, file], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`onnx_check.py failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Checked;
}

let dir: string;
beforeAll(async () => {
  await initBackend('cpu', { log: () => undefined });
  dir = mkdtempSync(path.join(tmpdir(), 'kfashion-onnx-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the fixture model (v1, attribute heads) passes check_model(full_check) with the documented inputs and outputs', () => {
  const files = writeTrainedModel(dir);
  const file = path.join(dir, 'fixture.onnx');
  writeFileSync(file, exportFromWeights(readConfigFile(files.config), files.weights));
  const checked = check(file);
  expect(checked.opset).toEqual([{ domain: '', version: 16 }]);
  expect(checked.ops).toEqual(expect.arrayContaining(['Conv', 'TopK', 'NonMaxSuppression', 'RoiAlign', 'ScatterND', 'GatherND']));
  expect(checked.inputs).toEqual([
    { name: 'images', type: 'FLOAT', rank: 4 },
    { name: 'image_sizes', type: 'FLOAT', rank: 2 },
  ]);
  const kinds = (trainedFixture.config.attributes as { kind: string }[]).map(({ kind }) => ({
    name: `attribute_${kind}`,
    type: 'FLOAT',
    rank: 3,
  }));
  expect(checked.outputs).toEqual([
    { name: 'boxes', type: 'FLOAT', rank: 3 },
    { name: 'scores', type: 'FLOAT', rank: 2 },
    { name: 'labels', type: 'INT64', rank: 2 },
    { name: 'detection_counts', type: 'INT64', rank: 1 },
    { name: 'representations', type: 'FLOAT', rank: 3 },
    ...kinds,
  ]);
  expect(checked.signatures.length).toBeGreaterThan(40);
  expect(cudaGaps(checked)).toEqual([]);
});

test('the v2 checkpoint (BatchNorm FPN, conv box head, no attributes) passes too', () => {
  const fixture = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/weights_fasterrcnn_v2.json'), 'utf8'));
  const weights = path.join(dir, 'v2.pth');
  copyFileSync(path.join(__dirname, '../fixtures/weights_fasterrcnn_v2_zip.pth'), weights);
  const file = path.join(dir, 'v2.onnx');
  writeFileSync(file, exportFromWeights(resolveConfig(fixture.config, 'v2'), weights));
  const checked = check(file);
  expect(checked.outputs.map((o) => o.name)).toEqual(['boxes', 'scores', 'labels', 'detection_counts', 'representations']);
  expect(cudaGaps(checked)).toEqual([]);
});
