/**
 * "More like this" and shop-the-look in Debian's chromium against the real API server, over a
 * fresh PostgreSQL database with synthetic garments imported by the real importer and appearance
 * embeddings written with SQL so that every garment's nearest neighbours are known: one garment's
 * three nearest of its own category (cosine 0.95, 0.90, 0.80), a garment of another category
 * between them (0.85), and every other garment far away (|cosine| ≤ 0.3). The expected order is
 * computed here, independently, by exact cosine over the stored int8 vectors.
 */
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';
import { importDataset } from '../../src/db/import';
import { synthesize } from '../../src/kfashion/synth';
import { cosineSimilarity, dequantizeInt8, Int8Embedding, l2Normalize, quantizeInt8 } from '../../src/ml/embedding/int8';
import { globalId } from '../../src/graphql/ids';
import { seededRandom } from '../../src/util/random';
import { ApiClient, makeSampleTree, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { assertChromiumInstalled, Browser, ensureWebConsoleBuilt, launchBrowser, screenshot } from './browser';

/** The box head's representation size: embeddings as long as the real ones. */
const DIMENSIONS = 1024;
/** The console's page of similar garments (web/src/similar-api.ts). */
const SIMILAR_PAGE_SIZE = 24;
const WAIT_MS = 15_000;

interface SeededGarment {
  /** Database key. */
  key: string;
  /** Global id, as the API and the console name it. */
  id: string;
  imageKey: string;
  category: string;
}

let db: TestDatabase;
let api: ApiClient;
let root: string;
let browser: Browser;
let garments: SeededGarment[];
let asked: SeededGarment;
/** The asked garment's planted neighbours, nearest first: three of its category and one of another. */
let planted: { garment: SeededGarment; cosine: number }[];
let modelVersionId: string;
/** Another detector's version: its embeddings are of one predicted garment and three annotated ones only. */
let otherVersionId: string;
/** The other version's predicted garment, and its neighbours under that version, nearest first. */
let predicted: string;
let predictedNeighbours: { id: string; imageKey: string; cosine: number }[];
/** Exact cosine of every other garment to the asked one, from the stored vectors; most similar first. */
let exactOrder: { id: string; similarity: number; category: string }[];

/** A unit vector at cosine `cosine` to the unit vector `axis`, in a random other direction. */
function atCosine(axis: Float32Array, cosine: number, random: () => number): Float32Array {
  const other = Float32Array.from(axis, () => random() * 2 - 1);
  let along = 0;
  for (let i = 0; i < axis.length; i++) along += other[i] * axis[i];
  for (let i = 0; i < axis.length; i++) other[i] -= along * axis[i];
  const orthogonal = l2Normalize(other);
  return l2Normalize(Float32Array.from(axis, (value, i) => cosine * value + Math.sqrt(1 - cosine * cosine) * orthogonal[i]));
}

/** Rows of garment_embeddings as the contract stores them: int8 bytes and their scale, per (version, garment). */
async function storeEmbeddings(versionKey: string, embeddings: Iterable<[string, Int8Embedding]>): Promise<void> {
  for (const [garmentKey, { vector, scale }] of embeddings) {
    await db.dataSource.query(`INSERT INTO garment_embeddings (model_version_id, garment_id, scale, vector) VALUES ($1, $2, $3, $4)`, [
      versionKey,
      garmentKey,
      scale,
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
    ]);
  }
}

beforeAll(async () => {
  assertChromiumInstalled();
  ensureWebConsoleBuilt();
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await synthesize({ outDir: root, images: 30, seed: 11, width: 160, height: 160, validationFraction: 0.25 });
  await importDataset(db.dataSource, { root });

  const rows: { key: string; image_key: string; category: string }[] = await db.dataSource.query(
    `SELECT g.id::text AS key, g.image_id::text AS image_key, v.value AS category
       FROM garments g JOIN vocabulary v ON v.id = g.category_id
      WHERE g.source = 'annotation' ORDER BY g.id`,
  );
  garments = rows.map((row) => ({ key: row.key, id: globalId('Garment', row.key), imageKey: row.image_key, category: row.category }));
  const byCategory = new Map<string, SeededGarment[]>();
  for (const garment of garments) byCategory.set(garment.category, [...(byCategory.get(garment.category) ?? []), garment]);
  const [common, other] = [...byCategory.values()].sort((a, b) => b.length - a.length);
  asked = common[0];
  // Neighbours from other photos than the asked garment's: shop-the-look may leave a photo's own garments out.
  const sameCategory = common.filter((garment) => garment.imageKey !== asked.imageKey);
  const otherCategory = other.filter((garment) => garment.imageKey !== asked.imageKey);
  expect(sameCategory.length).toBeGreaterThanOrEqual(4);
  expect(otherCategory.length).toBeGreaterThanOrEqual(1);
  planted = [
    { garment: sameCategory[0], cosine: 0.95 },
    { garment: sameCategory[1], cosine: 0.9 },
    { garment: otherCategory[0], cosine: 0.85 },
    { garment: sameCategory[2], cosine: 0.8 },
  ];

  const [version] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path, is_active)
     VALUES ('similar-test', 'resnet18', '{}', '/nowhere', true) RETURNING id`,
  );
  modelVersionId = globalId('ModelVersion', version.id);
  const [otherVersion] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('other-detector', 'resnet18', '{}', '/nowhere') RETURNING id`,
  );
  otherVersionId = globalId('ModelVersion', otherVersion.id);
  const random = seededRandom(5);
  const axis = l2Normalize(Float32Array.from({ length: DIMENSIONS }, () => random() * 2 - 1));
  const stored = new Map<string, Int8Embedding>();
  for (const garment of garments) {
    const plant = planted.find((entry) => entry.garment === garment);
    const vector = garment === asked ? axis : atCosine(axis, plant ? plant.cosine : random() * 0.6 - 0.3, random);
    stored.set(garment.key, quantizeInt8(vector));
  }
  await storeEmbeddings(version.id, stored);
  // The other version detected a garment where the nearest planted one is (its box and category).
  const [prediction] = await db.dataSource.query(
    `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, source, model_version_id, score)
     SELECT image_id, super_category, category_id, x1, y1, x2, y2, 'prediction', $1, 0.9 FROM garments WHERE id = $2 RETURNING id`,
    [otherVersion.id, planted[0].garment.key],
  );
  predicted = globalId('Garment', prediction.id);
  const otherAxis = l2Normalize(Float32Array.from({ length: DIMENSIONS }, () => random() * 2 - 1));
  const otherEmbeddings: [string, Int8Embedding][] = [
    [String(prediction.id), quantizeInt8(otherAxis)],
    ...planted
      .slice(1)
      .map((entry, i): [string, Int8Embedding] => [entry.garment.key, quantizeInt8(atCosine(otherAxis, [0.9, 0.6, 0.3][i], random))]),
  ];
  await storeEmbeddings(otherVersion.id, otherEmbeddings);
  const predictedVector = dequantizeInt8(otherEmbeddings[0][1]);
  predictedNeighbours = otherEmbeddings.slice(1).map(([key, embedding]) => ({
    id: globalId('Garment', key),
    imageKey: garments.find((garment) => garment.key === key)!.imageKey,
    cosine: cosineSimilarity(predictedVector, dequantizeInt8(embedding)),
  }));

  const askedVector = dequantizeInt8(stored.get(asked.key)!);
  exactOrder = garments
    .filter((garment) => garment !== asked)
    .map((garment) => ({
      id: garment.id,
      category: garment.category,
      similarity: cosineSimilarity(askedVector, dequantizeInt8(stored.get(garment.key)!)),
    }))
    .sort((a, b) => b.similarity - a.similarity);
  // The planted neighbours are the nearest, in the planted order, by a clear margin.
  expect(exactOrder.slice(0, 4).map((entry) => entry.id)).toEqual(planted.map((entry) => entry.garment.id));
  expect(exactOrder[4].similarity).toBeLessThan(0.35);

  // Embeddings are in PostgreSQL before the server starts: its index is built from them.
  api = await startTestServer(db.dataSource);
  browser = await launchBrowser({ apiToken: api.token });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  // No page error, console error or failed request in any test.
  expect(browser?.problems.splice(0) ?? []).toEqual([]);
});

