/**
 * Does the review queue pay? With a fixed labelling budget, photos chosen by the queue's uncertainty order against
 * photos chosen at random (and no new photo, the control), over several seeds in one run (the experiment:
 * experiment.ts).
 *
 *   npm run bench:active-learning
 *   # KFASHION_AL_SEEDS=1,2,3 _IMAGE_SIZE _INITIAL_IMAGES _POOL_IMAGES _BUDGET _HELD_OUT_IMAGES _INITIAL_STEPS _FINETUNE_STEPS
 *   # KFASHION_AL_CONTROL=1 adds the control: the same fine-tuning with no new photo (one more fine-tuning per seed)
 *
 * Prints each seed as JSON, then adds a table with the mean ± standard deviation over the seeds and the paired
 * differences (queue − random) to bench/RESULTS.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/ml/backend';
import { appendToSection, loadAverage, runBench } from '../results';
import { runActiveLearningSeed, type ActiveLearningSettings, type SeedResult, type StrategyName } from './experiment';

const RESULTS = path.join(__dirname, '../../../bench/RESULTS.md');
const SECTION = 'Active learning: does the review queue pay? (`npm run bench:active-learning`)';

const env = process.env;
const number = (name: string, fallback: number) => Number(env[`KFASHION_AL_${name}`] ?? fallback);

/** Sizes that keep three seeds within about 40 minutes on 2 shared cores (about 3.5 CPU minutes per seed). */
const DEFAULTS = {
  imageSize: 128,
  initialImages: 12,
  poolImages: 32,
  budget: 12,
  heldOutImages: 20,
  initialSteps: 240,
  fineTuneSteps: 120,
};

const STRATEGY_LABEL: Record<StrategyName, string> = {
  uncertainty: 'queue order (uncertainty)',
  random: 'random',
  none: 'none (control)',
};

type MetricName = 'boxAp50' | 'colorAccuracy' | 'printMicroF1';
const METRICS: { name: MetricName; label: string }[] = [
  { name: 'boxAp50', label: 'box AP@0.5' },
  { name: 'colorAccuracy', label: 'colour accuracy' },
  { name: 'printMicroF1', label: 'print micro-F1' },
];

const f3 = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toFixed(3));

/** Mean and sample standard deviation (n − 1) of the defined values, with how many there were. */
function spread(values: (number | null)[]): { mean: number; sd: number; n: number } | null {
  const defined = values.filter((v): v is number => v !== null);
  if (defined.length === 0) return null;
  const mean = defined.reduce((a, b) => a + b, 0) / defined.length;
  const sd = defined.length < 2 ? 0 : Math.sqrt(defined.reduce((a, v) => a + (v - mean) ** 2, 0) / (defined.length - 1));
  return { mean, sd, n: defined.length };
}

const meanSd = (s: ReturnType<typeof spread>) => (s === null ? '–' : `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}`);

function metricOf(result: SeedResult, strategy: StrategyName, metric: MetricName): number | null {
  return result.strategies.find((s) => s.strategy === strategy)?.heldOut[metric] ?? null;
}

function seedRows(results: SeedResult[]): string[] {
  return results.flatMap((r) => [
    `| ${r.settings.seed} | initial model | ${r.settings.initialImages} / ${r.settings.initialSteps} steps | – | ${f3(r.initial.boxAp50)} | ${f3(r.initial.colorAccuracy)} | ${f3(r.initial.printMicroF1)} | ${r.initial.matchedGarments} | ${r.initialCpuSeconds.toFixed(0)} |`,
    ...r.strategies.map(
      (s) =>
        `| ${r.settings.seed} | ${STRATEGY_LABEL[s.strategy]} | ${s.selected.length} photos, ${s.selectedGarments} garments | ${f3(s.meanScore)} | ${f3(s.heldOut.boxAp50)} | ${f3(s.heldOut.colorAccuracy)} | ${f3(s.heldOut.printMicroF1)} | ${s.heldOut.matchedGarments} | ${s.cpuSeconds.toFixed(0)} |`,
    ),
  ]);
}

