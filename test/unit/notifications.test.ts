import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnrecognisedNotificationError } from '../../lambda/domain/errors';
import {
  BACKFILL_MAX_MESSAGE_BYTES,
  backfillMessage,
  decodeS3Key,
  packBackfillMessages,
  parseInvocation,
} from '../../lambda/domain/notifications';
import type { ObjectRef } from '../../lambda/ports';

const FIXTURES = join(import.meta.dirname, '../fixtures/notifications');

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

const BUCKET = 'org-cloudtrail-logs-111122223333';
const KEY_EU =
  'AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T1015Z_Xb3Jk9QnV2mP7sLd.json.gz';
const KEY_US =
  'AWSLogs/o-abc123/444455556666/CloudTrail/us-east-1/2024/03/05/444455556666_CloudTrail_us-east-1_20240305T1015Z_c8RtW1yHq0ZfN4aE.json.gz';

const EU_PUT: ObjectRef = { bucket: BUCKET, key: KEY_EU, size: 2741 };
const US_PUT: ObjectRef = { bucket: BUCKET, key: KEY_US, size: 913 };

/** An SQS batch of one record per body, with message ids m0, m1, ... */
function sqsBatch(...bodies: string[]): unknown {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `m${index}`,
      receiptHandle: `handle-${index}`,
      body,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:regionsweep-log-created',
      awsRegion: 'eu-west-1',
    })),
  };
}

function s3Event(...objects: Record<string, unknown>[]): Record<string, unknown> {
  return {
    Records: objects.map((object) => ({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: BUCKET }, object },
    })),
  };
}

