import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCloudTrailRecords } from '../../lambda/domain/cloudtrail-reader';
import { propertyRuns } from '../support/property-seed';
import { chunked } from './cloudtrail-reader-helpers';

/**
 * The reader searches the first needle group inside its WebAssembly structural scan (one pass over the bytes)
 * and the other groups, and groups the scan cannot take, in each record's bytes. Either way the prefilter
 * must be exactly "every group has a needle somewhere in the record's bytes": nothing more, nothing less.
 */

/** Pieces that make needles appear whole, cut, escaped, at a record's edges, or almost. */
const piece = fc.constantFrom(
  'DescribeInstances',
  'Describe',
  'Instances',
  'ec2.amazonaws.com',
  '\\u0044',
  'u',
  '\\',
  '"',
  '{',
  '}',
  ']',
  'x',
  'é',
  ' ',
);
const text = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(text, fc.constant('DescribeInstances'), fc.integer(), fc.constant(null)),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(text, tie('node'), { maxKeys: 3 }),
  ),
})).node;
const record = fc.dictionary(fc.oneof(text, fc.constant('eventName')), value, { maxKeys: 5 });

/** Needles as prefilterNeedles writes them, and short or odd ones a user rule could give. */
const needle = fc
  .constantFrom(
    '"DescribeInstances"',
    '"ec2.amazonaws.com"',
    '"Describe',
    '\\u',
    'Instances"}',
    'x',
    '"',
    'é',
    '"eventName":"DescribeInstances"',
  )
  .map((s) => Buffer.from(s, 'utf8'));
/** The reader's batch of plain input (INPUT_BATCH_BYTES in cloudtrail-reader.ts). */
const BATCH = 256 * 1024;
const groups = fc.array(fc.array(needle, { minLength: 1, maxLength: 6 }), { maxLength: 3 });

describe('the prefilter with the needle search in the structural scan', () => {
  it('parses exactly the records whose bytes hold a needle of every group, cut into chunks anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 10 }),
        groups,
        fc.array(fc.nat(), { maxLength: 6 }),
        async (records, needleGroups, cuts) => {
          // Prepare
          const texts = records.map((r) => JSON.stringify(r));
          const bytes = Buffer.from(`{"Records":[${texts.join(',')}]}`);
          const expected = records.filter((_, index) => {
            const own = Buffer.from(texts[index] ?? '');
            return needleGroups.every((group) => group.some((n) => own.includes(n)));
          });
          const parsed: unknown[] = [];

          // Act
          const stats = await readCloudTrailRecords(Readable.from(chunked(bytes, cuts)), {
            objectName: 'generated',
            needles: needleGroups,
            onRecord: (r) => parsed.push(r),
          });

          // Assess
          expect(stats.records).toBe(records.length);
          expect(parsed).toEqual(expected);
        },
      ),
      { numRuns: propertyRuns(400) },
    );
  });

  it.each([
    {
      case: 'a needle ending at the record’s closing brace',
      json: '{"Records":[{"a":"Instances"}]}',
      hits: 1,
    },
    {
      // The reader takes plain input in batches of 256 KiB: here the record's `}` is a batch's last byte.
      case: 'a needle ending at the record’s closing brace, where the chunk ends too',
      json: `{"Records":[{"pad":"${'x'.repeat(BATCH - 40)}"},{"a":"Instances"}]}`,
      hits: 2,
    },
    {
      case: 'a needle running past the record into the next',
      json: '{"Records":[{"a":"Inst"},{"b":"ances"}]}',
      hits: 0,
    },
    { case: 'a needle only between records', json: '{"Records":[{"a":1}, {"b":2}]}', hits: 0 },
  ])('$case', async ({ json, hits }) => {
    // Prepare
    const needles = [
      [Buffer.from('Instances"}'), Buffer.from('"},{"b":"ances'), Buffer.from('}, {'), Buffer.from('xx"}')],
    ];
    const bytes = Buffer.from(json);
    const parsed: unknown[] = [];

    // Act
    await readCloudTrailRecords(Readable.from([bytes.subarray(0, BATCH), bytes.subarray(BATCH)]), {
      objectName: 'edge',
      needles,
      onRecord: (r) => parsed.push(r),
    });

    // Assess
    expect(parsed).toHaveLength(hits);
  });
});
