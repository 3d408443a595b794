import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { ENV, loadPipelineSettings } from '../../lambda/config';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { DEFAULT_READER_LIMITS } from '../../lambda/domain/reading/cloudtrail-reader';
import { SERVICE_NAME } from '../../lambda/metric-names';
import { s3Notification } from '../../lib/local/delivery';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS, type EventSpec } from '../fixtures/events';
import {
  bareRecordArray,
  deeplyNestedRecord,
  gzipBomb,
  gzipLogFile,
  invalidUtf8InRecord,
  inventoryManifest,
  logFileJson,
  oversizedRecord,
  plainText,
  recordsWithNonObjectEntry,
  truncatedGzipLogFile,
} from '../fixtures/hostile-objects';
import { setProcessEnv } from '../support/process-env';
import { type StandInHandler, standInConfig, standInHandler } from '../support/stand-in-handler';

const SETTINGS = loadPipelineSettings({});
/** The limit the batch handler runs with: far above every good object, far below the small bomb. */
const LOW_DECOMPRESSED_LIMIT = 16 * 1024 * 1024;
const WINDOW_START = '2026-11-28T10:00:00.000Z';
/** Elastic's rule_id of the detector's rule: stable, and part of every window key. */
const RULE_ID = '393ef120-63d1-11ef-8e38-f661ea17fbce';
const ACCOUNT = '111122223333';
const SPACE = 0x20;

/** One line the handler's Powertools logger printed. */
interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly key?: string;
  readonly [field: string]: unknown;
}

/** An object the handler must drop as poison: never retried, nothing written. */
interface PoisonObject {
  readonly case: string;
  readonly key: string;
  readonly body: Buffer;
  readonly errorName: string;
  readonly reason: RegExp;
  /** The identity of matching records the object holds before its fault: they must reach no window. */
  readonly recordArn?: string;
}

/** An object the handler must read and count, skipping its unusable records with a reason. */
interface ReadObject {
  readonly case: string;
  readonly key: string;
  readonly body: Buffer;
  readonly matchingEvents: number;
  readonly invalid?: { readonly count: number; readonly reason: RegExp };
}

let environment: LocalEnvironment;
let restoreEnv: () => void;
let buildHandler: (env: Readonly<Record<string, string | undefined>>) => StandInHandler;

beforeAll(async () => {
  environment = await startLocalEnvironment('dynalite');
  // Powertools' dev mode prints through the global console, where the test reads the log lines back.
  restoreEnv = setProcessEnv({ POWERTOOLS_DEV: 'true' });
  buildHandler = (env) =>
    standInHandler(environment, standInConfig(environment, SETTINGS, env), {
      logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'INFO' }),
    });
});

afterAll(async () => {
  restoreEnv?.();
  await environment?.stop();
});

