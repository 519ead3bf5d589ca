/** The one id parser: decimal digits within the column's range, nothing else. */
import { isBigintId, MAX_BIGINT_ID, MAX_INTEGER_ID, parseId, parsePositiveId } from '../../src/util/ids';

describe('row ids', () => {
  it('reads decimal digits up to the column maximum', () => {
    expect(parseId('42')).toBe(42n);
    expect(parseId(MAX_BIGINT_ID.toString())).toBe(MAX_BIGINT_ID);
    expect(parseId((MAX_BIGINT_ID + 1n).toString())).toBeNull();
    expect(parseId('99999999999999999999')).toBeNull();
    expect(isBigintId('0')).toBe(true);
  });

  it('refuses signs, exponents, fractions, spaces and the empty string', () => {
    for (const text of ['-1', '+1', '1e3', '1.0', ' 1', '1 ', '', '0x10', '١٢']) expect(parseId(text)).toBeNull();
  });

  it('positive ids of serial columns stop at 2^31 - 1 and exclude 0', () => {
    expect(parsePositiveId('7')).toBe(7);
    expect(parsePositiveId(MAX_INTEGER_ID.toString())).toBe(2_147_483_647);
    expect(parsePositiveId('2147483648')).toBeNull();
    expect(parsePositiveId('0')).toBeNull();
    expect(parsePositiveId('abc')).toBeNull();
  });
});
