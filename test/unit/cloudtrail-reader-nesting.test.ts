import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../../lambda/domain/cloudtrail-reader';
import { MalformedJsonError } from '../../lambda/domain/errors';
import { propertyRuns } from '../support/property-seed';
import { readAll, readError } from './cloudtrail-reader-helpers';

const BEFORE = { eventName: 'DescribeInstances', awsRegion: 'us-east-1' };
const AFTER = { eventName: 'DescribeInstances', awsRegion: 'eu-west-1' };

/** `{"Records":[BEFORE,{"deep":<nesting>},AFTER]}` with the nesting written as given. */
function withNestedRecord(nesting: string): Buffer {
  return Buffer.from(
    `{"Records":[${JSON.stringify(BEFORE)},{"eventName":"DescribeInstances","deep":${nesting}},${JSON.stringify(AFTER)}]}`,
  );
}

/** `levels` arrays, one inside the other, around `inner`. */
const arrays = (levels: number, inner = '') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;

/** Inside the top-level object (1), `Records` (2) and the record (3), the nesting a record may still open. */
const LEVELS_LEFT = MAX_NESTING_DEPTH - 3;

describe('a record nested deeper than the limit', () => {
  it.each([
    { case: 'in one chunk', sizes: undefined },
    { case: 'in 1-byte chunks', sizes: [1] },
    { case: 'in 7-byte chunks', sizes: [7] },
    { case: 'in 4 KB chunks', sizes: [4096] },
  ])('100,000 levels $case: skipped and reported, the records around it read', async ({ sizes }) => {
    // Prepare
    const skipped: string[] = [];
    const bytes = withNestedRecord(arrays(100_000));

    // Act
    const { stats, records } = await readAll(
      bytes,
      { onSkippedRecord: (reason) => skipped.push(reason) },
      sizes,
    );

    // Assess
    expect(records).toEqual([BEFORE, AFTER]);
    expect(stats).toMatchObject({ records: 3, parsed: 2, tooDeep: 1 });
    expect(skipped).toEqual([`record 1 is nested deeper than ${MAX_NESTING_DEPTH}`]);
  });

  it('at the limit it is read; one level more and it is skipped', async () => {
    // Act
    const atLimit = await readAll(withNestedRecord(arrays(LEVELS_LEFT)));
    const past = await readAll(withNestedRecord(arrays(LEVELS_LEFT + 1)));

    // Assess
    expect({ read: atLimit.records.length, tooDeep: atLimit.stats.tooDeep }).toEqual({ read: 3, tooDeep: 0 });
    expect({ read: past.records.length, tooDeep: past.stats.tooDeep }).toEqual({ read: 2, tooDeep: 1 });
  });

  it('strings holding brackets, quotes and escapes past the limit do not end it early', async () => {
    // Prepare
    const inner = '"]]}}\\"[[", {"k\\\\":"}\\\\"}, "\\u005d"';
    const bytes = withNestedRecord(arrays(LEVELS_LEFT + 5, inner));

    // Act
    const { stats, records } = await readAll(bytes, {}, [3]);

    // Assess
    expect(records).toEqual([BEFORE, AFTER]);
    expect(stats.tooDeep).toBe(1);
  });

  it.each([
    {
      case: 'a mismatched bracket past the limit',
      nesting: `${'['.repeat(LEVELS_LEFT + 3)}}${']'.repeat(LEVELS_LEFT + 2)}`,
    },
    { case: 'an unclosed record past the limit', nesting: '['.repeat(LEVELS_LEFT + 3) },
  ])('$case is malformed JSON: the object is poison', async ({ nesting }) => {
    // Prepare
    const bytes = Buffer.from(`{"Records":[${JSON.stringify(BEFORE)},{"deep":${nesting}`);

    // Act
    const error = await readError(bytes);

    // Assess
    expect(error).toBeInstanceOf(MalformedJsonError);
  });

  it('nesting past the limit outside Records is still malformed input', async () => {
    // Act
    const error = await readError(Buffer.from(`{"other":${arrays(200)},"Records":[]}`));

    // Assess
    expect(error).toBeInstanceOf(MalformedJsonError);
    expect((error as Error).message).toContain(`nesting deeper than ${MAX_NESTING_DEPTH}`);
  });

  it('any deep content among any records, cut anywhere: the others are read exactly, the deep ones skipped', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', '"', '\\', '{', '}', '[', ']', ','), maxLength: 8 });
    const shallow = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(text, fc.integer()), { maxKeys: 3 });
    const entry = fc.oneof(
      shallow.map((record) => ({ record, deep: false })),
      fc
        .tuple(fc.integer({ min: 1, max: 300 }), fc.array(text, { maxLength: 3 }))
        .map(([extra, strings]) => ({
          record: { strings, levels: LEVELS_LEFT + extra },
          deep: true,
        })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }),
        async (entries, sizes) => {
          // Prepare
          const parts = entries.map(({ record, deep }) => {
            if (!deep) return JSON.stringify(record);
            const { strings, levels } = record as { strings: string[]; levels: number };
            const inner = strings.map((s) => JSON.stringify(s)).join(',');
            return `{"deep":${arrays(levels, inner)}}`;
          });
          const bytes = Buffer.from(`{"Records":[${parts.join(',')}]}`);

          // Act
          const { stats, records } = await readAll(bytes, {}, sizes);

          // Assess
          expect(records).toEqual(entries.filter(({ deep }) => !deep).map(({ record }) => record));
          expect(stats.tooDeep).toBe(entries.filter(({ deep }) => deep).length);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });
});