describe('parseInvocation: object-created notifications', () => {
  it.each([
    {
      case: 'S3 -> Lambda, versioned bucket',
      file: 's3-put.json',
      kind: 'direct',
      items: [{ refs: [{ ...EU_PUT, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' }], origin: 'live' }],
    },
    {
      case: 'S3 -> Lambda, multipart upload and copy (an empty object) in one event',
      file: 's3-multiple-records.json',
      kind: 'direct',
      items: [
        {
          refs: [{ bucket: BUCKET, key: KEY_US.replace('.json.gz', ' copy(1).json.gz'), size: 18734211 }],
          origin: 'live',
        },
        { refs: [{ bucket: BUCKET, key: KEY_EU, size: 0 }], origin: 'live' },
      ],
    },
    {
      case: 'S3 -> SNS -> Lambda',
      file: 'sns-s3-put.json',
      kind: 'direct',
      items: [{ refs: [EU_PUT], origin: 'live' }],
    },
    {
      case: 'S3 -> SQS -> Lambda, two records',
      file: 'sqs-s3.json',
      kind: 'sqs',
      items: [
        { refs: [EU_PUT], sqsMessageId: '059f36b4-87a3-44ab-83d2-661975830a7d', origin: 'live' },
        { refs: [US_PUT], sqsMessageId: '2e1424d4-f796-459a-8184-9c92662be6da', origin: 'live' },
      ],
    },
    {
      case: 'S3 -> SNS -> SQS -> Lambda, SNS envelope',
      file: 'sqs-sns-envelope.json',
      kind: 'sqs',
      items: [
        {
          refs: [{ ...EU_PUT, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' }],
          sqsMessageId: 'c1f2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b',
          origin: 'live',
        },
      ],
    },
    {
      case: 'S3 -> SNS -> SQS -> Lambda, raw message delivery',
      file: 'sqs-sns-raw.json',
      kind: 'sqs',
      items: [{ refs: [EU_PUT], sqsMessageId: 'd4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70', origin: 'live' }],
    },
    {
      case: 'S3 -> EventBridge -> Lambda',
      file: 'eventbridge-object-created.json',
      kind: 'direct',
      items: [{ refs: [{ ...EU_PUT, versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e' }], origin: 'live' }],
    },
    {
      case: 'S3 -> EventBridge -> SQS -> Lambda',
      file: 'sqs-eventbridge.json',
      kind: 'sqs',
      items: [{ refs: [US_PUT], sqsMessageId: 'f1a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c', origin: 'live' }],
    },
    {
      case: 'backfill message through SQS',
      file: 'sqs-backfill.json',
      kind: 'sqs',
      items: [
        {
          refs: [
            { ...EU_PUT, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' },
            {
              bucket: BUCKET,
              key: 'AWSLogs/o-abc123/444455556666/CloudTrail/us-east-1/2024/03/05/a b+c.json.gz',
            },
          ],
          sqsMessageId: '4e5f6a7b-8c9d-4e0f-8a1b-2c3d4e5f6a7b',
          origin: 'backfill',
        },
      ],
    },
  ])('$case yields its object refs', ({ file, kind, items }) => {
    // Prepare
    const event = fixture(file);

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({ kind, items, rejected: [], ignoredTestEvents: 0, ignored: 0 });
  });

  it('keeps a backfill key verbatim, never URL-decoding it', () => {
    // Prepare
    const refs: ObjectRef[] = [{ bucket: BUCKET, key: 'logs/a+b%2B.json.gz' }];

    // Act
    const parsed = parseInvocation(sqsBatch(backfillMessage(refs)));

    // Assess
    expect(parsed.items[0]?.refs).toStrictEqual(refs);
  });

  it('URL-decodes an EventBridge object key like an S3 notification key', () => {
    // Prepare
    const event = fixture('eventbridge-object-created.json') as { detail: { object: { key: string } } };
    event.detail.object.key = 'logs/a+b%2Bc%C3%A9.json.gz';

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed.items[0]?.refs[0]?.key).toBe('logs/a b+cé.json.gz');
  });

  it('omits versionId when S3 sends it as null', () => {
    // Prepare
    const event = sqsBatch(JSON.stringify(s3Event({ key: 'a.json.gz', size: 5, versionId: null })));

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed.items[0]?.refs).toStrictEqual([{ bucket: BUCKET, key: 'a.json.gz', size: 5 }]);
  });
});

/**
 * What a trail publishes to its SNS topic after a delivery (AWS CloudTrail User Guide, "Configuring Amazon SNS
 * notifications for CloudTrail"): the bucket and the plain keys of the delivered log files.
 */
function cloudTrailNotification(...keys: unknown[]): Record<string, unknown> {
  return { s3Bucket: BUCKET, s3ObjectKey: keys };
}

/** An SNS envelope as SNS writes it into a subscribed SQS queue (raw message delivery off). */
function snsEnvelope(message: unknown): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '7c1d2e3f-0000-4000-8000-00000000c7a1',
    TopicArn: 'arn:aws:sns:eu-west-1:999999999999:org-trail-notifications',
    Message: JSON.stringify(message),
    Timestamp: '2024-03-05T10:15:28.019Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-example.pem',
    UnsubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
  });
}

describe("parseInvocation: CloudTrail notifications from a trail's SNS topic", () => {
  it.each([
    { case: 'one key, enveloped in SQS', body: snsEnvelope(cloudTrailNotification(KEY_EU)), keys: [KEY_EU] },
    {
      case: 'two keys, enveloped in SQS',
      body: snsEnvelope(cloudTrailNotification(KEY_EU, KEY_US)),
      keys: [KEY_EU, KEY_US],
    },
    {
      case: 'one key, raw delivery to SQS',
      body: JSON.stringify(cloudTrailNotification(KEY_US)),
      keys: [KEY_US],
    },
    {
      case: 'two keys, raw delivery to SQS',
      body: JSON.stringify(cloudTrailNotification(KEY_US, KEY_EU)),
      keys: [KEY_US, KEY_EU],
    },
  ])('$case: every key is an object ref of the message', ({ body, keys }) => {
    // Act
    const parsed = parseInvocation(sqsBatch(body));

    // Assess
    expect(parsed).toStrictEqual({
      kind: 'sqs',
      items: [{ refs: keys.map((key) => ({ bucket: BUCKET, key })), sqsMessageId: 'm0', origin: 'live' }],
      rejected: [],
      ignoredTestEvents: 0,
      ignored: 0,
    });
  });

  it('SNS -> Lambda: the keys of the message are object refs', () => {
    // Prepare
    const event = {
      Records: [
        {
          EventSource: 'aws:sns',
          Sns: { Type: 'Notification', Message: JSON.stringify(cloudTrailNotification(KEY_EU, KEY_US)) },
        },
      ],
    };

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed.items).toStrictEqual([
      {
        refs: [
          { bucket: BUCKET, key: KEY_EU },
          { bucket: BUCKET, key: KEY_US },
        ],
        origin: 'live',
      },
    ]);
  });

  it('keeps a key verbatim: CloudTrail does not URL-encode the paths it notifies', () => {
    // Prepare
    const key = 'trail+logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/05/a%2B.json.gz';

    // Act
    const parsed = parseInvocation(sqsBatch(JSON.stringify(cloudTrailNotification(key))));

    // Assess
    expect(parsed.items[0]?.refs).toStrictEqual([{ bucket: BUCKET, key }]);
  });

  it.each([
    {
      case: 'an empty key list',
      message: cloudTrailNotification(),
      reason: /s3ObjectKey is an array|not a list/,
    },
    {
      case: 'a key that is not a list',
      message: { s3Bucket: BUCKET, s3ObjectKey: KEY_EU },
      reason: /not a list/,
    },
    {
      case: 'a missing bucket',
      message: { s3Bucket: null, s3ObjectKey: [KEY_EU] },
      reason: /key 0: bucket name is null/,
    },
  ])('rejects $case, naming it', ({ message, reason }) => {
    // Act
    const parsed = parseInvocation(sqsBatch(snsEnvelope(message)));

    // Assess
    expect(parsed.items).toStrictEqual([]);
    expect(parsed.rejected).toStrictEqual([{ reason: expect.stringMatching(reason), sqsMessageId: 'm0' }]);
  });

  it('a bad key rejects only itself; the other keys of the message stay work', () => {
    // Act
    const parsed = parseInvocation(sqsBatch(snsEnvelope(cloudTrailNotification(KEY_EU, 42, KEY_US))));

    // Assess
    expect(parsed.items[0]?.refs).toStrictEqual([
      { bucket: BUCKET, key: KEY_EU },
      { bucket: BUCKET, key: KEY_US },
    ]);
    expect(parsed.rejected).toStrictEqual([
      { reason: 'CloudTrail notification key 1: object key is number 42', sqsMessageId: 'm0' },
    ]);
  });
});

describe('parseInvocation: events that are not work', () => {
  it.each([
    { case: 'S3 -> Lambda', file: 's3-test-event.json', kind: 'direct' },
    { case: 'S3 -> SNS -> Lambda', file: 'sns-test-event.json', kind: 'direct' },
    { case: 'S3 -> SQS -> Lambda', file: 'sqs-test-event.json', kind: 'sqs' },
    { case: 'S3 -> SNS -> SQS -> Lambda', file: 'sqs-sns-test-event.json', kind: 'sqs' },
  ])('counts an s3:TestEvent via $case as ignored, not rejected', ({ file, kind }) => {
    // Prepare
    const event = fixture(file);

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({ kind, items: [], rejected: [], ignoredTestEvents: 1, ignored: 0 });
  });

  it.each([
    {
      case: 'S3 ObjectRemoved:DeleteMarkerCreated',
      event: fixture('s3-object-removed.json'),
      kind: 'direct',
    },
    {
      case: 'S3 ObjectRemoved:Delete through SQS',
      event: sqsBatch(
        JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectRemoved:Delete', s3: {} }] }),
      ),
      kind: 'sqs',
    },
    { case: 'EventBridge Object Deleted', event: fixture('eventbridge-object-deleted.json'), kind: 'direct' },
  ])('counts $case as ignored, not rejected', ({ event, kind }) => {
    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({ kind, items: [], rejected: [], ignoredTestEvents: 0, ignored: 1 });
  });
});

describe('parseInvocation: rejections', () => {
  it('rejects only the garbage record of a mixed SQS batch', () => {
    // Prepare
    const event = fixture('sqs-mixed-batch.json');

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({
      kind: 'sqs',
      items: [
        { refs: [EU_PUT], sqsMessageId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d', origin: 'live' },
        { refs: [US_PUT], sqsMessageId: '3d4e5f6a-7b8c-4d9e-9f0a-1b2c3d4e5f6a', origin: 'live' },
      ],
      rejected: [
        {
          reason: expect.stringMatching(/^SQS body is not JSON/),
          sqsMessageId: '1b2c3d4e-5f6a-4b7c-9d8e-9f0a1b2c3d4e',
        },
      ],
      ignoredTestEvents: 1,
      ignored: 0,
    });
  });

  it.each([
    { case: 'a body that is not JSON', body: 'hello', reason: /^SQS body is not JSON/ },
    { case: 'a JSON body of no known shape', body: '{"hello":"world"}', reason: /not an S3 notification/ },
    { case: 'a JSON array body', body: '[1,2]', reason: /SQS body is an array/ },
    {
      case: 'an SNS SubscriptionConfirmation',
      body: JSON.stringify({
        Type: 'SubscriptionConfirmation',
        TopicArn: 'arn:aws:sns:eu-west-1:1:t',
        Message: '',
      }),
      reason: /SubscriptionConfirmation/,
    },
    {
      case: 'an SNS envelope whose Message is not JSON',
      body: JSON.stringify({ Type: 'Notification', TopicArn: 'arn:aws:sns:eu-west-1:1:t', Message: 'hi' }),
      reason: /^SNS message is not JSON/,
    },
    {
      case: 'an EventBridge event from another source',
      body: JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', detail: {} }),
      reason: /from "aws\.ec2" is not from aws\.s3/,
    },
    {
      case: 'an S3 record from another event source',
      body: JSON.stringify({ Records: [{ eventSource: 'aws:ses', eventName: 'ObjectCreated:Put' }] }),
      reason: /not from aws:s3/,
    },
    {
      case: 'an S3 event with no records',
      body: JSON.stringify({ Records: [] }),
      reason: /empty Records/,
    },
    {
      case: 'an S3 record without a bucket name',
      body: JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: {} }] }),
      reason: /bucket name is missing/,
    },
    {
      case: 'an S3 record with malformed percent-encoding',
      body: JSON.stringify(s3Event({ key: 'logs/100%.json.gz', size: 1 })),
      reason: /malformed percent-encoding/,
    },
    {
      case: 'an S3 record whose key is empty',
      body: JSON.stringify(s3Event({ key: '', size: 1 })),
      reason: /object key is empty/,
    },
    {
      case: 'an S3 record with a negative size',
      body: JSON.stringify(s3Event({ key: 'a.json.gz', size: -1 })),
      reason: /size is number -1/,
    },
    {
      case: 'an S3 record with a numeric versionId',
      body: JSON.stringify(s3Event({ key: 'a.json.gz', versionId: 7 })),
      reason: /version id is number 7/,
    },
    {
      case: 'a backfill message of an unknown version',
      body: JSON.stringify({ regionsweep: 'backfill', version: 2, objects: [{ bucket: BUCKET, key: 'k' }] }),
      reason: /version number 2 is not supported/,
    },
    {
      case: 'a backfill message without objects',
      body: JSON.stringify({ regionsweep: 'backfill', version: 1, objects: [] }),
      reason: /no objects/,
    },
  ])('rejects an SQS record with $case, naming its messageId', ({ body, reason }) => {
    // Prepare
    const event = sqsBatch(body);

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({
      kind: 'sqs',
      items: [],
      rejected: [{ reason: expect.stringMatching(reason), sqsMessageId: 'm0' }],
      ignoredTestEvents: 0,
      ignored: 0,
    });
  });

  it('keeps the good S3 records of a message when one of its keys is malformed', () => {
    // Prepare
    const event = sqsBatch(
      JSON.stringify(s3Event({ key: 'bad%E9', size: 1 }, { key: 'good.json.gz', size: 2 })),
    );

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect([parsed.items, parsed.rejected]).toStrictEqual([
      [{ refs: [{ bucket: BUCKET, key: 'good.json.gz', size: 2 }], sqsMessageId: 'm0', origin: 'live' }],
      [{ reason: expect.stringMatching(/"bad%E9" has malformed percent-encoding/), sqsMessageId: 'm0' }],
    ]);
  });

  it('keeps the valid objects of a backfill message when one entry is invalid', () => {
    // Prepare
    const body = JSON.stringify({
      regionsweep: 'backfill',
      version: 1,
      objects: [{ bucket: BUCKET }, { bucket: BUCKET, key: 'k.json.gz' }],
    });

    // Act
    const parsed = parseInvocation(sqsBatch(body));

    // Assess
    expect([parsed.items, parsed.rejected]).toStrictEqual([
      [{ refs: [{ bucket: BUCKET, key: 'k.json.gz' }], sqsMessageId: 'm0', origin: 'backfill' }],
      [{ reason: 'backfill object 0: object key is missing', sqsMessageId: 'm0' }],
    ]);
  });

  it('rejects a non-SQS record inside an SQS batch under its own messageId', () => {
    // Prepare
    const event = {
      Records: [
        ...(sqsBatch(JSON.stringify(s3Event({ key: 'a.json.gz' }))) as { Records: unknown[] }).Records,
        { messageId: 'odd', eventSource: 'aws:kinesis' },
      ],
    };

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect([parsed.items.length, parsed.rejected]).toStrictEqual([
      1,
      [{ reason: 'record 1 of an SQS batch is not an SQS record', sqsMessageId: 'odd' }],
    ]);
  });

  it.each([
    { case: 'null', event: null, reason: /invocation event is null/ },
    { case: 'a string', event: 'ObjectCreated', reason: /invocation event is "ObjectCreated"/ },
    { case: 'an empty object', event: {}, reason: /invocation is not an S3 notification/ },
    { case: 'an empty Records list', event: { Records: [] }, reason: /no Records/ },
    {
      case: 'a DynamoDB stream record',
      event: { Records: [{ eventSource: 'aws:dynamodb', eventName: 'INSERT' }] },
      reason: /event source "aws:dynamodb", not aws:s3, aws:sns or aws:sqs/,
    },
    {
      case: 'an SNS record that does not carry an S3 event',
      event: { Records: [{ EventSource: 'aws:sns', Sns: { Type: 'Notification', Message: '{"alarm":1}' } }] },
      reason: /SNS message is not an S3 notification/,
    },
    {
      case: 'a backfill message inside SNS',
      event: {
        Records: [
          {
            EventSource: 'aws:sns',
            Sns: { Message: JSON.stringify({ regionsweep: 'backfill', version: 1, objects: [] }) },
          },
        ],
      },
      reason: /SNS message is not an S3 notification/,
    },
  ])('rejects a direct invocation with $case', ({ event, reason }) => {
    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed).toStrictEqual({
      kind: 'direct',
      items: [],
      rejected: [{ reason: expect.stringMatching(reason) }],
      ignoredTestEvents: 0,
      ignored: 0,
    });
  });

  it('bounds the length of a rejection reason quoting a large body', () => {
    // Prepare
    const event = sqsBatch(`x${'y'.repeat(100_000)}`);

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed.rejected[0]?.reason.length).toBeLessThan(400);
  });
});

