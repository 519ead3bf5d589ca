/**
 * One measured import, in its own process so that its peak RSS is its own:
 * `node child.js <root> <databaseUrl> <loader> <bypassTriggers: yes|no>` prints one JSON line:
 * the import stats, peak RSS (whole run and per 10,000-file window), and the CPU seconds spent
 * by this process (worker threads included) and by its PostgreSQL backends — a cost that, unlike
 * wall-clock time, does not depend on what else the shared machine is doing.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/data-source';
import { importDataset } from '../../src/db/import';
import type { LoaderKind } from '../../src/db/import/bulk';

const WINDOW = 10_000;
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ

/** user + system CPU seconds of the database's server processes (same machine) for this database. */
async function backendCpuSeconds(dataSource: DataSource): Promise<number> {
  const rows: { pid: number }[] = await dataSource.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  let ticks = 0;
  for (const { pid } of rows) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

async function main(): Promise<void> {
  const [root, url, loader, bypass] = process.argv.slice(2);
  const dataSource = await openDatabase({ url, poolSize: 4 });
  const windows: number[] = [];
  let windowPeak = 0;
  const sampler = setInterval(() => (windowPeak = Math.max(windowPeak, process.memoryUsage.rss())), 100);
  const before = process.cpuUsage();
  const stats = await importDataset(dataSource, {
    root,
    loader: loader as LoaderKind,
    bypassTriggers: bypass === 'yes',
    allowMissingImages: true,
    onProgress: ({ filesDone }) => {
      windowPeak = Math.max(windowPeak, process.memoryUsage.rss());
      if (filesDone >= (windows.length + 1) * WINDOW) {
        windows.push(windowPeak / 2 ** 20);
        windowPeak = 0;
      }
    },
  });
  clearInterval(sampler);
  const cpu = process.cpuUsage(before);
  const databaseCpuSeconds = await backendCpuSeconds(dataSource);
  await dataSource.destroy();
  process.stdout.write(
    JSON.stringify({
      ...stats,
      maxRssMb: process.resourceUsage().maxRSS / 1024, // resourceUsage().maxRSS is in kilobytes
      windowPeakRssMb: windows.map(Math.round),
      importerCpuSeconds: (cpu.user + cpu.system) / 1e6,
      databaseCpuSeconds,
    }) + '\n',
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
