/** The real K-Fashion samples copied into a temporary `Validation/street` folder, and the label space the eval tests use. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluationConfigOf } from '../../../src/ml/eval';
import { resolveConfig } from '../../../src/ml/model/config';

import { SAMPLES_DIR as SAMPLES } from '../../support/samples';

export { SAMPLES };

/** A fresh folder holding `Validation/street/<the samples>`; returns the Validation root. */
export function copySamples(): { work: string; root: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-eval-'));
  const root = path.join(work, 'Validation');
  fs.mkdirSync(path.join(root, 'street'), { recursive: true });
  for (const name of fs.readdirSync(SAMPLES)) fs.copyFileSync(path.join(SAMPLES, name), path.join(root, 'street', name));
  return { work, root };
}

/** A small ResNet-18 Attribute R-CNN whose classes are the four slots (two samples have no category). */
export const MODEL_CONFIG = resolveConfig(
  {
    backbone: 'resnet18',
    class_names: ['__background__', 'TOP', 'BOTTOM', 'OUTER', 'ONE_PIECE'],
    attributes: [
      { kind: 'color', type: 'single', values: ['화이트', '그레이', '베이지', '블랙'] },
      { kind: 'material', type: 'multi', values: ['우븐', '레이스', '니트'] },
    ],
    min_size: 64,
    max_size: 96,
    representation_size: 32,
    fpn_out_channels: 16,
    rpn_pre_nms_top_n_test: 100,
    rpn_post_nms_top_n_test: 50,
  },
  'test config',
);

export const EVAL_CONFIG = evaluationConfigOf(MODEL_CONFIG);
