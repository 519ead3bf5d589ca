/**
 * `kfashion weights convert | inspect | list` through the CLI entry point, on checkpoints torch.save wrote.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { readPytorchCheckpoint } from '../../src/ml/weights/pytorch-checkpoint';
import { readSafetensors } from '../../src/ml/weights/safetensors';

const FIXTURES = join(__dirname, 'fixtures');

async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => {
    chunks.push(`${line}\n`);
  });
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await main(['node', 'kfashion', 'weights', ...args]);
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return chunks.join('');
}

describe('kfashion weights', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kfashion-weights-cli-'));

  it('convert writes the float32 safetensors of a float16 .pth (num_batches_tracked dropped)', async () => {
    const input = join(FIXTURES, 'weights_resnet18_half.pth');
    const output = join(scratch, 'r18.safetensors');
    expect(await runCli(['convert', input, output])).toContain(`${output}: 102 tensors`);
    const converted = readSafetensors(output);
    const original = readPytorchCheckpoint(input);
    expect(converted.metadata).toMatchObject({ source: 'weights_resnet18_half.pth' });
    for (const [name, tensor] of converted.tensors) {
      expect(tensor.dtype).toBe('F32');
      // Compared as bytes: jest's deep equality walks typed arrays element by element, for minutes here.
      const expected = original.get(name)!.data;
      expect(
        Buffer.compare(
          Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
          Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
        ),
      ).toBe(0);
    }
    expect([...converted.tensors.keys()].some((name) => name.endsWith('num_batches_tracked'))).toBe(false);
  });

  it('inspect --json names each tensor, its dtype and shape, and the model part it fills', async () => {
    const out = JSON.parse(await runCli(['inspect', join(FIXTURES, 'weights_fasterrcnn_legacy.pth'), '--json']));
    expect(out.format).toBe('pytorch');
    expect(out.tensors).toContainEqual({
      name: 'rpn.head.conv.weight',
      dtype: 'F32',
      shape: [64, 64, 3, 3],
      modelName: 'rpn.head.conv.0.0.weight',
      part: 'RPN head',
    });
    expect(Object.keys(out.parts).sort()).toEqual([
      'FPN',
      'RPN head',
      'attribute heads',
      'backbone body (ResNet)',
      'box head',
      'box predictor (classes, boxes)',
    ]);
  });

  it('list --json gives URL, size and SHA-256 prefix of each catalogue entry', async () => {
    const rows = JSON.parse(await runCli(['list', '--json']));
    expect(rows.find((r: { name: string }) => r.name === 'resnet50')).toMatchObject({
      url: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
      sizeMiB: 97.781,
      sha256Prefix: '0676ba61',
    });
  });
});
