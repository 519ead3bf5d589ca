/**
 * The web console's pure logic, without a browser: the search ↔ URL ↔ GarmentWhere mapping, the
 * pairing of predicted with annotated garments, the "More like this" and shop-the-look URLs, the Start
 * training form's values as a StartTrainingInput, the messages of failed subscriptions, how dates are
 * shown, the box geometry and keyboard shortcuts of garment editing, and the review queue's options in
 * URLs.
 */
import type { SuperCategory } from '../../web/src/gql/graphql';
import { boxFromPoints, dragBox, shortcutOf } from '../../web/src/box-editing';
import { iou, ImageGarment, pairGarments } from '../../web/src/image-model';
import { DEFAULT_REVIEW, formatReviewOptions, parseReviewOptions, reviewImageHref, reviewOptionsOf } from '../../web/src/review-api';
import { dateTimeText } from '../../web/src/dates';
import {
  DEFAULT_MIN_SCORE,
  emptySearch,
  formatSearch,
  isMinScore,
  parseSearch,
  toggleValue,
  toGarmentWhere,
} from '../../web/src/search-state';
import { formatLookQuery, parseLookQuery, parseSimilar, similarPath, similarWhere } from '../../web/src/similar-state';
import { FieldProblem, startTrainingInput } from '../../web/src/start-training-input';
import { subscriptionError } from '../../web/src/subscription-error';

describe('search state', () => {
  it('round-trips through the query string, Korean values and repeated keys included', () => {
    let state = toggleValue(emptySearch(), 'color', '블랙');
    state = toggleValue(state, 'color', '화이트');
    state = toggleValue(state, 'superCategory', 'TOP');
    state = { ...state, source: 'PREDICTION', modelVersionId: 'TW9kZWxWZXJzaW9uOjM', minScore: 0.5, split: 'VALIDATION' };
    const query = formatSearch(state);
    expect(query).toBe(
      `?superCategory=TOP&color=${encodeURIComponent('블랙')}&color=${encodeURIComponent('화이트')}&split=VALIDATION&source=PREDICTION&model=TW9kZWxWZXJzaW9uOjM&minScore=0.5`,
    );
    expect(parseSearch(query)).toEqual(state);
    expect(formatSearch(emptySearch())).toBe('');
  });

  it('ignores unknown keys and out-of-range options from a hand-edited URL', () => {
    expect(parseSearch('?colour=red&model=%3Cb%3E&minScore=7&split=test&source=other&color=&color=red&color=red')).toEqual({
      ...emptySearch(),
      selected: { color: ['red'] },
    });
  });

  it('opens the predictions at the default minimum score, which the URL then carries; 0 is kept as chosen', () => {
    const predictions = parseSearch('?source=PREDICTION');
    expect(predictions.minScore).toBe(DEFAULT_MIN_SCORE);
    expect(DEFAULT_MIN_SCORE).toBe(0.5);
    expect(toGarmentWhere(predictions)).toEqual({ source: 'PREDICTION', minScore: 0.5 });
    expect(formatSearch(predictions)).toBe('?source=PREDICTION&minScore=0.5');
    expect(parseSearch(formatSearch({ ...predictions, minScore: 0 })).minScore).toBe(0);
    for (const text of ['', ' ', '-0.1', '1.5', 'abc', null]) expect(isMinScore(text)).toBe(false);
    for (const text of ['0', '0.35', '1']) expect(isMinScore(text)).toBe(true);
  });

  it('ORs values within a kind and ANDs kinds; a kind can be left out for its own facet counts', () => {
    let state = toggleValue(emptySearch(), 'color', '블랙');
    state = toggleValue(state, 'color', '화이트');
    state = toggleValue(state, 'style', '로맨틱');
    expect(toGarmentWhere(state)).toEqual({ source: 'ANNOTATION', color: ['블랙', '화이트'], styles: ['로맨틱'] });
    expect(toGarmentWhere(state, 'color')).toEqual({ source: 'ANNOTATION', styles: ['로맨틱'] });
    // Model version and score apply to predictions only.
    expect(toGarmentWhere({ ...emptySearch(), modelVersionId: '2', minScore: 0.3 })).toEqual({ source: 'ANNOTATION' });
    expect(toGarmentWhere({ ...emptySearch(), source: 'PREDICTION', modelVersionId: '2', minScore: 0.3 })).toEqual({
      source: 'PREDICTION',
      modelVersionId: '2',
      minScore: 0.3,
    });
    // Minimum score 0 is no minimum (scores are never below it).
    expect(toGarmentWhere({ ...emptySearch(), source: 'PREDICTION', minScore: 0 })).toEqual({ source: 'PREDICTION' });
    // Unticking the last value removes the kind.
    expect(toggleValue(toggleValue(emptySearch(), 'fit', '루즈'), 'fit', '루즈').selected).toEqual({});
  });
});

