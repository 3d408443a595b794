import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/built-in-rules';
import { readCloudTrailRecords } from '../../lambda/domain/cloudtrail-reader';
import { matchesFilter, prefilterNeedles } from '../../lambda/domain/rule';
import { chunked, gzip, logFile, randomSizes, readAll } from './cloudtrail-reader-helpers';

const REAL_EVENTS = join(import.meta.dirname, '..', 'fixtures', 'real-events');
const realFiles = readdirSync(REAL_EVENTS)
  .filter((name) => name.endsWith('.json.gz'))
  .sort();
const needles = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);
const isDescribeInstances = (record: unknown) => matchesFilter(record, EC2_MULTI_REGION_DESCRIBE_INSTANCES);

function plainParse(gzipped: Buffer): unknown[] {
  return (JSON.parse(gunzipSync(gzipped).toString('utf8')) as { Records: unknown[] }).Records;
}

/** Strings that break naive scanners: brackets, quotes and backslashes inside strings, and non-ASCII text. */
const TRICKY_RECORDS = [
  { eventName: 'A', note: 'braces } ] { [ inside', path: 'C:\\temp\\', quote: 'say "hi"' },
  { eventName: 'B', nested: { list: [1, [2, [3, { deep: '}}]]' }]]], empty: {}, none: [] } },
  { eventName: 'C', text: 'Zürich, 東京, emoji 😀, escaped \u00e9 and \u2028 separator', tail: '\\' },
  { eventName: 'D', quotes: '\\"', many: '\\\\\\"\\\\', json: JSON.stringify({ a: '"}' }) },
  {
    eventName: 'DescribeInstances',
    eventSource: 'ec2.amazonaws.com',
    n: -1.5e-7,
    t: true,
    f: false,
    z: null,
  },
];

describe('readCloudTrailRecords on real CloudTrail files', () => {
  it.each(realFiles.map((file) => ({ case: file, file })))(
    'counts every record of $case',
    async ({ file }) => {
      // Prepare
      const gzipped = readFileSync(join(REAL_EVENTS, file));

      // Act
      const { stats } = await readAll(gzipped, { needles });

      // Assess
      expect(stats.records).toBe(plainParse(gzipped).length);
    },
  );

  it.each(realFiles.map((file) => ({ case: file, file })))(
    'parses every DescribeInstances record of $case, in file order',
    async ({ file }) => {
      // Prepare
      const gzipped = readFileSync(join(REAL_EVENTS, file));

      // Act
      const { records } = await readAll(gzipped, { needles });

      // Assess
      expect(records.filter(isDescribeInstances)).toEqual(plainParse(gzipped).filter(isDescribeInstances));
    },
  );

  it('leaves most records that are not DescribeInstances unparsed', async () => {
    // Prepare
    let others = 0;
    let othersParsed = 0;

    // Act
    for (const file of realFiles) {
      const { stats, records } = await readAll(readFileSync(join(REAL_EVENTS, file)), { needles });
      const matching = records.filter(isDescribeInstances).length;
      others += stats.records - matching;
      othersParsed += stats.parsed - matching;
    }

    // Assess
    expect(othersParsed).toBeLessThan(others * 0.1);
  });

  it('parses every record when there are no needles', async () => {
    // Prepare
    const gzipped = readFileSync(join(REAL_EVENTS, 'panther_cloudtrail_test_events.json.gz'));

    // Act
    const { records } = await readAll(gzipped);

    // Assess
    expect(records).toEqual(plainParse(gzipped));
  });
});

