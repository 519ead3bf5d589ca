/**
 * `npm run bench:review-queue`: pages of the review queue (src/db/review-queue.ts) over
 * BENCH_REVIEW_IMAGES (default 1,000,000) scored images, against pages of `images(where:)` (SearchService,
 * id order) on the same database in the same run: the queue's pages should cost about what a plain
 * keyset page of images costs, at any depth, with reviewed images skipped.
 *
 * A fresh database on TEST_DATABASE_URL's server gets the images (half of them split train) and one
 * model version's review_scores rows with scores spread over [0, 1) (a pseudo-random function of the
 * id), written by SQL (generate_series), then VACUUM ANALYZE; the BENCH_REVIEW_REVIEWED_SHARE
 * (default 5%) highest-scored images are then marked reviewed (images.reviewed_at, the trigger
 * mirrors it), as a team working from the top of the queue leaves them. Each series is 200 sequential
 * pages of 20 (after 10 warm-up pages) through the same functions the resolvers call; latency is
 * measured around the call (statement and row mapping, no HTTP). The result goes to the "Review
 * queue" section of bench/RESULTS.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadAverage, replaceSection, runBench, withBenchDatabase } from '../results';
import { reviewQueuePage, type ReviewQueuePosition, type ReviewOrder } from '../../src/db/review-queue';
import { SearchService } from '../../src/db/search';
import type { ImageFilter } from '../../src/db/search-filter';

const SERVER = process.env.TEST_DATABASE_URL || 'postgres://root@127.0.0.1:5432/postgres';
const IMAGES = Number(process.env.BENCH_REVIEW_IMAGES ?? 1_000_000);
const REVIEWED_SHARE = Number(process.env.BENCH_REVIEW_REVIEWED_SHARE ?? 0.05);
const RUNS = 200;
const WARMUP = 10;
const PAGE = 20;
const REPO = path.resolve(__dirname, '../../..');
const RESULTS = path.join(REPO, 'bench/RESULTS.md');

interface Series {
  name: string;
  reference: boolean;
  milliseconds: number[];
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Times `runs` calls of `page(i)` after `WARMUP` untimed ones. */
async function timed(name: string, reference: boolean, page: (i: number) => Promise<unknown>, runs = RUNS): Promise<Series> {
  for (let i = 0; i < WARMUP; i++) await page(i);
  const milliseconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await page(WARMUP + i);
    milliseconds.push(performance.now() - start);
  }
  return { name, reference, milliseconds };
}

