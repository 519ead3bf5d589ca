/**
 * Garment editing and the Review page in Debian's chromium (playwright-core), with real pointer
 * and key events, against the real API server over a fresh PostgreSQL database holding the three
 * real K-Fashion samples and one model version's predictions. Every change the page makes is read
 * back over GraphQL, independently of the page.
 */
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';
import { createApiToken } from '../../src/db/api-tokens';
import { importDataset } from '../../src/db/import';
import { storePredictions, type StoredDetection } from '../../src/db/predictions';
import { globalId } from '../../src/graphql/ids';
import { ApiClient, importedImageIds, makeSampleTree, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { assertChromiumInstalled, Browser, ensureWebConsoleBuilt, launchBrowser, screenshot } from './browser';

const WAIT_MS = 15_000;

let db: TestDatabase;
let api: ApiClient;
let editor: ApiClient;
let root: string;
let browser: Browser;
let versionId: string;
const imageIds: Record<string, string> = {};

/** Colour probabilities of a detection: 레드 at `top`, 블루 at `second`. */
const redOverBlue = (top: number, second: number): StoredDetection['attributes'] => ({
  color: [
    { value: '레드', probability: top },
    { value: '블루', probability: second },
  ],
});

beforeAll(async () => {
  assertChromiumInstalled();
  ensureWebConsoleBuilt();
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await importDataset(db.dataSource, { root });
  for (const [externalId, id] of Object.entries(await importedImageIds(db.dataSource))) imageIds[externalId] = globalId('Image', id);
  const [version] = await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('review check', 'resnet18', '{}', '/nowhere') RETURNING id`,
  );
  versionId = globalId('ModelVersion', version.id);
  const model = { id: Number(version.id), config: { attributes: [{ kind: 'color', type: 'single' as const }] }, labelSpace: null };
  const ids = await importedImageIds(db.dataSource);
  // 100026: a skirt predicted over the annotated blouse (disagreement); 1070263: a close colour call.
  await storePredictions(db.dataSource, ids['100026'], model, [
    { box: [260, 60, 555, 394], label: 1, className: '스커트', score: 0.95, attributes: redOverBlue(0.9, 0.05) },
  ]);
  await storePredictions(db.dataSource, ids['1070263'], model, [
    { box: [100, 100, 300, 400], label: 1, className: '블라우스', score: 0.6, attributes: redOverBlue(0.5, 0.45) },
  ]);
  api = await startTestServer(db.dataSource);
  editor = api.as((await createApiToken(db.dataSource, { role: 'editor', name: 'console editor' })).token);
  browser = await launchBrowser({ apiToken: editor.token });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  expect(browser?.problems.splice(0) ?? []).toEqual([]);
});

const url = (pathAndQuery: string) => `${api.origin}${pathAndQuery}`;

interface StoredGarment {
  id: string;
  revision: number;
  source: string;
  category: string;
  box: { x1: number; y1: number; x2: number; y2: number };
  attributes: { kind: string; value: string }[];
}

const GARMENT_FIELDS = `id revision source category box { x1 y1 x2 y2 } attributes { kind value }`;

async function storedGarments(externalId: string): Promise<StoredGarment[]> {
  const data = await api.data(`{ imageByExternalId(externalId: "${externalId}") { garments { ${GARMENT_FIELDS} } } }`);
  return data.imageByExternalId.garments;
}

async function storedGarment(id: string): Promise<StoredGarment | null> {
  return (await api.data(`query($id: ID!) { garment(id: $id) { ${GARMENT_FIELDS} } }`, { id })).garment;
}

/** Polls the API until `check` holds for what it reads (the page stores asynchronously). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function blouseOf100026(): Promise<StoredGarment> {
  const garments = await storedGarments('100026');
  return garments.find((garment) => garment.source === 'ANNOTATION' && garment.category === '블라우스')!;
}

/** Opens 100026 and selects its annotated blouse by its card. */
async function openBlouse(page: Page, blouse: StoredGarment): Promise<void> {
  await page.goto(url('/image/external/100026'));
  await page.locator('[data-testid=edit-toolbar]').waitFor({ timeout: WAIT_MS });
  await page.locator(`[data-testid=garment-card][data-garment-id="${blouse.id}"] h2`).click({ position: { x: 4, y: 4 } });
  await page
    .locator(`[data-testid=garment-box][data-garment-id="${blouse.id}"] [data-testid=box-handle]`)
    .first()
    .waitFor({ timeout: WAIT_MS });
}

/** Selects a prediction by its card: its own, or the "select prediction" button of the annotation it pairs with. */
async function selectPrediction(page: Page, id: string): Promise<void> {
  const card = page.locator(`[data-testid=garment-card][data-prediction-id="${id}"]`);
  await card.waitFor({ timeout: WAIT_MS });
  if ((await card.getAttribute('data-garment-id')) === id) await card.locator('h2').click({ position: { x: 4, y: 4 } });
  else await card.getByRole('button', { name: 'select prediction' }).click();
  await page.locator('[data-testid=prediction-actions]').waitFor({ timeout: WAIT_MS });
}

/** Screen pixels per image pixel of the photo as displayed. */
async function displayedScale(page: Page, imageWidth: number): Promise<number> {
  const shown = await page.locator('svg.overlay > image').boundingBox();
  return shown!.width / imageWidth;
}

describe('image page editing', () => {
  it('drags a box corner and the stored box changes by the dragged amount', async () => {
    const before = await blouseOf100026();
    const { width } = (await api.data(`{ imageByExternalId(externalId: "100026") { width } }`)).imageByExternalId;
    const page = await browser.newPage();
    await openBlouse(page, before);
    const scale = await displayedScale(page, width);
    const handle = await page.locator(`[data-testid=garment-box][data-garment-id="${before.id}"] [data-grip=se]`).boundingBox();
    const start = { x: handle!.x + handle!.width / 2, y: handle!.y + handle!.height / 2 };
    const drag = { x: 60, y: 36 };
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.mouse.move(start.x + drag.x / 2, start.y + drag.y / 2, { steps: 4 });
    await page.mouse.move(start.x + drag.x, start.y + drag.y, { steps: 4 });
    await page.mouse.up();

    const after = (await eventually(
      () => storedGarment(before.id),
      (garment) => garment!.revision > before.revision,
    ))!;
    expect(after.revision).toBe(before.revision + 1);
    // The held corner moved by the drag converted to image pixels (whole pixels of travel: ±0.5,
    // and the pointer's own position rounding on screen); the other corner did not move at all.
    expect(Math.abs(after.box.x2 - before.box.x2 - drag.x / scale)).toBeLessThanOrEqual(1);
    expect(Math.abs(after.box.y2 - before.box.y2 - drag.y / scale)).toBeLessThanOrEqual(1);
    expect(after.box.x2 - before.box.x2).toBeGreaterThan(drag.x / scale - 1);
    expect(after.box.x1).toBeCloseTo(before.box.x1, 3);
    expect(after.box.y1).toBeCloseTo(before.box.y1, 3);
    // The page shows the stored box.
    const rect = page.locator(`[data-testid=garment-box][data-garment-id="${before.id}"] > rect:not([data-testid])`);
    const shownWidth = await eventually(
      async () => Number(await rect.getAttribute('width')),
      (shown) => Math.abs(shown - (after.box.x2 - after.box.x1)) < 0.01,
    );
    expect(shownWidth).toBeCloseTo(after.box.x2 - after.box.x1, 2);
    await screenshot(page, 'image-editing');
    await page.close();
  });

  it('nudges the selected box with Shift+arrows as one edit, and Ctrl+Z reverts it', async () => {
    const before = await blouseOf100026();
    const page = await browser.newPage();
    await openBlouse(page, before);
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('ArrowUp');
    const nudged = (await eventually(
      () => storedGarment(before.id),
      (garment) => garment!.revision > before.revision,
    ))!;
    expect(nudged.revision).toBe(before.revision + 1);
    expect(nudged.box.x1).toBeCloseTo(before.box.x1 + 20, 3);
    expect(nudged.box.x2).toBeCloseTo(before.box.x2 + 20, 3);
    expect(nudged.box.y1).toBeCloseTo(before.box.y1 - 1, 3);
    expect(nudged.box.y2).toBeCloseTo(before.box.y2 - 1, 3);

    await page.locator('[data-testid=edit-toolbar] button:text-is("Undo"):not([disabled])').waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('Control+z');
    const reverted = (await eventually(
      () => storedGarment(before.id),
      (garment) => garment!.revision > nudged.revision,
    ))!;
    expect(reverted.box.x1).toBeCloseTo(before.box.x1, 3);
    expect(reverted.box.y2).toBeCloseTo(before.box.y2, 3);
    await page.close();
  });

  it('picks a colour from the vocabulary, accepts one prediction with A and rejects another with Delete', async () => {
    const blouse = await blouseOf100026();
    const page = await browser.newPage();
    await openBlouse(page, blouse);
    const current = blouse.attributes.find((attribute) => attribute.kind === 'COLOR')?.value;
    const colours: { value: string }[] = (await api.data(`{ vocabulary(kind: COLOR) { value } }`)).vocabulary;
    const colour = colours.find((entry) => entry.value !== current)!.value;
    await page.selectOption('#edit-color', colour);
    const recoloured = (await eventually(
      () => storedGarment(blouse.id),
      (garment) => garment!.revision > blouse.revision,
    ))!;
    expect(recoloured.attributes.filter((attribute) => attribute.kind === 'COLOR')).toEqual([{ kind: 'COLOR', value: colour }]);

    const [prediction] = (await storedGarments('100026')).filter((garment) => garment.source === 'PREDICTION');
    await selectPrediction(page, prediction.id);
    const annotationsBefore = (await storedGarments('100026')).filter((garment) => garment.source === 'ANNOTATION').length;
    await page.keyboard.press('a');
    const accepted = await eventually(
      () => storedGarments('100026'),
      (garments) => garments.filter((garment) => garment.source === 'ANNOTATION').length > annotationsBefore,
    );
    const copy = accepted.find((garment) => garment.source === 'ANNOTATION' && garment.category === '스커트' && garment.box.x1 === 260);
    expect(copy?.attributes).toContainEqual({ kind: 'COLOR', value: '레드' });

    await page.goto(url('/image/external/1070263'));
    const [other] = (await storedGarments('1070263')).filter((garment) => garment.source === 'PREDICTION');
    await selectPrediction(page, other.id);
    await page.keyboard.press('Delete');
    await eventually(
      () => storedGarment(other.id),
      (garment) => garment === null,
    );
    expect(await storedGarment(other.id)).toBeNull();
    await page.locator(`[data-testid=prediction-box][data-garment-id="${other.id}"]`).waitFor({ state: 'detached', timeout: WAIT_MS });
    await page.close();
  });

  it('adds a garment drawn over the photo, with a category from the vocabulary', async () => {
    const { width, garments: before } = (await api.data(`{ imageByExternalId(externalId: "1092253") { width garments { id } } }`))
      .imageByExternalId;
    const [category] = (await api.data(`{ vocabulary(kind: CATEGORY) { value } }`)).vocabulary;
    const page = await browser.newPage();
    await page.goto(url('/image/external/1092253'));
    await page.getByRole('button', { name: 'Add garment' }).click();
    const photo = (await page.locator('svg.overlay > image').boundingBox())!;
    const scale = photo.width / width;
    const from = { x: photo.x + 20, y: photo.y + 30 };
    const to = { x: from.x + 90, y: from.y + 120 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 5 });
    await page.mouse.up();
    await page.selectOption('#new-garment-category', category.value);
    await page.getByRole('button', { name: 'Add', exact: true }).click();

    const after = await eventually(
      () => storedGarments('1092253'),
      (garments) => garments.length > before.length,
    );
    const added = after.find((garment) => !before.some((old: { id: string }) => old.id === garment.id))!;
    expect(added).toMatchObject({ source: 'ANNOTATION', category: category.value });
    // The drawn corners in image pixels: whole pixels, within a pixel of the pointer's positions.
    const expected = [20 / scale, 30 / scale, 110 / scale, 150 / scale];
    const stored = [added.box.x1, added.box.y1, added.box.x2, added.box.y2];
    stored.forEach((value, i) => expect(Math.abs(value - expected[i])).toBeLessThanOrEqual(1));
    await page.locator(`[data-testid=garment-box][data-garment-id="${added.id}"]`).waitFor({ timeout: WAIT_MS });
    await page.close();
  });

  it('shows a conflict when the garment changed elsewhere, and reloads it on request', async () => {
    const blouse = await blouseOf100026();
    const page = await browser.newPage();
    await openBlouse(page, blouse);
    // Someone else moves it first.
    await editor.data(`mutation($input: UpdateGarmentInput!) { updateGarment(input: $input) { id } }`, {
      input: { id: blouse.id, revision: blouse.revision, box: { ...blouse.box, y2: blouse.box.y2 - 5 } },
    });
    await page.keyboard.press('ArrowLeft');
    const notice = page.locator('[data-testid=edit-notice]');
    await notice.waitFor({ timeout: WAIT_MS });
    expect(await notice.textContent()).toContain(`revision ${blouse.revision + 1}`);
    expect((await storedGarment(blouse.id))!.box.x1).toBeCloseTo(blouse.box.x1, 3);
    await notice.getByRole('button', { name: 'Reload the garment' }).click();
    await notice.waitFor({ state: 'detached', timeout: WAIT_MS });
    await page.locator('[data-testid=garment-editor] legend', { hasText: `revision ${blouse.revision + 1}` }).waitFor({ timeout: WAIT_MS });
    await page.close();
  });
});

describe('review page', () => {
  it('lists the queue with scores and reasons, and "Mark reviewed & next" marks the image and opens the next', async () => {
    const queueQuery = `query($version: ID) { reviewQueue(modelVersionId: $version, first: 10) { edges { score node { id } reasons { kind } } } }`;
    const queue = (await api.data(queueQuery, { version: versionId })).reviewQueue.edges;
    expect(queue.length).toBe(2);

    const page = await browser.newPage();
    await page.goto(url('/'));
    await page.getByRole('link', { name: 'Review' }).click();
    await page.waitForURL(url('/review'));
    // No active model version: the page names the one to score with.
    await page.selectOption('#review-model', versionId);
    const items = page.locator('[data-testid=review-item]');
    await items.nth(queue.length - 1).waitFor({ timeout: WAIT_MS });
    expect(await items.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-image-id')))).toEqual(
      queue.map((edge: any) => edge.node.id),
    );
    expect(await items.first().locator('[data-testid=review-score]').textContent()).toBe(queue[0].score.toFixed(3));
    expect(
      await items
        .first()
        .locator('.reasons li')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-kind'))),
    ).toEqual(queue[0].reasons.map((reason: any) => reason.kind));
    await screenshot(page, 'review');

    await page.getByRole('link', { name: 'Start reviewing' }).click();
    await page.waitForURL((address) => address.pathname === `/image/${queue[0].node.id}`);
    await page.getByRole('button', { name: 'Mark reviewed & next' }).click();
    await page.waitForURL((address) => address.pathname === `/image/${queue[1].node.id}`, { timeout: WAIT_MS });
    const reviewed = (await api.data(`query($id: ID!) { image(id: $id) { reviewedAt } }`, { id: queue[0].node.id })).image;
    expect(reviewed.reviewedAt).not.toBeNull();

    // R marks this one reviewed too; the queue is then empty.
    await page.locator('[data-testid=edit-toolbar]').waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('r');
    await page.getByRole('button', { name: 'Unmark reviewed' }).waitFor({ timeout: WAIT_MS });
    expect((await api.data(queueQuery, { version: versionId })).reviewQueue.edges).toEqual([]);
    await page.keyboard.press('n');
    await page.waitForURL((address) => address.pathname === '/review', { timeout: WAIT_MS });
    await page.locator('[data-testid=queue-empty]').waitFor({ timeout: WAIT_MS });
    await page.close();
  });
});

it('offers no editing to a viewer token', async () => {
  const viewer = await launchBrowser({ apiToken: (await createApiToken(db.dataSource, { role: 'viewer' })).token });
  try {
    const page = await viewer.newPage();
    const roleAnswered = page.waitForResponse((response) => response.request().postData()?.includes('query Viewer') ?? false);
    await page.goto(url('/image/external/100026'));
    await page.locator('[data-testid=garment-card]').first().waitFor({ timeout: WAIT_MS });
    expect(await (await roleAnswered).json()).toEqual({ data: { viewer: { role: 'VIEWER' } } });
    expect(await page.locator('[data-testid=edit-toolbar]').count()).toBe(0);
    expect(viewer.problems).toEqual([]);
  } finally {
    await viewer.close();
  }
});
