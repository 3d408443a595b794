import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/built-in-rules';
import { readCloudTrailRecords } from '../../lambda/domain/cloudtrail-reader';
import {
  CorruptGzipError,
  LogObjectLimitError,
  MalformedJsonError,
  NotCloudTrailShapeError,
} from '../../lambda/domain/errors';
import { prefilterNeedles } from '../../lambda/domain/rule';
import { chunked, gzip, logFile, readError } from './cloudtrail-reader-helpers';

const OBJECT = 'AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/trail.json.gz';
const needles = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);
const json = (text: string) => Buffer.from(text);
const candidate = '{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances"';

function truncatedGzip(): Buffer {
  const whole = gzip(logFile([{ eventName: 'A', text: 'x'.repeat(500) }]));
  return whole.subarray(0, whole.length - 12);
}

function corruptGzip(): Buffer {
  const whole = Buffer.from(gzip(logFile([{ eventName: 'A', text: 'abcdefghij'.repeat(50) }])));
  for (let i = 12; i < whole.length - 8; i += 3) whole[i] = (whole[i] ?? 0) ^ 0x5a;
  return whole;
}

describe('readCloudTrailRecords rejects poison objects', () => {
  it.each([
    { case: 'truncated gzip', input: truncatedGzip(), error: CorruptGzipError },
    { case: 'corrupt gzip', input: corruptGzip(), error: CorruptGzipError },
    { case: 'plain text named .json.gz', input: json('this is not JSON at all'), error: MalformedJsonError },
    {
      case: 'binary that is neither gzip nor JSON',
      input: Buffer.from([0x00, 0x01, 0x02]),
      error: MalformedJsonError,
    },
    { case: 'an object without Records', input: json('{"foo":1}'), error: NotCloudTrailShapeError },
    { case: 'an empty object', input: json('{}'), error: NotCloudTrailShapeError },
    { case: 'a top-level array', input: json('[]'), error: NotCloudTrailShapeError },
    { case: 'a top-level number', input: json('42'), error: NotCloudTrailShapeError },
    { case: 'Records that is an object', input: json('{"Records":{}}'), error: NotCloudTrailShapeError },
    { case: 'Records that is a string', input: json('{"Records":"[]"}'), error: NotCloudTrailShapeError },
    { case: 'a record that is a number', input: json('{"Records":[1]}'), error: NotCloudTrailShapeError },
    { case: 'a record that is an array', input: json('{"Records":[{},[]]}'), error: NotCloudTrailShapeError },
    { case: 'a 0-byte body', input: Buffer.alloc(0), error: NotCloudTrailShapeError },
    {
      case: 'Records given twice (JSON.parse would keep only the last)',
      input: json('{"Records":[{"a":1}],"Records":[{"b":2}]}'),
      error: NotCloudTrailShapeError,
    },
    { case: 'trailing garbage', input: json('{"Records":[]} }'), error: MalformedJsonError },
    {
      case: 'a second top-level value',
      input: json('{"Records":[]}{"Records":[]}'),
      error: MalformedJsonError,
    },
    { case: 'an unclosed record', input: json('{"Records":[{"a":1}'), error: MalformedJsonError },
    { case: 'an unclosed string', input: json('{"Records":[{"a":"1}]}'), error: MalformedJsonError },
    { case: 'mismatched brackets', input: json('{"Records":[{"a":[1}]}'), error: MalformedJsonError },
    {
      case: 'a missing comma between records',
      input: json('{"Records":[{} {}]}'),
      error: MalformedJsonError,
    },
    { case: 'a bad top-level literal', input: json('{"x":tru,"Records":[]}'), error: MalformedJsonError },
    { case: 'a key without a colon', input: json('{"Records" []}'), error: MalformedJsonError },
    { case: 'whitespace only', input: json(' \n '), error: MalformedJsonError },
    {
      case: 'an unclosed record nested past the limit',
      input: json(`{"Records":[{"a":${'['.repeat(100_000)}`),
      error: MalformedJsonError,
    },
    { case: 'deep nesting at the top level', input: json('['.repeat(100_000)), error: MalformedJsonError },
    {
      case: 'deep nesting in a skipped member',
      input: json(`{"other":${'{"a":'.repeat(200)}1${'}'.repeat(200)},"Records":[]}`),
      error: MalformedJsonError,
    },
    {
      case: 'invalid UTF-8 inside a candidate record',
      input: Buffer.concat([json(`{"Records":[${candidate},"x":"`), Buffer.from([0xc3, 0x28]), json('"}]}')]),
      error: MalformedJsonError,
    },
    {
      case: 'invalid JSON inside a candidate record',
      input: json(`{"Records":[${candidate},}]}`),
      error: MalformedJsonError,
    },
  ])('rejects $case with $error.name naming the object', async ({ input, error }) => {
    // Act
    const thrown = await readError(input, { objectName: OBJECT, needles });

    // Assess
    expect(thrown).toBeInstanceOf(error);
    expect(thrown).toMatchObject({ objectName: OBJECT, message: expect.stringContaining(OBJECT) });
  });

  it('keeps the decoder error as the cause of invalid UTF-8', async () => {
    // Prepare
    const input = Buffer.concat([json(`{"Records":[${candidate},"x":"`), Buffer.from([0xff]), json('"}]}')]);

    // Act
    const thrown = await readError(input, { objectName: OBJECT, needles });

    // Assess
    expect((thrown as Error).cause).toBeInstanceOf(TypeError);
  });

  it('keeps the zlib error as the cause of a corrupt gzip stream', async () => {
    // Act
    const thrown = await readError(truncatedGzip(), { objectName: OBJECT });

    // Assess
    expect((thrown as Error).cause).toMatchObject({ code: 'Z_BUF_ERROR' });
  });

  it('does not check the bytes of records it does not parse', async () => {
    // Prepare
    const input = Buffer.concat([
      json('{"Records":[{"eventName":"Other","x":"'),
      Buffer.from([0xff]),
      json('"}]}'),
    ]);

    // Act
    const thrown = await readCloudTrailRecords(chunked(input, [input.length]), {
      objectName: OBJECT,
      needles,
      onRecord: () => {},
    });

    // Assess
    expect(thrown).toMatchObject({ records: 1, parsed: 0 });
  });
});

