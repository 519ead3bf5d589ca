/**
 * An import of a tree built as an attacker would (security issue, items 3, 4 and 14): values no column
 * can hold, FIFOs, a socket, symbolic links to a FIFO and out of the tree, an SVG named .jpg and an
 * undecodable JPEG. The import must finish, report every bad entry by name and import the rest; the
 * timeouts are the test that no FIFO blocks it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { importDataset } from '../../src/db/import';
import { parseFileAt } from '../../src/db/import/parse-file';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database';
import { copySamples, Json, LABELS, makeTree, PHOTOS, readReport, removeTree, variant, writeFile } from './import/fixtures';

let db: TestDatabase;
const trees: string[] = [];

beforeAll(async () => {
  db = await createPostgresTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  trees.forEach(removeTree);
});

function newTree(): string {
  const root = makeTree('kf-hostile-');
  trees.push(root);
  copySamples(root);
  return root;
}

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);
const width = (value: unknown) => (json: Json) => (json['이미지 정보']['이미지 너비'] = value);
const TOP_RECT = '데이터셋 정보.데이터셋 상세설명.렉트좌표.상의';

/** A Unix socket listening at `file`; the caller closes it. */
async function listeningSocket(file: string): Promise<net.Server> {
  const server = net.createServer((connection) => connection.destroy());
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return server;
}

async function rows(sql: string, parameters: unknown[] = []): Promise<any[]> {
  return db.dataSource.query(sql, parameters);
}

it('rejects each file whose 이미지 너비 no integer column holds, naming the field, and imports the rest', async () => {
  const root = newTree();
  const huge = {
    [variant(root, '100026', 910001, width(4294967296))]: 4294967296,
    // 2^32 + 192: the binary COPY writer stored it as 192 without a word.
    [variant(root, '100026', 910002, width(4294967488))]: 4294967488,
    [variant(root, '100026', 910003, width(2 ** 31))]: 2 ** 31,
    [variant(root, '100026', 910004, width(1e308))]: 1e308,
    [variant(root, '100026', 910005, width(800.5))]: 800.5,
  };
  const reportPath = path.join(root, 'report.jsonl');
  const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'huge-numbers' });
  expect(stats).toMatchObject({ imagesImported: 3, filesRejected: 5 });
  const report = readReport(reportPath);
  for (const [file, value] of Object.entries(huge)) {
    const line = report.find((entry) => entry.file === file);
    expect(line).toMatchObject({ action: 'rejected', field: '이미지 정보.이미지 너비' });
    expect(line!.reason).toContain(String(value));
  }
  expect(await rows(`SELECT count(*)::int AS n FROM images WHERE width NOT IN (800)`)).toEqual([{ n: 0 }]);
});

it('rejects a garment whose box has no area as float4, or whose slot index passes smallint, and keeps the rest of its file', async () => {
  const root = newTree();
  const image = { '이미지 너비': 2_000_000_000, '이미지 높이': 800 };
  // x2 - x1 = 10 as doubles, 0 as float4 (their spacing is 128 there): the batch failed on garments_box_valid.
  const collapsed = variant(root, '100026', 920001, (json) => {
    Object.assign(json['이미지 정보'], image);
    Object.assign(json['데이터셋 정보']['데이터셋 상세설명']['렉트좌표']['상의'][0], { X좌표: 1_000_000_000, 가로: 10 });
  });
  // 32,768 empty entries, then a garment: slot index 32768 wrapped to -32768 in smallint.
  const farSlot = variant(root, '100026', 920002, (json) => {
    const details = json['데이터셋 정보']['데이터셋 상세설명'];
    for (const section of ['렉트좌표', '폴리곤좌표', '라벨링']) {
      details[section]['하의'] = [...Array.from({ length: 32768 }, () => ({})), ...details[section]['하의']];
    }
  });
  const lateDate = variant(root, '100026', 920003, (json) => (json['데이터셋 정보']['파일 생성일자'] = '2300-01-01 00:00:00'));
  const reportPath = path.join(root, 'report.jsonl');
  const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'garment-ranges', verifyImages: false });
  expect(stats).toMatchObject({ imagesImported: 6, filesRejected: 0, garmentsRejected: 2 });
  const report = readReport(reportPath);
  expect(report.find((line) => line.file === collapsed && line.superCategory === 'TOP')).toMatchObject({
    action: 'rejected',
    field: `${TOP_RECT}[0]`,
    reason: expect.stringMatching(/no area once stored as real \(float4\)/),
  });
  expect(report.find((line) => line.file === farSlot && line.superCategory === 'BOTTOM')).toMatchObject({
    action: 'rejected',
    slotIndex: 32768,
    reason: expect.stringMatching(/32768 is outside the smallint range/),
  });
  expect(report.find((line) => line.file === lateDate)).toMatchObject({ action: 'repaired', field: '데이터셋 정보.파일 생성일자' });
  const kept = await rows(
    `SELECT i.external_id, i.annotated_at, array_agg(g.super_category ORDER BY g.super_category) AS garments
       FROM images i JOIN garments g ON g.image_id = i.id WHERE i.external_id IN ('920001', '920002', '920003') GROUP BY i.id ORDER BY i.external_id`,
  );
  expect(kept).toEqual([
    { external_id: '920001', annotated_at: expect.any(Date), garments: ['BOTTOM'] },
    { external_id: '920002', annotated_at: expect.any(Date), garments: ['TOP'] },
    { external_id: '920003', annotated_at: null, garments: ['BOTTOM', 'TOP'] },
  ]);
});

