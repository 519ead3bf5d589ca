/**
 * RPN and RoI heads (with the attribute heads) against torchvision 0.14: heads_random.json from
 * tools/reference/heads_reference.py, on formula features and formula weights (test/ml/model/heads-formula.ts).
 * Tolerances: raw head outputs and probabilities 1e-4 absolute (1e-3 for scores), boxes 0.5 px (they
 * agree to ~1e-4), same labels and order, losses 1e-4 relative; gradients (total loss w.r.t. the
 * features and every head parameter) through probe sums, 1e-4 relative.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/ml/backend';
import { resolveConfig } from '../../../src/ml/model/config';
import { defineParameters, ParameterStore, SeededRandom, toTorchLayout } from '../../../src/ml/model/params';
import { AnchorGenerator } from '../../../src/ml/ops/anchors';
import { filterProposals, RpnHead, rpnLoss, rpnSettings } from '../../../src/ml/model/rpn';
import { RoiHeads, roiSettings } from '../../../src/ml/model/roi-heads';
import { expectProbeSums } from './gradient-probes';
import { toImageTargets, type HeadsFixtureInputs } from './heads-fixture';
import { fillStoreWithFormula, formulaFeatures } from './heads-formula';

interface Fixture extends HeadsFixtureInputs {
  anchors: number[];
  rpn_objectness: number[];
  rpn_deltas: number[];
  rpn_proposals: number[][];
  rpn_scores: number[][];
  roi_class_logits: number[];
  roi_box_regression: number[];
  roi_attribute_logits: Record<string, number[]>;
  detections: { boxes: number[]; scores: number[]; labels: number[]; attributes: Record<string, number[]> }[];
  losses: Record<string, number>;
  gradients: Record<string, { dot: number; sq: number }>;
}

const fixture: Fixture = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/heads_random.json'), 'utf8'));

export const FPN_ANCHOR_SIZES = [[32], [64], [128], [256], [512]];
export const FPN_ASPECT_RATIOS = FPN_ANCHOR_SIZES.map(() => [0.5, 1, 2]);

/** Largest |a - b|, asserting equal lengths. */
function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

