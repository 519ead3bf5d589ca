/**
 * ModelRegistry keeps at most `capacity` versions loaded; a version evicted while a batch or a job still
 * uses it is disposed only when that use ends (a disposed model's weights are gone mid-forward-pass).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { ModelRegistry, type LoadedModel } from '../../src/model-server/models';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { TINY_MODEL } from './support';

let db: TestDatabase;
let dir: string;
const versions: number[] = [];

beforeAll(async () => {
  await initBackend('cpu');
  db = await createPostgresTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-registry-'));
  const config = resolveConfig(
    { ...TINY_MODEL, min_size: 64, max_size: 64, box_score_thresh: 0, class_names: ['__background__', '스커트'] },
    'test',
  );
  const model = AttributeRCNN.create(config, 3);
  model.save(path.join(dir, 'm.safetensors'), path.join(dir, 'm.json'));
  model.dispose();
  for (const name of ['a', 'b']) {
    const [row] = await db.dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ($1, 'resnet18', $2::jsonb, $3) RETURNING id`,
      [name, JSON.stringify(config), path.join(dir, 'm.safetensors')],
    );
    versions.push(Number(row.id));
  }
});
afterAll(async () => {
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };

it('disposes a model evicted mid-batch only after its batch and its user are done', async () => {
  const registry = new ModelRegistry(db.dataSource, { maxBatch: 2, maxWaitMs: 1 }, 1, 'tfjs');
  const [a, b] = versions;
  let disposedA = false;
  let evictedDuringBatch = false;
  const first = await registry.use(a, async (loaded: LoadedModel) => {
    const dispose = loaded.model.dispose.bind(loaded.model);
    loaded.model.dispose = () => {
      disposedA = true;
      dispose();
    };
    // A batch is in flight on a while loading b (capacity 1) evicts a.
    const batch = loaded.batcher.run(image);
    await registry.get(b);
    evictedDuringBatch = !(await registry.loadedIds()).includes(a);
    const detections = await batch;
    // The same user goes on with a next page on the evicted model, as a prediction chunk does.
    const next = await loaded.batcher.run(image);
    expect(disposedA).toBe(false);
    return [detections, next];
  });
  expect(evictedDuringBatch).toBe(true);
  expect(first[0].length).toBeGreaterThan(0);
  expect(first[1]).toEqual(first[0]);
  expect(disposedA).toBe(true);
  expect(await registry.loadedIds()).toEqual([b]);
  // a loads again on demand and predicts the same.
  expect(await registry.use(a, (loaded) => loaded.batcher.run(image))).toEqual(first[0]);
  await registry.dispose();
});

it('disposes an evicted model at once when nothing uses it', async () => {
  const registry = new ModelRegistry(db.dataSource, {}, 1, 'tfjs');
  const [a, b] = versions;
  const loadedA = await registry.get(a);
  let disposed = false;
  const dispose = loadedA.model.dispose.bind(loadedA.model);
  loadedA.model.dispose = () => {
    disposed = true;
    dispose();
  };
  await registry.get(b);
  await new Promise((resolve) => setImmediate(resolve));
  expect(disposed).toBe(true);
  await registry.dispose();
});
