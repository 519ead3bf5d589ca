/**
 * `kfashion weights list | fetch NAME | convert IN OUT.safetensors | inspect FILE`:
 * torchvision's published checkpoints, downloaded into `KFASHION_DATA_DIR/weights/` (the base URL from
 * `KFASHION_WEIGHTS_BASE_URL`), converted to safetensors, or described (which model parts they fill).
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Command } from 'commander';
import { CATALOGUE, catalogueEntry, sha256Prefix, weightsBaseUrl, weightsDir } from '../ml/weights/catalogue';
import { environment } from './environment';
import { downloadWeights } from '../ml/weights/download';
import { writeSafetensors } from '../ml/weights/safetensors';
import { readWeightsFile } from '../ml/weights/weights-file';

/** The part of the detector a (model-named) tensor belongs to. */
const MODEL_PARTS: readonly [RegExp, string][] = [
  [/^backbone\.body\./, 'backbone body (ResNet)'],
  [/^backbone\.fpn\./, 'FPN'],
  [/^rpn\./, 'RPN head'],
  [/^roi_heads\.box_head\./, 'box head'],
  [/^roi_heads\.box_predictor\.(cls_score|bbox_pred)\./, 'box predictor (classes, boxes)'],
  [/^roi_heads\.box_predictor\./, 'attribute heads'],
];

function modelPart(name: string): string {
  return MODEL_PARTS.find(([pattern]) => pattern.test(name))?.[1] ?? 'not part of the detector';
}

function list(json: boolean): void {
  const dir = weightsDir(environment());
  const rows = CATALOGUE.map((entry) => ({
    name: entry.name,
    file: entry.fileName,
    sizeMiB: entry.sizeMiB,
    sha256Prefix: sha256Prefix(entry),
    url: weightsBaseUrl(environment()) + entry.fileName,
    fetched: existsSync(`${dir}/${entry.fileName}`),
    description: entry.description,
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(28)} ${`${row.sizeMiB.toFixed(1)} MiB`.padStart(10)}  sha256 ${row.sha256Prefix}…  ${row.fetched ? 'fetched' : 'not fetched'}`,
    );
    console.log(`${''.padEnd(28)} ${row.url}`);
    console.log(`${''.padEnd(28)} ${row.description}`);
  }
  console.log(`\nfetch one with: kfashion weights fetch NAME (into ${dir}); train from it with --init-weights NAME`);
}

async function fetchCommand(name: string, quiet: boolean): Promise<void> {
  const entry = catalogueEntry(name);
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = quiet
    ? null
    : new SingleBar({ format: `${entry.fileName} |{bar}| {percentage}% · {value}/{total} bytes` }, Presets.shades_classic);
  let started = false;
  const result = await downloadWeights(entry, {
    baseUrl: weightsBaseUrl(environment()),
    dir: weightsDir(environment()),
    onProgress: (received, total) => {
      if (!bar) return;
      if (!started) bar.start(total ?? Math.round(entry.sizeMiB * 2 ** 20), received);
      started = true;
      bar.update(received);
    },
  }).finally(() => bar?.stop());
  const how = result.alreadyPresent
    ? 'already there'
    : result.resumedFrom.length > 0
      ? `resumed from byte ${result.resumedFrom.join(', ')}`
      : 'downloaded';
  console.log(`${result.path}: ${result.bytes} bytes, sha256 ${result.sha256} (${how})`);
}

function convert(input: string, output: string): void {
  const file = readWeightsFile(input);
  const tensors = [...file.tensors].filter(([name]) => !name.endsWith('num_batches_tracked'));
  writeSafetensors(output, tensors, { ...file.metadata, format: 'pt', source: basename(input) });
  console.log(`${output}: ${tensors.length} tensors (float32) from ${input}`);
}

async function inspect(path: string, json: boolean): Promise<void> {
  // state-dict loads TensorFlow.js (for its parameter store), which only inspect needs.
  const { detectorNames } = await import('../ml/weights/state-dict');
  const file = readWeightsFile(path);
  const names = detectorNames(file.tensors.keys());
  const rows = [...file.tensors].map(([name, t]) => ({
    name,
    dtype: t.dtype,
    shape: t.shape,
    modelName: names.get(name)!,
    part: modelPart(names.get(name)!),
  }));
  const parts = new Map<string, number>();
  for (const row of rows) parts.set(row.part, (parts.get(row.part) ?? 0) + 1);
  if (json) {
    process.stdout.write(`${JSON.stringify({ file: path, format: file.format, tensors: rows, parts: Object.fromEntries(parts) })}\n`);
    return;
  }
  for (const row of rows) {
    const renamed = row.modelName === row.name ? '' : `  → ${row.modelName}`;
    console.log(`${row.name}  ${row.dtype} [${row.shape.join(', ')}]${renamed}  (${row.part})`);
  }
  console.log(`\n${path}: ${file.format}, ${rows.length} tensors`);
  for (const [part, count] of parts) console.log(`  ${part}: ${count}`);
}

export function registerWeights(program: Command): void {
  const weights = program.command('weights').description('published checkpoints: list, fetch, convert to safetensors, inspect');
  weights
    .command('list')
    .description("torchvision's checkpoints that fit the model, with URL, size and SHA-256 prefix")
    .option('--json', 'one JSON array')
    .action((options: { json?: boolean }) => list(Boolean(options.json)));
  weights
    .command('fetch')
    .description('download a catalogue checkpoint into KFASHION_DATA_DIR/weights/ (resumable, SHA-256 checked)')
    .argument('<name>', 'catalogue name (see kfashion weights list)')
    .option('--quiet', 'no progress bar')
    .action((name: string, options: { quiet?: boolean }) => fetchCommand(name, Boolean(options.quiet)));
  weights
    .command('convert')
    .description('write a .pth/.pt (or safetensors) checkpoint as float32 safetensors with the same names')
    .argument('<input>', 'checkpoint file')
    .argument('<output>', 'safetensors file to write')
    .action((input: string, output: string) => convert(input, output));
  weights
    .command('inspect')
    .description('list the tensors of a weights file (name, dtype, shape) and the model parts they fill')
    .argument('<file>', '.pth, .pt or .safetensors file')
    .option('--json', 'one JSON object')
    .action((file: string, options: { json?: boolean }) => inspect(file, Boolean(options.json)));
}