describe('decodeS3Key', () => {
  it.each([
    { case: 'plus is a space', key: 'a+b.json.gz', decoded: 'a b.json.gz' },
    { case: '%2B is a literal plus', key: 'a%2Bb.json.gz', decoded: 'a+b.json.gz' },
    { case: '%25 is a literal percent', key: '100%25.json.gz', decoded: '100%.json.gz' },
    { case: '%20 is a space too', key: 'a%20b', decoded: 'a b' },
    { case: 'UTF-8 sequences decode to unicode', key: 'caf%C3%A9.json.gz', decoded: 'café.json.gz' },
    { case: 'encoded slash', key: 'a%2Fb', decoded: 'a/b' },
    {
      case: 'an organization trail key is unchanged',
      key: 'AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T1015Z_Xb3Jk9QnV2mP7sLd.json.gz',
      decoded:
        'AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T1015Z_Xb3Jk9QnV2mP7sLd.json.gz',
    },
  ])('$case: $key', ({ key, decoded }) => {
    // Act
    const result = decodeS3Key(key);

    // Assess
    expect(result).toBe(decoded);
  });

  it.each([
    { case: 'a lone percent', key: 'a%.json.gz' },
    { case: 'a percent followed by non-hex', key: 'a%zz.json.gz' },
    { case: 'a truncated UTF-8 sequence', key: 'caf%C3.json.gz' },
  ])('throws UnrecognisedNotificationError for $case', ({ key }) => {
    // Act
    const act = () => decodeS3Key(key);

    // Assess
    expect(act).toThrow(UnrecognisedNotificationError);
  });

  it('inverts the form-URL-encoding S3 applies to any key', () => {
    // Prepare
    const formEncode = (key: string) => encodeURIComponent(key).replaceAll('%20', '+');

    // Act / Assess
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (key) => decodeS3Key(formEncode(key)) === key));
  });
});