it('imports a tree holding every hostile entry: reports each one, imports the rest, and never blocks on a FIFO', async () => {
  const root = newTree();
  const outside = makeTree('kf-hostile-outside-');
  trees.push(outside);
  const fifo = `${LABELS}/fifo.json`;
  mkfifo(path.join(root, fifo));
  const fifoPhoto = `${PHOTOS}/fifo.jpg`;
  mkfifo(path.join(root, fifoPhoto));
  mkfifo(path.join(root, 'pipe-target'));
  const linkToFifo = `${LABELS}/link-to-fifo.json`;
  fs.symlinkSync(path.join(root, 'pipe-target'), path.join(root, linkToFifo));
  const secret = writeFile(outside, 'secret.json', fs.readFileSync(path.join(root, `${LABELS}/100026.json`)));
  const linkOut = `${LABELS}/link-out.json`;
  fs.symlinkSync(path.join(outside, secret), path.join(root, linkOut));
  // The probe's link: its report quoted the start of /etc/passwd in a JSON parse error.
  const passwd = `${LABELS}/passwd.json`;
  fs.symlinkSync('/etc/passwd', path.join(root, passwd));
  const socket = `${LABELS}/socket.json`;
  const server = await listeningSocket(path.join(root, socket));
  const hugeWidth = variant(root, '100026', 930001, width(4294967296));
  const svg = variant(root, '100026', 930002);
  writeFile(
    root,
    `${PHOTOS}/930002.jpg`,
    '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800"><rect width="800" height="800"/></svg>',
  );
  const undecodable = variant(root, '100026', 930003);
  const jpeg = fs.readFileSync(path.join(root, `${PHOTOS}/930003.jpg`));
  writeFile(root, `${PHOTOS}/930003.jpg`, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const fifoPhotoJson = variant(root, '100026', 930004, (json) => (json['이미지 정보']['이미지 파일명'] = 'fifo.jpg'));
  fs.rmSync(path.join(root, `${PHOTOS}/930004.jpg`));

  const reportPath = path.join(root, 'report.jsonl');
  const stats = await importDataset(db.dataSource, { root, reportPath, datasetName: 'hostile', verifyImages: true }).finally(() =>
    server.close(),
  );
  expect(stats).toMatchObject({ imagesImported: 3, filesRejected: 4, entriesSkipped: 7 });
  const byFile = new Map(readReport(reportPath).map((line) => [line.file, line]));
  expect(byFile.get(fifo)!.reason).toBe('a FIFO, not a regular file; skipped');
  expect(byFile.get(fifoPhoto)!.reason).toBe('a FIFO, not a regular file; skipped');
  expect(byFile.get('pipe-target')!.reason).toBe('a FIFO, not a regular file; skipped');
  expect(byFile.get(socket)!.reason).toBe('a socket, not a regular file; skipped');
  expect(byFile.get(linkToFifo)!.reason).toBe('symbolic link to a FIFO, not a regular file; not followed');
  expect(byFile.get(linkOut)!.reason).toBe('symbolic link leading outside the dataset folder; not followed');
  expect(byFile.get(passwd)!.reason).toBe('symbolic link leading outside the dataset folder; not followed');
  expect(byFile.get(hugeWidth)).toMatchObject({ field: '이미지 정보.이미지 너비' });
  expect(byFile.get(svg)!.reason).toBe(`image unreadable: ${PHOTOS}/930002.jpg: not a JPEG or PNG image (unrecognised signature)`);
  expect(byFile.get(undecodable)!.reason).toBe(`image ${PHOTOS}/930003.jpg is damaged or truncated: it cannot be decoded whole`);
  // The FIFO photo was left out of the walk, so its annotation finds no photo.
  expect(byFile.get(fifoPhotoJson)!.reason).toMatch(/^image not found: tried fifo\.jpg/);
  // Nothing of the outside file, not even its path, reaches the report.
  const reportText = fs.readFileSync(reportPath, 'utf8');
  expect(reportText).not.toContain(outside);
  expect(reportText).not.toMatch(/root:|\/etc\//);
  const imported = await rows(
    `SELECT external_id FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'hostile' ORDER BY external_id`,
  );
  expect(imported.map((row) => row.external_id)).toEqual(['100026', '1070263', '1092253']);
}, 30_000);

it('refuses to read a FIFO handed to the parser directly (a tree changed after its walk), without blocking', () => {
  const root = makeTree('kf-hostile-parse-');
  trees.push(root);
  mkfifo(path.join(root, 'late.json'));
  expect(parseFileAt(root, 'late.json')).toEqual({ file: 'late.json', error: 'cannot read the file: a FIFO, not a regular file' });
});