describe('readCloudTrailRecords enforces its limits', () => {
  const records = logFile([{ a: 'x'.repeat(50) }, { a: 'y'.repeat(300) }, { a: 'z' }]);

  it.each([
    {
      case: 'a record over maxRecordBytes',
      sizes: [records.length],
      limits: { maxRecordBytes: 200 },
      limit: 'recordBytes',
    },
    {
      case: 'a record over maxRecordBytes across chunks',
      sizes: [7],
      limits: { maxRecordBytes: 200 },
      limit: 'recordBytes',
    },
    {
      case: 'more records than maxRecords',
      sizes: [records.length],
      limits: { maxRecords: 2 },
      limit: 'recordCount',
    },
    {
      case: 'more JSON than maxDecompressedBytes',
      sizes: [16],
      limits: { maxDecompressedBytes: 100 },
      limit: 'decompressedBytes',
    },
  ])('stops at $case', async ({ sizes, limits, limit }) => {
    // Act
    const thrown = await readError(records, { objectName: OBJECT, limits }, sizes);

    // Assess
    expect(thrown).toBeInstanceOf(LogObjectLimitError);
    expect(thrown).toMatchObject({ limit, message: expect.stringContaining(OBJECT) });
  });

  it('accepts records exactly at the limits', async () => {
    // Prepare
    const exact = { maxRecords: 3, maxDecompressedBytes: records.length, maxRecordBytes: 310 };

    // Act
    const stats = await readCloudTrailRecords(chunked(records, [5]), {
      objectName: OBJECT,
      needles: [],
      limits: exact,
      onRecord: () => {},
    });

    // Assess
    expect(stats.records).toBe(3);
  });

  it('stops a gzip bomb at maxDecompressedBytes without inflating the rest', async () => {
    // Prepare: 16 GiB of JSON whitespace as 16,384 gzip members of 1 MiB each (about 16 MB compressed; the
    // reader reads up to 1 MiB of compressed input ahead, a small part of it).
    const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    const members = 16 * 1024;
    let membersRead = 0;
    async function* bomb(): AsyncGenerator<Uint8Array> {
      yield gzipSync('{"Records":[');
      for (; membersRead < members; membersRead++) yield member;
    }

    // Act
    const thrown = await readCloudTrailRecords(bomb(), {
      objectName: OBJECT,
      needles: [],
      limits: { maxDecompressedBytes: 32 * 1024 * 1024 },
      onRecord: () => {},
    }).catch((error: unknown) => error);

    // Assess
    expect(thrown).toMatchObject({ limit: 'decompressedBytes', objectName: OBJECT });
    expect(membersRead).toBeLessThan(members / 10);
  });
});

describe('readCloudTrailRecords passes other failures through', () => {
  it.each([
    { case: 'plain', first: json('{"Records":[') },
    { case: 'gzip', first: gzip('{"Records":[{"a":1}]}').subarray(0, 20) },
  ])('rethrows an error of a $case body unchanged', async ({ first }) => {
    // Prepare
    const failure = new Error('socket reset');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield first;
      throw failure;
    }

    // Act
    const thrown = await readCloudTrailRecords(body(), {
      objectName: OBJECT,
      needles: [],
      onRecord: () => {},
    }).catch((error: unknown) => error);

    // Assess
    expect(thrown).toBe(failure);
  });

  it.each([
    { case: 'plain', input: logFile([{ a: 1 }]) },
    { case: 'gzip', input: gzip(logFile([{ a: 1 }])) },
  ])('rethrows an error of onRecord unchanged for $case input', async ({ input }) => {
    // Prepare
    const failure = new Error('store unavailable');

    // Act
    const thrown = await readCloudTrailRecords(chunked(input, [input.length]), {
      objectName: OBJECT,
      needles: [],
      onRecord: () => {
        throw failure;
      },
    }).catch((error: unknown) => error);

    // Assess
    expect(thrown).toBe(failure);
  });
});