const url = (pathAndQuery: string) => `${api.origin}${pathAndQuery}`;

/** The garment ids of the cards in a list, in order. */
async function cardIds(page: Page, list: string): Promise<string[]> {
  return page.locator(`${list} > li`).evaluateAll((items) => items.map((item) => item.getAttribute('data-garment-id') ?? ''));
}

/** Waits until the similar page has loaded the list of its current URL. */
async function similarLoaded(page: Page): Promise<void> {
  await page.locator('[data-testid=similar-status][data-loaded=yes]').waitFor({ timeout: WAIT_MS });
}

/** Each card of `ids` shows its garment's own crop (the API's cropUrl), decoded by the browser, and its category. */
async function expectCrops(page: Page, list: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const card = page.locator(`${list} > li[data-garment-id="${id}"]`);
    const { garment } = await api.data(`query($id: ID!) { garment(id: $id) { category cropUrl(size: 192) } }`, { id });
    expect(await card.locator('img').getAttribute('src')).toBe(garment.cropUrl);
    await card.locator('img').scrollIntoViewIfNeeded();
    const selector = JSON.stringify(`${list} > li[data-garment-id="${id}"] img`);
    await page.waitForFunction(
      `(() => { const image = document.querySelector(${selector}); return !!image && image.complete && image.naturalWidth > 0; })()`,
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await card.locator('.card-text').textContent()).toContain(garment.category);
  }
}

