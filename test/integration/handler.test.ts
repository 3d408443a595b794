import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { loadPipelineSettings } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { s3Notification } from '../../lib/local/delivery';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { cloudTrailKey } from '../fixtures/corpus';
import { sweep } from '../fixtures/events';
import { type StandInHandler, standInConfig, standInHandler } from '../support/stand-in-handler';

const SETTINGS = loadPipelineSettings({});
let environment: LocalEnvironment;
let handler: StandInHandler;

beforeAll(async () => {
  environment = await startLocalEnvironment('dynalite');
  handler = standInHandler(environment, standInConfig(environment, SETTINGS));
});

afterAll(async () => {
  await environment?.stop();
});

let counter = 0;
/** Uploads one object (gzip JSON) holding `records`; returns its key and size. */
async function upload(records: readonly unknown[], key?: string) {
  counter += 1;
  const objectKey =
    key ?? cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), `h${counter}`);
  const body = gzipSync(JSON.stringify({ Records: records }));
  await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: objectKey, Body: body }));
  return { key: objectKey, size: body.length };
}

function store() {
  return new DynamoDbWindowStore({
    client: environment.dynamodb,
    tableName: environment.tableName,
    limits: SETTINGS.limits,
    retentionSeconds: SETTINGS.retentionSeconds,
  });
}

async function eventsInWindow(windowStart: string, arn: string) {
  const state = await store().get({
    ruleId: EC2_MULTI_REGION_DESCRIBE_INSTANCES.id,
    windowStart: Date.parse(windowStart),
    arn,
  });
  return state === undefined ? 0 : eventCountOf(state);
}

const sns = (message: unknown) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: { Type: 'Notification', MessageId: 'm', Message: JSON.stringify(message) },
    },
  ],
});
const snsEnvelope = (message: unknown) => ({
  Type: 'Notification',
  MessageId: '5f4e3d2c-0000-4000-8000-000000000001',
  TopicArn: 'arn:aws:sns:us-east-1:999999999999:org-trail-notifications',
  Message: JSON.stringify(message),
  Timestamp: '2026-11-28T10:05:00.000Z',
  SignatureVersion: '1',
  Signature: 'EXAMPLE',
  SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
  UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
});
const sqs = (...bodies: { id: string; body: unknown }[]) => ({
  Records: bodies.map(({ id, body }) => ({
    messageId: id,
    eventSource: 'aws:sqs',
    body: JSON.stringify(body),
  })),
});
const eventBridge = (key: string, size: number) => ({
  version: '0',
  id: 'e',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  detail: { bucket: { name: environment.bucket }, object: { key, size }, reason: 'PutObject' },
});