describe('backfill messages', () => {
  const refs: ObjectRef[] = [
    { bucket: BUCKET, key: KEY_EU, versionId: 'v1', size: 2741 },
    { bucket: 'other-bucket', key: 'logs/a b+c%.json.gz' },
    { bucket: BUCKET, key: KEY_US, size: 0 },
  ];

  it('round-trips refs through backfillMessage and parseInvocation', () => {
    // Prepare
    const body = backfillMessage(refs);

    // Act
    const parsed = parseInvocation(sqsBatch(body));

    // Assess
    expect(parsed.items).toStrictEqual([{ refs, sqsMessageId: 'm0', origin: 'backfill' }]);
  });

  it('writes the wire format pinned in the backfill fixture', () => {
    // Prepare
    const pinned = (fixture('sqs-backfill.json') as { Records: { body: string }[] }).Records[0]?.body;

    // Act
    const body = backfillMessage([
      { bucket: BUCKET, key: KEY_EU, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', size: 2741 },
      { bucket: BUCKET, key: 'AWSLogs/o-abc123/444455556666/CloudTrail/us-east-1/2024/03/05/a b+c.json.gz' },
    ]);

    // Assess
    expect(body).toBe(pinned);
  });

  it('accepts a backfill message as a direct invocation', () => {
    // Prepare
    const event = JSON.parse(backfillMessage(refs));

    // Act
    const parsed = parseInvocation(event);

    // Assess
    expect(parsed.items).toStrictEqual([{ refs, origin: 'backfill' }]);
  });

  it('refuses to build an empty backfill message', () => {
    // Act
    const act = () => backfillMessage([]);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('refuses to build a backfill message over the SQS size limit', () => {
    // Prepare
    const many = Array.from({ length: 300 }, (_, i) => ({ bucket: BUCKET, key: `${'k'.repeat(1000)}${i}` }));

    // Act
    const act = () => backfillMessage(many);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('packs refs into bodies within the size limit that together hold every ref in order', () => {
    // Prepare
    const many = Array.from({ length: 600 }, (_, i) => ({ bucket: BUCKET, key: `${'k'.repeat(1000)}${i}` }));

    // Act
    const bodies = packBackfillMessages(many);

    // Assess
    const sizes = bodies.map((body) => Buffer.byteLength(body));
    const unpacked = parseInvocation(sqsBatch(...bodies)).items.flatMap((item) => item.refs);
    expect([
      bodies.length,
      sizes.every((size) => size <= BACKFILL_MAX_MESSAGE_BYTES),
      unpacked,
    ]).toStrictEqual([3, true, many]);
  });

  it('fills each packed body up to the size limit', () => {
    // Prepare
    const many = Array.from({ length: 600 }, (_, i) => ({ bucket: BUCKET, key: `${'k'.repeat(1000)}${i}` }));

    // Act
    const [first, second] = packBackfillMessages(many);

    // Assess
    const firstCount = (JSON.parse(first ?? '{}') as { objects: unknown[] }).objects.length;
    const grown = JSON.stringify({
      regionsweep: 'backfill',
      version: 1,
      objects: many.slice(0, firstCount + 1),
    });
    expect([second === undefined, Buffer.byteLength(grown) > BACKFILL_MAX_MESSAGE_BYTES]).toStrictEqual([
      false,
      true,
    ]);
  });
});
