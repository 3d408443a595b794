import { describe, expect, it } from 'vitest';
import { truncate } from '../../lambda/domain/alerting/sizing';

describe('truncate', () => {
  it.each([
    {
      case: 'a value at the limit stays whole',
      value: 'abcde',
      max: 5,
      unit: 'codePoints',
      expected: 'abcde',
    },
    {
      case: 'a longer value ends in an ellipsis that counts',
      value: 'abcdef',
      max: 5,
      unit: 'codePoints',
      expected: 'abcd\u2026',
    },
    {
      case: 'emoji count one code point each',
      value: '\u{1F600}'.repeat(5),
      max: 5,
      unit: 'codePoints',
      expected: '\u{1F600}'.repeat(5),
    },
    {
      case: 'emoji cut by code points stay whole',
      value: '\u{1F600}'.repeat(6),
      max: 5,
      unit: 'codePoints',
      expected: `${'\u{1F600}'.repeat(4)}\u2026`,
    },
    {
      case: 'emoji count two UTF-16 units each',
      value: '\u{1F600}'.repeat(3),
      max: 5,
      unit: 'utf16Units',
      expected: `${'\u{1F600}'.repeat(2)}\u2026`,
    },
    {
      case: 'a UTF-16 cut never splits a pair',
      value: `a${'\u{1F600}'.repeat(3)}`,
      max: 5,
      unit: 'utf16Units',
      expected: `a${'\u{1F600}'}\u2026`,
    },
    {
      case: 'a value within the UTF-16 limit stays whole',
      value: 'a\u{1F600}',
      max: 3,
      unit: 'utf16Units',
      expected: 'a\u{1F600}',
    },
    { case: 'no room leaves nothing', value: 'abc', max: 0, unit: 'codePoints', expected: '' },
  ] as const)('$case', ({ value, max, unit, expected }) => {
    // Act
    const cut = truncate(value, max, unit);

    // Assess
    expect(cut).toBe(expected);
  });

  it.each(['codePoints', 'utf16Units'] as const)(
    'measured in %s, a cut value is never longer than the limit',
    (unit) => {
      // Prepare
      const value = `x${'\u{1F600}y'.repeat(50)}`;
      const length = (text: string) => (unit === 'codePoints' ? Array.from(text).length : text.length);

      // Act
      const lengths = Array.from({ length: 40 }, (_, max) => length(truncate(value, max + 1, unit)));

      // Assess
      expect(lengths.filter((cut, max) => cut > max + 1)).toEqual([]);
    },
  );
});