/** Scrolls the grid until its last page is in; its card ids. */
async function loadAll(page: Page, grid: string): Promise<string[]> {
  for (let attempt = 0; attempt < 40 && !(await page.getByText('end of results').isVisible()); attempt++) {
    await page.mouse.wheel(0, 2000);
    await page.waitForTimeout(150);
  }
  await page.getByText('end of results').waitFor({ timeout: WAIT_MS });
  return cardIds(page, grid);
}

/** The similarity each card shows, as a number. */
async function shownSimilarities(page: Page, list: string): Promise<number[]> {
  const texts = await page.locator(`${list} > li [data-testid=similarity]`).allTextContents();
  return texts.map((text) => Number(text.replace('similarity', '').trim()));
}

describe('More like this', () => {
  it("from a garment of the image page lists the nearest garments' crops with their similarity, not the garment itself", async () => {
    const page = await browser.newPage();
    await page.goto(url(`/image/${globalId('Image', asked.imageKey)}`));
    await page.locator(`[data-testid=garment-card][data-garment-id="${asked.id}"] a.more-like-this`).click();
    expect(new URL(page.url()).pathname).toBe(`/similar/${asked.id}`);
    await similarLoaded(page);
    expect(await page.getAttribute('[data-testid=similar-garment]', 'data-garment-id')).toBe(asked.id);

    const grid = '[data-testid=result-grid]';
    const shown = await cardIds(page, grid);
    expect(shown.length).toBeGreaterThanOrEqual(SIMILAR_PAGE_SIZE);
    expect(shown).not.toContain(asked.id);
    expect(shown.slice(0, 4)).toEqual(planted.map((entry) => entry.garment.id));
    await expectCrops(page, grid, shown.slice(0, 4));
    // The similarity shown is the exact cosine to within the int8 rounding and the two decimals shown.
    const similarities = await shownSimilarities(page, grid);
    for (let i = 0; i < 4; i++) expect(Math.abs(similarities[i] - exactOrder[i].similarity)).toBeLessThan(0.015);
    for (let i = 1; i < similarities.length; i++) expect(similarities[i]).toBeLessThanOrEqual(similarities[i - 1]);
    await screenshot(page, 'similar');

    // Only the asked garment's category: its three planted neighbours first, the other category gone.
    const ownCategory = planted.filter((entry) => entry.garment.category === asked.category).map((entry) => entry.garment.id);
    await page.locator('input[name=sameCategory]').check();
    await page.waitForURL((address) => address.searchParams.get('category') === asked.category, { timeout: WAIT_MS });
    await similarLoaded(page);
    const filtered = await loadAll(page, grid);
    expect(filtered.slice(0, 3)).toEqual(ownCategory);
    const expected = exactOrder.filter((entry) => entry.category === asked.category).map((entry) => entry.id);
    expect(filtered.length).toBe(expected.length);
    expect(new Set(filtered)).toEqual(new Set(expected));
    await expectCrops(page, grid, filtered.slice(0, 3));
    await page.close();
  });

  it('from a search result card, and pages through every garment with an embedding once, most similar first', async () => {
    const page = await browser.newPage();
    await page.goto(url(`/?category=${encodeURIComponent(asked.category)}`));
    const card = page.locator(`[data-testid=result-grid] > li[data-garment-id="${asked.id}"]`);
    await card.locator('a.more-like-this').click();
    expect(new URL(page.url()).pathname).toBe(`/similar/${asked.id}`);
    await similarLoaded(page);

    const grid = '[data-testid=result-grid]';
    const ids = await loadAll(page, grid);
    expect(ids.length).toBe(exactOrder.length);
    expect(new Set(ids)).toEqual(new Set(exactOrder.map((entry) => entry.id)));
    expect(ids.slice(0, 4)).toEqual(planted.map((entry) => entry.garment.id));
    const similarities = await shownSimilarities(page, grid);
    for (let i = 1; i < similarities.length; i++) expect(similarities[i]).toBeLessThanOrEqual(similarities[i - 1]);
    await page.close();
  });

  it('keeps its filters in the URL, fits a phone, and explains a model version the garment has no embedding of', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await page.goto(url(`/similar/${asked.id}?category=${encodeURIComponent(asked.category)}&split=TRAIN&source=ANNOTATION`));
    await similarLoaded(page);
    expect(await page.locator('input[name=sameCategory]').isChecked()).toBe(true);
    expect(await page.inputValue('select[name=split]')).toBe('TRAIN');
    expect(await page.inputValue('select[name=source]')).toBe('ANNOTATION');
    // Asked as the console asks (after: null), one page holding them all.
    const expected = await api.data(
      `query($id: ID!, $where: GarmentWhere, $after: String) { similarGarments(garmentId: $id, where: $where, first: 100, after: $after) { edges { node { id } } } }`,
      { id: asked.id, where: { category: [asked.category], split: 'TRAIN', source: 'ANNOTATION' }, after: null },
    );
    const ids = await loadAll(page, '[data-testid=result-grid]');
    expect(ids).toEqual(expected.similarGarments.edges.map((edge: { node: { id: string } }) => edge.node.id));
    expect(await page.evaluate('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);

    // The API's own message, as a note, with the way back to the active model version's embeddings.
    const refused = await api.query(
      `query($id: ID!, $model: ID, $after: String) { similarGarments(garmentId: $id, modelVersionId: $model, after: $after) { edges { cursor } } }`,
      { id: asked.id, model: otherVersionId, after: null },
    );
    expect(refused.errors?.[0].extensions?.code).toBe('EMBEDDING_NOT_FOUND');
    await page.goto(url(`/similar/${asked.id}?model=${otherVersionId}`));
    const note = page.locator('[data-testid=no-embedding]');
    await note.waitFor({ timeout: WAIT_MS });
    expect(await note.textContent()).toContain(refused.errors![0].message);
    await note.getByRole('link').click();
    await similarLoaded(page);
    expect(new URL(page.url()).search).toBe('');
    expect((await cardIds(page, '[data-testid=result-grid]')).slice(0, 4)).toEqual(planted.map((entry) => entry.garment.id));
    await page.close();
  });

  it('compares a predicted garment under the model version that detected it', async () => {
    const page = await browser.newPage();
    await page.goto(url(`/?source=PREDICTION&model=${otherVersionId}&minScore=0`));
    await page.locator(`[data-testid=result-grid] > li[data-garment-id="${predicted}"] a.more-like-this`).click();
    expect(new URL(page.url()).pathname).toBe(`/similar/${predicted}`);
    expect(new URL(page.url()).searchParams.get('model')).toBe(otherVersionId);
    await similarLoaded(page);
    const grid = '[data-testid=result-grid]';
    expect(await loadAll(page, grid)).toEqual(predictedNeighbours.map((entry) => entry.id));
    const similarities = await shownSimilarities(page, grid);
    predictedNeighbours.forEach((entry, i) => expect(Math.abs(similarities[i] - entry.cosine)).toBeLessThan(0.015));
    await expectCrops(
      page,
      grid,
      predictedNeighbours.map((entry) => entry.id),
    );
    await page.close();
  });
});

describe('shop the look', () => {
  it("shows every garment of an analysed photo with its nearest catalogue garments' crops", async () => {
    const imageId = globalId('Image', asked.imageKey);
    const page = await browser.newPage();
    await page.goto(url(`/analyze?image=${imageId}&model=${modelVersionId}`));
    await page.locator('[data-testid=look-garment]').first().waitFor({ timeout: WAIT_MS });
    const ofPhoto = garments.filter((garment) => garment.imageKey === asked.imageKey).map((garment) => garment.id);
    expect(
      new Set(
        await page.locator('[data-testid=look-garment]').evaluateAll((items) => items.map((item) => item.getAttribute('data-garment-id'))),
      ),
    ).toEqual(new Set(ofPhoto));
    const matches = `[data-testid=look-garment][data-garment-id="${asked.id}"] [data-testid=look-matches]`;
    const shown = await cardIds(page, matches);
    expect(shown).not.toContain(asked.id);
    expect(shown.slice(0, 4)).toEqual(planted.map((entry) => entry.garment.id));
    await expectCrops(page, matches, shown.slice(0, 4));
    await screenshot(page, 'shop-the-look', { fullPage: true });
    await page.close();
  });

  it('puts the garments the chosen version detected in a stored photo first, matched under that version', async () => {
    const photo = planted[0].garment.imageKey;
    const page = await browser.newPage();
    await page.goto(url(`/analyze?image=${globalId('Image', photo)}&model=${otherVersionId}`));
    await page.locator('[data-testid=look-garment]').first().waitFor({ timeout: WAIT_MS });
    const annotated = garments.filter((garment) => garment.imageKey === photo).map((garment) => garment.id);
    const shown = await page
      .locator('[data-testid=look-garment]')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-garment-id')));
    expect(shown[0]).toBe(predicted);
    expect(new Set(shown.slice(1))).toEqual(new Set(annotated));
    // Its matches: the annotated garments embedded under that version, other photos' only, nearest first.
    const matches = `[data-testid=look-garment][data-garment-id="${predicted}"] [data-testid=look-matches]`;
    const expected = predictedNeighbours.filter((entry) => entry.imageKey !== photo).map((entry) => entry.id);
    expect(await cardIds(page, matches)).toEqual(expected);
    await expectCrops(page, matches, expected);
    // The detected garment's own More like this compares under the version that detected it.
    await page.locator(`[data-testid=look-garment][data-garment-id="${predicted}"] [data-testid=look-detected] a.more-like-this`).click();
    expect(new URL(page.url()).searchParams.get('model')).toBe(otherVersionId);
    await similarLoaded(page);
    expect(await cardIds(page, '[data-testid=result-grid]')).toEqual(predictedNeighbours.map((entry) => entry.id));
    await page.close();
  });
});
