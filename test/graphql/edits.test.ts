/**
 * Garment edits over real HTTP against real PostgreSQL, on the three real K-Fashion samples
 * imported by the real importer: revision conflicts (one of two edits of a revision wins, nothing is
 * lost), history and revert, delete and add, accepting a prediction, roles, input errors naming
 * their field, re-import keeping an edit, and search counts after edits equal to plain SQL counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createApiToken } from '../../src/db/api-tokens';
import { importDataset } from '../../src/db/import';
import { storePredictions } from '../../src/db/predictions';
import { globalId } from '../../src/graphql/ids';
import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { ApiClient, importedImageIds, makeSampleTree, QueryCounter, readSample, startTestServer } from './support';

const GARMENT = `id databaseId revision editedAt superCategory category source box { x1 y1 x2 y2 } polygon { x y }
  attributes { kind value score }`;
const HISTORY = `history { totalCount edges { node { id action editor revision garmentId revertedEditId
  before { category box { x1 y1 x2 y2 } attributes { kind value } } after { category box { x1 y1 x2 y2 } attributes { kind value } } } } }`;

const UPDATE = `mutation($input: UpdateGarmentInput!) { updateGarment(input: $input) { ${GARMENT} } }`;

let db: TestDatabase;
let admin: ApiClient;
let editor: ApiClient;
let otherEditor: ApiClient;
let root: string;
let images: Record<string, string>;

beforeAll(async () => {
  db = await createPostgresTestDatabase();
  // A fourth image (a copy of 100026) that nobody edits: re-import replaces its garments as before.
  root = makeSampleTree([{ from: '100026', id: 2000001 }]);
  await importDataset(db.dataSource, { root });
  images = await importedImageIds(db.dataSource);
  admin = await startTestServer(db.dataSource, { countsRebuildIntervalMs: 0 });
  editor = admin.as((await createApiToken(db.dataSource, { role: 'editor', name: 'editor ana' })).token);
  otherEditor = admin.as((await createApiToken(db.dataSource, { role: 'editor', name: 'editor bo' })).token);
});

afterAll(async () => {
  await admin?.server.stop();
  await db?.drop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** The annotation garment of a sample image in a slot, as the API shows it. */
async function garmentOf(externalId: string, superCategory: string): Promise<any> {
  const data = await editor.data(`query($id: ID!) { image(id: $id) { garments(source: ANNOTATION) { ${GARMENT} } } }`, {
    id: globalId('Image', images[externalId]),
  });
  return data.image.garments.find((garment: any) => garment.superCategory === superCategory);
}

async function garmentById(id: string): Promise<any> {
  return (await editor.data(`query($id: ID!) { garment(id: $id) { ${GARMENT} ${HISTORY} } }`, { id })).garment;
}

/** The values of one kind (API spelling, e.g. COLOR) of a garment or snapshot. */
const valuesOf = (garment: any, kind: string) =>
  garment.attributes
    .filter((a: any) => a.kind === kind)
    .map((a: any) => a.value)
    .sort();

/** search_terms and garment_attributes of a garment agree with its category and the image's styles. */
async function expectSearchTermsConsistent(databaseId: string): Promise<void> {
  const [row] = await db.dataSource.query(
    `SELECT g.search_terms AS stored,
            ARRAY(SELECT t FROM (SELECT ga.vocabulary_id AS t FROM garment_attributes ga WHERE ga.garment_id = g.id
                                 UNION SELECT g.category_id WHERE g.category_id IS NOT NULL
                                 UNION SELECT s.style_id FROM image_styles s WHERE s.image_id = g.image_id
                                 UNION SELECT s.sub_style_id FROM image_styles s WHERE s.image_id = g.image_id AND s.sub_style_id IS NOT NULL) x
                  ORDER BY t) AS expected
       FROM garments g WHERE g.id = $1`,
    [databaseId],
  );
  expect(row.stored).toEqual(row.expected);
}

