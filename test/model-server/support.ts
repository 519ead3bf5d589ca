/**
 * Shared fixtures for the model-server tests: a small synthetic K-Fashion tree imported into a fresh
 * PostgreSQL database, and a tiny Attribute R-CNN configuration that trains in seconds on the CPU.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthesize } from '../../src/kfashion/synth';
import { importDataset } from '../../src/db/import';
// Registers the cpu backend: storeTinyModelVersion builds a model in processes that load no other.
import '@tensorflow/tfjs-backend-cpu';
import { AttributeRCNN } from '../../src/ml/model/attribute-rcnn';
import { resolveConfig } from '../../src/ml/model/config';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { startModelServer, type ModelServerOptions, type RunningModelServer } from '../../src/model-server/server';

export interface SyntheticDatabase extends TestDatabase {
  root: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function syntheticDatabase(images: number, seed = 7, size = 96): Promise<SyntheticDatabase> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-ms-data-'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-ms-home-'));
  await synthesize({ outDir: root, images, seed, width: size, height: size, validationFraction: 0.25 });
  const db = await createPostgresTestDatabase();
  await importDataset(db.dataSource, { root, parseWorkers: 0 });
  return {
    ...db,
    root,
    dataDir,
    async cleanup() {
      await db.drop();
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A ResNet-18 Attribute R-CNN small enough to train in seconds on the CPU backends. */
export const TINY_MODEL = {
  backbone: 'resnet18',
  min_size: 96,
  max_size: 96,
  representation_size: 64,
  fpn_out_channels: 32,
  rpn_pre_nms_top_n_train: 200,
  rpn_post_nms_top_n_train: 100,
  rpn_pre_nms_top_n_test: 100,
  rpn_post_nms_top_n_test: 50,
  rpn_batch_size_per_image: 64,
  box_batch_size_per_image: 32,
  box_detections_per_img: 10,
  trainable_backbone_layers: 0,
};

export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

/**
 * Stores an untrained tiny Attribute R-CNN as a model version that reports every box
 * (box_score_thresh 0), so each predicted image gets garments; returns the version's id.
 */
export async function storeTinyModelVersion(db: SyntheticDatabase, size = 64): Promise<string> {
  const config = resolveConfig(
    {
      ...TINY_MODEL,
      min_size: size,
      max_size: size,
      box_score_thresh: 0,
      box_detections_per_img: 3,
      class_names: ['__background__', '티셔츠', '팬츠'],
      attributes: [{ kind: 'color', type: 'single', values: ['블랙', '화이트', '레드'] }],
    },
    'test',
  );
  const model = AttributeRCNN.create(config, 5);
  const weights = path.join(db.dataDir, 'tiny.safetensors');
  model.save(weights, path.join(db.dataDir, 'tiny.json'));
  model.dispose();
  const [row] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path, label_space) VALUES ('tiny', 'resnet18', $1::jsonb, $2, $3::jsonb) RETURNING id`,
    [
      JSON.stringify(config),
      weights,
      JSON.stringify({
        classes: [
          { name: '티셔츠', superCategory: 'TOP' },
          { name: '팬츠', superCategory: 'BOTTOM' },
        ],
      }),
    ],
  );
  return String(row.id);
}

/** An in-process model server on the wasm backend over `db`, on a free port, taking jobs every 200 ms (`options` override). */
export function startWasmModelServer(db: SyntheticDatabase, options: Partial<ModelServerOptions> = {}): Promise<RunningModelServer> {
  return startModelServer({
    dataSource: db.dataSource,
    dataDir: db.dataDir,
    port: 0,
    host: '127.0.0.1',
    backend: 'wasm',
    leaseTimeoutSeconds: 120,
    pollIntervalMs: 200,
    log: () => undefined,
    ...options,
  });
}
