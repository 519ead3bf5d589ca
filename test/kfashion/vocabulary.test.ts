import { englishLabel, normaliseValue, resolveValue, LABELS_BY_KIND } from '../../src/kfashion/vocabulary';
import { ATTRIBUTE_KINDS } from '../../src/kfashion/types';

describe('vocabulary', () => {
  it('gives the English label of a known value and null for an unknown one', () => {
    expect(englishLabel('collar', '보우칼라')).toBe('bow');
    expect(englishLabel('sleeveLength', '7부소매')).toBe('three-quarter');
    expect(englishLabel('category', '스커트')).toBe('skirt');
    expect(englishLabel('color', '무지개색')).toBeNull();
    expect(englishLabel('color', 'black')).toBeNull();
  });

  it('resolves Korean, English and differently cased English to the stored Korean value', () => {
    expect(resolveValue('color', '블랙')).toBe('블랙');
    expect(resolveValue('color', 'black')).toBe('블랙');
    expect(resolveValue('color', 'Sky Blue')).toBe('스카이블루');
    expect(resolveValue('collar', 'peter pan')).toBe('피터팬칼라');
    expect(resolveValue('fit', '노말')).toBe('노멀');
    expect(resolveValue('neckline', '  원   숄더 ')).toBe('원 숄더');
  });

  it('passes unknown values through unchanged (after trimming)', () => {
    expect(resolveValue('detail', ' 반짝이 ')).toBe('반짝이');
    expect(resolveValue('color', 'Ultraviolet')).toBe('Ultraviolet');
    expect(normaliseValue('노말')).toBe('노멀');
  });

  it('has a table for every attribute kind whose English labels are unique within the kind', () => {
    for (const kind of ATTRIBUTE_KINDS) {
      const english = Object.values(LABELS_BY_KIND[kind]).map((label) => label.toLowerCase());
      expect(new Set(english).size).toBe(english.length);
    }
  });
});