function summaryRows(results: SeedResult[], strategies: readonly StrategyName[]): string[] {
  const rows = strategies.map(
    (strategy) =>
      `| ${STRATEGY_LABEL[strategy]} | ${METRICS.map(({ name }) => meanSd(spread(results.map((r) => metricOf(r, strategy, name))))).join(' | ')} |`,
  );
  const paired = (other: StrategyName) =>
    `| queue − ${STRATEGY_LABEL[other]}, paired by seed | ${METRICS.map(({ name }) => {
      const differences = results.map((r) => {
        const a = metricOf(r, 'uncertainty', name);
        const b = metricOf(r, other, name);
        return a === null || b === null ? null : a - b;
      });
      const s = spread(differences);
      const wins = differences.filter((d) => d !== null && d > 0).length;
      return s === null ? '–' : `${s.mean >= 0 ? '+' : ''}${meanSd(s)} (queue ahead on ${wins} of ${s.n})`;
    }).join(' | ')} |`;
  return [...rows, ...strategies.filter((s) => s !== 'uncertainty').map(paired)];
}

function section(
  results: SeedResult[],
  settings: Omit<ActiveLearningSettings, 'seed' | 'log'>,
  started: Date,
  loadBefore: string,
  backend: string,
): string {
  const pools = results.map((r) => `seed ${r.settings.seed}: ${r.poolScores.map(f3).join(' / ')}, ${r.poolTiedAtTop} tied at the top`);
  const reasons = results.map(
    (r) =>
      `seed ${r.settings.seed}: ${Object.entries(r.strategies.find((s) => s.strategy === 'uncertainty')!.firstReasons)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')}`,
  );
  return [
    `Run ${started.toISOString().slice(0, 16).replace('T', ' ')}–${new Date().toISOString().slice(11, 16)} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()} shared with other jobs, ` +
      `Node ${process.version}, ${backend} backend; load average (1/5/15 min) ${loadBefore} before, ${loadAverage()} after. ` +
      `Photos ${settings.imageSize} px; ${settings.initialImages} labelled at first (${settings.initialSteps} steps from scratch), ` +
      `a pool of ${settings.poolImages}, a budget of ${settings.budget} photos, ${settings.heldOutImages} held out; ` +
      `${settings.fineTuneSteps} fine-tuning steps per strategy; batch 2.`,
    '',
    '| seed | model | labelled | mean queue score of the chosen | box AP@0.5 | colour accuracy | print micro-F1 | garments matched | CPU s |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...seedRows(results),
    '',
    `Over the ${results.length} seeds (mean ± sample standard deviation; the paired rows are per-seed differences):`,
    '',
    `| strategy | ${METRICS.map((m) => m.label).join(' | ')} |`,
    `| --- | ${METRICS.map(() => '---:').join(' | ')} |`,
    ...summaryRows(results, settings.strategies),
    '',
    `Pool scores (min / median / max): ${pools.join('; ')}. The queue's chosen photos by their first reason: ${reasons.join('; ')}.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { log: () => undefined });
  const seeds = (env.KFASHION_AL_SEEDS ?? '1,2,3').split(',').map(Number);
  const settings = {
    imageSize: number('IMAGE_SIZE', DEFAULTS.imageSize),
    initialImages: number('INITIAL_IMAGES', DEFAULTS.initialImages),
    poolImages: number('POOL_IMAGES', DEFAULTS.poolImages),
    budget: number('BUDGET', DEFAULTS.budget),
    heldOutImages: number('HELD_OUT_IMAGES', DEFAULTS.heldOutImages),
    initialSteps: number('INITIAL_STEPS', DEFAULTS.initialSteps),
    fineTuneSteps: number('FINETUNE_STEPS', DEFAULTS.fineTuneSteps),
    strategies: env.KFASHION_AL_CONTROL === '1' ? (['uncertainty', 'random', 'none'] as const) : (['uncertainty', 'random'] as const),
  };
  const started = new Date();
  const loadBefore = loadAverage();
  const results: SeedResult[] = [];
  for (const seed of seeds) {
    const seedSettings: ActiveLearningSettings = { ...settings, seed, log: (line) => console.error(`${new Date().toISOString()} ${line}`) };
    const result = await runActiveLearningSeed(seedSettings);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const body = section(results, settings, started, loadBefore, backend.name);
  console.log(body);
  fs.writeFileSync(RESULTS, appendToSection(fs.readFileSync(RESULTS, 'utf8'), SECTION, body));
}

runBench(main);