describe('conflicts', () => {
  it('lets one of two edits of the same revision win; the other gets EDIT_CONFLICT with the current revision; nothing is lost', async () => {
    const top = await garmentOf('1070263', 'TOP');
    expect(top.revision).toBe(1);
    expect(top.editedAt).toBeNull();
    const edit = (client: ApiClient, color: string) =>
      client.query(UPDATE, { input: { id: top.id, revision: 1, attributes: [{ kind: 'COLOR', values: [color] }] } });
    const results = await Promise.all([edit(editor, 'black'), edit(otherEditor, 'navy')]);
    const won = results.filter((result) => !result.errors);
    const lost = results.filter((result) => result.errors);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].errors![0].extensions).toMatchObject({ code: 'EDIT_CONFLICT', currentRevision: 2 });
    expect(lost[0].errors![0].message).toMatch(/current revision is 2/);
    const winnerColor = valuesOf(won[0].data.updateGarment, 'COLOR');
    expect(winnerColor.length).toBe(1);
    expect(['블랙', '네이비']).toContain(winnerColor[0]);

    const stored = await garmentById(top.id);
    expect(stored.revision).toBe(2);
    expect(stored.editedAt).not.toBeNull();
    expect(valuesOf(stored, 'COLOR')).toEqual(winnerColor);
    expect(stored.history.totalCount).toBe(1);
    const [change] = stored.history.edges.map((edge: any) => edge.node);
    expect(change).toMatchObject({ action: 'UPDATE', revision: 2, garmentId: top.id });
    expect(['editor ana', 'editor bo']).toContain(change.editor);
    expect(valuesOf(change.before, 'COLOR')).toEqual(valuesOf(top, 'COLOR'));
    expect(valuesOf(change.after, 'COLOR')).toEqual(winnerColor);
    // Every other kind kept its values.
    for (const kind of ['MATERIAL', 'PRINT', 'FIT', 'CATEGORY']) expect(valuesOf(stored, kind)).toEqual(valuesOf(top, kind));
    await expectSearchTermsConsistent(stored.databaseId);

    // The loser reads again and reapplies on the current revision.
    const retried = await otherEditor.data(UPDATE, {
      input: { id: top.id, revision: 2, attributes: [{ kind: 'COLOR', values: ['white'] }] },
    });
    expect(retried.updateGarment.revision).toBe(3);
    expect(valuesOf(retried.updateGarment, 'COLOR')).toEqual(['화이트']);
  });

  it('refuses a stale deleteGarment the same way and keeps the garment', async () => {
    const bottom = await garmentOf('1070263', 'BOTTOM');
    await editor.data(UPDATE, { input: { id: bottom.id, revision: bottom.revision, box: { x1: 10, y1: 10, x2: 100, y2: 200 } } });
    const result = await otherEditor.query(`mutation($id: ID!, $revision: Int!) { deleteGarment(id: $id, revision: $revision) }`, {
      id: bottom.id,
      revision: bottom.revision,
    });
    expect(result.errors![0].extensions).toMatchObject({ code: 'EDIT_CONFLICT', currentRevision: bottom.revision + 1 });
    expect((await garmentById(bottom.id)).box).toEqual({ x1: 10, y1: 10, x2: 100, y2: 200 });
  });
});

