/**
 * One measured import, in its own process so that its peak RSS is its own:
 * `node child.js <root> <databaseUrl> <loader> <bypassTriggers: yes|no>` prints the stats and maxRSS as one JSON line.
 */
import 'reflect-metadata';
import { openDatabase } from '../../src/db/data-source';
import { importDataset } from '../../src/db/import';
import type { LoaderKind } from '../../src/db/import/bulk';

async function main(): Promise<void> {
  const [root, url, loader, bypass] = process.argv.slice(2);
  const dataSource = await openDatabase({ url });
  const stats = await importDataset(dataSource, {
    root,
    loader: loader as LoaderKind,
    bypassTriggers: bypass === 'yes',
    allowMissingImages: true,
  });
  await dataSource.destroy();
  // resourceUsage().maxRSS is in kilobytes.
  process.stdout.write(JSON.stringify({ ...stats, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