describe('readCloudTrailRecords across chunk boundaries', () => {
  const panther = gunzipSync(readFileSync(join(REAL_EVENTS, 'panther_cloudtrail_test_events.json.gz')));
  const tricky = logFile(TRICKY_RECORDS);

  it.each([
    { case: 'real file, 7-byte chunks', json: panther, sizes: [7] },
    { case: 'real file, random chunks', json: panther, sizes: randomSizes(42, 997, 4096) },
    { case: 'tricky strings, 1-byte chunks', json: tricky, sizes: [1] },
    { case: 'tricky strings, 7-byte chunks', json: tricky, sizes: [7] },
    { case: 'tricky strings, random chunks', json: tricky, sizes: randomSizes(7, 101, 23) },
  ])('gives the same result as one chunk: $case', async ({ json, sizes }) => {
    // Prepare
    const whole = await readAll(json);

    // Act
    const split = await readAll(json, {}, sizes);

    // Assess
    expect(split).toEqual(whole);
  });

  it('reads a real file fed one byte at a time', async () => {
    // Prepare
    const json = gunzipSync(
      readFileSync(join(REAL_EVENTS, 'stratus_aws.credential-access.ec2-get-password-data.json.gz')),
    );

    // Act
    const split = await readAll(json, { needles }, [1]);

    // Assess
    expect(split).toEqual(await readAll(json, { needles }));
  });

  it('gives the same result for gzip input fed in 7-byte chunks', async () => {
    // Prepare
    const gzipped = gzip(panther);

    // Act
    const split = await readAll(gzipped, { needles }, [7]);

    // Assess
    expect(split).toEqual(await readAll(gzipped, { needles }));
  });
});

describe('readCloudTrailRecords on crafted input', () => {
  it('reads strings with brackets, escapes and unicode exactly as JSON.parse does', async () => {
    // Prepare
    const json = logFile(TRICKY_RECORDS);

    // Act
    const { records } = await readAll(json);

    // Assess
    expect(records).toEqual(TRICKY_RECORDS);
  });

  it.each([
    { case: 'plain JSON', input: logFile(TRICKY_RECORDS), gzip: false },
    { case: 'gzip', input: gzip(logFile(TRICKY_RECORDS)), gzip: true },
  ])('reports sizes and the detected encoding of $case', async ({ input, gzip: isGzip }) => {
    // Act
    const { stats } = await readAll(input);

    // Assess
    expect(stats).toEqual({
      records: TRICKY_RECORDS.length,
      parsed: TRICKY_RECORDS.length,
      tooDeep: 0,
      compressedBytes: input.length,
      decompressedBytes: logFile(TRICKY_RECORDS).length,
      gzip: isGzip,
    });
  });

  it('reads an empty Records array as zero records', async () => {
    // Act
    const { stats, records } = await readAll(Buffer.from('{"Records":[]}'));

    // Assess
    expect({ records: stats.records, handed: records }).toEqual({ records: 0, handed: [] });
  });

  it('skips other top-level members, whatever they hold', async () => {
    // Prepare
    const json = Buffer.from(
      '{"digest":{"Records":[{"a":1}]},"list":[1,"]",{"x":"}"}],"n":-1.5e3,"t":true,"s":"\\"",' +
        '"Records":[{"b":2}],"after":null}',
    );

    // Act
    const { records } = await readAll(json);

    // Assess
    expect(records).toEqual([{ b: 2 }]);
  });

  it('reads pretty-printed JSON', async () => {
    // Prepare
    const json = Buffer.from(JSON.stringify({ Records: TRICKY_RECORDS }, null, 2));

    // Act
    const { records } = await readAll(json);

    // Assess
    expect(records).toEqual(TRICKY_RECORDS);
  });

  it('parses a decoy whose request text contains the needles; the caller decides on the parsed record', async () => {
    // Prepare
    const decoy = {
      eventSource: 'ssm.amazonaws.com',
      eventName: 'SendCommand',
      requestParameters: { documentName: 'DescribeInstances', endpoint: 'ec2.amazonaws.com' },
    };
    const json = logFile([decoy, { eventSource: 's3.amazonaws.com', eventName: 'GetObject' }]);

    // Act
    const { stats, records } = await readAll(json, { needles });

    // Assess
    expect({ parsed: stats.parsed, records }).toEqual({ parsed: 1, records: [decoy] });
  });

  it('leaves a record unparsed when only some of the rule conditions have a needle in it', async () => {
    // Prepare
    const json = logFile([{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeVolumes' }]);

    // Act
    const { stats } = await readAll(json, { needles });

    // Assess
    expect({ records: stats.records, parsed: stats.parsed }).toEqual({ records: 1, parsed: 0 });
  });

  it('releases the body when it stops early', async () => {
    // Prepare
    let released = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        yield* chunked(Buffer.from('{"Records":[1,2,3]}'), [3]);
      } finally {
        released = true;
      }
    }

    // Act
    const reading = readCloudTrailRecords(body(), { objectName: 'x', needles: [], onRecord: () => {} });
    await reading.catch(() => undefined);

    // Assess
    expect(released).toBe(true);
  });
});
