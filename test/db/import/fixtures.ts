/**
 * K-Fashion trees for the importer tests, built in temporary folders from the three real
 * samples in test/fixtures/kfashion-samples (variants change the identifier and a field or two).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SAMPLES_DIR, SAMPLE_IDS } from '../../support/samples';

export { SAMPLES_DIR, SAMPLE_IDS } from '../../support/samples';

/** Label and image folders in the AI Hub layout (labels and photos in per-style sub-folders). */
export const LABELS = 'Training/라벨링데이터/로맨틱';
export const PHOTOS = 'Training/원천데이터/로맨틱';

export type Json = Record<string, any>;

export function makeTree(prefix = 'kf-import-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTree(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
}

export function readSample(id: string): Json {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${id}.json`), 'utf8'));
}

export function writeFile(root: string, relative: string, content: string | Buffer): string {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return relative;
}

export function writeJson(root: string, relative: string, json: Json): string {
  return writeFile(root, relative, JSON.stringify(json));
}

/** Copies the three real samples (JSON and JPEG, as on disk: named by identifier). */
export function copySamples(root: string, labels = LABELS, photos = PHOTOS): void {
  for (const id of SAMPLE_IDS) {
    writeFile(root, `${labels}/${id}.json`, fs.readFileSync(path.join(SAMPLES_DIR, `${id}.json`)));
    writeFile(root, `${photos}/${id}.jpg`, fs.readFileSync(path.join(SAMPLES_DIR, `${id}.jpg`)));
  }
}

/** A copy of sample `id` under a new identifier, with its photo named by that identifier. */
export function variant(root: string, id: string, newId: number, change: (json: Json) => void = () => {}): string {
  const json = readSample(id);
  json['이미지 정보']['이미지 식별자'] = newId;
  change(json);
  writeFile(root, `${PHOTOS}/${newId}.jpg`, fs.readFileSync(path.join(SAMPLES_DIR, `${id}.jpg`)));
  return writeJson(root, `${LABELS}/${newId}.json`, json);
}

export function readReport(file: string): Json[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}