/** Runs `act` and returns what it returned (or threw) with every log line printed meanwhile. */
async function withLogs(act: () => Promise<unknown>): Promise<{ result: unknown; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const collect = (text: unknown) => {
    lines.push(JSON.parse(String(text)) as LogLine);
  };
  const spies = (['debug', 'info', 'warn', 'error', 'log'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(collect),
  );
  try {
    const result = await act().catch((error: unknown) => error);
    return { result, lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

async function upload(objects: readonly { key: string; body: Buffer }[]): Promise<void> {
  for (const { key, body } of objects) {
    await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
  }
}

function windowStore() {
  return new DynamoDbWindowStore({
    client: environment.dynamodb,
    tableName: environment.tableName,
    limits: SETTINGS.limits,
    retentionSeconds: SETTINGS.retentionSeconds,
  });
}

/** The window of `arn` that starts at WINDOW_START. */
function windowOf(arn: string) {
  return windowStore().get({ ruleId: RULE_ID, windowStart: Date.parse(WINDOW_START), arn });
}

/** Every item of the window table that mentions `text` anywhere (keys, identities, context). */
async function itemsMentioning(text: string) {
  const output = await environment.dynamodb.send(new ScanCommand({ TableName: environment.tableName }));
  return (output.Items ?? []).filter((item) => JSON.stringify(item).includes(text));
}

function alertsFor(arn: string) {
  return publishedAlerts(environment.recorder.published()).filter((alert) => alert.finding.arn === arn);
}

/** The S3 records of one notification per object, for a multi-record notification. */
function s3Records(objects: readonly { key: string; body: Buffer }[]): unknown[] {
  return objects.flatMap(
    ({ key, body }) =>
      (s3Notification(environment.bucket, key, body.length) as { Records: unknown[] }).Records,
  );
}

/**
 * The hostile objects of one delivery, among good objects that together form one sweep: 12 DescribeInstances
 * events of `sweepArn` in 12 regions of the window starting at WINDOW_START. Every poison object that holds
 * records holds matching events of the sweep (new eventIDs) and of an identity of its own before its fault:
 * any of them counted would change the sweep window or create another.
 */
function plannedObjects(tag: string, sweepArn: string): { read: ReadObject[]; poison: PoisonObject[] } {
  let serial = 0;
  const event = (region: number, spec: Partial<EventSpec> = {}) => {
    serial += 1;
    return cloudTrailEvent({
      arn: sweepArn,
      awsRegion: DEFAULT_REGIONS[region % DEFAULT_REGIONS.length],
      eventTime: `2026-11-28T10:00:${String(1 + (region % 28)).padStart(2, '0')}Z`,
      eventID: `${tag}-${serial}`,
      ...spec,
    });
  };
  const slug = (name: string) => name.replaceAll(/[^A-Za-z0-9]+/g, '-');
  const key = (id: string, prefix = '') =>
    cloudTrailKey(ACCOUNT, 'us-east-1', new Date('2026-11-28T10:05:00Z'), `${tag}_${id}`, prefix);
  const read = (
    name: string,
    objectKey: string,
    body: Buffer,
    matchingEvents: number,
    invalid?: ReadObject['invalid'],
  ): ReadObject => ({
    case: name,
    key: objectKey,
    body,
    matchingEvents,
    ...(invalid === undefined ? {} : { invalid }),
  });
  const poison = (
    name: string,
    errorName: string,
    reason: RegExp,
    body: (records: Record<string, unknown>[]) => Buffer,
  ): PoisonObject => {
    const recordArn = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/${tag}-${slug(name)}`;
    return {
      case: name,
      key: key(slug(name)),
      body: body([event(12 + serial), event(12 + serial, { arn: recordArn })]),
      errorName,
      reason,
      recordArn,
    };
  };
  const withoutRecords = (name: string, errorName: string, reason: RegExp, body: Buffer): PoisonObject => ({
    case: name,
    key: key(slug(name)),
    body,
    errorName,
    reason,
  });
  return {
    read: [
      read('key with spaces', key('with  two spaces and a trailing one '), gzipLogFile([event(0)]), 1),
      read('key with plus signs', key('a+b++c', 'prefix+plus/'), gzipLogFile([event(1)]), 1),
      read(
        'key with %, some looking encoded',
        key('100%_%41%2B%25_%zz', 'per%cent/'),
        gzipLogFile([event(2)]),
        1,
      ),
      read(
        'key with CJK, emoji, combining accent',
        key('café_e\u0301_😀', 'ログ/'),
        gzipLogFile([event(3)]),
        1,
      ),
      read('uncompressed JSON named .json.gz', key('plain-json'), logFileJson([event(4)]), 1),
      read(
        'invalid UTF-8 in an unmatched record',
        key('invalid-utf8-elsewhere'),
        invalidUtf8InRecord([event(5, { eventName: 'DescribeVolumes' }), event(5)], 0),
        1,
      ),
      read('good object', key('good-a'), gzipLogFile([event(6), event(7)]), 2),
      read('another good object', key('good-b'), gzipLogFile([event(8)]), 1),
      read(
        'eventTime that does not parse',
        key('bad-event-time'),
        gzipLogFile([
          event(9),
          event(13, { eventTime: 'yesterday' }),
          event(14, { eventTime: '2026-11-28 10:00:05' }),
          event(15, { eventTime: '' }),
        ]),
        1,
        { count: 3, reason: /^eventTime is not an ISO-8601 time/ },
      ),
      read(
        'awsRegion that is a number',
        key('numeric-region'),
        gzipLogFile([event(10), event(16, { awsRegion: 42 })]),
        1,
        { count: 1, reason: /^awsRegion is not a string: 42$/ },
      ),
      read(
        'awsRegion that is an object',
        key('object-region'),
        gzipLogFile([event(11), event(16, { awsRegion: { name: 'eu-west-1' } })]),
        1,
        { count: 1, reason: /^awsRegion is not a string: \{"name":"eu-west-1"\}$/ },
      ),
      read(
        'a record nested 100,000 levels deep',
        key('deeply-nested'),
        // The records before it are read (a sweep event counts, another call does not); the deep one, a sweep
        // event too, is skipped.
        deeplyNestedRecord([event(12), event(13, { eventName: 'DescribeVolumes' })], event(16), 100_000),
        1,
        { count: 1, reason: /^record 2 is nested deeper than 128$/ },
      ),
    ],
    poison: [
      poison(
        `gzip bomb past ${ENV.maxDecompressedBytes}`,
        'LogObjectLimitError',
        new RegExp(`more than ${LOW_DECOMPRESSED_LIMIT} bytes of JSON$`),
        (records) =>
          gzipBomb({
            prefix: `{"Records":[${records.map((r) => JSON.stringify(r)).join(',')},`,
            fill: SPACE,
            inflatedBytes: 4 * LOW_DECOMPRESSED_LIMIT,
            suffix: `${JSON.stringify(event(16))}]}`,
          }),
      ),
      poison('truncated gzip', 'CorruptGzipError', /gzip stream is corrupt or truncated/, (records) =>
        // One more record after them, so that the cut falls past the records this test watches.
        truncatedGzipLogFile([...records, event(16)]),
      ),
      poison(
        'a bare array of records',
        'NotCloudTrailShapeError',
        /not a CloudTrail log file: the top level is not an object$/,
        bareRecordArray,
      ),
      poison(
        'a Records entry that is not an object',
        'NotCloudTrailShapeError',
        /not a CloudTrail log file: entry 2 of Records is not an object$/,
        (records) => recordsWithNonObjectEntry(records, 'DescribeInstances ec2.amazonaws.com'),
      ),
      poison(
        'a 10 MB single record',
        'LogObjectLimitError',
        new RegExp(`record 2 is larger than ${DEFAULT_READER_LIMITS.maxRecordBytes} bytes$`),
        (records) => oversizedRecord(records, event(16), 10 * 1024 * 1024),
      ),
      poison('invalid UTF-8 in a matching record', 'MalformedJsonError', /invalid UTF-8$/, (records) =>
        invalidUtf8InRecord([...records, event(16)], 2),
      ),
      withoutRecords(
        'plain text named .json.gz',
        'MalformedJsonError',
        /malformed JSON at byte 0: not JSON: unexpected byte 0x43$/,
        plainText(),
      ),
      withoutRecords(
        'JSON that is not CloudTrail',
        'NotCloudTrailShapeError',
        /not a CloudTrail log file: the object has no Records member$/,
        inventoryManifest(),
      ),
    ],
  };
}

/** Thirteen events in thirteen regions: the good objects above (the deeply nested object's neighbour too). */
const SWEEP = { events: 13, regions: 13 };

type Planned = ReturnType<typeof plannedObjects>;

const DELIVERIES = [
  {
    case: 'one SQS batch',
    tag: 'sqs',
    /** One message per object, except one multi-record S3 notification (the odd keys and a poison object). */
    event: ({ read, poison }: Planned) => {
      const all = [...read, ...poison];
      const together = all.filter((o) => o.case.startsWith('key with') || o.case === 'truncated gzip');
      const alone = all.filter((o) => !together.includes(o));
      return {
        Records: [
          ...alone.map((o, i) => ({
            messageId: `message-${i}`,
            eventSource: 'aws:sqs',
            body: JSON.stringify(s3Notification(environment.bucket, o.key, o.body.length)),
          })),
          {
            messageId: 'message-multi-record',
            eventSource: 'aws:sqs',
            body: JSON.stringify({ Records: s3Records(together) }),
          },
        ],
      };
    },
    /** Poison objects are never retried: no message is a batch item failure. */
    result: { batchItemFailures: [] },
  },
  {
    case: 'one multi-record S3 notification',
    tag: 's3',
    event: ({ read, poison }: Planned) => ({ Records: s3Records([...read, ...poison]) }),
    /** Poison objects are never retried: the invocation succeeds. */
    result: undefined,
  },
] as const;

describe.each(DELIVERIES)('hostile objects among a sweep, delivered as $case', (delivery) => {
  const sweepArn = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/sweep-${delivery.tag}`;
  const planned = plannedObjects(delivery.tag, sweepArn);
  const delivered = { result: undefined as unknown, lines: [] as LogLine[] };

  beforeAll(async () => {
    await upload([...planned.read, ...planned.poison]);
    const handler = buildHandler({ [ENV.maxDecompressedBytes]: String(LOW_DECOMPRESSED_LIMIT) });
    Object.assign(delivered, await withLogs(() => handler(delivery.event(planned))));
  });

  /** The lines logged about one object (the logger appends its key while the object is processed). */
  const linesOf = (key: string, message: string) =>
    delivered.lines.filter((line) => line.key === key && line.message === message);

  it('reports no failure, so nothing is retried', () => {
    // Assess
    expect(delivered.result).toEqual(delivery.result);
  });

  it.each(planned.poison)(
    '$case is dropped as a poison object with its named error',
    ({ key, errorName, reason }) => {
      // Assess
      expect(linesOf(key, 'poison object; not retried')).toEqual([
        expect.objectContaining({ level: 'ERROR', errorName, reason: expect.stringMatching(reason) }),
      ]);
    },
  );

  it.each(planned.poison.filter((o) => o.recordArn !== undefined))(
    '$case writes nothing, not even the records read before its fault',
    async ({ recordArn }) => {
      // Act
      const items = await itemsMentioning(recordArn ?? '');

      // Assess
      expect(items).toEqual([]);
    },
  );

  it.each(planned.read)('$case is read and its matching events counted', ({ key, matchingEvents }) => {
    // Assess
    expect(linesOf(key, 'object processed')).toEqual([expect.objectContaining({ matchingEvents })]);
  });

  it.each(planned.read.filter((o) => o.invalid !== undefined))(
    '$case: the unusable records are counted as skipped, with the reason',
    ({ key, invalid }) => {
      // Prepare
      const count = invalid?.count ?? 0;

      // Assess
      expect(linesOf(key, 'records skipped: fields the rule needs are unusable')).toEqual([
        expect.objectContaining({
          level: 'WARN',
          count,
          examples: Array.from({ length: count }, () => expect.stringMatching(invalid?.reason ?? /^$/)),
        }),
      ]);
    },
  );

  it('the sweep alert is published once', () => {
    // Act
    const alerts = alertsFor(sweepArn);

    // Assess
    expect(alerts.map(({ finding }) => finding.windowStart)).toEqual([WINDOW_START]);
  });

  it('the sweep window holds exactly the events of the good objects', async () => {
    // Act
    const window = await windowOf(sweepArn);

    // Assess
    expect({
      events: window === undefined ? 0 : eventCountOf(window),
      regions: window?.distinctValues.length,
    }).toEqual(SWEEP);
  });
});

describe('a real gzip bomb (about 2 MB) past the default limit, in a batch with a good object', () => {
  const arn = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/bomb-neighbour`;
  const day = new Date('2026-11-28T10:05:00Z');
  const bombKey = cloudTrailKey(ACCOUNT, 'us-east-1', day, 'real-bomb');
  const good = {
    key: cloudTrailKey(ACCOUNT, 'us-east-1', day, 'bomb-neighbour'),
    body: gzipLogFile(
      DEFAULT_REGIONS.slice(0, 3).map((awsRegion, i) =>
        cloudTrailEvent({
          arn,
          awsRegion,
          eventTime: `2026-11-28T10:00:0${i + 1}Z`,
          eventID: `neighbour-${i}`,
        }),
      ),
    ),
  };
  const delivered = { result: undefined as unknown, lines: [] as LogLine[], rssGrowth: 0 };

  beforeAll(async () => {
    const bomb = {
      key: bombKey,
      // Inside a string of a member the reader skips: its fastest path, so that the test stays quick.
      body: gzipBomb({
        prefix: '{"padding":["',
        fill: 0x61,
        inflatedBytes: DEFAULT_READER_LIMITS.maxDecompressedBytes + 32 * 1024 * 1024,
        suffix: '"],"Records":[]}',
      }),
    };
    await upload([bomb, good]);
    // The deployment's defaults: no limit in the environment.
    const handler = buildHandler({ [ENV.maxDecompressedBytes]: undefined });
    const event = {
      Records: [bomb, good].map((object, i) => ({
        messageId: `bomb-batch-${i}`,
        eventSource: 'aws:sqs',
        body: JSON.stringify(s3Notification(environment.bucket, object.key, object.body.length)),
      })),
    };
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    try {
      Object.assign(delivered, await withLogs(() => handler(event)));
    } finally {
      clearInterval(sampler);
    }
    delivered.rssGrowth = Math.max(peak, process.memoryUsage.rss()) - baseline;
  });

  it('is dropped as LogObjectLimitError at the default limit', () => {
    // Assess
    expect(delivered.lines.filter((line) => line.key === bombKey)).toEqual([
      expect.objectContaining({
        message: 'poison object; not retried',
        errorName: 'LogObjectLimitError',
        reason: expect.stringMatching(
          `more than ${DEFAULT_READER_LIMITS.maxDecompressedBytes} bytes of JSON$`,
        ),
      }),
    ]);
  });

  it('is read in bounded memory: RSS grows by far less than the 2 GiB it inflates to', () => {
    // Assess
    expect(delivered.rssGrowth).toBeLessThan(256 * 1024 * 1024);
  });

  it('reports no batch item failure, so nothing is retried', () => {
    // Assess
    expect(delivered.result).toEqual({ batchItemFailures: [] });
  });

  it('leaves the good object of its batch counted', async () => {
    // Act
    const state = await windowOf(arn);

    // Assess
    expect(state === undefined ? 0 : eventCountOf(state)).toBe(3);
  });
});
