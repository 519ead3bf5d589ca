import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAnnotation } from '../../src/kfashion/parse';
import { ParsedAnnotation, ParsedGarment, ParseResult, SuperCategory } from '../../src/kfashion/types';
import { Random } from '../../src/kfashion/synth-random';

import { SAMPLES_DIR as SAMPLES } from '../support/samples';
const DETAILS = '데이터셋 정보.데이터셋 상세설명';

function parseSample(id: string): ParsedAnnotation {
  const file = join(SAMPLES, `${id}.json`);
  const result = parseAnnotation(readFileSync(file), file);
  if (!result.ok) throw new Error(`sample ${id} rejected: ${JSON.stringify(result.problems)}`);
  return result.annotation;
}

function garment(annotation: ParsedAnnotation, superCategory: SuperCategory): ParsedGarment {
  const found = annotation.garments.filter((candidate) => candidate.superCategory === superCategory);
  expect(found).toHaveLength(1);
  return found[0];
}

function values(item: ParsedGarment, kind: string): string[] {
  return item.attributes.filter((attribute) => attribute.kind === kind).map((attribute) => attribute.value);
}

/** A small valid annotation (one top) in the real shape; tests break one thing at a time. */
function minimal(): any {
  return {
    '이미지 정보': { '이미지 식별자': 42, '이미지 높이': 200, '이미지 파일명': 'a.jpg', '이미지 너비': 100 },
    '데이터셋 정보': {
      '파일 생성일자': '2020-08-10 08:33:18',
      '데이터셋 상세설명': {
        렉트좌표: { 아우터: [{}], 하의: [{}], 원피스: [{}], 상의: [{ X좌표: 10, Y좌표: 20, 가로: 30, 세로: 40 }] },
        폴리곤좌표: {
          아우터: [{}],
          하의: [{}],
          원피스: [{}],
          상의: [{ Y좌표3: 60, X좌표2: 40, X좌표1: 10, Y좌표1: 20, X좌표3: 25, Y좌표2: 20 }],
        },
        라벨링: {
          스타일: [{ 스타일: '스트리트', 서브스타일: '' }],
          아우터: [{}],
          하의: [{}],
          원피스: [{}],
          상의: [{ 카테고리: '티셔츠', 색상: '블랙' }],
        },
      },
    },
  };
}

function parse(json: unknown): ParseResult {
  return parseAnnotation(JSON.stringify(json), 'test.json');
}