async function main(): Promise<void> {
  await withBenchDatabase(SERVER, 'kf_bench_review', async ({ dataSource }) => {
    const started = performance.now();
    const [version] = await dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('bench', 'resnet18', '{}', '/none') RETURNING id`,
    );
    const versionId = Number(version.id);
    await dataSource.query(
      `INSERT INTO images (file_name, width, height, split)
       SELECT 'x.jpg', 640, 480, CASE WHEN n % 2 = 0 THEN 'train' ELSE 'validation' END FROM generate_series(1, $1) AS n`,
      [IMAGES],
    );
    await dataSource.query(`ANALYZE images`);
    await dataSource.query(
      `INSERT INTO review_scores (model_version_id, image_id, score, reasons)
       SELECT $1, id, ((id * 2654435761) % 1000003) / 1000003.0,
              '[{"kind":"DETECTION_SCORE","score":0.5,"garmentId":null,"attributeKind":null,"detail":"bench"}]'
         FROM images`,
      [versionId],
    );
    await dataSource.query(`VACUUM ANALYZE review_scores`);
    const reviewed = Math.round(IMAGES * REVIEWED_SHARE);
    await dataSource.query(
      `UPDATE images SET reviewed_at = now()
        WHERE id IN (SELECT image_id FROM review_scores WHERE model_version_id = $1 ORDER BY score DESC LIMIT $2)`,
      [versionId, reviewed],
    );
    await dataSource.query(`VACUUM ANALYZE images`);
    await dataSource.query(`VACUUM ANALYZE review_scores`);
    const setupSeconds = (performance.now() - started) / 1000;

    const search = new SearchService(dataSource);
    const loadBefore = loadAverage();
    /** Walks a queue page after page by cursor (200 pages = 4,000 images deep), from the top again at its end. */
    const queueWalk = (order: ReviewOrder, filter: ImageFilter | null) => {
      let after: ReviewQueuePosition | null = null;
      return async () => {
        const page = await reviewQueuePage(dataSource, search.vocabulary, {
          modelVersionId: versionId,
          order,
          seed: 7,
          filter,
          first: PAGE,
          after,
        });
        after = page.hasNextPage ? page.entries[page.entries.length - 1].position : null;
      };
    };
    const imagesWalk = (filter: ImageFilter | null) => {
      let afterId: string | null = null;
      return async () => {
        const page = await search.images(filter, { first: PAGE, afterId });
        afterId = page.hasNextPage ? page.rows[page.rows.length - 1].id : null;
      };
    };
    /** One page starting at a random depth of the queue (a cursor taken from a score), to show depth does not matter. */
    const deepQueuePage = async (i: number) => {
      const key = String(((i * 7919) % 1000) / 1000);
      await reviewQueuePage(dataSource, search.vocabulary, {
        modelVersionId: versionId,
        order: 'UNCERTAINTY',
        seed: 0,
        filter: null,
        first: PAGE,
        after: { key, imageId: String(IMAGES + 1) },
      });
    };
    const deepImagesPage = async (i: number) => {
      await search.images(null, { first: PAGE, afterId: String(Math.floor((((i * 7919) % 1000) / 1000) * IMAGES)) });
    };
    const series: Series[] = [
      await timed('images(where: none): pages in id order, walked', true, imagesWalk(null)),
      await timed('reviewQueue UNCERTAINTY: pages walked from the top', false, queueWalk('UNCERTAINTY', null)),
      await timed('images(where: none): a page at a random depth', true, deepImagesPage),
      await timed('reviewQueue UNCERTAINTY: a page at a random depth', false, deepQueuePage),
      await timed('images(where: { split: TRAIN }): pages walked', true, imagesWalk({ split: 'train' })),
      await timed('reviewQueue UNCERTAINTY where split TRAIN: pages walked', false, queueWalk('UNCERTAINTY', { split: 'train' })),
      await timed('reviewQueue RANDOM (seed 7): pages walked', false, queueWalk('RANDOM', null)),
    ];
    const loadAfter = loadAverage();
    const row = (s: Series) =>
      `| ${s.name} | ${s.reference ? 'reference' : ''} | ${s.milliseconds.length} | ${percentile(s.milliseconds, 50).toFixed(2)} | ${percentile(s.milliseconds, 95).toFixed(2)} | ${Math.max(...s.milliseconds).toFixed(2)} |`;
    const ratio = (a: number, b: number) => (percentile(series[a].milliseconds, 95) / percentile(series[b].milliseconds, 95)).toFixed(2);
    const body =
      `Run ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC on ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, local PostgreSQL server. Load average before / after the series: ${loadBefore} → ${loadAfter} ` +
      '(other work shares the cores).\n\n' +
      `\`npm run bench:review-queue\`: ${IMAGES.toLocaleString('en-US')} images (half split train), each scored by one model version ` +
      `(review_scores written by SQL, set-up ${setupSeconds.toFixed(0)} s), the ${(REVIEWED_SHARE * 100).toFixed(0)}% highest-scored marked reviewed ` +
      `(${reviewed.toLocaleString('en-US')} images the queue skips). Each series: ${RUNS} sequential pages of ${PAGE} after ${WARMUP} warm-up pages, ` +
      'through the functions the resolvers call (no HTTP), time around the call; "walked" pages follow each other by cursor (200 pages = 4,000 images deep), ' +
      '"random depth" pages start after a cursor anywhere in the order. References: `images(where:)` pages in id order on the same database.\n\n' +
      '| series | | pages | p50 ms | p95 ms | max ms |\n| --- | --- | ---: | ---: | ---: | ---: |\n' +
      series.map(row).join('\n') +
      '\n\n' +
      `p95 ratios, queue / images: ${ratio(1, 0)}× walked, ${ratio(3, 2)}× at a random depth, ${ratio(5, 4)}× walked with the split filter; ` +
      `RANDOM (two range scans of the shuffle index): ${ratio(6, 0)}× the walked images page.\n`;
    console.log(body);
    if (process.env.BENCH_REVIEW_NO_WRITE !== '1')
      fs.writeFileSync(RESULTS, replaceSection(fs.readFileSync(RESULTS, 'utf8'), 'Review queue', body));
  });
}

runBench(main);
