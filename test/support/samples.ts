/**
 * The three real K-Fashion samples kept in the repository (test/fixtures/kfashion-samples, where
 * its README says where they come from). KFASHION_SAMPLES overrides the folder.
 */
import * as path from 'node:path';

export const SAMPLES_DIR = process.env.KFASHION_SAMPLES
  ? path.resolve(process.env.KFASHION_SAMPLES)
  : path.resolve(__dirname, '../fixtures/kfashion-samples');

export const SAMPLE_IDS = ['100026', '1070263', '1092253'] as const;

export function samplePath(fileName: string): string {
  return path.join(SAMPLES_DIR, fileName);
}