function parseOk(json: unknown) {
  const result = parse(json);
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.problems)}`);
  return result;
}

const top = (json: any) => json['데이터셋 정보']['데이터셋 상세설명'];

describe('parseAnnotation on the real K-Fashion samples', () => {
  it('reads every field of 100026 (skirt + blouse, collar from 옷깃)', () => {
    const annotation = parseSample('100026');
    expect(annotation.externalId).toBe('100026');
    expect(annotation.fileName).toBe('Ave29th_160_02.jpg');
    expect([annotation.width, annotation.height]).toEqual([800, 800]);
    expect(annotation.createdAt).toBe('2020-08-09T23:33:18.000Z');
    expect(annotation.styles).toEqual([{ style: '로맨틱', subStyle: null }]);
    expect(annotation.garments.map((g) => [g.superCategory, g.category]).sort()).toEqual([
      [SuperCategory.BOTTOM, '스커트'],
      [SuperCategory.TOP, '블라우스'],
    ]);

    const blouse = garment(annotation, SuperCategory.TOP);
    expect(blouse.box).toEqual({ x1: 260.144, y1: 59.4236, x2: 555.144, y2: 394.4236 });
    expect(values(blouse, 'collar')).toEqual(['보우칼라']);
    expect(values(blouse, 'neckline')).toEqual(['브이넥']);
    expect(values(blouse, 'sleeveLength')).toEqual(['캡']);
    expect(values(blouse, 'subColor')).toEqual(['실버']);
    expect(values(blouse, 'color')).toEqual(['화이트']);
    expect(values(blouse, 'fit')).toEqual(['루즈']);
    expect(values(blouse, 'length')).toEqual(['노멀']);
    expect(new Set(values(blouse, 'material'))).toEqual(new Set(['우븐', '레이스']));
    expect(values(blouse, 'print')).toEqual(['도트']);
    expect(blouse.polygon).toHaveLength(12);
    expect(blouse.polygon[0]).toEqual({ x: 350.519, y: 63.918 });
    expect(blouse.polygon[11]).toEqual({ x: 450.381, y: 62.9194 });

    const skirt = garment(annotation, SuperCategory.BOTTOM);
    expect(skirt.slotIndex).toBe(0);
    expect(skirt.box).toEqual({ x1: 321.06, y1: 288.216, x2: 504.06, y2: 618.216 });
    expect(values(skirt, 'length')).toEqual(['니렝스']);
    expect(values(skirt, 'collar')).toEqual([]);
    expect(skirt.polygon).toHaveLength(6);
    expect(skirt.polygon[0]).toEqual({ x: 321.56, y: 315.568 });
    expect(skirt.polygon[5]).toEqual({ x: 325.554, y: 310.686 });
  });

  it('keeps the whole file free of problems', () => {
    for (const id of ['100026', '1070263', '1092253']) {
      const file = join(SAMPLES, `${id}.json`);
      const result = parseAnnotation(readFileSync(file, 'utf-8'), file);
      expect(result.problems).toEqual([]);
    }
  });

  it('reads 1070263: white top with 7부소매 and white bottom, no category and no style', () => {
    const annotation = parseSample('1070263');
    expect(annotation.externalId).toBe('1070263');
    expect([annotation.width, annotation.height]).toEqual([800, 1049]);
    expect(annotation.createdAt).toBe('2020-11-12T07:33:57.000Z');
    expect(annotation.styles).toEqual([]);
    const topGarment = garment(annotation, SuperCategory.TOP);
    expect(topGarment.category).toBeNull();
    expect(topGarment.attributes).toEqual([
      { kind: 'color', value: '화이트' },
      { kind: 'sleeveLength', value: '7부소매' },
    ]);
    expect(topGarment.box).toEqual({ x1: 128.504, y1: 106.452, x2: 749.504, y2: 664.452 });
    expect(topGarment.polygon).toHaveLength(65);
    expect(topGarment.polygon[64]).toEqual({ x: 698.004, y: 296.859 });
    const bottom = garment(annotation, SuperCategory.BOTTOM);
    expect(bottom.attributes).toEqual([{ kind: 'color', value: '화이트' }]);
    expect(bottom.box).toEqual({ x1: 240.504, y1: 569.044, x2: 601.504, y2: 1045.044 });
    expect(bottom.polygon).toHaveLength(37);
  });

  it('reads 1092253: grey top with 반팔 and beige bottom', () => {
    const annotation = parseSample('1092253');
    expect(annotation.styles).toEqual([]);
    expect(annotation.garments).toHaveLength(2);
    expect(garment(annotation, SuperCategory.TOP).attributes).toEqual([
      { kind: 'color', value: '그레이' },
      { kind: 'sleeveLength', value: '반팔' },
    ]);
    const bottom = garment(annotation, SuperCategory.BOTTOM);
    expect(bottom.attributes).toEqual([{ kind: 'color', value: '베이지' }]);
    expect(bottom.box).toEqual({ x1: 191.24, y1: 535.898, x2: 579.24, y2: 1042.898 });
    expect(bottom.polygon).toHaveLength(26);
    expect(bottom.polygon[0]).toEqual({ x: 232.683, y: 608.391 });
  });
});

describe('parseAnnotation on bad input', () => {
  it('accepts a UTF-8 byte order mark', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(minimal()), 'utf-8')]);
    const result = parseAnnotation(bytes, 'bom.json');
    expect(result.ok).toBe(true);
    expect(result.ok && result.annotation.garments[0].category).toBe('티셔츠');
  });

  it('rejects truncated JSON with the parser message and position', () => {
    const text = JSON.stringify(minimal());
    const result = parseAnnotation(text.slice(0, 50), 'cut.json');
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0].reason).toMatch(/^invalid JSON: .*position 50/);
    const bad = parseAnnotation('{"a": 1,, }', 'bad.json');
    expect(bad.problems[0].reason).toMatch(/^invalid JSON: .*position 8/);
  });

  it('rejects invalid UTF-8 bytes', () => {
    const result = parseAnnotation(Buffer.from([0x7b, 0xff, 0x7d]), 'latin.json');
    expect(result.ok).toBe(false);
    expect(result.problems[0].reason).toMatch(/UTF-8/);
  });

  it('rejects a file whose width is an object, naming the field', () => {
    const json = minimal();
    json['이미지 정보']['이미지 너비'] = { value: 100 };
    const result = parse(json);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ field: '이미지 정보.이미지 너비', reason: 'expected a number, got an object' }]);
  });

  it('rejects a file whose 렉트좌표 is not an object', () => {
    const json = minimal();
    top(json)['렉트좌표'] = 'none';
    const result = parse(json);
    expect(result.ok).toBe(false);
    expect(result.problems[0].field).toBe(`${DETAILS}.렉트좌표`);
  });

  it('rejects only the garment whose rect width is not a number, naming the JSON path', () => {
    const json = minimal();
    top(json)['렉트좌표']['하의'] = [{ X좌표: 5, Y좌표: 5, 가로: 10, 세로: 10 }];
    top(json)['라벨링']['하의'] = [{ 카테고리: '팬츠' }];
    top(json)['렉트좌표']['상의'][0]['가로'] = 'wide';
    const result = parseOk(json);
    expect(result.annotation.garments.map((g) => g.category)).toEqual(['팬츠']);
    expect(result.problems).toEqual([
      {
        field: `${DETAILS}.렉트좌표.상의[0].가로`,
        reason: 'expected a number, got string "wide"',
        garment: { superCategory: SuperCategory.TOP, slotIndex: 0 },
      },
    ]);
  });

  it('accepts numeric strings as numbers', () => {
    const json = minimal();
    json['이미지 정보'] = { '이미지 식별자': '00042', '이미지 높이': '200', '이미지 너비': ' 100 ' };
    top(json)['렉트좌표']['상의'][0] = { X좌표: '10.5', Y좌표: '20', 가로: '30', 세로: 40 };
    const result = parseOk(json);
    expect(result.annotation).toMatchObject({ externalId: '42', width: 100, height: 200, fileName: '' });
    expect(result.annotation.garments[0].box).toEqual({ x1: 10.5, y1: 20, x2: 40.5, y2: 60 });
    expect(result.problems).toEqual([]);
  });

  it('rejects a zero-area box', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'][0]['세로'] = 0;
    const result = parseOk(json);
    expect(result.annotation.garments).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({
      field: `${DETAILS}.렉트좌표.상의[0]`,
      garment: { superCategory: SuperCategory.TOP, slotIndex: 0 },
    });
    expect(result.problems[0].reason).toMatch(/^zero-area box/);
    expect(result.problems[0].repaired).toBeUndefined();
  });

  it('rejects labels without a box (and without a polygon)', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'] = [{}];
    top(json)['폴리곤좌표']['상의'] = [{}];
    const result = parseOk(json);
    expect(result.annotation.garments).toEqual([]);
    expect(result.problems).toEqual([
      { field: `${DETAILS}.렉트좌표.상의[0]`, reason: 'labels but no box', garment: { superCategory: SuperCategory.TOP, slotIndex: 0 } },
    ]);
  });

  it('takes the box from the polygon when the rect is missing, and says so', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'] = [{}];
    const result = parseOk(json);
    expect(result.annotation.garments[0].box).toEqual({ x1: 10, y1: 20, x2: 40, y2: 60 });
    expect(result.problems[0]).toMatchObject({ repaired: true, field: `${DETAILS}.렉트좌표.상의[0]` });
  });

  it('clips a box partly outside the image and records the repair', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'][0] = { X좌표: -5, Y좌표: 150, 가로: 30, 세로: 80 };
    top(json)['폴리곤좌표']['상의'][0]['Y좌표3'] = 230;
    const result = parseOk(json);
    const [clipped] = result.annotation.garments;
    expect(clipped.box).toEqual({ x1: 0, y1: 150, x2: 25, y2: 200 });
    expect(clipped.polygon[2]).toEqual({ x: 25, y: 200 });
    expect(result.problems).toEqual([
      {
        field: `${DETAILS}.렉트좌표.상의[0]`,
        reason: 'box outside the image, clipped from (-5, 150, 25, 230) to (0, 150, 25, 200)',
        garment: { superCategory: SuperCategory.TOP, slotIndex: 0 },
        repaired: true,
      },
      expect.objectContaining({ field: `${DETAILS}.폴리곤좌표.상의[0]`, repaired: true }),
    ]);
  });

  it('rejects a box entirely outside the image', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'][0] = { X좌표: 150, Y좌표: 10, 가로: 30, 세로: 30 };
    const result = parseOk(json);
    expect(result.annotation.garments).toEqual([]);
    expect(result.problems[0].reason).toMatch(/entirely outside the 100x200 image/);
  });

  it('normalises 노말 to 노멀, keeps unknown values, and accepts one string for a multi-valued kind', () => {
    const json = minimal();
    top(json)['라벨링']['상의'] = [
      { 카테고리: '티셔츠', 핏: '노말', 기장: ' 노말 ', 색상: '무지개색', 소재: '면', 디테일: ['포켓', '포켓', '', '반짝이'] },
    ];
    const result = parseOk(json);
    expect(result.problems).toEqual([]);
    expect(result.annotation.garments[0].attributes).toEqual([
      { kind: 'category', value: '티셔츠' },
      { kind: 'color', value: '무지개색' },
      { kind: 'length', value: '노멀' },
      { kind: 'fit', value: '노멀' },
      { kind: 'material', value: '면' },
      { kind: 'detail', value: '포켓' },
      { kind: 'detail', value: '반짝이' },
    ]);
  });

  it('drops a wrongly typed label value, keeps the garment, and names the field', () => {
    const json = minimal();
    top(json)['라벨링']['상의'][0]['색상'] = { hex: '#000' };
    top(json)['라벨링']['상의'][0]['칼라'] = '셔츠칼라';
    const result = parseOk(json);
    expect(result.annotation.garments[0].attributes).toEqual([{ kind: 'category', value: '티셔츠' }]);
    expect(result.problems.map((problem) => [problem.field, problem.repaired])).toEqual([
      [`${DETAILS}.라벨링.상의[0].색상`, true],
      [`${DETAILS}.라벨링.상의[0].칼라`, true],
    ]);
  });

  it('rejects a file without an identifier, or with a non-positive height', () => {
    const json = minimal();
    delete json['이미지 정보']['이미지 식별자'];
    expect(parse(json)).toEqual({ ok: false, problems: [{ field: '이미지 정보.이미지 식별자', reason: 'missing image identifier' }] });
    const flat = minimal();
    flat['이미지 정보']['이미지 높이'] = 0;
    expect(parse(flat)).toEqual({ ok: false, problems: [{ field: '이미지 정보.이미지 높이', reason: 'must be positive, got 0' }] });
  });

  it('orders polygon points by N numerically and drops a point missing a coordinate', () => {
    const json = minimal();
    top(json)['폴리곤좌표']['상의'] = [{ X좌표10: 1, Y좌표10: 10, X좌표2: 2, Y좌표2: 2, X좌표1: 3, Y좌표1: 1, X좌표3: 9, Y좌표7: 7 }];
    const result = parseOk(json);
    expect(result.annotation.garments[0].polygon).toEqual([
      { x: 3, y: 1 },
      { x: 2, y: 2 },
      { x: 1, y: 10 },
    ]);
    expect(result.problems.map((problem) => problem.field)).toEqual([
      `${DETAILS}.폴리곤좌표.상의[0].Y좌표3`,
      `${DETAILS}.폴리곤좌표.상의[0].X좌표7`,
    ]);
  });

  it('reads several garments in one slot, matching rect[i], polygon[i] and labels[i]', () => {
    const json = minimal();
    top(json)['렉트좌표']['상의'].push({ X좌표: 50, Y좌표: 100, 가로: 20, 세로: 20 });
    top(json)['폴리곤좌표']['상의'].push({});
    top(json)['라벨링']['상의'].push({ 카테고리: '셔츠', 프린트: ['체크', '스트라이프'] });
    const result = parseOk(json);
    expect(result.annotation.garments.map((g) => [g.slotIndex, g.category, g.box.x1, g.polygon.length])).toEqual([
      [0, '티셔츠', 10, 3],
      [1, '셔츠', 50, 0],
    ]);
  });

  it('keeps a box without labels as an unlabelled garment and reports it', () => {
    const json = minimal();
    top(json)['라벨링']['상의'] = [{}];
    const result = parseOk(json);
    expect(result.annotation.garments).toHaveLength(1);
    expect(result.annotation.garments[0]).toMatchObject({ category: null, attributes: [] });
    expect(result.problems).toEqual([
      expect.objectContaining({ reason: 'box but no labels; kept as an unlabelled garment', repaired: true }),
    ]);
  });

  it('treats [{}], {} and [] as "no garment"', () => {
    const json = minimal();
    top(json)['렉트좌표']['하의'] = {};
    top(json)['폴리곤좌표']['하의'] = [];
    delete top(json)['라벨링']['하의'];
    const result = parseOk(json);
    expect(result.annotation.garments.map((g) => g.superCategory)).toEqual([SuperCategory.TOP]);
    expect(result.problems).toEqual([]);
  });

  it('reads styles with sub-styles, reports an unparseable date without rejecting', () => {
    const json = minimal();
    top(json)['라벨링']['스타일'] = [{ 스타일: '로맨틱', 서브스타일: '페미닌' }, { 스타일: '스트리트' }];
    json['데이터셋 정보']['파일 생성일자'] = '2020-02-31 10:00:00';
    const result = parseOk(json);
    expect(result.annotation.styles).toEqual([
      { style: '로맨틱', subStyle: '페미닌' },
      { style: '스트리트', subStyle: null },
    ]);
    expect(result.annotation.createdAt).toBeNull();
    expect(result.problems).toEqual([
      { field: '데이터셋 정보.파일 생성일자', reason: 'unparseable date "2020-02-31 10:00:00"; stored as null', repaired: true },
    ]);
  });
});

describe('parseAnnotation on randomly damaged real files', () => {
  const WEIRD_VALUES = [null, 0, -1, '', 'x', '12', [], [{}], {}, { a: 1 }, true, [1, 2], [[]], 'NaN', -5000, 5000];

  function jsonPaths(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
    if (prefix.length > 0) out.push(prefix);
    if (value && typeof value === 'object') for (const key of Object.keys(value)) jsonPaths((value as any)[key], [...prefix, key], out);
    return out;
  }

  it('never throws, and every garment it keeps has a non-empty box inside the image', () => {
    const sample = JSON.parse(readFileSync(join(SAMPLES, '100026.json'), 'utf-8'));
    const paths = jsonPaths(sample);
    const random = new Random(2024);
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      const damaged = JSON.parse(JSON.stringify(sample));
      for (let edit = random.int(1, 3); edit > 0; edit--) {
        const path = random.pick(paths);
        const parent = path.slice(0, -1).reduce((node: any, key) => (node && typeof node === 'object' ? node[key] : undefined), damaged);
        if (!parent || typeof parent !== 'object') continue;
        if (random.chance(0.2)) delete parent[path[path.length - 1]];
        else parent[path[path.length - 1]] = random.pick(WEIRD_VALUES);
      }
      const text = JSON.stringify(damaged);
      const result = parseAnnotation(random.chance(0.1) ? text.slice(0, random.int(0, text.length - 1)) : text, 'damaged.json');
      for (const problem of result.problems) expect(problem.reason.length).toBeGreaterThan(0);
      if (!result.ok) {
        expect(result.problems.some((problem) => problem.garment === undefined && !problem.repaired)).toBe(true);
        continue;
      }
      accepted++;
      const { width, height, garments } = result.annotation;
      for (const { box } of garments) {
        expect(box.x1 >= 0 && box.y1 >= 0 && box.x2 <= width && box.y2 <= height).toBe(true);
        expect(box.x2 > box.x1 && box.y2 > box.y1).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
