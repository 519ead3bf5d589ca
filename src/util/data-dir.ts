import * as path from 'node:path';

/** The folder for the embedded database, checkpoints, model weights and uploads: KFASHION_DATA_DIR, default ./.kfashion. */
export function dataDir(env: { readonly KFASHION_DATA_DIR?: string } = {}): string {
  return path.resolve(env.KFASHION_DATA_DIR || '.kfashion');
}

/** Where uploaded images are stored (images without a dataset have their files here). */
export function uploadsDir(root: string): string {
  return path.join(root, 'uploads');
}
