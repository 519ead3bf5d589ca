/**
 * `kfashion demo` (`npm run demo`): the whole product on one machine, in a few minutes on 2 cores,
 * with nothing but npm's packages: the API, web console and a model server on the embedded database
 * (their address and the admin token printed at once) → synthetic K-Fashion photos → import → a short
 * training run started through the API, followed live → its model version activated and the
 * validation photos predicted → serving until Ctrl-C, so the console's Analyze page takes an uploaded
 * photo and its Search page finds the predictions.
 *
 * Every step goes through the same public surface a user has (the importer, GraphQL over HTTP and
 * graphql-ws); a second run reuses the data and the active model (`--retrain` trains again).
 */
import { Command } from 'commander';

/**
 * A ResNet-18 Attribute R-CNN trained from scratch at 64 px on the synthetic shapes: about three
 * minutes on 2 CPU cores (wasm), enough to find most garments and tell their colours apart.
 */
export const DEMO_TRAINING = {
  name: 'demo',
  backbone: 'resnet18',
  attributeKinds: ['color'],
  maxImages: 120,
  evalMaxImages: 60,
  epochs: 5,
  batchSize: 4,
  lr: 0.005,
  clipGradNorm: 10,
  warmupIterations: 20,
  lrMilestones: [4],
  checkpointEvery: 50,
  seed: 3,
  model: {
    min_size: 64,
    max_size: 64,
    representation_size: 128,
    fpn_out_channels: 64,
    rpn_pre_nms_top_n_train: 300,
    rpn_post_nms_top_n_train: 150,
    rpn_pre_nms_top_n_test: 150,
    rpn_post_nms_top_n_test: 50,
    rpn_batch_size_per_image: 64,
    box_batch_size_per_image: 64,
    box_detections_per_img: 10,
    box_score_thresh: 0.05,
  },
};

export interface DemoOptions {
  images: string;
  seed: string;
  retrain?: boolean;
  epochs?: string;
  trainImages?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole loop on this machine: API + console + model server → synthetic photos → import → training → analysis')
    .option('--images <count>', 'synthetic photos to draw', '300')
    .option('--seed <seed>', 'seed of the synthetic photos', '1')
    .option('--retrain', 'train a new model even when one is active')
    .option('--epochs <n>', `epochs of the training run (default ${DEMO_TRAINING.epochs})`)
    .option('--train-images <n>', `training photos used (default ${DEMO_TRAINING.maxImages})`)
    // The run's modules (API server, TensorFlow.js model server, importer) load only when the demo runs.
    .action(async (options: DemoOptions) => (await import('./demo-run')).runDemo(options));
}
