/**
 * A training run in-process (the code the model server and `kfashion train` run) on a small synthetic
 * set with a tiny ResNet-18 model: a corrupt image is skipped and reported; a run interrupted after a
 * checkpoint resumes from it, repeating no recorded step twice; the finished run becomes a model
 * version with its evaluation; cancelling stops the run after the current step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { claim, type Lease } from '../../src/db/leases';
import { checkpointDir, readLatestCheckpoint } from '../../src/model-server/training/checkpoint';
import { normaliseTrainingParams } from '../../src/jobs/training-params';
import { runTraining, TrainingInterrupted } from '../../src/model-server/training/trainer';
import { syntheticDatabase, TINY_MODEL, type SyntheticDatabase } from './support';

let db: SyntheticDatabase;

beforeAll(async () => {
  await initBackend('wasm');
  db = await syntheticDatabase(16, 3, 64);
});
afterAll(() => db.cleanup());

async function newRun(params: Record<string, unknown>, worker: string): Promise<Lease> {
  const normalised = normaliseTrainingParams(params);
  const [row] = await db.dataSource.query(`INSERT INTO training_runs (params) VALUES ($1::jsonb) RETURNING id`, [
    JSON.stringify(normalised),
  ]);
  const lease: Lease = { table: 'training_runs', id: Number(row.id), worker };
  expect(await claim(db.dataSource, lease, 'job', 60)).not.toBeNull();
  return lease;
}

const PARAMS = {
  model: { ...TINY_MODEL, min_size: 64, max_size: 64 },
  data: { attributeKinds: ['color'], maxImages: 6, evalMaxImages: 3 },
  epochs: 2,
  batchSize: 2,
  lr: 0.005,
  warmupIterations: 2,
  checkpointEvery: 2,
  seed: 1,
};

it('skips a corrupt image, resumes an interrupted run from its checkpoint without duplicate metrics, and stores a model version', async () => {
  // One of the six training images is corrupt on disk.
  const [victim] = await db.dataSource.query(
    `SELECT i.id, i.image_path FROM images i WHERE i.split = 'train' ORDER BY i.id OFFSET 2 LIMIT 1`,
  );
  fs.writeFileSync(path.join(db.root, victim.image_path), 'garbage instead of a JPEG');

  const lease = await newRun(PARAMS, 'worker-1');
  const stop = new AbortController();
  const seenSteps: number[] = [];
  await expect(
    runTraining({
      dataSource: db.dataSource,
      lease,
      dataDir: db.dataDir,
      signal: stop.signal,
      onProgress: (p) => {
        seenSteps.push(p.step);
        if (p.step === 3) stop.abort();
      },
    }),
  ).rejects.toThrow(TrainingInterrupted);
  expect(seenSteps).toEqual([1, 2, 3]);
  const checkpoint = readLatestCheckpoint(checkpointDir(db.dataDir, lease.id));
  expect(checkpoint?.state.step).toBe(2);
  const firstRecorded = await db.dataSource.query(
    `SELECT step, recorded_at FROM training_metrics WHERE training_run_id = $1 AND name = 'loss' ORDER BY step`,
    [lease.id],
  );
  expect(firstRecorded.map((r: any) => r.step)).toEqual([1, 2, 3]);

  // Another worker takes over (the first one's lease is gone) and resumes from step 2.
  await db.dataSource.query(`UPDATE training_runs SET status = 'queued', worker = NULL WHERE id = $1`, [lease.id]);
  const takeover: Lease = { ...lease, worker: 'worker-2' };
  expect(await claim(db.dataSource, takeover, 'job', 60)).not.toBeNull();
  const outcome = await runTraining({ dataSource: db.dataSource, lease: takeover, dataDir: db.dataDir });
  expect(outcome.status).toBe('succeeded');

  const [run] = await db.dataSource.query(`SELECT status, progress, log, model_version_id, attempt FROM training_runs WHERE id = $1`, [
    lease.id,
  ]);
  expect(run.status).toBe('succeeded');
  expect(run.attempt).toBe(2);
  expect(run.log).toMatch(/resumed from the checkpoint at step 2/);
  expect(run.log).toContain(`skipped image ${victim.id}`);
  expect(run.progress).toMatchObject({ phase: 'done', step: 6, totalSteps: 6, skippedImages: 1, resumedFromStep: 2 });
  // 3 batches per epoch × 2 epochs; each (step, metric) once; steps 1-2 kept from the first worker, 3 recomputed.
  const metrics = await db.dataSource.query(
    `SELECT step, recorded_at FROM training_metrics WHERE training_run_id = $1 AND name = 'loss' ORDER BY step`,
    [lease.id],
  );
  expect(metrics.map((r: any) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(metrics[0].recorded_at).toEqual(firstRecorded[0].recorded_at);
  expect(metrics[2].recorded_at.getTime()).toBeGreaterThan(firstRecorded[2].recorded_at.getTime());
  const names = await db.dataSource.query(`SELECT DISTINCT name FROM training_metrics WHERE training_run_id = $1 ORDER BY name`, [
    lease.id,
  ]);
  expect(names.map((r: any) => r.name)).toEqual(
    expect.arrayContaining(['loss', 'loss_classifier', 'loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg', 'loss_attr_color', 'lr']),
  );

  const [version] = await db.dataSource.query(`SELECT * FROM model_versions WHERE id = $1`, [run.model_version_id]);
  expect(version.training_run_id).toBe(lease.id);
  expect(fs.existsSync(version.weights_path)).toBe(true);
  expect(version.config.class_names[0]).toBe('__background__');
  expect(version.config.attributes.map((a: any) => a.kind)).toEqual(['color']);
  expect(version.label_space.classes.length).toBe(version.config.num_classes - 1);
  // Evaluated: the first 3 validation images that have a garment of a class the model knows.
  const [validation] = await db.dataSource.query(
    `SELECT count(*)::int AS n FROM (SELECT id FROM images WHERE split = 'validation' ORDER BY id LIMIT 3) v
      WHERE EXISTS (SELECT 1 FROM garments g JOIN vocabulary c ON c.id = g.category_id
                     WHERE g.image_id = v.id AND c.value = ANY($1::text[]))`,
    [version.config.class_names.slice(1)],
  );
  expect(validation.n).toBeGreaterThan(0);
  expect(version.metrics.images).toBe(validation.n);
  expect(version.metrics.box).toHaveProperty('ap50');
});

it('stops a cancelled run after the step in progress', async () => {
  const lease = await newRun({ ...PARAMS, epochs: 3 }, 'worker-3');
  const steps: number[] = [];
  const outcome = await runTraining({
    dataSource: db.dataSource,
    lease,
    dataDir: db.dataDir,
    onProgress: (p) => {
      steps.push(p.step);
      if (p.step === 1) void db.dataSource.query(`UPDATE training_runs SET cancel_requested = true WHERE id = $1`, [lease.id]);
    },
  });
  expect(outcome.status).toBe('cancelled');
  expect(steps[steps.length - 1]).toBeLessThanOrEqual(3);
  const [run] = await db.dataSource.query(`SELECT log, model_version_id FROM training_runs WHERE id = $1`, [lease.id]);
  expect(run.log).toMatch(/cancelled at step/);
  expect(run.model_version_id).toBeNull();
});
