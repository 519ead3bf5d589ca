/**
 * The web console in Debian's chromium (playwright-core) against the real API server on a free
 * port, over a fresh PostgreSQL database filled by the real importer with the three real
 * K-Fashion samples and 60 synthetic images. Every number the page shows is checked against the
 * API, asked independently. Screenshots of each page go to test-artifacts/web/.
 */
import * as fs from 'node:fs';
import type { Page, WebSocket } from 'playwright-core';
import { createApiToken } from '../../src/db/api-tokens';
import { importDataset } from '../../src/db/import';
import { synthesize } from '../../src/kfashion/synth';
import { ApiClient, makeSampleTree, startTestServer } from '../graphql/support';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { globalId } from '../../src/graphql/ids';
import { attributeKindName } from '../../src/graphql/types';
import type { AttributeKind } from '../../src/kfashion/types';
import { SAMPLE_IDS, samplePath } from '../support/samples';
import { assertChromiumInstalled, Browser, ensureWebConsoleBuilt, launchBrowser, screenshot } from './browser';

/** The console's page size (web/src/search-api.ts). */
const PAGE_SIZE = 48;
const WAIT_MS = 15_000;

let db: TestDatabase;
let api: ApiClient;
let root: string;
let browser: Browser;

beforeAll(async () => {
  assertChromiumInstalled();
  ensureWebConsoleBuilt();
  db = await createPostgresTestDatabase();
  root = makeSampleTree();
  await synthesize({ outDir: root, images: 60, seed: 7, width: 160, height: 160, validationFraction: 0.25 });
  await importDataset(db.dataSource, { root });
  api = await startTestServer(db.dataSource);
  // The console as an admin uses it: starting training and uploading photos need a token.
  browser = await launchBrowser({ apiToken: api.token });
});

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

async function apiCount(where: Record<string, unknown>): Promise<number> {
  const data = await api.data(`query($where: GarmentWhere!) { searchGarments(where: $where, first: 1) { totalCount } }`, { where });
  return data.searchGarments.totalCount;
}

async function apiFacet(where: Record<string, unknown>, kind: string): Promise<{ value: string; valueEn: string | null; count: number }[]> {
  const data = await api.data(
    `query($where: GarmentWhere, $kinds: [AttributeKind!]!) { garmentFacets(where: $where, kinds: $kinds) { values { value valueEn count } } }`,
    {
      where,
      kinds: [attributeKindName(kind as AttributeKind)],
    },
  );
  return data.garmentFacets[0].values;
}

/** Waits until the page shows `expected` results; on time-out fails showing what it shows. */
async function expectResultCount(page: Page, expected: number): Promise<void> {
  try {
    await page.locator(`[data-testid=result-count][data-count="${expected}"]`).waitFor({ timeout: WAIT_MS });
  } catch {
    expect(await page.getAttribute('[data-testid=result-count]', 'data-count')).toBe(String(expected));
  }
}

function facetCheckbox(page: Page, kind: string, value: string) {
  return page.locator(`fieldset[data-kind="${kind}"] input[value="${value}"]`);
}

/** The label row of one facet value (checkbox, Korean value, English label, count). */
function facetRow(page: Page, kind: string, value: string) {
  return page.locator(`fieldset[data-kind="${kind}"] label`, { has: page.locator(`input[value="${value}"]`) });
}

async function shownCardCount(page: Page): Promise<number> {
  return page.locator('[data-testid=result-grid] > li').count();
}

