import {
  InternalErrorException,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  type PublishCommandInput,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SnsAlertPublisher } from '../../lambda/adapters/sns-alert-publisher';
import { SNS_LIMITS } from '../../lambda/domain/alerting/sizing';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { presentationOf } from '../../lambda/domain/detection/window-state';
import { SnsMissingMessageIdError } from '../../lambda/domain/errors';
import type { AlertToPublish } from '../../lambda/ports';
import { type SnsRecorder, startSnsRecorder } from '../../lib/local/sns-recorder';

const ALERT: AlertToPublish = {
  origin: 'backfill',
  suppressedWindows: 2,
  finding: {
    ruleId: '393ef120-63d1-11ef-8e38-f661ea17fbce',
    ruleName: 'AWS EC2 Multi-Region DescribeInstances API Calls',
    presentation: presentationOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES),
    severity: 'low',
    arn: 'arn:aws:sts::111122223333:assumed-role/Ops_Admin/alice',
    groupedBy: {},
    windowStart: '2026-11-28T10:00:00.000Z',
    windowSeconds: 30,
    window: 'aligned',
    distinctField: 'awsRegion',
    distinctCount: 11,
    eventCount: 13,
    distinctValues: [
      'ap-northeast-1',
      'ap-south-1',
      'ap-southeast-2',
      'ca-central-1',
      'eu-central-1',
      'eu-north-1',
      'eu-west-1',
      'sa-east-1',
      'us-east-1',
      'us-east-2',
      'us-west-2',
    ],
    failedCount: 2,
    firstEventTime: '2026-11-28T10:00:01.000Z',
    lastEventTime: '2026-11-28T10:00:29.000Z',
    accountIds: ['111122223333'],
    identityTypes: ['AssumedRole'],
    accessKeyIds: ['ASIAEXAMPLEKEY000001'],
    sourceIps: ['198.51.100.23'],
    userAgents: ['<!channel> python-requests/2.31 \u202Eexe.txt'],
    sessionIssuers: ['arn:aws:iam::111122223333:role/Ops_Admin'],
    sampleEventIds: ['0f6c1a52-0000-4000-8000-000000000001'],
  },
};

let recorder: SnsRecorder;
let topicArn: string;

function client(options: { maxAttempts?: number; requestTimeout?: number } = {}): SNSClient {
  return new SNSClient({
    region: 'us-east-1',
    endpoint: recorder.endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'test-secret' },
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: { requestTimeout: options.requestTimeout ?? 5_000, throwOnRequestTimeout: true },
  });
}

beforeAll(async () => {
  recorder = await startSnsRecorder();
});

afterAll(async () => {
  await recorder.stop();
});

beforeEach(() => {
  topicArn = recorder.createTopic(`alerts-${crypto.randomUUID()}`);
});

describe('SnsAlertPublisher through the real SNSClient', () => {
  it('returns the message id SNS assigned', async () => {
    // Prepare
    const publisher = new SnsAlertPublisher({ client: client(), topicArn });

    // Act
    const messageId = await publisher.publish(ALERT);

    // Assess
    expect(recorder.published().find((p) => p.topicArn === topicArn)?.messageId).toBe(messageId);
  });

  it('publishes the rendered subject, JSON message and attributes', async () => {
    // Prepare
    const publisher = new SnsAlertPublisher({ client: client(), topicArn });
    const rendered = renderAlert(ALERT);

    // Act
    await publisher.publish(ALERT);

    // Assess
    const recorded = recorder.published().find((p) => p.topicArn === topicArn);
    expect(recorded && { ...recorded, messageId: 'id', receivedAt: 'time' }).toEqual({
      topicArn,
      messageId: 'id',
      subject: rendered.subject,
      message: rendered.message,
      messageStructure: 'json',
      attributes: rendered.attributes,
      receivedAt: 'time',
      deliveries: [],
    });
  });

  it('propagates an SDK error unchanged', async () => {
    // Prepare
    const publisher = new SnsAlertPublisher({ client: client(), topicArn });
    recorder.failNext(1, 'internal');

    // Act
    const result = publisher.publish(ALERT);

    // Assess
    await expect(result).rejects.toBeInstanceOf(InternalErrorException);
  });

  it('fails with a named transient error when SNS returns no message id', async () => {
    // Prepare: a port that answers like a broken transport.
    const publisher = new SnsAlertPublisher({ client: { send: async () => ({ $metadata: {} }) }, topicArn });

    // Act
    const result = publisher.publish(ALERT);

    // Assess
    await expect(result).rejects.toBeInstanceOf(SnsMissingMessageIdError);
  });
});