describe('the handler, on every delivery path', () => {
  it.each([
    { case: 'S3 direct', wrap: (n: unknown) => n },
    { case: 'S3 -> SNS', wrap: (n: unknown) => sns(n) },
    { case: 'S3 -> SQS', wrap: (n: unknown) => sqs({ id: 'a', body: n }) },
    {
      case: 'S3 -> SNS -> SQS, enveloped',
      wrap: (n: unknown) => sqs({ id: 'a', body: snsEnvelope(n) }),
    },
    { case: 'S3 -> SNS -> SQS, raw', wrap: (n: unknown) => sqs({ id: 'a', body: n }) },
  ])('$case: the object is counted', async ({ wrap }) => {
    // Prepare
    const arn = `arn:aws:iam::111122223333:user/path-${counter}`;
    const { key, size } = await upload(sweep(3, '2026-11-28T10:00:01Z', { arn }));

    // Act
    const result = await handler(wrap(s3Notification(environment.bucket, key, size)));

    // Assess
    expect(result === undefined || result.batchItemFailures.length === 0).toBe(true);
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(3);
  });

  it.each([
    { case: 'one key, enveloped', keys: 1, wrap: (n: unknown) => snsEnvelope(n) },
    { case: 'three keys, enveloped', keys: 3, wrap: (n: unknown) => snsEnvelope(n) },
    { case: 'one key, raw', keys: 1, wrap: (n: unknown) => n },
    { case: 'three keys, raw', keys: 3, wrap: (n: unknown) => n },
  ])("a trail's own SNS notification in SQS, $case: every object is counted", async ({ keys, wrap }) => {
    // Prepare: each object holds two events of the identity, so the window counts 2 per key read.
    const arn = `arn:aws:iam::111122223333:user/trail-topic-${counter}`;
    const objects = [];
    for (let index = 0; index < keys; index += 1) {
      objects.push(await upload(sweep(2, `2026-11-28T10:00:0${index}Z`, { arn })));
    }
    const notification = { s3Bucket: environment.bucket, s3ObjectKey: objects.map(({ key }) => key) };

    // Act
    const result = await handler(sqs({ id: 'trail', body: wrap(notification) }));

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(2 * keys);
  });

  it('EventBridge "Object Created": the object is counted', async () => {
    // Prepare
    const arn = 'arn:aws:iam::111122223333:user/eventbridge';
    const { key, size } = await upload(sweep(2, '2026-11-28T10:00:01Z', { arn }));

    // Act
    await handler(eventBridge(key, size));

    // Assess
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(2);
  });

  it('a key with spaces, plus signs, percent signs and unicode is decoded and read', async () => {
    // Prepare
    const arn = 'arn:aws:iam::111122223333:user/odd-key';
    const key =
      'odd prefix+%/é/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/111122223333_CloudTrail_us-east-1_20261128T1005Z_a b+c.json.gz';
    const { size } = await upload(sweep(2, '2026-11-28T10:00:01Z', { arn }), key);

    // Act
    await handler(s3Notification(environment.bucket, key, size));

    // Assess
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(2);
  });

  it('the same notification delivered three times counts once', async () => {
    // Prepare
    const arn = 'arn:aws:iam::111122223333:user/redelivered';
    const { key, size } = await upload(sweep(4, '2026-11-28T10:00:01Z', { arn }));
    const notification = s3Notification(environment.bucket, key, size);

    // Act
    await Promise.all([handler(notification), handler(notification), handler(notification)]);

    // Assess
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(4);
  });

  it('an SQS batch: a poison object is dropped, a transient failure is the only batch item failure', async () => {
    // Prepare
    const arn = 'arn:aws:iam::111122223333:user/batch';
    const good = await upload(sweep(3, '2026-11-28T10:00:01Z', { arn }));
    const poison = await upload([]);
    await environment.s3.send(
      new PutObjectCommand({
        Bucket: environment.bucket,
        Key: poison.key,
        Body: gzipSync('{"Records":[{"a":').subarray(0, 20),
      }),
    );
    const missingBucket = s3Notification('no-such-bucket', good.key, good.size);

    // Act
    const result = await handler(
      sqs(
        { id: 'good', body: s3Notification(environment.bucket, good.key, good.size) },
        { id: 'poison', body: s3Notification(environment.bucket, poison.key, 20) },
        { id: 'transient', body: missingBucket },
        { id: 'garbage', body: 'not a notification' },
      ),
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'transient' }] });
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(3);
  });

  it('an object deleted before it is read is dropped as gone, not retried into the failure queue', async () => {
    // Prepare: the stand-in answers 404 NoSuchKey, as S3 answers a role holding s3:ListBucket on the prefix
    // (which the stack grants; without it S3 would answer 403 and the message would be retried).
    const arn = 'arn:aws:iam::111122223333:user/deleted';
    const kept = await upload(sweep(2, '2026-11-28T10:00:01Z', { arn }));
    const deletedKey = cloudTrailKey(
      '111122223333',
      'eu-west-1',
      new Date('2026-11-28T10:05:00Z'),
      'deleted',
    );

    // Act
    const result = await handler(
      sqs(
        { id: 'kept', body: s3Notification(environment.bucket, kept.key, kept.size) },
        { id: 'deleted', body: s3Notification(environment.bucket, deletedKey, 20) },
      ),
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(2);
  });

  it('a direct invocation with a transient failure throws, after processing the other objects', async () => {
    // Prepare
    const arn = 'arn:aws:iam::111122223333:user/direct-retry';
    const good = await upload(sweep(2, '2026-11-28T10:00:01Z', { arn }));
    const event = {
      Records: [
        ...(s3Notification('no-such-bucket', good.key, good.size) as { Records: unknown[] }).Records,
        ...(s3Notification(environment.bucket, good.key, good.size) as { Records: unknown[] }).Records,
      ],
    };

    // Act
    const error = await handler(event).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'TransientObjectFailure' });
    expect(await eventsInWindow('2026-11-28T10:00:00Z', arn)).toBe(2);
  });

  it('s3:TestEvent is ignored', async () => {
    // Act
    const result = await handler({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-28T10:00:00Z',
      Bucket: environment.bucket,
    });

    // Assess
    expect(result).toBeUndefined();
  });

  it('a sweep spread over 12 objects publishes one SNS alert with the rule attributes', async () => {
    // Prepare
    const arn = 'arn:aws:sts::111122223333:assumed-role/stolen/session';
    const before = environment.recorder.published().length;
    const objects = [];
    for (const event of sweep(12, '2026-11-28T10:03:01Z', { arn })) objects.push(await upload([event]));

    // Act
    await Promise.all(objects.map(({ key, size }) => handler(s3Notification(environment.bucket, key, size))));

    // Assess
    const alerts = publishedAlerts(environment.recorder.published().slice(before));
    expect(
      alerts.map((a) => [a.finding.arn, a.finding.windowStart, a.attributes.rule_id, a.attributes.severity]),
    ).toEqual([[arn, '2026-11-28T10:03:00.000Z', EC2_MULTI_REGION_DESCRIBE_INSTANCES.id, 'low']]);
  });
});