describe('similar garments state', () => {
  const garmentId = 'R2FybWVudDo0Mg';

  it('round-trips filters through the URL, Korean category included, and ignores what cannot be a filter', () => {
    const state = {
      garmentId,
      modelVersionId: 'TW9kZWxWZXJzaW9uOjM',
      source: 'PREDICTION',
      split: 'VALIDATION',
      category: '팬츠',
    } as const;
    const path = similarPath(garmentId, state);
    expect(path).toBe(
      `/similar/${garmentId}?model=TW9kZWxWZXJzaW9uOjM&category=${encodeURIComponent('팬츠')}&split=VALIDATION&source=PREDICTION`,
    );
    expect(parseSimilar(garmentId, path.slice(path.indexOf('?')))).toEqual(state);
    expect(similarPath(garmentId)).toBe(`/similar/${garmentId}`);
    expect(parseSimilar(garmentId, '?model=%3Cb%3E&source=both&split=test&category=')).toEqual({
      garmentId,
      modelVersionId: null,
      source: null,
      split: null,
      category: null,
    });
    // A path segment that cannot be a global id names no garment (and is never sent).
    expect(parseSimilar('42/../x', '')).toBeNull();
    expect(parseSimilar('<script>', '')).toBeNull();
  });

  it('asks for every garment with an embedding when no filter is set, and for exactly the filters set otherwise', () => {
    const none = { garmentId, modelVersionId: 'TW9kZWxWZXJzaW9uOjM', source: null, split: null, category: null };
    // The model version is an argument of its own, not a filter.
    expect(similarWhere(none)).toBeNull();
    expect(similarWhere({ ...none, category: '팬츠', split: 'TRAIN' })).toEqual({ category: ['팬츠'], split: 'TRAIN' });
    expect(similarWhere({ ...none, source: 'ANNOTATION' })).toEqual({ source: 'ANNOTATION' });
  });

  it("names an analysed photo's look by image and model version", () => {
    const target = { imageId: 'SW1hZ2U6Nw', modelVersionId: 'TW9kZWxWZXJzaW9uOjM' };
    expect(formatLookQuery(target)).toBe('?image=SW1hZ2U6Nw&model=TW9kZWxWZXJzaW9uOjM');
    expect(parseLookQuery(formatLookQuery(target))).toEqual(target);
    expect(parseLookQuery('?image=SW1hZ2U6Nw')).toEqual({ imageId: 'SW1hZ2U6Nw', modelVersionId: null });
    expect(parseLookQuery('')).toBeNull();
    expect(parseLookQuery('?image=a%20b&model=x')).toBeNull();
  });
});

describe('dates', () => {
  it('shows a timestamp in ISO order to the minute, in local time', () => {
    // 7 December 2026, 14:03:59 on the test's clock: 07/12/2026 in en-GB, 12/7/2026 in en-US.
    expect(dateTimeText(new Date(2026, 11, 7, 14, 3, 59).toISOString())).toBe('2026-12-07 14:03');
    expect(dateTimeText(new Date(2027, 0, 2, 9, 5).toISOString())).toBe('2027-01-02 09:05');
  });
});

function garment(
  id: string,
  superCategory: SuperCategory,
  box: [number, number, number, number],
  source: 'ANNOTATION' | 'PREDICTION',
): ImageGarment {
  const [x1, y1, x2, y2] = box;
  return {
    id,
    revision: 1,
    superCategory,
    category: null,
    categoryEn: null,
    source,
    score: null,
    box: { x1, y1, x2, y2 },
    polygon: [],
    attributes: [],
    modelVersion: null,
  };
}

