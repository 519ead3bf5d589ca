/**
 * What a detector scores on the held-out split when it learnt nothing from the pixels: the chance levels
 * the end-to-end test compares the trained model with. It knows only the training split's statistics:
 *
 * - boxes: on every validation image, one detection per class, at the class's mean training box (relative to
 *   the image size) and scored by the class's share of training garments;
 * - attributes: every detection answers each kind's commonest training value.
 *
 * It is scored by the same evaluation as the model (src/ml/eval), on the same ground truth.
 */
import type { DataSource } from 'typeorm';
import { buildLabelSpace, loadDatasetImages, type DatasetFilter, type DatasetImage, type LabelSpace } from '../../src/ml/data/dataset';
import { databaseExampleSource } from '../../src/db/training-examples';
import { evaluate, evaluationConfigOf, type DetectedGarment, type EvaluationReport, type GroundTruthGarment } from '../../src/ml/eval';
import type { ModelConfig } from '../../src/ml/model/config';

type RelativeBox = [number, number, number, number];

function meanRelativeBoxes(images: DatasetImage[], classes: number): (RelativeBox | null)[] {
  const sums = Array.from({ length: classes + 1 }, () => ({ box: [0, 0, 0, 0], n: 0 }));
  for (const image of images) {
    for (const g of image.garments) {
      const scale = [image.width, image.height, image.width, image.height];
      sums[g.label].box.forEach((_, i) => {
        sums[g.label].box[i] += g.box[i] / scale[i];
      });
      sums[g.label].n++;
    }
  }
  return sums.map(({ box, n }) => (n === 0 ? null : (box.map((v) => v / n) as RelativeBox)));
}

function commonest(images: DatasetImage[], kind: string, values: number): number {
  const counts = new Array<number>(values).fill(0);
  for (const image of images) {
    for (const g of image.garments) {
      const value = g.attributes[kind];
      for (const v of Array.isArray(value) ? value : value === null || value === undefined ? [] : [value]) counts[v]++;
    }
  }
  return counts.indexOf(Math.max(...counts));
}

function truthOf(image: DatasetImage, space: LabelSpace): GroundTruthGarment[] {
  return image.garments.map((g) => ({
    box: g.box,
    label: g.label,
    attributes: Object.fromEntries(
      space.attributes.map((spec) => {
        const value = g.attributes[spec.kind];
        const named =
          value === null || value === undefined ? null : Array.isArray(value) ? value.map((v) => spec.values[v]) : spec.values[value];
        return [spec.kind, named];
      }),
    ),
  }));
}

/** The prior detector's evaluation on the validation split, in the label space of `config` (checked). */
export async function priorBaseline(dataSource: DataSource, filter: DatasetFilter, config: ModelConfig): Promise<EvaluationReport> {
  const examples = databaseExampleSource(dataSource);
  const space = await buildLabelSpace(examples, filter, 'train');
  const names = ['__background__', ...space.classes.map((c) => c.name)];
  if (JSON.stringify(names) !== JSON.stringify(config.class_names)) {
    throw new Error(`the label space ${JSON.stringify(names)} is not the model's ${JSON.stringify(config.class_names)}`);
  }
  const train = await loadDatasetImages(examples, filter, space, 'train');
  const validation = await loadDatasetImages(examples, filter, space, 'validation');
  const boxes = meanRelativeBoxes(train, space.classes.length);
  const total = space.classes.reduce((n, c) => n + c.count, 0);
  const answers = Object.fromEntries(
    space.attributes.map((spec) => {
      const best = commonest(train, spec.kind, spec.values.length);
      return [spec.kind, spec.values.map((value, i) => ({ value, probability: i === best ? 1 : 0 }))];
    }),
  );
  const detections = validation.map((image): DetectedGarment[] =>
    space.classes.flatMap((c, i) => {
      const box = boxes[i + 1];
      if (!box) return [];
      return [
        {
          box: [box[0] * image.width, box[1] * image.height, box[2] * image.width, box[3] * image.height],
          label: i + 1,
          score: c.count / total,
          attributes: answers,
        },
      ];
    }),
  );
  return evaluate(
    validation.map((image) => truthOf(image, space)),
    detections,
    evaluationConfigOf(config),
  );
}
