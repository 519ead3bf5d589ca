/**
 * Weights I/O: the safetensors reader/writer against a file torch wrote (tools/reference/backbone_reference.py),
 * its error cases, and torchvision state_dict loading/export through a ParameterStore (names old and new,
 * layouts, missing / unexpected / mis-shaped tensors).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/ml/backend';
import { ParameterStore, SeededRandom } from '../../src/ml/model/params';
import { encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/ml/weights/safetensors';
import {
  encodeStateDict,
  exportStateDict,
  loadSafetensorsInto,
  loadStateDict,
  toCurrentName,
  toLegacyName,
} from '../../src/ml/weights/state-dict';

const DTYPES_FIXTURE = join(__dirname, 'fixtures', 'backbone_dtypes.safetensors');
const scratch = mkdtempSync(join(tmpdir(), 'kfashion-weights-'));

function fileWith(name: string, bytes: Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

/** A safetensors file from a raw header object and a data section of `dataBytes` zero bytes. */
function rawFile(name: string, header: unknown, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return fileWith(name, out);
}

describe('safetensors reader on a file written from torch', () => {
  const file = readSafetensors(DTYPES_FIXTURE);

  it.each(['half', 'double', 'bfloat', 'counts'])('converts %s to the float32 values torch computes', (name) => {
    const entry = file.tensors.get(name)!;
    const expected = file.tensors.get(`${name}.expected`)!;
    expect(entry.shape).toEqual(expected.shape);
    expect(Array.from(entry.data)).toEqual(Array.from(expected.data));
  });

  it('keeps dtypes, scalar shapes and metadata', () => {
    expect(file.tensors.get('half')!.dtype).toBe('F16');
    expect(file.tensors.get('bfloat')!.dtype).toBe('BF16');
    expect(file.tensors.get('bn.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    expect(Array.from(file.tensors.get('bn.num_batches_tracked')!.data)).toEqual([12345]);
    expect(file.metadata).toEqual({ format: 'pt', writer: 'backbone_reference.py' });
  });

  it('writes the canonical form torch-side code writes: re-encoding gives identical bytes', () => {
    const f32Only = new Map([...file.tensors].filter(([, t]) => t.dtype === 'F32'));
    const ours = encodeSafetensors(f32Only, file.metadata);
    const reread = readSafetensors(ours, 'ours');
    expect([...reread.tensors.keys()]).toEqual([...f32Only.keys()].sort());
    for (const [name, t] of f32Only) expect(Array.from(reread.tensors.get(name)!.data)).toEqual(Array.from(t.data));
    expect(Buffer.compare(encodeSafetensors(reread.tensors, reread.metadata), ours)).toBe(0);
    expect((ours.readUInt32LE(0) + 8) % 8).toBe(0);
  });
});

describe('safetensors reader errors name the file and the problem', () => {
  const valid = encodeSafetensors(new Map([['w', { shape: [2, 3], data: new Float32Array(6).fill(1) }]]));

  it('file shorter than the header length field', () => {
    const path = fileWith('tiny.safetensors', new Uint8Array([1, 2, 3]));
    expect(() => readSafetensors(path)).toThrow(`${path}: truncated safetensors file (3 bytes`);
  });

  it('header length beyond the end of the file', () => {
    const path = fileWith('short-header.safetensors', valid.subarray(0, 20));
    expect(() => readSafetensors(path)).toThrow(new RegExp(`^${path}: truncated safetensors file \\(header says`));
  });

  it('data section cut short', () => {
    const path = fileWith('short-data.safetensors', valid.subarray(0, valid.length - 4));
    expect(() => readSafetensors(path)).toThrow(
      `${path}: truncated safetensors file: tensor "w" ends at byte 24 of a 20-byte data section`,
    );
  });

  it('header that is not JSON', () => {
    const bytes = Buffer.from(valid);
    bytes.write('#', 8);
    const path = fileWith('bad-json.safetensors', bytes);
    expect(() => readSafetensors(path)).toThrow(`${path}: safetensors header is not valid JSON`);
  });

  it('absurd header length', () => {
    const bytes = Buffer.from(valid);
    bytes.writeBigUInt64LE(1n << 40n, 0);
    const path = fileWith('huge-header.safetensors', bytes);
    expect(() => readSafetensors(path)).toThrow(`${path}: bad safetensors header length 1099511627776`);
  });

  it('unsupported dtype', () => {
    const path = rawFile('dtype.safetensors', { w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8);
    expect(() => readSafetensors(path)).toThrow(`${path}: tensor "w": unsupported dtype "C64"`);
  });

  it('offsets that disagree with dtype and shape', () => {
    const path = rawFile('offsets.safetensors', { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16);
    expect(() => readSafetensors(path)).toThrow(`${path}: tensor "w": data_offsets [0,12] span 12 bytes, but F32 [2, 2] needs 16`);
  });

  it('malformed shape', () => {
    const path = rawFile('shape.safetensors', { w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8);
    expect(() => readSafetensors(path)).toThrow(`${path}: tensor "w": bad shape [2,-1]`);
  });

  it('missing file', () => {
    const path = join(scratch, 'nope.safetensors');
    expect(() => readSafetensors(path)).toThrow(`${path}: cannot read safetensors file`);
  });
});

describe('torchvision state_dict names', () => {
  const pairs: [string, string][] = [
    ['backbone.fpn.inner_blocks.0.weight', 'backbone.fpn.inner_blocks.0.0.weight'],
    ['backbone.fpn.inner_blocks.3.bias', 'backbone.fpn.inner_blocks.3.0.bias'],
    ['backbone.fpn.layer_blocks.2.weight', 'backbone.fpn.layer_blocks.2.0.weight'],
    ['rpn.head.conv.weight', 'rpn.head.conv.0.0.weight'],
    ['rpn.head.conv.bias', 'rpn.head.conv.0.0.bias'],
  ];
  it.each(pairs)('%s (old) ↔ %s (current)', (legacy, current) => {
    expect(toCurrentName(legacy)).toBe(current);
    expect(toLegacyName(current)).toBe(legacy);
    expect(toCurrentName(current)).toBe(current);
    expect(toLegacyName(legacy)).toBe(legacy);
  });
  it.each(['backbone.body.layer1.0.conv1.weight', 'rpn.head.cls_logits.weight', 'roi_heads.box_predictor.color_score.bias'])(
    'leaves %s alone',
    (name) => {
      expect(toCurrentName(name)).toBe(name);
      expect(toLegacyName(name)).toBe(name);
    },
  );
});

describe.each(['cpu', 'wasm'])('state_dict ↔ ParameterStore on %s', (backend) => {
  let store: ParameterStore;
  // A conv, an FPN conv whose name changed, a linear layer and a frozen batch norm: every layout.
  const shapes: Record<string, number[]> = {
    'backbone.body.conv1.weight': [4, 3, 3, 2],
    'backbone.body.bn1.running_var': [4],
    'backbone.fpn.inner_blocks.0.0.weight': [5, 4, 1, 1],
    'backbone.fpn.inner_blocks.0.0.bias': [5],
    'roi_heads.box_head.fc6.weight': [6, 7],
    'roi_heads.box_head.fc6.bias': [6],
  };
  const values = (name: string) => Float32Array.from({ length: shapes[name].reduce((a, b) => a * b, 1) }, (_, i) => i + name.length / 100);

  beforeAll(async () => {
    await initBackend(backend, { log: () => undefined });
  });
  beforeEach(() => {
    store = new ParameterStore();
    const random = new SeededRandom(7);
    for (const [name, shape] of Object.entries(shapes)) {
      const layout =
        name.endsWith('conv1.weight') || (name.includes('blocks') && shape.length === 4) ? 'conv' : shape.length === 2 ? 'linear' : 'plain';
      store.create(name, shape, { layout, init: { kind: 'normal', std: 1 }, trainable: !name.includes('running') }, random);
    }
  });
  afterEach(() => store.dispose());

  const dict = (rename: (n: string) => string = (n) => n) =>
    new Map(Object.keys(shapes).map((name) => [rename(name), { shape: shapes[name], data: values(name) }]));

  it('loads PyTorch layouts into tfjs layouts (conv OIHW → HWIO, linear [out,in] → [in,out])', async () => {
    loadStateDict(store, dict(), 'test');
    const conv = (await store.get('backbone.body.conv1.weight').array()) as number[][][][];
    const torchConv = values('backbone.body.conv1.weight');
    // torch index [o, i, h, w] of shape [4, 3, 3, 2] → flat ((o*3 + i)*3 + h)*2 + w
    expect(conv[2][1][0][3]).toBe(torchConv[((3 * 3 + 0) * 3 + 2) * 2 + 1]);
    expect(store.get('backbone.body.conv1.weight').shape).toEqual([3, 2, 3, 4]);
    const fc = (await store.get('roi_heads.box_head.fc6.weight').array()) as number[][];
    expect(fc[5][4]).toBe(values('roi_heads.box_head.fc6.weight')[4 * 7 + 5]);
    expect(store.get('roi_heads.box_head.fc6.weight').shape).toEqual([7, 6]);
  });

  it('loads the pre-0.13 names into the same parameters', () => {
    const before = tf.memory().numTensors;
    const report = loadStateDict(store, dict(toLegacyName), 'legacy.safetensors');
    expect(report.loaded.sort()).toEqual(Object.keys(shapes).sort());
    expect(Array.from(store.torchValues('backbone.fpn.inner_blocks.0.0.weight'))).toEqual(
      Array.from(values('backbone.fpn.inner_blocks.0.0.weight')),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round-trips: load → export gives the same tensors, and export → load → export identical bytes', () => {
    loadStateDict(store, dict(), 'test');
    const exported = exportStateDict(store);
    for (const [name, t] of exported) {
      expect(t.shape).toEqual(shapes[name]);
      expect(Array.from(t.data)).toEqual(Array.from(values(name)));
    }
    const path = join(scratch, `roundtrip-${backend}.safetensors`);
    writeSafetensors(path, exported, { source: 'test' });
    const other = new ParameterStore();
    const random = new SeededRandom(99);
    for (const name of store.names()) {
      const { torchShape, layout } = store.info(name);
      other.create(name, torchShape, { layout, init: { kind: 'constant', value: 0 }, trainable: true }, random);
    }
    expect(loadSafetensorsInto(other, path).metadata).toEqual({ source: 'test' });
    expect(Buffer.compare(encodeStateDict(other, { source: 'test' }), readFileSync(path))).toBe(0);
    expect(exportStateDict(store, 'legacy').has('backbone.fpn.inner_blocks.0.weight')).toBe(true);
    other.dispose();
  });

  it('ignores num_batches_tracked', () => {
    const withCounter = dict();
    withCounter.set('backbone.body.bn1.num_batches_tracked', { shape: [], data: new Float32Array([3]) });
    expect(() => loadStateDict(store, withCounter, 'test')).not.toThrow();
  });

  it('missing tensor → error naming it and its shape', () => {
    const partial = dict();
    partial.delete('backbone.body.bn1.running_var');
    expect(() => loadStateDict(store, partial, 'ckpt.safetensors')).toThrow(
      'ckpt.safetensors: cannot load weights (1 problem):\n  missing tensor "backbone.body.bn1.running_var" (model shape [4])',
    );
    expect(loadStateDict(store, partial, 'ckpt', { allowMissing: (n) => n.endsWith('running_var') }).missing).toEqual([
      'backbone.body.bn1.running_var',
    ]);
  });

  it('unexpected tensor → error naming it', () => {
    const extra = dict();
    extra.set('roi_heads.box_predictor.colour_score.weight', { shape: [3, 6], data: new Float32Array(18) });
    expect(() => loadStateDict(store, extra, 'ckpt.safetensors')).toThrow(
      'unexpected tensor "roi_heads.box_predictor.colour_score.weight" [3, 6]: the model has no such parameter',
    );
  });

  it('mis-shaped tensor → error naming it with both shapes, and nothing is loaded', () => {
    const wrong = dict();
    wrong.set('roi_heads.box_head.fc6.weight', { shape: [6, 8], data: new Float32Array(48) });
    const before = store.torchValues('backbone.body.conv1.weight');
    expect(() => loadStateDict(store, wrong, 'ckpt.safetensors')).toThrow(
      'tensor "roi_heads.box_head.fc6.weight" has shape [6, 8] in the file but the model expects [6, 7]',
    );
    expect(Array.from(store.torchValues('backbone.body.conv1.weight'))).toEqual(Array.from(before));
  });

  it('old and new name of the same tensor in one file → error naming both', () => {
    const both = dict();
    both.set('backbone.fpn.inner_blocks.0.bias', { shape: [5], data: new Float32Array(5) });
    expect(() => loadStateDict(store, both, 'ckpt')).toThrow(
      'tensors "backbone.fpn.inner_blocks.0.0.bias" and "backbone.fpn.inner_blocks.0.bias" are both the parameter "backbone.fpn.inner_blocks.0.0.bias"',
    );
  });

  it('keeps frozen buffers out of the trainable set', () => {
    expect([...store.trainable().keys()]).not.toContain('backbone.body.bn1.running_var');
    expect(store.trainable().size).toBe(Object.keys(shapes).length - 1);
  });
});
