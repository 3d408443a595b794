import { createVerify } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SnsRecorder, startSnsRecorder } from '../../lib/local/sns-recorder';

let recorder: SnsRecorder;
let client: SNSClient;

beforeAll(async () => {
  recorder = await startSnsRecorder();
  client = new SNSClient({
    region: 'us-east-1',
    endpoint: recorder.endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await recorder?.stop();
});

async function publishTo(topicArn: string, message: Record<string, string>): Promise<string> {
  const output = await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: 'Alert',
      MessageStructure: 'json',
      Message: JSON.stringify(message),
      MessageAttributes: { severity: { DataType: 'String', StringValue: 'low' } },
    }),
  );
  return output.MessageId ?? '';
}

function recorded(messageId: string) {
  const publish = recorder.published().find((candidate) => candidate.messageId === messageId);
  if (publish === undefined) throw new Error(`publish ${messageId} was not recorded`);
  return publish;
}

describe('SNS recorder subscriptions', () => {
  it('records one delivery per subscription of the published topic, and none for other topics', async () => {
    // Prepare
    const topic = recorder.createTopic('fan-out');
    const other = recorder.createTopic('elsewhere');
    await recorder.subscribe(topic, 'https', 'https://global.sns-api.chatbot.amazonaws.com');
    await recorder.subscribe(topic, 'sqs', 'arn:aws:sqs:us-east-1:000000000000:q', {
      rawMessageDelivery: true,
    });
    await recorder.subscribe(other, 'email', 'someone@example.com');

    // Act
    const messageId = await publishTo(topic, { default: 'data', https: 'chat' });

    // Assess
    const { deliveries } = recorded(messageId);
    expect(
      deliveries.map((d) => ({
        protocol: d.protocol,
        message: d.rawMessageDelivery ? d.body : (JSON.parse(d.body) as { Message: string }).Message,
      })),
    ).toEqual([
      { protocol: 'https', message: 'chat' },
      { protocol: 'sqs', message: 'data' },
    ]);
  });

  it('records no delivery for a topic without subscriptions', async () => {
    // Prepare
    const topic = recorder.createTopic('nobody-listens');

    // Act
    const messageId = await publishTo(topic, { default: 'data' });

    // Assess
    expect(recorded(messageId).deliveries).toEqual([]);
  });

  it.each([
    { case: 'lambda', protocol: 'lambda' },
    { case: 'email', protocol: 'email' },
    { case: 'email-json', protocol: 'email-json' },
  ] as const)('refuses raw message delivery on $case, as SNS does', async ({ protocol }) => {
    // Prepare
    const topic = recorder.createTopic('raw-refused');

    // Act
    const subscribed = recorder.subscribe(topic, protocol, 'x', { rawMessageDelivery: true });

    // Assess
    await expect(subscribed).rejects.toThrow(/does not support raw message delivery/);
  });

  it('refuses a subscription to a topic that does not exist', async () => {
    // Act
    const subscribed = recorder.subscribe('arn:aws:sns:us-east-1:000000000000:missing', 'sqs', 'x');

    // Assess
    await expect(subscribed).rejects.toThrow(/Topic does not exist/);
  });

  it('signs envelopes with the key served at SigningCertURL', async () => {
    // Prepare
    const topic = recorder.createTopic('signed');
    await recorder.subscribe(topic, 'http', 'http://webhook.example.com/');
    const messageId = await publishTo(topic, { default: 'data' });
    const [delivery] = recorded(messageId).deliveries;
    const envelope = JSON.parse(delivery?.body ?? '{}') as Record<string, string>;
    const signed = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      .map((name) => `${name}\n${envelope[name]}\n`)
      .join('');

    // Act
    const key = await (await fetch(envelope.SigningCertURL ?? '')).text();

    // Assess
    expect(
      createVerify('RSA-SHA1')
        .update(signed, 'utf8')
        .verify(key, envelope.Signature ?? '', 'base64'),
    ).toBe(true);
  });

  it('stops delivering to a subscription once its UnsubscribeURL is visited', async () => {
    // Prepare
    const topic = recorder.createTopic('leaving');
    await recorder.subscribe(topic, 'https', 'https://hooks.example.com/');
    const first = await publishTo(topic, { default: 'data' });
    const [delivery] = recorded(first).deliveries;
    const envelope = JSON.parse(delivery?.body ?? '{}') as { UnsubscribeURL: string };

    // Act
    const response = await fetch(envelope.UnsubscribeURL);
    const second = await publishTo(topic, { default: 'data' });

    // Assess
    expect({
      status: response.status,
      subscriptions: recorder.subscriptions(topic),
      deliveries: recorded(second).deliveries,
    }).toEqual({ status: 200, subscriptions: [], deliveries: [] });
  });
});