describe('pairing predictions with annotations', () => {
  it('computes IoU as intersection over union', () => {
    expect(iou({ x1: 0, y1: 0, x2: 10, y2: 10 }, { x1: 5, y1: 0, x2: 15, y2: 10 })).toBeCloseTo(50 / 150, 12);
    expect(iou({ x1: 0, y1: 0, x2: 10, y2: 10 }, { x1: 10, y1: 0, x2: 20, y2: 10 })).toBe(0);
  });

  it('pairs one-to-one by best IoU within the same slot, at IoU ≥ 0.5, leaving the rest alone', () => {
    const top = garment('a1', 'TOP', [0, 0, 100, 100], 'ANNOTATION');
    const bottom = garment('a2', 'BOTTOM', [0, 100, 100, 200], 'ANNOTATION');
    const goodTop = garment('p1', 'TOP', [5, 5, 100, 100], 'PREDICTION');
    const worseTop = garment('p2', 'TOP', [20, 20, 100, 100], 'PREDICTION');
    const bottomAsOuter = garment('p3', 'OUTER', [0, 100, 100, 200], 'PREDICTION');
    const pairs = pairGarments([top, bottom], [worseTop, goodTop, bottomAsOuter]);
    expect(pairs.map((pair) => [pair.annotation?.id ?? null, pair.prediction?.id ?? null])).toEqual([
      ['a1', 'p1'],
      ['a2', null],
      [null, 'p2'],
      [null, 'p3'],
    ]);
  });
});

describe('start training form values', () => {
  it("turns each field's text into the value its GraphQL type takes, leaving empty fields out", () => {
    const input = startTrainingInput(
      { epochs: ' 2 ', lr: '0.01', lrMilestones: '8, 11', model: '{"min_size": 800}', name: 'short run', batchSize: '' },
      { superCategories: ['TOP', 'OUTER'], attributeKinds: [] },
    );
    expect(input).toEqual({
      epochs: 2,
      lr: 0.01,
      lrMilestones: [8, 11],
      model: { min_size: 800 },
      name: 'short run',
      superCategories: ['TOP', 'OUTER'],
    });
    expect(startTrainingInput({}, {})).toEqual({});
    expect(startTrainingInput({ attributeKinds: 'color, material' }, {})).toEqual({ attributeKinds: ['color', 'material'] });
  });

  it('names the field whose text is not of its type', () => {
    const problem = (texts: Record<string, string>) => {
      try {
        startTrainingInput(texts, {});
      } catch (error) {
        expect(error).toBeInstanceOf(FieldProblem);
        return { field: (error as FieldProblem).field, message: (error as Error).message };
      }
      throw new Error(`no problem with ${JSON.stringify(texts)}`);
    };
    expect(problem({ epochs: 'two' })).toEqual({ field: 'epochs', message: 'epochs: "two" is not a whole number' });
    expect(problem({ epochs: '2.5' })).toEqual({ field: 'epochs', message: 'epochs: "2.5" is not a whole number' });
    expect(problem({ lr: 'fast' })).toEqual({ field: 'lr', message: 'lr: "fast" is not a number' });
    expect(problem({ lrMilestones: '8, x' })).toEqual({ field: 'lrMilestones', message: 'lrMilestones: "x" is not a whole number' });
    expect(problem({ model: '[1]' })).toEqual({ field: 'model', message: 'model: not a JSON object' });
  });
});

describe('subscription errors', () => {
  it('says what graphql-ws reported: an error, the GraphQL errors, or how the socket closed', () => {
    const error = new Error('boom');
    expect(subscriptionError(error)).toBe(error);
    expect(subscriptionError([{ message: 'no run 9' }, { message: 'and more' }]).message).toBe('no run 9; and more');
    expect(subscriptionError({ code: 4403, reason: 'Forbidden' }).message).toBe('subscription closed (4403: Forbidden)');
    expect(subscriptionError({ code: 1006 }).message).toBe('subscription closed (1006)');
    expect(subscriptionError(undefined).message).toBe('no subscription connection at /graphql');
  });
});