describe('history and revert', () => {
  it('reverts a change of box and category: the earlier values come back as a new edit', async () => {
    const top = await garmentOf('1092253', 'TOP');
    const changed = await editor.data(UPDATE, {
      input: { id: top.id, revision: top.revision, box: { x1: 1, y1: 2, x2: 300, y2: 400 }, category: '셔츠' },
    });
    expect(changed.updateGarment).toMatchObject({ category: '셔츠', superCategory: 'TOP', box: { x1: 1, y1: 2, x2: 300, y2: 400 } });
    const history = (await garmentById(top.id)).history.edges.map((edge: any) => edge.node);
    const reverted = await editor.data(`mutation($id: ID!) { revertGarmentEdit(id: $id) { ${GARMENT} } }`, { id: history[0].id });
    expect(reverted.revertGarmentEdit).toMatchObject({ category: top.category, box: top.box, revision: top.revision + 2 });
    expect(reverted.revertGarmentEdit.attributes).toEqual(top.attributes);
    const after = await garmentById(top.id);
    const [revert, update] = after.history.edges.map((edge: any) => edge.node);
    expect(revert).toMatchObject({ action: 'REVERT', revertedEditId: history[0].id, editor: 'editor ana' });
    expect(update.action).toBe('UPDATE');
    await expectSearchTermsConsistent(after.databaseId);
  });

  it('deletes a garment and brings it back with its id, attributes and searchability by reverting the deletion', async () => {
    const bottom = await garmentOf('1092253', 'BOTTOM');
    const deleted = await editor.data(`mutation($id: ID!, $revision: Int!) { deleteGarment(id: $id, revision: $revision) }`, {
      id: bottom.id,
      revision: bottom.revision,
    });
    expect(deleted.deleteGarment).toBe(bottom.id);
    expect((await editor.data(`query($id: ID!) { garment(id: $id) { id } }`, { id: bottom.id })).garment).toBeNull();
    // The deleted garment's history is still reachable through its image (what an undo reverts).
    const image = await editor.data(
      `query($id: ID!) { image(id: $id) { garmentEdits(first: 1) { totalCount edges { node { id action garmentId } } } } }`,
      { id: globalId('Image', images['1092253']) },
    );
    const [deletion] = image.image.garmentEdits.edges.map((edge: any) => edge.node);
    expect(deletion).toMatchObject({ action: 'DELETE', garmentId: bottom.id });
    const [edits] = await db.dataSource.query(`SELECT count(*)::int AS n FROM garment_edits WHERE image_id = $1`, [images['1092253']]);
    expect(image.image.garmentEdits.totalCount).toBe(edits.n);
    const editId = deletion.id;
    const node = await editor.data(`query($id: ID!) { node(id: $id) { ... on GarmentEdit { action after { category } } } }`, {
      id: editId,
    });
    expect(node.node).toEqual({ action: 'DELETE', after: null });

    const back = await editor.data(`mutation($id: ID!) { revertGarmentEdit(id: $id) { ${GARMENT} ${HISTORY} } }`, { id: editId });
    expect(back.revertGarmentEdit).toMatchObject({
      id: bottom.id,
      category: bottom.category,
      box: bottom.box,
      attributes: bottom.attributes,
      revision: bottom.revision + 2,
    });
    expect(back.revertGarmentEdit.history.edges.map((edge: any) => edge.node.action)).toEqual(['REVERT', 'DELETE']);
    const found = await editor.data(
      `query($where: GarmentWhere!) { searchGarments(where: $where, first: 100) { edges { node { id } } } }`,
      {
        where: { superCategory: ['BOTTOM'], source: 'ANNOTATION' },
      },
    );
    expect(found.searchGarments.edges.map((edge: any) => edge.node.id)).toContain(bottom.id);
    await expectSearchTermsConsistent(bottom.databaseId);
  });
});

