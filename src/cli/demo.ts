/**
 * `kfashion demo` (`npm run demo`): the whole product on one machine, in a few minutes on 2 cores,
 * with nothing but npm's packages: synthetic K-Fashion photos → import → the API, web console and a
 * model server on the embedded database → a short training run started through the API, followed live
 * → its model version activated and the validation photos predicted → serving until Ctrl-C, so the
 * console's Analyze page takes an uploaded photo and its Search page finds the predictions.
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
    min_size: 64, max_size: 64, representation_size: 128, fpn_out_channels: 64,
    rpn_pre_nms_top_n_train: 300, rpn_post_nms_top_n_train: 150, rpn_pre_nms_top_n_test: 150, rpn_post_nms_top_n_test: 50,
    rpn_batch_size_per_image: 64, box_batch_size_per_image: 64, box_detections_per_img: 10, box_score_thresh: 0.05,
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
    .description('the whole loop on this machine: synthetic photos → import → API + console + model server → training → analysis')
    .option('--images <count>', 'synthetic photos to draw', '300')
    .option('--seed <seed>', 'seed of the synthetic photos', '1')
    .option('--retrain', 'train a new model even when one is active')
    .option('--epochs <n>', `epochs of the training run (default ${DEMO_TRAINING.epochs})`)
    .option('--train-images <n>', `training photos used (default ${DEMO_TRAINING.maxImages})`)
    .action(async (options: DemoOptions) => {
      const started = Date.now();
      const root = path.join(dataDir(), 'demo');
      await prepareData(root, Number(options.images), Number(options.seed));
      const served = await serveApi(true);
      onShutdown('stopping the demo', () => served.close());
      const origin = `http://localhost:${served.api.port}`;
      const consoleUrl = `${origin}/`;
      console.log(`3/5 serving: web console ${consoleUrl}, GraphQL ${origin}/graphql, model server ${served.modelServer!.url}`);
      // Shown to the user for the console's token field (Analyze and Start training need one); it expires with the month.
      const { token } = await createApiToken(served.dataSource, { role: 'admin', name: 'demo', expiresAt: new Date(Date.now() + 30 * 86_400_000) });
      const api = new DemoApi(origin, token);
      const active = options.retrain ? null : await activeModel(api);
      const versionId = active ? active.id : await train(api, consoleUrl, options);
      if (active) console.log(`4/5 model version ${active.id} ("${active.name}") is active already (--retrain trains a new one)`);
      const { predictImages } = await api.request<{ predictImages: { id: string } }>(
        'mutation($id: ID!) { predictImages(where: { split: VALIDATION }, modelVersionId: $id) { id } }',
        { id: versionId },
      );
      console.log(`5/5 model version ${versionId} is active; predicting the validation photos (job ${predictImages.id}) — ready after ${Math.round((Date.now() - started) / 1000)} s`);
      console.log(`    Analyze a photo of your own:     ${consoleUrl}analyze`);
      console.log(`    Search the predictions:          ${consoleUrl}  (switch the source to predictions)`);
      console.log(`    Training runs and their curves:  ${consoleUrl}training`);
      console.log(`    API token (admin, 30 days) for the console's "API token" field: ${token}`);
      console.log('    Ctrl-C stops the API, the model server and the embedded database.');
    });
}
