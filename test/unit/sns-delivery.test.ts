import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Delivery,
  deliver,
  messageFor,
  type NotificationSigner,
  type PublishedMessage,
  SUBSCRIPTION_PROTOCOLS,
  type Subscription,
  type SubscriptionProtocol,
} from '../../lib/local/sns-delivery';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const signer: NotificationSigner = {
  signatureVersion: '1',
  sign: (text) => createSign('RSA-SHA1').update(text, 'utf8').sign(privateKey, 'base64'),
  signingCertUrl: 'https://sns.example/cert.pem',
  unsubscribeUrl: (arn) => `https://sns.example/?Action=Unsubscribe&SubscriptionArn=${arn}`,
};

function publish(overrides: Partial<PublishedMessage> = {}): PublishedMessage {
  return {
    topicArn: TOPIC,
    messageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    subject: 'Alert',
    message: JSON.stringify({ default: 'for everyone', https: 'for chat', email: 'for people' }),
    messageStructure: 'json',
    attributes: { severity: { DataType: 'String', StringValue: 'low' } },
    timestamp: '2026-11-28T10:00:05.000Z',
    ...overrides,
  };
}

function subscription(protocol: SubscriptionProtocol, rawMessageDelivery = false): Subscription {
  return {
    subscriptionArn: `${TOPIC}:sub-${protocol}`,
    topicArn: TOPIC,
    protocol,
    endpoint: `endpoint-${protocol}`,
    rawMessageDelivery,
  };
}

function json(delivery: Delivery): Record<string, unknown> {
  return JSON.parse(delivery.body) as Record<string, unknown>;
}

describe('the body each protocol gets (its key, else default)', () => {
  it.each([
    { case: 'https has a key', protocol: 'https', expected: 'for chat' },
    { case: 'email has a key', protocol: 'email', expected: 'for people' },
    { case: 'sqs falls back to default', protocol: 'sqs', expected: 'for everyone' },
    { case: 'lambda falls back to default', protocol: 'lambda', expected: 'for everyone' },
    { case: 'http falls back to default', protocol: 'http', expected: 'for everyone' },
    { case: 'email-json falls back to default', protocol: 'email-json', expected: 'for everyone' },
  ] as const)('$case', ({ protocol, expected }) => {
    // Act
    const body = messageFor(publish(), protocol);

    // Assess
    expect(body).toBe(expected);
  });

  it('a message without MessageStructure json is every protocol’s body, keys and all', () => {
    // Prepare
    const text = JSON.stringify({ default: 'a', https: 'b' });

    // Act
    const bodies = SUBSCRIPTION_PROTOCOLS.map((protocol) =>
      messageFor(publish({ message: text, messageStructure: undefined }), protocol),
    );

    // Assess
    expect(new Set(bodies)).toEqual(new Set([text]));
  });
});

describe('the envelope SNS adds', () => {
  it('non-raw sqs gets the JSON notification document with the attributes as Type and Value', () => {
    // Act
    const delivery = deliver(publish(), subscription('sqs'), signer);

    // Assess
    expect({ ...json(delivery), Signature: '(checked below)' }).toEqual({
      Type: 'Notification',
      MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      TopicArn: TOPIC,
      Subject: 'Alert',
      Message: 'for everyone',
      Timestamp: '2026-11-28T10:00:05.000Z',
      SignatureVersion: '1',
      Signature: '(checked below)',
      SigningCertURL: 'https://sns.example/cert.pem',
      UnsubscribeURL: `https://sns.example/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:sub-sqs`,
      MessageAttributes: { severity: { Type: 'String', Value: 'low' } },
    });
  });

  it('raw sqs gets the body as is, with the attributes as SQS message attributes', () => {
    // Act
    const delivery = deliver(publish(), subscription('sqs', true), signer);

    // Assess
    expect({ body: delivery.body, attributes: delivery.messageAttributes }).toEqual({
      body: 'for everyone',
      attributes: { severity: { DataType: 'String', StringValue: 'low' } },
    });
  });

  it('raw https gets the body as is, flagged by x-amz-sns-rawdelivery, and no attributes', () => {
    // Act
    const delivery = deliver(publish(), subscription('https', true), signer);

    // Assess
    expect({
      body: delivery.body,
      raw: delivery.headers?.['x-amz-sns-rawdelivery'],
      attributes: delivery.messageAttributes,
    }).toEqual({ body: 'for chat', raw: 'true', attributes: undefined });
  });

  it('non-raw https (Amazon Q Developer) gets its own body inside the envelope, with the SNS headers', () => {
    // Act
    const delivery = deliver(publish(), subscription('https'), signer);

    // Assess
    expect({
      message: json(delivery).Message,
      type: delivery.headers?.['x-amz-sns-message-type'],
      subscription: delivery.headers?.['x-amz-sns-subscription-arn'],
      raw: delivery.headers?.['x-amz-sns-rawdelivery'],
    }).toEqual({
      message: 'for chat',
      type: 'Notification',
      subscription: `${TOPIC}:sub-https`,
      raw: undefined,
    });
  });

  it('email gets the text with the Publish subject', () => {
    // Act
    const delivery = deliver(publish(), subscription('email'), signer);

    // Assess
    expect({ subject: delivery.subject, body: delivery.body }).toEqual({
      subject: 'Alert',
      body: 'for people',
    });
  });

  it('email-json gets the envelope without message attributes', () => {
    // Act
    const envelope = json(deliver(publish(), subscription('email-json'), signer));

    // Assess
    expect({ message: envelope.Message, attributes: envelope.MessageAttributes }).toEqual({
      message: 'for everyone',
      attributes: undefined,
    });
  });

  it('lambda gets one event record, spelling the URLs ...Url and a missing subject as null', () => {
    // Act
    const event = json(deliver(publish({ subject: undefined }), subscription('lambda'), signer)) as {
      Records: Array<Record<string, unknown> & { Sns: Record<string, unknown> }>;
    };

    // Assess
    const [record] = event.Records;
    expect({
      records: event.Records.length,
      source: record?.EventSource,
      subscription: record?.EventSubscriptionArn,
      subject: record?.Sns.Subject,
      message: record?.Sns.Message,
      urls: [record?.Sns.SigningCertUrl, record?.Sns.UnsubscribeUrl].every((url) => typeof url === 'string'),
      attributes: record?.Sns.MessageAttributes,
    }).toEqual({
      records: 1,
      source: 'aws:sns',
      subscription: `${TOPIC}:sub-lambda`,
      subject: null,
      message: 'for everyone',
      urls: true,
      attributes: { severity: { Type: 'String', Value: 'low' } },
    });
  });

  it('leaves Subject out of the envelope when the Publish had none', () => {
    // Act
    const envelope = json(deliver(publish({ subject: undefined }), subscription('http'), signer));

    // Assess
    expect(Object.hasOwn(envelope, 'Subject')).toBe(false);
  });

  it.each([
    { case: 'with a subject', subject: 'Alert' },
    { case: 'without a subject', subject: undefined },
  ])(
    'the signature verifies over Message, MessageId, Subject, Timestamp, TopicArn, Type ($case)',
    ({ subject }) => {
      // Prepare
      const envelope = json(deliver(publish({ subject }), subscription('https'), signer)) as Record<
        string,
        string
      >;
      const signed = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
        .filter((name) => envelope[name] !== undefined)
        .map((name) => `${name}\n${envelope[name]}\n`)
        .join('');

      // Act
      const valid = createVerify('RSA-SHA1')
        .update(signed, 'utf8')
        .verify(publicKey, envelope.Signature ?? '', 'base64');

      // Assess
      expect(valid).toBe(true);
    },
  );
});
