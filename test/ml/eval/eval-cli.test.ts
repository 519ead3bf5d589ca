/**
 * `kfashion eval` end to end on the real K-Fashion samples with a real (small, randomly initialised)
 * Attribute R-CNN: options, an unreadable image skipped and listed, the JSON report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { registerEval, parseDataOption, groundTruthFromDirectory, type EvalRun } from '../../../src/cli/eval';
import { readImageFile } from '../../../src/images/image-input';
import { initBackend } from '../../../src/ml/backend';
import { evaluate } from '../../../src/ml/eval';
import { AttributeRCNN } from '../../../src/ml/model/attribute-rcnn';
import { copySamples, EVAL_CONFIG, MODEL_CONFIG } from './samples';

const { work, root } = copySamples();
const weights = path.join(work, 'model.safetensors');
const configPath = path.join(work, 'model.json');

let model: AttributeRCNN;

beforeAll(async () => {
  // The command initialises its backend when it runs; the model made here needs one before.
  await initBackend('cpu', { log: () => undefined });
  model = AttributeRCNN.create(MODEL_CONFIG, 7);
  model.save(weights, configPath);
  // a fourth annotation whose photo is not a JPEG
  const broken = JSON.parse(fs.readFileSync(path.join(root, 'street/100026.json'), 'utf8').replace(/^\uFEFF/, ''));
  broken['이미지 정보']['이미지 식별자'] = 999001;
  broken['이미지 정보']['이미지 파일명'] = 'broken.jpg';
  fs.writeFileSync(path.join(root, 'street/999001.json'), JSON.stringify(broken));
  fs.writeFileSync(path.join(root, 'street/broken.jpg'), 'not a jpeg');
});

afterAll(() => {
  model?.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs the command in-process; returns what it wrote to stdout (jest's own console lines left out). */
async function runEval(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerEval(program);
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
  try {
    await program.parseAsync(['eval', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return written.filter((chunk) => !/^\s+console\./.test(chunk)).join('');
}

describe('kfashion eval', () => {
  it('--data: a folder, a split, db:<split>, else a clear error', () => {
    expect(parseDataOption(root)).toEqual({ kind: 'folder', root });
    expect(parseDataOption('validation')).toEqual({ kind: 'split', split: 'validation' });
    expect(parseDataOption('db:train')).toEqual({ kind: 'split', split: 'train' });
    expect(() => parseDataOption(path.join(work, 'missing'))).toThrow(/--data .*missing: neither a folder nor a database split/);
  });

  it('evaluates the model on a folder, skipping an unreadable image, and prints the report as JSON', async () => {
    const run = JSON.parse(
      await runEval(['--weights', weights, '--config', configPath, '--data', root, '--backend', 'wasm', '--json']),
    ) as EvalRun;
    expect(run.data).toBe(root);
    expect(run.imagesEvaluated).toBe(3);
    expect(run.skippedImages).toEqual([{ image: 'street/999001.json', reason: expect.stringMatching(/broken\.jpg: cannot read image/) }]);
    expect(run.metrics.images).toBe(3);
    expect(run.metrics.groundTruthGarments).toBe(6);
    // a random model still detects: class scores near 1 / 5 pass box_score_thresh 0.05
    expect(run.metrics.detections).toBeGreaterThan(0);
    expect(run.metrics.box.perCategory.map((c) => [c.name, c.groundTruth])).toEqual([
      ['TOP', 3],
      ['BOTTOM', 3],
      ['OUTER', 0],
      ['ONE_PIECE', 0],
    ]);
    expect(run.metrics.box.perCategory.filter((c) => c.groundTruth === 0).every((c) => c.ap === null)).toBe(true);
    expect(run.metrics.box.map).toBeGreaterThanOrEqual(0);
    expect(Object.keys(run.metrics.attributes.matched.kinds)).toEqual(['color', 'material']);

    // the same weights used directly (predict on each photo, ground truth from the folder) give the same report
    const truth = await groundTruthFromDirectory(root, EVAL_CONFIG);
    const usable = truth.images.filter((image) => !image.path?.endsWith('broken.jpg'));
    const detections = [];
    for (const image of usable) detections.push((await model.predict([await readImageFile(image.path as string)]))[0]);
    const direct = evaluate(
      usable.map((image) => image.garments),
      detections,
      EVAL_CONFIG,
    );
    expect(JSON.parse(JSON.stringify(direct))).toEqual(run.metrics);
  });

  it('names the missing option', async () => {
    await expect(runEval(['--config', configPath, '--data', root])).rejects.toThrow('--weights <file> is required');
  });
});