describe('search page', () => {
  it('selecting facet values changes the count to what the API reports (OR within a kind, AND across kinds)', async () => {
    const page = await browser.newPage();
    await page.goto(url('/'));
    const base = { source: 'ANNOTATION' };
    await expectResultCount(page, await apiCount(base));

    const colors = await apiFacet(base, 'color');
    expect(colors.length).toBeGreaterThanOrEqual(2);
    const [first, second] = colors;
    // The sidebar shows the API's live count beside the Korean value and its English label.
    const firstRow = facetRow(page, 'color', first.value);
    await expect(firstRow.locator('[data-testid=facet-count]').textContent()).resolves.toBe(first.count.toLocaleString('en'));
    expect(await firstRow.textContent()).toContain(`${first.value}${first.valueEn}`);

    await facetCheckbox(page, 'color', first.value).click();
    await expectResultCount(page, await apiCount({ ...base, color: [first.value] }));
    expect(await apiCount({ ...base, color: [first.value] })).toBe(first.count);

    // Keyboard: focus the second colour and press Space; colours are OR-ed.
    await facetCheckbox(page, 'color', second.value).focus();
    await page.keyboard.press('Space');
    const eitherColor = await apiCount({ ...base, color: [first.value, second.value] });
    expect(eitherColor).toBe(first.count + second.count);
    await expectResultCount(page, eitherColor);

    // Another kind is AND-ed; its facet count (under the colour filter) is what clicking gives.
    const topCount = await apiCount({ ...base, color: [first.value, second.value], superCategory: ['TOP'] });
    expect(topCount).toBeLessThan(eitherColor);
    const topRow = facetRow(page, 'superCategory', 'TOP');
    await topRow.locator(`[data-testid=facet-count]:text-is("${topCount}")`).waitFor({ timeout: WAIT_MS });
    expect(await topRow.textContent()).toContain('상의top');
    await facetCheckbox(page, 'superCategory', 'TOP').click();
    await expectResultCount(page, topCount);
    expect(await shownCardCount(page)).toBe(Math.min(topCount, PAGE_SIZE));
    expect(new URL(page.url()).searchParams.getAll('color')).toEqual([first.value, second.value]);
    await screenshot(page, 'search');
    await page.close();
  });

  it('loads every page of results by scrolling, in the API order, without duplicates', async () => {
    const page = await browser.newPage();
    await page.goto(url('/'));
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const data: any = await api.data(
        `query($after: String) { searchGarments(where: { source: ANNOTATION }, first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      ids.push(...data.searchGarments.edges.map((edge: any) => edge.node.id));
      after = data.searchGarments.pageInfo.hasNextPage ? data.searchGarments.pageInfo.endCursor : null;
    } while (after);
    expect(ids.length).toBeGreaterThan(2 * PAGE_SIZE);
    await expectResultCount(page, ids.length);
    expect(await shownCardCount(page)).toBe(PAGE_SIZE);

    let shown = PAGE_SIZE;
    for (let attempt = 0; attempt < 40 && shown < ids.length; attempt++) {
      await page.mouse.wheel(0, 1500);
      await page.waitForTimeout(150);
      shown = await shownCardCount(page);
    }
    const shownIds = await page
      .locator('[data-testid=result-grid] > li')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-garment-id')));
    expect(shownIds).toEqual(ids);
    await page.getByText('end of results').waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'search-scrolled');
    await page.close();
  });

  it('keeps the search in the URL: a reload and a fresh tab show the same search', async () => {
    const page = await browser.newPage();
    await page.goto(url('/'));
    const [style] = await apiFacet({ source: 'ANNOTATION' }, 'style');
    await facetCheckbox(page, 'style', style.value).click();
    await page.selectOption('.source-controls select', 'TRAIN');
    const where = { source: 'ANNOTATION', styles: [style.value], split: 'TRAIN' };
    const expected = await apiCount(where);
    await expectResultCount(page, expected);
    const shared = page.url();
    expect(new URL(shared).searchParams.get('split')).toBe('TRAIN');

    await page.reload();
    await expectResultCount(page, expected);
    expect(await facetCheckbox(page, 'style', style.value).isChecked()).toBe(true);

    const fresh = await browser.newPage();
    await fresh.goto(shared);
    await expectResultCount(fresh, expected);
    expect(await facetCheckbox(fresh, 'style', style.value).isChecked()).toBe(true);
    expect(await fresh.inputValue('.source-controls select')).toBe('TRAIN');

    // Clearing the filters keeps the source options (here the split).
    await fresh.getByRole('button', { name: 'Clear all filters' }).click();
    await expectResultCount(fresh, await apiCount({ source: 'ANNOTATION', split: 'TRAIN' }));
    expect(new URL(fresh.url()).search).toBe('?split=TRAIN');
    await page.close();
    await fresh.close();
  });

  it('fits a phone screen: one column, filters folded away, no sideways scrolling', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await page.goto(url('/?superCategory=BOTTOM'));
    await expectResultCount(page, await apiCount({ source: 'ANNOTATION', superCategory: ['BOTTOM'] }));
    expect(await page.locator('details.filters').getAttribute('open')).toBeNull();
    expect(await page.evaluate('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'search-phone');
    await page.locator('details.filters > summary').click();
    expect(await facetCheckbox(page, 'superCategory', 'BOTTOM').isChecked()).toBe(true);

    // The image page stacks the photo above the garments.
    await page.goto(url('/image/external/100026'));
    await page.locator('[data-testid=garment-card]').first().waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'image-phone', { fullPage: true });
    await page.close();
  });
});

describe('image page', () => {
  it('opens K-Fashion image 100026 with its two boxes and the 보우칼라 collar, highlighting on hover', async () => {
    const expected = (
      await api.data(
        `{ imageByExternalId(externalId: "100026") { id databaseId garments { id superCategory box { x1 y1 x2 y2 } attributes { kind value } } } }`,
      )
    ).imageByExternalId;
    expect(expected.garments).toHaveLength(2);

    const page = await browser.newPage();
    await page.goto(url('/'));
    await page.fill('#jump-id', '100026');
    await page.press('#jump-id', 'Enter');
    await page.waitForURL(url('/image/external/100026'));
    const boxes = page.locator('[data-testid=garment-box]');
    await boxes.first().waitFor({ timeout: WAIT_MS });
    expect(await boxes.count()).toBe(2);
    for (const garment of expected.garments) {
      const rect = page.locator(`[data-testid=garment-box][data-garment-id="${garment.id}"] rect`);
      expect(Number(await rect.getAttribute('x'))).toBeCloseTo(garment.box.x1, 3);
      expect(Number(await rect.getAttribute('width'))).toBeCloseTo(garment.box.x2 - garment.box.x1, 3);
    }
    const blouse = expected.garments.find((garment: any) => garment.attributes.some((a: any) => a.kind === 'COLLAR'));
    expect(blouse.attributes).toContainEqual({ kind: 'COLLAR', value: '보우칼라' });
    const collarRow = page.locator(`[data-testid=garment-card][data-garment-id="${blouse.id}"] tr[data-kind=collar]`);
    expect(await collarRow.textContent()).toContain('보우칼라');
    expect(await collarRow.isVisible()).toBe(true);

    // The photo itself is drawn: its thumbnail answered 200 (failed requests would fail the test).
    const photo = page.locator('svg.overlay image');
    expect(await photo.getAttribute('href')).toBe(`/images/${expected.databaseId}/thumbnail?size=1024`);

    await page.locator(`[data-testid=garment-box][data-garment-id="${blouse.id}"]`).hover();
    await page.locator(`[data-testid=garment-card][data-garment-id="${blouse.id}"].highlighted`).waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'image');
    await page.close();
  });

  it("shows a model version's predictions beside the annotations, with probabilities and disagreements marked", async () => {
    const [blouse] = await db.dataSource.query(
      `SELECT g.id, g.image_id, g.x1, g.y1, g.x2, g.y2 FROM garments g JOIN images i ON i.id = g.image_id
        WHERE i.external_id = '100026' AND g.super_category = 'TOP'`,
    );
    const [version] = await db.dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('image-page check', 'resnet18', '{}', '/nowhere') RETURNING id`,
    );
    const term = async (kind: string, value: string) =>
      (
        await db.dataSource.query(
          `INSERT INTO vocabulary (kind, value) VALUES ($1, $2) ON CONFLICT (kind, value) DO UPDATE SET kind = EXCLUDED.kind RETURNING id`,
          [kind, value],
        )
      )[0].id;
    // The same blouse, box shifted by 10 px (IoU ≈ 0.9): white agrees, the collar does not.
    const [predicted] = await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, category_id, x1, y1, x2, y2, source, model_version_id, score)
       VALUES ($1, 'TOP', $2, $3::real + 10, $4::real + 10, $5::real + 10, $6::real + 10, 'prediction', $7, 0.93) RETURNING id`,
      [blouse.image_id, await term('category', '블라우스'), blouse.x1, blouse.y1, blouse.x2, blouse.y2, version.id],
    );
    for (const [kind, value, score] of [
      ['color', '화이트', 0.95],
      ['collar', '셔츠칼라', 0.7],
      ['collar', '보우칼라', 0.2],
    ] as const) {
      await db.dataSource.query(`INSERT INTO garment_attributes (garment_id, vocabulary_id, score) VALUES ($1, $2, $3)`, [
        predicted.id,
        await term(kind, value),
        score,
      ]);
    }

    const page = await browser.newPage();
    await page.goto(url('/image/external/100026'));
    const card = page.locator(`[data-testid=garment-card][data-garment-id="${globalId('Garment', blouse.id)}"]`);
    await card.locator('th', { hasText: 'Predicted' }).waitFor({ timeout: WAIT_MS });
    expect(await page.locator(`[data-testid=prediction-box][data-garment-id="${globalId('Garment', predicted.id)}"]`).count()).toBe(1);
    expect(await page.locator('[data-testid=garment-box]').count()).toBe(2);
    const collar = card.locator('tr[data-kind=collar]');
    expect(await collar.getAttribute('class')).toBe('disagree');
    expect((await collar.textContent())!.replace(/\s+/g, ' ')).toMatch(/보우칼라 bow.*셔츠칼라 shirt 70%, 보우칼라 bow 20%.*differs/);
    const color = card.locator('tr[data-kind=color]');
    expect(await color.getAttribute('class')).toBeNull();
    expect(await color.textContent()).toContain('화이트 white 95%');
    expect(await card.textContent()).toContain('box 93%');
    await screenshot(page, 'image-predictions');
    await page.close();
  });

  it('opens from a search result card and says when an id does not exist', async () => {
    const page = await browser.newPage();
    await page.goto(url('/?collar=%EB%B3%B4%EC%9A%B0%EC%B9%BC%EB%9D%BC'));
    await expectResultCount(page, await apiCount({ source: 'ANNOTATION', collar: ['보우칼라'] }));
    await page.locator('[data-testid=result-grid] a').first().click();
    await page.locator('[data-testid=garment-card]').first().waitFor({ timeout: WAIT_MS });
    expect(page.url()).toMatch(/\/image\/[A-Za-z0-9_-]+\?garment=[A-Za-z0-9_-]+$/);
    await page.goto(url('/image/external/does-not-exist'));
    await page.getByText('No image with K-Fashion id does-not-exist').waitFor({ timeout: WAIT_MS });
    await page.close();
  });
});

describe('source switch', () => {
  it('searches the predictions of a model version above a minimum score, as the API does', async () => {
    // The image-page test stored one predicted blouse (score 0.93) for a model version.
    const [version] = await db.dataSource.query(`SELECT id FROM model_versions WHERE name = 'image-page check'`);
    const page = await browser.newPage();
    await page.goto(url('/'));
    await page.locator('input[name=source][value=PREDICTION]').check();
    // The predictions open at minimum score 0.5 (not a wall of 5–20 % boxes), kept in the URL like the other filters.
    expect(await page.locator('.source-controls input[type=number]').inputValue()).toBe('0.5');
    await page.waitForURL((address) => address.searchParams.get('minScore') === '0.5', { timeout: WAIT_MS });
    const predictions = await apiCount({ source: 'PREDICTION', minScore: 0.5 });
    expect(predictions).toBe(1);
    await expectResultCount(page, predictions);
    expect(await page.locator('[data-testid=result-grid] .score').textContent()).toContain('93%');

    await page.selectOption('.source-controls label:has-text("Model") select', globalId('ModelVersion', version.id));
    await expectResultCount(page, await apiCount({ source: 'PREDICTION', modelVersionId: globalId('ModelVersion', version.id) }));
    await page.fill('.source-controls input[type=number]', '0.95');
    const aboveScore = await apiCount({ source: 'PREDICTION', modelVersionId: globalId('ModelVersion', version.id), minScore: 0.95 });
    expect(aboveScore).toBe(0);
    await expectResultCount(page, aboveScore);
    expect(await page.getByText('No garment matches these filters.').isVisible()).toBe(true);
    const params = new URL(page.url()).searchParams;
    expect([params.get('source'), params.get('model'), params.get('minScore')]).toEqual([
      'PREDICTION',
      globalId('ModelVersion', version.id),
      '0.95',
    ]);
    await page.close();
  });
});

describe('training page', () => {
  it('lists runs with status and progress, draws the recorded metrics and compares model versions', async () => {
    const [run] = await db.dataSource.query(
      `INSERT INTO training_runs (status, params, progress, started_at) VALUES ('running', $1, $2, now()) RETURNING id`,
      [JSON.stringify({ backbone: 'resnet18', epochs: 2 }), JSON.stringify({ epoch: 1, epochs: 2, step: 30, totalSteps: 100 })],
    );
    const losses = [2.5, 1.9, 1.4, 1.2];
    for (const [i, value] of losses.entries()) {
      await db.dataSource.query(
        `INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, $2, 0, 'loss', $3), ($1, $2, 0, 'loss_box', $4)`,
        [run.id, (i + 1) * 10, value, value / 3],
      );
    }
    // Evaluation reports in the shape the trainer stores (src/ml/eval/types.ts EvaluationReport).
    const report = (ap: number) => ({
      images: 10,
      groundTruthGarments: 20,
      detections: 30,
      box: {
        map: ap,
        ap50: ap + 0.2,
        ap75: ap - 0.1,
        ar100: ap + 0.1,
        perCategory: [{ label: 1, name: '블라우스', groundTruth: 5, detections: 6, ap: ap + 0.05, ap50: ap + 0.25, ap75: ap, ar100: ap }],
      },
      attributes: {
        matched: {
          garments: 12,
          kinds: {
            color: { type: 'single', evaluated: 12, accuracy: ap + 0.3, macroF1: ap + 0.2, macroValues: 5 },
            material: {
              type: 'multi',
              evaluated: 12,
              threshold: 0.5,
              microF1: ap,
              macroF1: ap - 0.05,
              macroValues: 4,
              map: ap + 0.1,
              mapValues: 4,
            },
          },
        },
        oracle: null,
      },
      fashionpedia: { ap: ap - 0.05, apIou50F150: ap, apIou75F175: ap - 0.1, grid: [], perCategory: [] },
    });
    for (const [name, ap] of [
      ['baseline', 0.31],
      ['longer', 0.42],
    ] as const) {
      await db.dataSource.query(
        `INSERT INTO model_versions (name, backbone, config, weights_path, metrics) VALUES ($1, 'resnet18', '{}', '/nowhere', $2)`,
        [name, JSON.stringify(report(ap))],
      );
    }
    const page = await browser.newPage();
    await page.goto(url('/training'));
    const row = page.locator(`[data-testid=runs-table] tr[data-run-id="${globalId('TrainingRun', run.id)}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    expect(await row.textContent()).toContain('running');
    // The trainer stores the epoch under way from 0 (1 = the second of 2): shown as `kfashion train` prints it.
    expect(await row.textContent()).toContain('epoch 2/2 · step 30/100 (30%)');
    // Created: ISO order to the minute (not 07/12/2026).
    expect(await row.locator('td').nth(3).textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    // The start form is built from StartTrainingInput; a value of the wrong type never leaves the page.
    await page.locator('details.start-training > summary').click();
    await page.fill('#start-epochs', 'two');
    await page.locator('[data-testid=start-training-form] button[type=submit]').click();
    await page.locator('.form-field.invalid', { hasText: 'epochs: "two" is not a whole number' }).waitFor({ timeout: WAIT_MS });
    // A whole number the mutation refuses: its error is shown beside the field it names.
    await page.fill('#start-epochs', '5000');
    await page.locator('[data-testid=start-training-form] button[type=submit]').click();
    const refused = await api.query(`mutation { startTraining(input: { epochs: 5000 }) { id } }`);
    expect(refused.errors?.[0].extensions?.field).toBe('epochs');
    await page.locator('.form-field.invalid', { hasText: refused.errors![0].message }).waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'training-start-form');
    await page.locator('details.start-training > summary').click();

    await row.getByRole('link').click();
    const charts = page.locator('[data-testid=metric-chart]');
    await charts.first().waitFor({ timeout: WAIT_MS });
    expect(await charts.count()).toBe(2);
    const points = await page.locator('[data-metric="loss"] polyline').getAttribute('points');
    expect(points?.trim().split(/\s+/)).toHaveLength(losses.length);
    // The open run follows trainingRunUpdated: a new step announced by the trainer's notification shows up.
    await page.getByText('Following live updates.').waitFor({ timeout: WAIT_MS });
    await db.dataSource.query(`INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, 50, 1, 'loss', 1.1)`, [
      run.id,
    ]);
    await db.dataSource.query(`SELECT pg_notify('kfashion_training_run', $1)`, [String(run.id)]);
    await page.locator('[data-metric="loss"] figcaption', { hasText: 'last 1.10' }).waitFor({ timeout: WAIT_MS });

    // The two newest versions side by side with the difference.
    const cells = async (table: string, row: string) =>
      page
        .locator(`[data-testid=${table}] tbody tr`, { has: page.locator('th', { hasText: row }) })
        .locator('td')
        .allTextContents();
    expect(await cells('metrics-summary', 'box mAP@[.5:.95]')).toEqual(['0.420', '0.310', '+0.110']);
    expect(await cells('metrics-categories', '블라우스')).toEqual(['0.470', '0.360', '+0.110']);
    expect(await cells('metrics-attributes', 'color accuracy')).toEqual(['0.720', '0.610', '+0.110']);
    expect(await cells('metrics-attributes', 'material mAP')).toEqual(['0.520', '0.410', '+0.110']);
    await screenshot(page, 'training', { fullPage: true });

    await page.getByRole('button', { name: 'Make longer the active model' }).click();
    await page.locator('[data-testid=active-version]', { hasText: 'longer is the active model' }).waitFor({ timeout: WAIT_MS });
    const versions = (await api.data(`{ modelVersions { edges { node { name isActive } } } }`)).modelVersions.edges.map(
      (edge: any) => edge.node,
    );
    expect(versions.filter((version: any) => version.isActive).map((version: any) => version.name)).toEqual(['longer']);

    await row.getByRole('button', { name: 'Cancel' }).click();
    await row.getByRole('button', { name: 'cancel requested' }).waitFor({ timeout: WAIT_MS });
    const [stored] = await db.dataSource.query(`SELECT cancel_requested FROM training_runs WHERE id = $1`, [run.id]);
    expect(stored.cancel_requested).toBe(true);
    await page.close();
  });
});

