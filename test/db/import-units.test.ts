/** The importer's pure pieces: split detection, photo matching, report lines, binary COPY encoding. */
import { binaryCopyPayload } from '../../src/db/import/copy-binary';
import { imageCandidates } from '../../src/db/import/read';
import { problemLines } from '../../src/db/import/report';
import { ImageIndex, splitFromPath } from '../../src/db/import/scan';
import { SuperCategory } from '../../src/kfashion/types';

describe('splitFromPath', () => {
  it.each([
    ['K-Fashion', 'Training/라벨링데이터/로맨틱/1.json', 'train'],
    ['K-Fashion', 'validation/1.json', 'validation'],
    ['K-Fashion', 'data/VAL/x/1.json', 'validation'],
    ['K-Fashion', 'train/1.json', 'train'],
    ['Validation', '라벨링데이터/1.json', 'validation'],
    // The nearest folder wins: a Validation folder kept inside a Training tree is validation.
    ['root', 'Training/old/Validation/1.json', 'validation'],
    ['root', 'labels/1.json', null],
    // Only whole folder names count, and never the file's own name.
    ['root', 'trainingset/train.json', null],
  ])('%s + %s → %s', (root, file, split) => {
    expect(splitFromPath(root, file)).toBe(split);
  });
});

describe('ImageIndex', () => {
  it('finds names case-insensitively and prefers the namesake nearest to the annotation', () => {
    const index = new ImageIndex();
    index.add('Training/원천데이터/로맨틱/100026.jpg');
    index.add('Validation/원천데이터/로맨틱/100026.JPG');
    index.add('Training/원천데이터/스트리트/7.png');
    expect(index.find('100026.jpg', 'Validation/라벨링데이터/로맨틱/100026.json')).toBe('Validation/원천데이터/로맨틱/100026.JPG');
    expect(index.find('100026.jpg', 'Training/라벨링데이터/로맨틱/100026.json')).toBe('Training/원천데이터/로맨틱/100026.jpg');
    expect(index.find('7.PNG', 'x.json')).toBe('Training/원천데이터/스트리트/7.png');
    expect(index.find('8.jpg', 'x.json')).toBeNull();
    expect(index.size).toBe(2);
  });

  it('tries 이미지 파일명 first, then the identifier with each image extension', () => {
    const candidates = imageCandidates({ externalId: '100026', fileName: 'Ave29th_160_02.jpg' });
    expect(candidates).toEqual(['Ave29th_160_02.jpg', '100026.jpg', '100026.jpeg', '100026.png']);
  });
});

describe('problemLines', () => {
  it('gives one line per garment and action, joining that garment’s reasons', () => {
    const top = { superCategory: SuperCategory.TOP, slotIndex: 0 };
    const lines = problemLines('a.json', [
      { field: 'rect', reason: 'box clipped', garment: top, repaired: true },
      { field: 'polygon', reason: 'polygon clipped', garment: top, repaired: true },
      { field: 'labels.하의[0]', reason: 'zero-area box', garment: { superCategory: SuperCategory.BOTTOM, slotIndex: 0 } },
      { field: '파일 생성일자', reason: 'unparseable date', repaired: true },
    ]);
    expect(lines).toEqual([
      { file: 'a.json', reason: 'box clipped; polygon clipped', action: 'repaired', field: 'rect', superCategory: 'TOP', slotIndex: 0 },
      { file: 'a.json', reason: 'zero-area box', action: 'rejected', field: 'labels.하의[0]', superCategory: 'BOTTOM', slotIndex: 0 },
      { file: 'a.json', reason: 'unparseable date', action: 'repaired', field: '파일 생성일자' },
    ]);
  });
});

describe('binaryCopyPayload', () => {
  it('writes the COPY header, int8 ids, timestamps before 2000 and float4 arrays as PostgreSQL reads them', () => {
    const payload = Buffer.concat(
      binaryCopyPayload({ id: 'bigint', at: 'timestamptz', polygon: 'real[]' }, [
        [2 ** 40 + 7, '1999-12-31T23:59:59Z', new Float64Array([1.5, -2])],
      ]),
    );
    expect(payload.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    let at = 19; // signature, flags, header extension
    expect(view.getInt16(at)).toBe(3);
    expect(view.getInt32((at += 2))).toBe(8);
    expect(view.getBigInt64((at += 4))).toBe(BigInt(2 ** 40 + 7));
    expect(view.getInt32((at += 8))).toBe(8);
    expect(view.getBigInt64((at += 4))).toBe(-1_000_000n); // one second before 2000-01-01, in µs
    expect(view.getInt32((at += 8))).toBe(20 + 2 * 8); // array: header 20 bytes + (length + float4) per element
    expect([1, 0, 700, 2, 1].map((_, i) => view.getInt32(at + 4 + 4 * i))).toEqual([1, 0, 700, 2, 1]);
    expect(view.getFloat32(at + 4 + 20 + 4)).toBe(1.5);
    expect(view.getFloat32(at + 4 + 28 + 4)).toBe(-2);
    expect(view.getInt16(payload.length - 2)).toBe(-1);
  });
});

describe('binaryCopyPayload refuses what it cannot encode', () => {
  // DataView wrapped these silently: 4294967488 became 192, 40000 in a smallint -25536, 1e39 Infinity.
  it.each([
    ['integer', 4294967488, /column c: 4294967488 is outside the integer range -2147483648 to 2147483647/],
    ['integer', 2 ** 31, /outside the integer range/],
    ['integer', 1.5, /column c: an integer column takes whole numbers only, got 1.5/],
    ['smallint', 40000, /40000 is outside the smallint range -32768 to 32767/],
    ['bigint', 2 ** 53, /outside the bigint range/],
    ['real', 1e39, /1e\+39 is not a finite number within the real \(float4\) range/],
    ['real', Number.NaN, /NaN is not a finite number/],
    ['text', 'a\0b', /column c: text holds a NUL character/],
    ['timestamptz', '2300-01-01T00:00:00Z', /outside the timestamps this writer encodes/],
    ['integer[]', [1, 2 ** 32], /outside the integer range/],
    ['real[]', new Float64Array([1, Infinity]), /not a finite number/],
  ])('%s %p', (type, value, message) => {
    expect(() => binaryCopyPayload({ c: type }, [[value as never]])).toThrow(RangeError);
    expect(() => binaryCopyPayload({ c: type }, [[value as never]])).toThrow(message);
  });

  it('takes the edges of each range', () => {
    const columns = { a: 'smallint', b: 'integer', c: 'real', d: 'timestamptz' };
    expect(() =>
      binaryCopyPayload(columns, [
        [-32768, 2 ** 31 - 1, -3.4e38, '2200-01-01T00:00:00Z'],
        [32767, -(2 ** 31), 3.4e38, '1800-01-01T00:00:00Z'],
      ]),
    ).not.toThrow();
  });
});
