import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { s3Notification } from '../../lib/local/delivery';
import { type DynamoDbStandInKind, javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS } from '../fixtures/events';
import { standInConfig, standInHandler } from '../support/stand-in-handler';

/**
 * Issue 11 §3: no rule or log content can wedge an object. User rules may count or group by any field, and
 * a log may hold values of any length: every key and item the window store writes stays within DynamoDB's
 * bounds (a sort key of 1,024 bytes, an item of 400 KB), so the object's groups all count and alert.
 */

/** Counts distinct bucket names per identity (the user rule, as a rule file would hold it). */
const BUCKET_SWEEP = {
  id: 'bucket-name-sweep',
  slug: 'bucket-name-sweep',
  name: 'Bucket name sweep',
  severity: 'low' as const,
  filter: [
    { field: 'eventSource', equals: ['s3.amazonaws.com'] },
    { field: 'eventName', equals: ['GetBucketAcl'] },
  ],
  windowSeconds: 30,
  windowMode: 'tumbling' as const,
  groupBy: ['userIdentity.arn'],
  distinctField: 'requestParameters.bucketName',
  minDistinct: 10,
  minEvents: 10,
};

/** Groups by identity and bucket name, counting regions: a long bucket name is part of the group key. */
const REGIONS_PER_BUCKET = {
  ...BUCKET_SWEEP,
  id: 'regions-per-bucket',
  slug: 'regions-per-bucket',
  name: 'Regions per bucket',
  filter: [
    { field: 'eventSource', equals: ['s3.amazonaws.com'] },
    { field: 'eventName', equals: ['GetBucketPolicy'] },
  ],
  groupBy: ['userIdentity.arn', 'requestParameters.bucketName'],
  distinctField: 'awsRegion',
};

const EVENT_TIME = '2026-11-28T10:00:01Z';
const LONG_NAMES_ARN = 'arn:aws:iam::111122223333:user/a-long-bucket-names';
const SWEEP_ARN = 'arn:aws:iam::111122223333:user/b-ordinary-sweep';

function bucketCall(arn: string, eventName: string, bucketName: string, awsRegion = 'us-east-1') {
  return cloudTrailEvent({
    arn,
    eventTime: EVENT_TIME,
    eventSource: 's3.amazonaws.com',
    eventName,
    awsRegion,
    requestParameters: { bucketName, Host: 's3.amazonaws.com' },
  });
}

function boundedItemsSuite(kind: DynamoDbStandInKind): void {
  let environment: LocalEnvironment;
  let handler: (event: unknown) => Promise<unknown>;
  let counter = 0;

  beforeAll(async () => {
    environment = await startLocalEnvironment(kind);
    const settings = loadPipelineSettings({
      CUSTOM_RULES_JSON: JSON.stringify([BUCKET_SWEEP, REGIONS_PER_BUCKET]),
    });
    handler = standInHandler(environment, standInConfig(environment, settings));
  });

  afterAll(async () => {
    await environment?.stop();
  });

  async function deliver(records: readonly unknown[]): Promise<void> {
    counter += 1;
    const key = cloudTrailKey(
      '111122223333',
      'us-east-1',
      new Date('2026-11-28T10:05:00Z'),
      `bounded${counter}`,
    );
    const body = gzipSync(JSON.stringify({ Records: records }));
    await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
    await handler(s3Notification(environment.bucket, key, body.length));
  }

  function alertsOf(ruleId: string, arn: string) {
    return publishedAlerts(environment.recorder.published()).filter(
      ({ finding }) => finding.ruleId === ruleId && finding.arn === arn,
    );
  }

  it("64 bucket names of 7 KB from one identity: the object counts, and another identity's sweep in it alerts", async () => {
    // Prepare: 64 distinct 7 KB names (448 KB as they are) and an ordinary 12-bucket sweep in one object.
    const long = Array.from({ length: 64 }, (_, i) =>
      bucketCall(LONG_NAMES_ARN, 'GetBucketAcl', `${String(i).padStart(2, '0')}${'b'.repeat(7 * 1024)}`),
    );
    const sweep = Array.from({ length: 12 }, (_, i) => bucketCall(SWEEP_ARN, 'GetBucketAcl', `bucket-${i}`));

    // Act
    await deliver([...long, ...sweep]);

    // Assess
    expect(alertsOf(BUCKET_SWEEP.id, SWEEP_ARN)).toHaveLength(1);
    const [longAlert] = alertsOf(BUCKET_SWEEP.id, LONG_NAMES_ARN);
    expect(longAlert?.finding.distinctCount).toBe(64);
    expect(Math.max(...(longAlert?.finding.distinctValues ?? []).map((v) => Buffer.byteLength(v)))).toBe(256);
  });

  it('a 2 KB group-by value: the group is stored under a bounded key and alerts with its value', async () => {
    // Prepare: a 12-region sweep on one bucket whose name is 2 KB.
    const bucket = `long-${'n'.repeat(2048)}`;
    const sweep = DEFAULT_REGIONS.slice(0, 12).map((region) =>
      bucketCall(SWEEP_ARN, 'GetBucketPolicy', bucket, region),
    );

    // Act
    await deliver(sweep);

    // Assess
    const alerts = alertsOf(REGIONS_PER_BUCKET.id, SWEEP_ARN);
    expect(alerts.map(({ finding }) => [finding.distinctCount, finding.groupedBy])).toEqual([
      [12, { 'requestParameters.bucketName': bucket }],
    ]);
  });
}

describe.each([{ kind: 'dynalite' as const }])('bounded keys and items on $kind', ({ kind }) => {
  boundedItemsSuite(kind);
});

describe.skipIf(!javaAvailable()).each([{ kind: 'dynamodb-local' as const }])(
  'bounded keys and items on $kind',
  ({ kind }) => {
    boundedItemsSuite(kind);
  },
);
