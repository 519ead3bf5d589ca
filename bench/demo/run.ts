/**
 * `npm run bench:demo`: the wall time of `kfashion demo` (what `npm run demo` runs) on this machine,
 * from the command's start to its model version being active, in a fresh data folder with
 * DATABASE_URL unset (so the embedded PostgreSQL server is created too). Each phase is timed from the
 * demo's own progress lines; the load average before and after says how busy the machine was.
 * Results are appended as a row to the "Demo" section of bench/RESULTS.md (BENCH_DEMO_NO_WRITE=1: print only).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

const REPO = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPO, 'bench/RESULTS.md');
/** The demo serves first (console address and admin token at once), then draws, imports and trains. */
const PHASES: [string, RegExp][] = [
  ['serving', /API token \(admin, /],
  ['imported', /^3\/5 import/],
  ['model active', /^5\/5 model version/],
];

function loadAverage(): string {
  return os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-bench-demo-'));
  const loadBefore = loadAverage();
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO, 'bin/kfashion.js'), 'demo'], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: '', KFASHION_DATA_DIR: home, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const times = new Map<string, number>();
  let summary = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`kfashion demo exited (${code}) before its model version was active`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      if (/finished in \d+ s: model version/.test(line)) summary = line.trim();
      for (const [name, pattern] of PHASES) {
        if (!times.has(name) && pattern.test(line)) times.set(name, (Date.now() - started) / 1000);
      }
      if (times.has('model active')) resolve();
    });
  });
  const loadAfter = loadAverage();
  child.removeAllListeners('exit');
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
  fs.rmSync(home, { recursive: true, force: true });
  const at = (name: string) => times.get(name)!.toFixed(0);
  const row = `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} | ${os.cpus().length} × ${os.cpus()[0].model.trim()} | ${at('serving')} | ${at('imported')} | ${at('model active')} | ${summary.replace(/^finished in \d+ s: /, '')} | ${loadBefore} → ${loadAfter} |`;
  console.log(row);
  if (process.env.BENCH_DEMO_NO_WRITE) return;
  const text = fs.readFileSync(RESULTS, 'utf8');
  const marker = '<!-- bench:demo rows -->';
  if (!text.includes(marker)) throw new Error(`${RESULTS} has no "${marker}" line under its "Demo" section`);
  fs.writeFileSync(RESULTS, text.replace(marker, `${row}\n${marker}`));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
