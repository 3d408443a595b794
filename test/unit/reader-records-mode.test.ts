import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCloudTrailRecords } from '../../lambda/domain/reading/cloudtrail-reader';
import { propertyRuns } from '../support/property-seed';

/**
 * The structural scan runs from record to record on its own while `},{` follows (records mode), and hands back
 * to the reader's state machine at a chunk's end, between records written otherwise, after 1,024 records,
 * and at any error. Wherever it hands back, the reader must read exactly what JSON.parse reads, parse exactly
 * the records that hold a needle of every group, and fail the same way.
 */

/** The reader takes plain input in batches of 256 KiB (INPUT_BATCH_BYTES): a first piece this long is a chunk. */
const BATCH = 256 * 1024;
/** A first record long enough that the chunk boundary can fall anywhere in the records after it. */
const PAD = { pad: 'x'.repeat(BATCH) };

const tricky = fc.string({
  unit: fc.constantFrom('a', '"', '\\', '{', '}', '[', ']', ',', ':', 'é', ' ', 'Describe', 'Instances'),
  maxLength: 12,
});
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(tricky, fc.constant('DescribeInstances'), fc.integer(), fc.constant(null)),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(tricky, tie('node'), { maxKeys: 3 }),
  ),
})).node;
const record = fc.dictionary(fc.oneof(tricky, fc.constant('eventName')), value, { maxKeys: 4 });
const needle = fc
  .constantFrom('"DescribeInstances"', '\\u', '"Describe', 'Instances"}', '},{', '"', 'é', '{')
  .map((text) => Buffer.from(text, 'utf8'));
const groups = fc.array(fc.array(needle, { minLength: 1, maxLength: 4 }), { maxLength: 2 });
/** How records are separated: as CloudTrail writes them, or with whitespace the scan hands back on. */
const separator = fc.constantFrom(',', ',', ',', ', ', '\n,', ',\n ');

function logText(records: readonly unknown[], separators: readonly string[]): string {
  const texts = records.map((r) => JSON.stringify(r));
  const joined = texts.map((text, index) =>
    index === 0 ? text : `${separators[index % separators.length] ?? ','}${text}`,
  );
  return `{"Records":[${joined.join('')}]}`;
}

interface Outcome {
  readonly records: unknown[];
  readonly count?: number;
  readonly error?: string;
}

/** Reads `bytes` as the pieces given (each piece of at least BATCH bytes is a chunk of its own). */
async function read(pieces: readonly Buffer[], needles: Buffer[][]): Promise<Outcome> {
  const records: unknown[] = [];
  try {
    const stats = await readCloudTrailRecords(Readable.from(pieces), {
      objectName: 'generated',
      needles,
      onRecord: (r) => records.push(r),
    });
    return { records, count: stats.records };
  } catch (error) {
    return { records, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** Cut after the pad record, at `at` (modulo) within the rest. */
function cutAfterPad(bytes: Buffer, padEnd: number, at: number): Buffer[] {
  const cut = padEnd + (at % (bytes.length - padEnd));
  return [bytes.subarray(0, cut), bytes.subarray(cut)];
}

describe('the records mode of the structural scan', () => {
  it('reads what JSON.parse reads and parses exactly the records holding every group’s needle, chunks ending anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 12 }),
        fc.array(separator, { minLength: 1, maxLength: 4 }),
        groups,
        fc.nat(),
        async (records, separators, needleGroups, at) => {
          // Prepare
          const all = [PAD, ...records];
          const text = logText(all, separators);
          const bytes = Buffer.from(text);
          const padEnd = Buffer.byteLength(`{"Records":[${JSON.stringify(PAD)}`);
          const expected = all.filter((r) => {
            const own = Buffer.from(JSON.stringify(r));
            return needleGroups.every((group) => group.some((n) => own.includes(n)));
          });

          // Act
          const whole = await read([bytes], needleGroups);
          const cut = await read(cutAfterPad(bytes, padEnd, at), needleGroups);

          // Assess
          expect(whole).toEqual({ records: expected, count: all.length });
          expect(cut).toEqual(whole);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });

  it('fails where JSON.parse fails, the same way wherever the chunk ends, after the same records', async () => {
    const mutation = fc.constantFrom(',', '{', '}', '[', ']', '"', '\\', ' ', 'x', '1', ':', '');
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        fc.array(separator, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        mutation,
        fc.nat(),
        async (records, separators, where, replacement, at) => {
          // Prepare: one byte of the records after the pad replaced (or removed).
          const text = logText([PAD, ...records], separators);
          const padEnd = Buffer.byteLength(`{"Records":[${JSON.stringify(PAD)}`);
          const position = padEnd + (where % (text.length - padEnd));
          const mutated = Buffer.from(`${text.slice(0, position)}${replacement}${text.slice(position + 1)}`);
          let parsedRecords: unknown[] | undefined;
          try {
            parsedRecords = (JSON.parse(mutated.toString()) as { Records: unknown[] }).Records;
          } catch {
            parsedRecords = undefined;
          }

          // Act
          const whole = await read([mutated], []);
          const cut = await read(cutAfterPad(mutated, padEnd, at), []);

          // Assess
          if (whole.error === undefined) expect(whole.records).toEqual(parsedRecords);
          if (parsedRecords === undefined) expect(whole.error).toBeDefined();
          expect(cut).toEqual(whole);
        },
      ),
      { numRuns: propertyRuns(300) },
    );
  });

  it('goes on past 1,024 records in one chunk, each record once, in order', async () => {
    // Prepare: every seventh record holds the needle.
    const records = Array.from({ length: 5000 }, (_, index) => ({
      eventName: index % 7 === 0 ? 'DescribeInstances' : 'DescribeVolumes',
      index,
    }));
    const bytes = Buffer.from(JSON.stringify({ Records: records }));

    // Act
    const outcome = await read([bytes], [[Buffer.from('"DescribeInstances"')]]);

    // Assess
    expect(outcome).toEqual({ records: records.filter((_, index) => index % 7 === 0), count: 5000 });
  });

  it('reads an object the same whatever was read before it and whatever is read beside it', async () => {
    // Readers reuse the scan's WebAssembly instances: none may carry a stack, needles, a record list or a
    // chunk of one object into the next, however the earlier one ended (malformed, nested past the limit,
    // stopped inside a record), nor share one with a reader running at the same time.
    const before = fc.oneof(
      fc.array(record, { maxLength: 6 }).map((records) => Buffer.from(logText(records, [',']))),
      fc.constantFrom(
        Buffer.from('{"Records":[{"a":"DescribeInstances","b":[[[[{"c":1}'),
        Buffer.from(`{"Records":[{"deep":${'['.repeat(300)}`),
        Buffer.from('{"Records":[{"a":1},{"b":}'),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 8 }),
        groups,
        fc.array(fc.tuple(before, groups), { maxLength: 4 }),
        async (records, needleGroups, earlier) => {
          // Prepare
          const bytes = Buffer.from(logText(records, [',']));
          const first = await read([bytes], needleGroups);
          const reads: [Buffer, Buffer[][]][] = [[bytes, needleGroups], ...earlier];
          const alone: Outcome[] = [];
          for (const [object, objectGroups] of reads) alone.push(await read([object], objectGroups));

          // Act
          const after = await read([bytes], needleGroups);
          const beside = await Promise.all(
            reads.map(([object, objectGroups]) => read([object], objectGroups)),
          );

          // Assess
          expect(after).toEqual(first);
          expect(beside).toEqual(alone);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });
});