describe('recorder validates Publish like SNS', () => {
  const oversize = 'x'.repeat(SNS_LIMITS.maxMessageBytes + 1);

  it.each([
    { case: 'subject of 101 characters', input: { Message: 'm', Subject: 's'.repeat(101) } },
    { case: 'subject with a newline', input: { Message: 'm', Subject: 'line one\nline two' } },
    { case: 'empty subject', input: { Message: 'm', Subject: '' } },
    { case: 'message over 256 KiB', input: { Message: oversize } },
    {
      case: 'message plus attributes over 256 KiB',
      input: {
        Message: 'x'.repeat(SNS_LIMITS.maxMessageBytes - 10),
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'critical' } },
      },
    },
    { case: 'JSON structure without default', input: { Message: '{"email":"x"}', MessageStructure: 'json' } },
    { case: 'JSON structure that is not JSON', input: { Message: 'not json', MessageStructure: 'json' } },
    { case: 'empty message', input: { Message: '' } },
  ])('rejects a $case with InvalidParameter', async ({ input }) => {
    // Prepare
    const sns = client();

    // Act
    const result = sns.send(new PublishCommand({ TopicArn: topicArn, ...input } as PublishCommandInput));

    // Assess
    await expect(result).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('accepts a message of exactly 256 KiB', async () => {
    // Prepare
    const sns = client();

    // Act
    const output = await sns.send(
      new PublishCommand({ TopicArn: topicArn, Message: 'x'.repeat(SNS_LIMITS.maxMessageBytes) }),
    );

    // Assess
    expect(output.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a subject of exactly 100 characters', async () => {
    // Prepare
    const sns = client();

    // Act
    const output = await sns.send(
      new PublishCommand({ TopicArn: topicArn, Message: 'm', Subject: 's'.repeat(100) }),
    );

    // Assess
    expect(output.MessageId).toBeDefined();
  });

  it('answers NotFound for a topic that does not exist', async () => {
    // Prepare
    const sns = client();

    // Act
    const result = sns.send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:missing', Message: 'm' }),
    );

    // Assess
    await expect(result).rejects.toBeInstanceOf(NotFoundException);
  });

  it('records nothing it rejected', async () => {
    // Prepare
    const sns = client();

    // Act
    await sns
      .send(new PublishCommand({ TopicArn: topicArn, Message: 'm', Subject: 'a\nb' }))
      .catch(() => undefined);

    // Assess
    expect(recorder.published().filter((p) => p.topicArn === topicArn)).toEqual([]);
  });
});

describe('recorder failure injection', () => {
  it.each([
    { case: 'throttle', kind: 'throttle' as const, expected: ThrottledException },
    { case: 'internal', kind: 'internal' as const, expected: InternalErrorException },
  ])('$case makes the client throw the matching exception', async ({ kind, expected }) => {
    // Prepare
    const sns = client();
    recorder.failNext(1, kind);

    // Act
    const result = sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'm' }));

    // Assess
    await expect(result).rejects.toBeInstanceOf(expected);
  });

  it('timeout makes the client give up with a TimeoutError', async () => {
    // Prepare
    const sns = client({ requestTimeout: 200 });
    recorder.failNext(1, 'timeout');

    // Act
    const result = sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'm' }));

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('a single throttle is absorbed by the SDK retry', async () => {
    // Prepare
    const sns = client({ maxAttempts: 3 });
    recorder.failNext(1, 'throttle');

    // Act
    const output = await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'm' }));

    // Assess
    expect(output.$metadata.attempts).toBe(2);
  });

  it('fails only the given number of requests', async () => {
    // Prepare
    const sns = client();
    recorder.failNext(1, 'internal');
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'first' })).catch(() => undefined);

    // Act
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'second' }));

    // Assess
    expect(
      recorder
        .published()
        .filter((p) => p.topicArn === topicArn)
        .map((p) => p.message),
    ).toEqual(['second']);
  });
});