describe('adding and accepting', () => {
  it('adds a garment from English values: the super-category follows the category, it is an edited annotation', async () => {
    const added = await editor.data(
      `mutation($input: AddGarmentInput!) { addGarment(input: $input) { ${GARMENT} image { externalId } ${HISTORY} } }`,
      {
        input: {
          imageId: globalId('Image', images['100026']),
          category: 'cardigan',
          box: { x1: 50, y1: 60, x2: 700, y2: 650 },
          polygon: [
            { x: 50, y: 60 },
            { x: 700, y: 60 },
            { x: 700, y: 650 },
          ],
          attributes: [
            { kind: 'COLOR', values: ['navy'] },
            { kind: 'MATERIAL', values: ['knit', '면'] },
          ],
        },
      },
    );
    const garment = added.addGarment;
    expect(garment).toMatchObject({
      category: '가디건',
      superCategory: 'OUTER',
      source: 'ANNOTATION',
      revision: 1,
      image: { externalId: '100026' },
      box: { x1: 50, y1: 60, x2: 700, y2: 650 },
      polygon: [
        { x: 50, y: 60 },
        { x: 700, y: 60 },
        { x: 700, y: 650 },
      ],
    });
    expect(garment.editedAt).not.toBeNull();
    expect(valuesOf(garment, 'COLOR')).toEqual(['네이비']);
    expect(valuesOf(garment, 'MATERIAL')).toEqual(['니트', '면']);
    expect(garment.history.edges.map((edge: any) => edge.node.action)).toEqual(['CREATE']);
    await expectSearchTermsConsistent(garment.databaseId);
  });

  it('accepts a prediction with some kinds: a new annotation with its box, category and only those values; the prediction stays', async () => {
    const [version] = await db.dataSource.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path) VALUES ('m', 'resnet18', '{}', 'w') RETURNING id`,
    );
    const model = {
      id: version.id,
      config: {
        attributes: [
          { kind: 'color', type: 'single' as const },
          { kind: 'material', type: 'multi' as const },
          { kind: 'print', type: 'multi' as const },
        ],
      },
      labelSpace: null,
    };
    const [predictionId] = await storePredictions(db.dataSource, images['1092253'], model, [
      {
        box: [20, 30, 400, 500],
        label: 1,
        className: '블라우스',
        score: 0.9,
        attributes: {
          color: [
            { value: '블랙', probability: 0.7 },
            { value: '화이트', probability: 0.3 },
          ],
          material: [{ value: '면', probability: 0.8 }],
          print: [{ value: '체크', probability: 0.6 }],
        },
      },
    ]);
    const accepted = await editor.data(
      `mutation($input: AcceptPredictionInput!) { acceptPrediction(input: $input) { ${GARMENT} ${HISTORY} } }`,
      {
        input: { id: globalId('Garment', predictionId), kinds: ['COLOR', 'PRINT'] },
      },
    );
    const garment = accepted.acceptPrediction;
    expect(garment).toMatchObject({
      source: 'ANNOTATION',
      category: '블라우스',
      superCategory: 'TOP',
      box: { x1: 20, y1: 30, x2: 400, y2: 500 },
    });
    expect(garment.attributes.map((a: any) => [a.kind, a.value, a.score])).toEqual([
      ['CATEGORY', '블라우스', null],
      ['COLOR', '블랙', null],
      ['PRINT', '체크', null],
    ]);
    expect(garment.history.edges[0].node.action).toBe('ACCEPT');
    const prediction = await garmentById(globalId('Garment', predictionId));
    expect(prediction).toMatchObject({ source: 'PREDICTION', revision: 1 });
    await expectSearchTermsConsistent(garment.databaseId);

    // Rejecting the prediction deletes it; an annotation is not "accepted" again.
    const again = await editor.query(`mutation($input: AcceptPredictionInput!) { acceptPrediction(input: $input) { id } }`, {
      input: { id: garment.id },
    });
    expect(again.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
    await editor.data(`mutation($id: ID!) { deleteGarment(id: $id, revision: 1) }`, { id: prediction.id });
    expect(await garmentById(prediction.id)).toBeNull();
    // The rejection is reverted only while its model version exists.
    const [rejection] = await db.dataSource.query(`SELECT id FROM garment_edits WHERE garment_id = $1 AND action = 'delete'`, [
      predictionId,
    ]);
    await db.dataSource.query(`DELETE FROM model_versions WHERE id = $1`, [version.id]);
    const revert = await editor.query(`mutation($id: ID!) { revertGarmentEdit(id: $id) { id } }`, {
      id: globalId('GarmentEdit', rejection.id),
    });
    expect(revert.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(revert.errors![0].message).toMatch(/model version that no longer exists/);
  });

  it('marks an image reviewed and filters images by it', async () => {
    const id = globalId('Image', images['100026']);
    const marked = await editor.data(`mutation($id: ID!) { markImageReviewed(id: $id) { id reviewedAt } }`, { id });
    expect(marked.markImageReviewed.reviewedAt).not.toBeNull();
    const [row] = await db.dataSource.query(`SELECT t.name FROM images i JOIN api_tokens t ON t.id = i.reviewed_by WHERE i.id = $1`, [
      images['100026'],
    ]);
    expect(row.name).toBe('editor ana');
    const reviewed = await editor.data(`{ images(where: { reviewed: true }) { edges { node { id } } } }`);
    expect(reviewed.images.edges.map((edge: any) => edge.node.id)).toEqual([id]);
    const notReviewed = await editor.data(`{ images(where: { reviewed: false }) { totalCount } }`);
    expect(notReviewed.images.totalCount).toBe(3);
    const unmarked = await editor.data(`mutation($id: ID!) { markImageReviewed(id: $id, reviewed: false) { reviewedAt } }`, { id });
    expect(unmarked.markImageReviewed.reviewedAt).toBeNull();
  });
});

describe('history', () => {
  it('pages a history newest first, and answers the histories of a page of garments with one statement', async () => {
    const top = await garmentOf('1070263', 'TOP');
    const first = await editor.data(
      `query($id: ID!) { garment(id: $id) { history(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { revision } } } } }`,
      {
        id: top.id,
      },
    );
    const history = first.garment.history;
    expect(history.totalCount).toBeGreaterThanOrEqual(2);
    expect(history.pageInfo.hasNextPage).toBe(true);
    expect(history.edges.map((edge: any) => edge.node.revision)).toEqual([top.revision]);
    const next = await editor.data(
      `query($id: ID!, $after: String) { garment(id: $id) { history(first: 100, after: $after) { edges { node { revision } } } } }`,
      {
        id: top.id,
        after: history.pageInfo.endCursor,
      },
    );
    const revisions = next.garment.history.edges.map((edge: any) => edge.node.revision);
    expect(revisions.length).toBe(history.totalCount - 1);
    expect(revisions).toEqual([...revisions].sort((a: number, b: number) => b - a));
    expect(revisions[0]).toBeLessThan(top.revision);

    const counter = new QueryCounter(db.dataSource);
    const page = await editor.data(
      `{ searchGarments(where: {}, first: 50) { edges { node { id history(first: 3) { totalCount edges { node { action } } } } } } }`,
    );
    counter.detach();
    const edited: { garment_id: string; n: number }[] = await db.dataSource.query(
      `SELECT garment_id, count(*)::int AS n FROM garment_edits GROUP BY garment_id`,
    );
    const shown = page.searchGarments.edges.map((edge: any) => edge.node);
    for (const garment of shown) {
      const n = edited.find((row) => globalId('Garment', row.garment_id) === garment.id)?.n ?? 0;
      expect({ id: garment.id, totalCount: garment.history.totalCount, edges: garment.history.edges.length }).toEqual({
        id: garment.id,
        totalCount: n,
        edges: Math.min(n, 3),
      });
    }
    const historyStatements = counter.statements.filter((sql) => /FROM garment_edits|unnest\(\$1::bigint\[\]\) AS wanted/.test(sql));
    expect(historyStatements).toHaveLength(2); // the pages and the counts
  });
});

describe('who may edit', () => {
  it('refuses viewers and analysts (FORBIDDEN) and anonymous callers (UNAUTHENTICATED), and changes nothing', async () => {
    const top = await garmentOf('100026', 'TOP');
    const viewer = admin.as((await createApiToken(db.dataSource, { role: 'viewer' })).token);
    const analyst = admin.as((await createApiToken(db.dataSource, { role: 'analyst' })).token);
    const anonymous = admin.as(undefined);
    const mutations: [string, Record<string, unknown>][] = [
      [UPDATE, { input: { id: top.id, revision: top.revision, category: 'shirt' } }],
      [`mutation($id: ID!) { deleteGarment(id: $id, revision: 1) }`, { id: top.id }],
      [
        `mutation($input: AddGarmentInput!) { addGarment(input: $input) { id } }`,
        { input: { imageId: globalId('Image', images['100026']), category: 'shirt', box: { x1: 0, y1: 0, x2: 5, y2: 5 } } },
      ],
      [`mutation($id: ID!) { markImageReviewed(id: $id) { id } }`, { id: globalId('Image', images['100026']) }],
      [`mutation($id: ID!) { revertGarmentEdit(id: $id) { id } }`, { id: globalId('GarmentEdit', 1) }],
    ];
    for (const [query, variables] of mutations) {
      for (const [client, code] of [
        [viewer, 'FORBIDDEN'],
        [analyst, 'FORBIDDEN'],
        [anonymous, 'UNAUTHENTICATED'],
      ] as const) {
        const result = await client.query(query, variables);
        expect({ query, code: result.errors?.[0]?.extensions?.code }).toEqual({ query, code });
      }
    }
    expect(await garmentOf('100026', 'TOP')).toEqual(top);
  });
});

describe('bad input', () => {
  it('names the field of every refused value', async () => {
    const top = await garmentOf('100026', 'TOP');
    const refused = async (input: Record<string, unknown>) => {
      const result = await editor.query(UPDATE, { input: { id: top.id, revision: top.revision, ...input } });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      return { field: result.errors![0].extensions!.field, message: result.errors![0].message };
    };
    expect(
      await refused({
        attributes: [
          { kind: 'FIT', values: ['loose'] },
          { kind: 'COLOR', values: ['mauvish'] },
        ],
      }),
    ).toEqual({
      field: 'input.attributes[1].values[0]',
      message: expect.stringContaining('unknown color value "mauvish"'),
    });
    expect((await refused({ attributes: [{ kind: 'STYLE', values: ['romantic'] }] })).field).toBe('input.attributes[0].kind');
    expect((await refused({ attributes: [{ kind: 'CATEGORY', values: ['shirt'] }] })).field).toBe('input.attributes[0].kind');
    expect((await refused({ attributes: [{ kind: 'COLOR', values: ['black', 'white'] }] })).field).toBe('input.attributes[0].values');
    expect((await refused({ category: 'spacesuit' })).field).toBe('input.category');
    expect((await refused({ box: { x1: 10, y1: 10, x2: 801, y2: 50 } })).field).toBe('input.box');
    expect((await refused({ box: { x1: 10, y1: 10, x2: 5, y2: 50 } })).field).toBe('input.box.x2');
    expect(
      (
        await refused({
          polygon: [
            { x: 1, y: 1 },
            { x: 2, y: 2 },
            { x: 900, y: 3 },
          ],
        })
      ).field,
    ).toBe('input.polygon[2]');
    expect((await refused({ revision: 0 })).field).toBe('input.revision');
    expect(await refused({})).toEqual({ field: 'input', message: expect.stringContaining('at least one of box') });
    expect((await refused({ id: globalId('Image', images['100026']) })).field).toBe('input.id');
    const added = await editor.query(`mutation($input: AddGarmentInput!) { addGarment(input: $input) { id } }`, {
      input: { imageId: globalId('Image', images['100026']), category: 'shirt', box: { x1: -1, y1: 0, x2: 5, y2: 5 } },
    });
    expect(added.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.box' });
    const missing = await editor.query(UPDATE, { input: { id: globalId('Garment', 999999), revision: 1, category: 'shirt' } });
    expect(missing.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.id' });
    expect(await garmentOf('100026', 'TOP')).toEqual(top);
  });
});

describe('import and edits', () => {
  it('re-importing a changed file keeps the edited annotations of its image; unedited images take the file', async () => {
    const top = await garmentOf('100026', 'TOP');
    const edited = await editor.data(UPDATE, { input: { id: top.id, revision: top.revision, box: { x1: 5, y1: 6, x2: 500, y2: 600 } } });
    const untouched = await garmentOf('100026', 'BOTTOM');
    // Two files change: 100026 (edited) and its unedited copy 2000001 get another colour and style.
    const rewrite = (file: string, id: string) => {
      const json = readSample('100026');
      json['이미지 정보']['이미지 식별자'] = Number(id);
      const labels = json['데이터셋 정보']['데이터셋 상세설명']['라벨링'];
      labels['상의'][0]['색상'] = '블랙';
      labels['스타일'] = [{ 스타일: '스트리트' }];
      fs.writeFileSync(path.join(root, file), JSON.stringify(json));
    };
    rewrite('Training/라벨링데이터/로맨틱/100026.json', '100026');
    rewrite('Training/라벨링데이터/기타/2000001.json', '2000001');
    const copyBefore = (
      await editor.data(`query($id: ID!) { image(id: $id) { garments { id } } }`, { id: globalId('Image', images['2000001']) })
    ).image.garments;
    const stats = await importDataset(db.dataSource, { root });
    expect(stats).toMatchObject({ imagesUpdated: 2, imagesKeptEdited: 1, garmentsImported: 2 });

    const kept = await garmentById(top.id);
    expect(kept).toMatchObject({ box: edited.updateGarment.box, revision: edited.updateGarment.revision, attributes: top.attributes });
    // The image's other annotations stay as they were too: an edited image's annotations are the editors'.
    expect(await garmentById(untouched.id)).toMatchObject({ attributes: untouched.attributes, box: untouched.box });
    // The copy nobody edited took the file: new garments with the new colour.
    const copy = await editor.data(`query($id: ID!) { image(id: $id) { garments { id superCategory attributes { kind value } } } }`, {
      id: globalId('Image', images['2000001']),
    });
    expect(copy.image.garments.map((g: any) => g.id)).not.toContain(copyBefore[0].id);
    expect(
      valuesOf(
        copy.image.garments.find((g: any) => g.superCategory === 'TOP'),
        'COLOR',
      ),
    ).toEqual(['블랙']);
    // The new style reaches the kept garments' search terms as well as the reloaded ones'.
    const street = await editor.data(
      `{ searchGarments(where: { styles: ["street"], source: ANNOTATION }, first: 10) { edges { node { id } } } }`,
    );
    const streetIds = street.searchGarments.edges.map((edge: any) => edge.node.id);
    expect(streetIds).toEqual(expect.arrayContaining([top.id, untouched.id, ...copy.image.garments.map((g: any) => g.id)]));
    await expectSearchTermsConsistent(kept.databaseId);
    await expectSearchTermsConsistent(untouched.databaseId);
  });
});

describe('search after edits', () => {
  /** Facet counts of colour and the totalCount of one colour, over the API, against plain SQL over garment_attributes. */
  async function expectCountsEqualSql(): Promise<void> {
    const data = await editor.data(
      `{ garmentFacets(kinds: [COLOR, CATEGORY]) { kind values { value count } }
         black: searchGarments(where: { color: ["black"] }, first: 0) { totalCount }
         blackTops: searchGarments(where: { color: ["black"], superCategory: [TOP], source: ANNOTATION }, first: 0) { totalCount } }`,
    );
    const rows: { kind: string; value: string; n: number }[] = await db.dataSource.query(
      `SELECT v.kind, v.value, count(*)::int AS n FROM garment_attributes ga JOIN vocabulary v ON v.id = ga.vocabulary_id
        WHERE v.kind IN ('color', 'category') GROUP BY v.kind, v.value`,
    );
    const expected = rows.map((row) => `${row.kind === 'color' ? 'COLOR' : 'CATEGORY'}:${row.value}=${row.n}`).sort();
    const actual = data.garmentFacets.flatMap((facet: any) => facet.values.map((v: any) => `${facet.kind}:${v.value}=${v.count}`)).sort();
    expect(actual).toEqual(expected);
    const [black] = await db.dataSource.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE g.super_category = 'TOP' AND g.source = 'annotation')::int AS tops
         FROM garments g JOIN garment_attributes ga ON ga.garment_id = g.id JOIN vocabulary v ON v.id = ga.vocabulary_id
        WHERE v.kind = 'color' AND v.value = '블랙'`,
    );
    expect({ black: data.black.totalCount, blackTops: data.blackTops.totalCount }).toEqual({ black: black.n, blackTops: black.tops });
    // vocabulary.count (the `vocabulary` query's counts): annotated garments with the value, as an import recomputes it.
    const vocabulary = await editor.data(`{ vocabulary { kind value count } }`);
    const annotated: { kind: string; value: string; n: number }[] = await db.dataSource.query(
      `SELECT v.kind, v.value, count(g.id)::int AS n FROM vocabulary v
         LEFT JOIN garment_attributes ga ON ga.vocabulary_id = v.id
         LEFT JOIN garments g ON g.id = ga.garment_id AND g.source = 'annotation'
        WHERE v.kind NOT IN ('style', 'subStyle') GROUP BY v.kind, v.value`,
    );
    const listed = vocabulary.vocabulary
      .filter((entry: any) => entry.kind !== 'STYLE' && entry.kind !== 'SUB_STYLE')
      .map((entry: any) => `${entry.value}=${entry.count}`)
      .sort();
    expect(listed).toEqual(annotated.map((row) => `${row.value}=${row.n}`).sort());
  }

  const countsAreFresh = async () => {
    const [row] = await db.dataSource.query(
      `SELECT (SELECT value FROM search_generation) = (SELECT generation FROM garment_facet_counts_state) AS fresh`,
    );
    return row.fresh as boolean;
  };

  /** Lets the background rebuild catch up (a search over stale counts asks for one; one started before the last edit ends stale). */
  const rebuildCounts = async () => {
    for (let attempt = 0; attempt < 5 && !(await countsAreFresh()); attempt++) {
      await expectCountsEqualSql();
      await admin.server.facetCounts!.settled();
    }
    expect(await countsAreFresh()).toBe(true);
  };

  it('answers facets and totalCount equal to a fresh count, from the precomputed counts and live, after every kind of edit', async () => {
    await rebuildCounts();
    await expectCountsEqualSql(); // from the precomputed counts

    const top = await garmentOf('1092253', 'TOP');
    await editor.data(UPDATE, { input: { id: top.id, revision: top.revision, attributes: [{ kind: 'COLOR', values: ['black'] }] } });
    expect(await countsAreFresh()).toBe(false);
    await expectCountsEqualSql(); // live: the counts went stale with the edit
    await rebuildCounts();
    await expectCountsEqualSql();

    const added = await editor.data(`mutation($input: AddGarmentInput!) { addGarment(input: $input) { id revision } }`, {
      input: {
        imageId: globalId('Image', images['1070263']),
        category: 'blouse',
        box: { x1: 0, y1: 0, x2: 50, y2: 50 },
        attributes: [{ kind: 'COLOR', values: ['블랙'] }],
      },
    });
    await expectCountsEqualSql();
    await editor.data(`mutation($id: ID!, $revision: Int!) { deleteGarment(id: $id, revision: $revision) }`, {
      id: added.addGarment.id,
      revision: added.addGarment.revision,
    });
    await expectCountsEqualSql();
    await rebuildCounts();
    await expectCountsEqualSql();
  });
});