describe.each(['cpu', 'wasm'])('Attribute R-CNN heads vs torchvision on %s', (backend) => {
  const config = resolveConfig(fixture.config, 'heads_random.json');
  let store: ParameterStore;
  let features: tf.Tensor4D[];
  let anchors: tf.Tensor2D;
  const rpnHead = new RpnHead(config);
  const roiHeads = new RoiHeads(config);

  beforeAll(async () => {
    await initBackend(backend);
    store = new ParameterStore();
    defineParameters(store, [...rpnHead.parameterSpecs(), ...roiHeads.parameterSpecs()], new SeededRandom(1));
    fillStoreWithFormula(store);
    features = formulaFeatures(2, fixture.level_sizes, config.fpn_out_channels);
    anchors = new AnchorGenerator(FPN_ANCHOR_SIZES, FPN_ASPECT_RATIOS).anchorsForImage(fixture.padded, fixture.level_sizes);
  });

  afterAll(() => {
    store.dispose();
    tf.dispose([...features, anchors]);
  });

  test('anchors, RPN head outputs and proposals', () => {
    expect(maxAbsDiff(anchors.dataSync(), fixture.anchors)).toBeLessThan(1e-4);
    const head = rpnHead.forward(store, features);
    expect(maxAbsDiff(head.objectness.dataSync(), fixture.rpn_objectness)).toBeLessThan(1e-4);
    expect(maxAbsDiff(head.deltas.dataSync(), fixture.rpn_deltas)).toBeLessThan(1e-4);
    const proposals = filterProposals(anchors, head, fixture.image_sizes, rpnSettings(config, false));
    tf.dispose([head.objectness, head.deltas]);
    proposals.forEach((p, i) => {
      expect(p.boxes.length).toBe(fixture.rpn_proposals[i].length);
      expect(maxAbsDiff(p.boxes, fixture.rpn_proposals[i])).toBeLessThan(0.5);
      expect(maxAbsDiff(p.boxes, fixture.rpn_proposals[i])).toBeLessThan(1e-3);
      expect(maxAbsDiff(p.scores, fixture.rpn_scores[i])).toBeLessThan(1e-4);
    });
  });

  test('box head, predictor and attribute logits on fixed proposals', () => {
    const proposals = fixture.rpn_proposals.map((p) => Float32Array.from(p));
    const out = tf.tidy(() => {
      const x = roiHeads.boxFeatures(store, features, proposals, fixture.image_sizes);
      return { ...roiHeads.predictor.forward(store, x), ...roiHeads.predictor.attributeLogits(store, x) };
    });
    expect(maxAbsDiff(out.classLogits.dataSync(), fixture.roi_class_logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(out.boxRegression.dataSync(), fixture.roi_box_regression)).toBeLessThan(1e-4);
    for (const spec of config.attributes) {
      expect(maxAbsDiff((out as Record<string, tf.Tensor2D>)[spec.kind].dataSync(), fixture.roi_attribute_logits[spec.kind])).toBeLessThan(
        1e-4,
      );
    }
    tf.dispose(out);
  });

  test('final detections with their attributes (pooled again at the final boxes)', () => {
    const proposals = fixture.rpn_proposals.map((p) => Float32Array.from(p));
    const detections = roiHeads.detect(store, roiSettings(config), features, proposals, fixture.image_sizes);
    detections.forEach((d, i) => {
      const expected = fixture.detections[i];
      expect(Array.from(d.labels)).toEqual(expected.labels);
      expect(maxAbsDiff(d.boxes, expected.boxes)).toBeLessThan(0.5);
      expect(maxAbsDiff(d.scores, expected.scores)).toBeLessThan(1e-3);
      for (const spec of config.attributes) {
        expect(maxAbsDiff(d.attributes.get(spec.kind) as Float32Array, expected.attributes[spec.kind])).toBeLessThan(1e-4);
      }
    });
  });

  test('losses on fixed proposals and their gradients w.r.t. features and head parameters', () => {
    const targets = fixture.garments.map((g) => toImageTargets(config, g));
    const proposals = fixture.rpn_proposals.map((p) => Float32Array.from(p));
    const featureVars = features.map((f) => tf.variable(f, true));
    const random = new SeededRandom(5);
    const rnd = () => random.next();
    const losses: Record<string, number> = {};
    const headNames = store.names().filter((n) => n.startsWith('rpn.') || n.startsWith('roi_heads.'));
    const { value, grads } = tf.variableGrads(() => {
      const head = rpnHead.forward(store, featureVars);
      const all = {
        ...rpnLoss(
          head,
          anchors,
          targets.map((t) => t.boxes),
          rpnSettings(config, true),
          rnd,
        ),
        ...roiHeads.losses(store, roiSettings(config), featureVars, proposals, fixture.image_sizes, targets, rnd),
      };
      for (const [k, v] of Object.entries(all)) losses[k] = v.dataSync()[0];
      return tf.addN(Object.values(all)) as tf.Scalar;
    }, [...featureVars, ...headNames.map((n) => store.get(n))]);
    expect(Object.keys(losses).sort()).toEqual(Object.keys(fixture.losses).sort());
    for (const [name, expected] of Object.entries(fixture.losses)) {
      expect(Math.abs(losses[name] - expected)).toBeLessThanOrEqual(1e-4 * Math.abs(expected) + 1e-7);
    }
    const probes: [string, tf.Tensor, number[]][] = [
      ...featureVars.map((v, i): [string, tf.Tensor, number[]] => {
        const name = `features.${['0', '1', '2', '3', 'pool'][i]}`;
        return [name, grads[v.name], v.shape];
      }),
      ...headNames.map((n): [string, tf.Tensor, number[]] => [n, grads[store.get(n).name], store.info(n).torchShape]),
    ];
    for (const [name, grad, shape] of probes) {
      const data = name.startsWith('features.')
        ? grad.dataSync()
        : toTorchLayout(grad, store.info(name).torchShape, store.info(name).layout);
      expectProbeSums(name, data, shape, fixture.gradients[name]);
    }
    tf.dispose([value, ...Object.values(grads), ...featureVars]);
  });
});