describe('box editing', () => {
  const image = { width: 200, height: 100 };
  const box = { x1: 50, y1: 20, x2: 110, y2: 60 };

  it('moves a box by the travel in whole pixels, keeping its size, and stops it at the image edges', () => {
    expect(dragBox(box, 'move', 10.4, -5.6, image)).toEqual({ x1: 60, y1: 14, x2: 120, y2: 54 });
    // Fractional stored edges stay fractional: only the travel is rounded.
    expect(dragBox({ x1: 0.25, y1: 1.5, x2: 10.25, y2: 2.5 }, 'move', 2.6, 0, image)).toEqual({ x1: 3.25, y1: 1.5, x2: 13.25, y2: 2.5 });
    // 60 px wide: its left edge goes no further right than 200 - 60 = 140, nor above 0.
    expect(dragBox(box, 'move', 500, -500, image)).toEqual({ x1: 140, y1: 0, x2: 200, y2: 40 });
    expect(dragBox(box, 'move', -500, 500, image)).toEqual({ x1: 0, y1: 60, x2: 60, y2: 100 });
  });

  it('resizes from each corner, clamped to the image and never past the opposite corner', () => {
    expect(dragBox(box, 'se', 15, 7, image)).toEqual({ x1: 50, y1: 20, x2: 125, y2: 67 });
    expect(dragBox(box, 'nw', -8, 4, image)).toEqual({ x1: 42, y1: 24, x2: 110, y2: 60 });
    expect(dragBox(box, 'ne', 1000, -1000, image)).toEqual({ x1: 50, y1: 0, x2: 200, y2: 60 });
    expect(dragBox(box, 'sw', 1000, -1000, image)).toEqual({ x1: 109, y1: 20, x2: 110, y2: 21 });
    // The edges a corner does not hold are left exactly as stored.
    expect(dragBox({ x1: 260.144, y1: 59.4236, x2: 555.144, y2: 394.4236 }, 'se', 40.3, 24.6, { width: 800, height: 800 })).toEqual({
      x1: 260.144,
      y1: 59.4236,
      x2: 595.144,
      y2: 419.4236,
    });
  });

  it('draws a box between two points in any order, inside the image, and none without area', () => {
    expect(boxFromPoints({ x: 150.2, y: 80 }, { x: 30, y: -10 }, image)).toEqual({ x1: 30, y1: 0, x2: 150, y2: 80 });
    expect(boxFromPoints({ x: 10, y: 10 }, { x: 10.2, y: 50 }, image)).toBeNull();
  });

  it('maps keys to the shortcuts, ignoring them with modifiers they do not take', () => {
    const key = (name: string, modifiers: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
      shortcutOf({ key: name, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...modifiers });
    expect(key('ArrowLeft')).toEqual({ action: 'nudge', dx: -1, dy: 0 });
    expect(key('ArrowDown', { shiftKey: true })).toEqual({ action: 'nudge', dx: 0, dy: 10 });
    expect(key('z', { ctrlKey: true })).toEqual({ action: 'undo' });
    expect(key('z', { metaKey: true })).toEqual({ action: 'undo' });
    expect(key('Delete')).toEqual({ action: 'delete' });
    expect(key('a')).toEqual({ action: 'accept' });
    expect(key('r')).toEqual({ action: 'markReviewed' });
    expect(key('n')).toEqual({ action: 'next' });
    expect(key('Escape')).toEqual({ action: 'deselect' });
    expect(key('a', { ctrlKey: true })).toBeNull();
    expect(key('r', { shiftKey: true })).toBeNull();
    expect(key('x')).toBeNull();
  });
});

describe('review queue options', () => {
  it('round-trip through the Review page URL and the image page link that walks the queue', () => {
    const options = { order: 'RANDOM' as const, seed: 42, split: 'VALIDATION' as const, modelVersionId: 'TW9kZWxWZXJzaW9uOjM' };
    expect(formatReviewOptions(options)).toBe('?order=RANDOM&seed=42&split=VALIDATION&model=TW9kZWxWZXJzaW9uOjM');
    expect(parseReviewOptions(formatReviewOptions(options))).toEqual(options);
    expect(formatReviewOptions(DEFAULT_REVIEW)).toBe('');
    const href = reviewImageHref('SW1hZ2U6Nw', options);
    expect(href).toBe(`/image/SW1hZ2U6Nw?review=${encodeURIComponent('?order=RANDOM&seed=42&split=VALIDATION&model=TW9kZWxWZXJzaW9uOjM')}`);
    expect(reviewOptionsOf(href.slice(href.indexOf('?')))).toEqual(options);
    expect(reviewOptionsOf('?garment=R2FybWVudDox')).toBeNull();
  });

  it('ignores unknown orders, splits and seeds outside GraphQL Int from a hand-edited URL', () => {
    expect(parseReviewOptions('?order=WORST&split=test&seed=99999999999')).toEqual(DEFAULT_REVIEW);
    expect(parseReviewOptions('?seed=-1').seed).toBeNull();
    expect(parseReviewOptions(`?seed=${2 ** 31 - 1}`).seed).toBe(2 ** 31 - 1);
  });
});