/** Makes `name` the only active model version (none when null), inserting it when missing. */
async function setActiveModelVersion(name: string | null): Promise<void> {
  await db.dataSource.query(`UPDATE model_versions SET is_active = false WHERE is_active`);
  if (name === null) return;
  await db.dataSource.query(
    `INSERT INTO model_versions (name, backbone, config, weights_path) SELECT $1, 'resnet18', '{}', '/nowhere'
      WHERE NOT EXISTS (SELECT 1 FROM model_versions WHERE name = $1)`,
    [name],
  );
  await db.dataSource.query(`UPDATE model_versions SET is_active = true WHERE name = $1`, [name]);
}

describe('analyze page', () => {
  it('says when no model version is active, and shows no made-up result', async () => {
    await setActiveModelVersion(null);
    const versions = (await api.data(`{ modelVersions(first: 1) { edges { node { id } } } }`)).modelVersions.edges;
    const page = await browser.newPage();
    await page.goto(url('/analyze'));
    const note = page.locator('[data-testid=analyze-unavailable]');
    await note.waitFor({ timeout: WAIT_MS });
    expect(await note.textContent()).toContain(
      versions.length ? 'No model is available: no model version is active' : 'No model is available: there is no model version yet',
    );
    expect(await page.locator('input[type=file]').count()).toBe(0);
    await page.close();
  });

  it("offers the upload and a stored image id with the active version, showing the API's own refusal", async () => {
    await setActiveModelVersion('analyze-test');
    const page = await browser.newPage();
    await page.goto(url('/analyze'));
    await page.locator('[data-testid=photo-upload] input[type=file]').waitFor({ state: 'attached', timeout: WAIT_MS });
    const chosen = await page.locator('select').inputValue();
    const active = (await api.data(`{ modelVersions { edges { node { id isActive } } } }`)).modelVersions.edges
      .map((edge: any) => edge.node)
      .find((version: any) => version.isActive);
    expect(chosen).toBe(active.id);
    // The test server has no model server: the page shows the API's own refusal, nothing else.
    const imageId = (await api.data(`{ imageByExternalId(externalId: "100026") { id } }`)).imageByExternalId.id;
    const refused = await api.query(
      `mutation($id: ID!, $version: ID) { analyzeImage(imageId: $id, modelVersionId: $version) { image { id } } }`,
      {
        id: imageId,
        version: active.id,
      },
    );
    expect(refused.errors?.length).toBe(1);
    await page.fill('.inline-form input', imageId);
    await page.locator('.inline-form button[type=submit]').click();
    await page.locator('[role=alert]', { hasText: refused.errors![0].message }).waitFor({ timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe('/analyze');
    await screenshot(page, 'analyze');
    await page.close();
  });

  it('sends a chosen photo to POST /uploads as the file itself (its type and length) and shows what the server answers', async () => {
    await setActiveModelVersion('analyze-test');
    const name = `${SAMPLE_IDS[0]}.jpg`;
    const bytes = fs.readFileSync(samplePath(name));
    // What the server answers this upload, asked directly: the page must show the same.
    const direct = await fetch(`${api.origin}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${api.token}` },
      body: bytes,
    });
    const answer = (await direct.json()) as { uploadId?: string; error?: string };
    expect(direct.status).toBe(201);
    // This server has no model server: the upload is taken, the analysis refused with the API's own message.
    const expected = (await api.query(`mutation($id: ID) { analyzeImage(uploadId: $id) { image { id } } }`, { id: answer.uploadId }))
      .errors![0].message;
    expect(expected).toBe('no model server is configured to analyse images with');

    const page = await browser.newPage();
    await page.goto(url('/analyze'));
    const input = page.locator('[data-testid=photo-upload] input[type=file]');
    await input.waitFor({ state: 'attached', timeout: WAIT_MS });
    const upload = page.waitForRequest((request) => new URL(request.url()).pathname === '/uploads');
    await input.setInputFiles(samplePath(name));
    const request = await upload;
    expect(request.method()).toBe('POST');
    // Chromium does not hand playwright a File body, but its length and type are the file's.
    const headers = await request.allHeaders();
    expect({ type: headers['content-type'], length: headers['content-length'] }).toEqual({
      type: 'image/jpeg',
      length: String(bytes.length),
    });
    await page.locator('[role=alert]', { hasText: expected }).waitFor({ timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe('/analyze');
    await page.close();
  });
});

describe('production mode (no introspection)', () => {
  it('the console still offers Start training and the photo upload: its operations are static documents', async () => {
    // Started as `kfashion serve` is in the API image: NODE_ENV=production turns introspection off.
    const production = await startTestServer(db.dataSource, { production: true });
    try {
      const introspection = await production.query(`{ __schema { mutationType { name } } }`);
      expect(introspection.errors?.[0].message).toMatch(/introspection/i);
      await setActiveModelVersion('production-test');
      const page = await browser.newPage();
      await page.goto(`${production.origin}/training`);
      await page.locator('details.start-training > summary').click();
      await page.getByRole('button', { name: 'Start training' }).waitFor({ timeout: WAIT_MS });
      expect(await page.locator('[data-testid=start-training-form] label[for=start-superCategories]').count()).toBe(1);
      expect(await page.locator('#start-superCategories input[type=checkbox]').count()).toBe(4);

      await page.goto(`${production.origin}/analyze`);
      await page.locator('[data-testid=photo-upload] input[type=file]').waitFor({ state: 'attached', timeout: WAIT_MS });
      expect(await page.locator('[data-testid=photo-upload]').textContent()).toContain('Drop a JPEG, PNG or WebP photo here');
      await page.close();
    } finally {
      await production.server.stop();
    }
  });

  it('a followed run resubscribes when the server restarts, and its next update arrives over the new connection', async () => {
    const [run] = await db.dataSource.query(
      `INSERT INTO training_runs (status, params, progress, started_at) VALUES ('running', '{}', '{"step": 1, "totalSteps": 10}', now()) RETURNING id`,
    );
    await db.dataSource.query(`INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, 1, 0, 'loss', 3)`, [
      run.id,
    ]);
    const options = { introspection: false, explorer: false };
    let server = await startTestServer(db.dataSource, options);
    const page = await browser.newPage();
    try {
      const sockets: WebSocket[] = [];
      page.on('websocket', (socket) => sockets.push(socket));
      await page.goto(`${server.origin}/training?run=${globalId('TrainingRun', run.id)}`);
      await page.getByText('Following live updates.').waitFor({ timeout: WAIT_MS });
      expect(sockets).toHaveLength(1);

      // A new server on the same port; the old one closes its sockets (1001, going away) on stop.
      const port = server.server.port;
      await server.server.stop();
      server = await startTestServer(db.dataSource, { ...options, port });
      const resubscribed = await page.waitForEvent('websocket', { timeout: WAIT_MS });
      await resubscribed.waitForEvent('framesent', {
        predicate: (frame) => String(frame.payload).includes('"type":"subscribe"'),
        timeout: WAIT_MS,
      });

      await db.dataSource.query(`INSERT INTO training_metrics (training_run_id, step, epoch, name, value) VALUES ($1, 2, 0, 'loss', 0.5)`, [
        run.id,
      ]);
      await db.dataSource.query(`SELECT pg_notify('kfashion_training_run', $1)`, [String(run.id)]);
      await resubscribed.waitForEvent('framereceived', {
        predicate: (frame) => /"type":"next".*"value":0\.5\b/.test(String(frame.payload)),
        timeout: WAIT_MS,
      });
      await page.locator('[data-metric="loss"] figcaption', { hasText: 'last 0.500' }).waitFor({ timeout: WAIT_MS });
      expect(await page.locator('[data-testid=run-following]').textContent()).toBe('Following live updates.');
      expect(sockets).toHaveLength(2);
    } finally {
      await page.close();
      await server.server.stop();
    }
  });
});

describe('static files', () => {
  it('serves index.html for the console routes (no-cache) and hashed assets for a year', async () => {
    for (const route of ['/', '/training', '/analyze', '/image/12', '/image/external/100026']) {
      const response = await api.get(route);
      expect({ route, status: response.status, cache: response.headers.get('cache-control') }).toEqual({
        route,
        status: 200,
        cache: 'no-cache',
      });
      expect(await response.text()).toContain('<div id="root">');
    }
    const html = await (await api.get('/')).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const response = await api.get(asset, { 'accept-encoding': 'gzip' });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    for (const route of ['/assets/nothing.js', '/assets/..%2F..%2Fpackage.json', '/nowhere', '/image/1/extra']) {
      expect({ route, status: (await api.get(route)).status }).toEqual({ route, status: 404 });
    }
  });
});

describe('API token', () => {
  it('asks for a token when the server refuses anonymous reads, and sends the one given (header, and cookie for the crops)', async () => {
    const closed = await startTestServer(db.dataSource, { publicRead: false });
    const anonymousBrowser = await launchBrowser();
    try {
      const { token } = await createApiToken(db.dataSource, { role: 'viewer', name: 'console test' });
      const page = await anonymousBrowser.newPage();
      await page.goto(`${closed.origin}/`);
      const field = page.locator('[data-testid=api-token]');
      await field.locator('[role=alert]').waitFor({ timeout: WAIT_MS });
      await field.locator('input[name=apiToken]').fill(token);
      const reloaded = page.waitForEvent('load');
      const imageRequest = page.waitForRequest((request) => /^\/garments\/\d+\/crop/.test(new URL(request.url()).pathname), {
        timeout: WAIT_MS,
      });
      await field.getByRole('button', { name: 'Save' }).click();
      await reloaded;
      await expectResultCount(page, await apiCount({ source: 'ANNOTATION' }));
      const image = await imageRequest;
      expect((await image.response())?.status()).toBe(200);
      expect(await page.evaluate(`localStorage.getItem('kfashion.apiToken')`)).toBe(token);
      await page.close();
    } finally {
      await anonymousBrowser.close();
      await closed.server.stop();
    }
  });
});
