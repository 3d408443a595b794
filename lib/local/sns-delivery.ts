/**
 * What each kind of SNS subscriber receives for one Publish, as SNS documents it:
 *
 * - The body: with `MessageStructure: 'json'` the value of the subscription protocol's own key, or of `default`
 *   when the message has no such key; otherwise the message itself
 *   (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, `MessageStructure`).
 * - The envelope: HTTP/S, SQS and email-json subscribers get the JSON notification document
 *   (https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html) unless raw message delivery is on,
 *   which SNS offers for SQS and HTTP/S only: SQS then gets the body as is with the message attributes as SQS
 *   message attributes, HTTP/S the body with an `x-amz-sns-rawdelivery: true` header and no attributes
 *   (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html). Lambda always gets
 *   its event record (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html); email the body as the text
 *   of a mail with the subject as its subject.
 *
 * Amazon Q Developer in chat applications (formerly AWS Chatbot) subscribes to a topic with protocol `https`
 * (endpoint `https://global.sns-api.chatbot.amazonaws.com`), so it reads the `https` key.
 */

/** The subscription protocols the recorder models. */
export const SUBSCRIPTION_PROTOCOLS = ['email', 'email-json', 'http', 'https', 'sqs', 'lambda'] as const;
export type SubscriptionProtocol = (typeof SUBSCRIPTION_PROTOCOLS)[number];

/** Protocols (of those modelled) on which SNS accepts the `RawMessageDelivery` subscription attribute. */
export const RAW_DELIVERY_PROTOCOLS: ReadonlySet<SubscriptionProtocol> = new Set(['http', 'https', 'sqs']);

/** Where Amazon Q Developer in chat applications receives the topics it is configured with. */
export const AMAZON_Q_DEVELOPER_ENDPOINT = 'https://global.sns-api.chatbot.amazonaws.com';

export interface Subscription {
  readonly subscriptionArn: string;
  readonly topicArn: string;
  readonly protocol: SubscriptionProtocol;
  readonly endpoint: string;
  readonly rawMessageDelivery: boolean;
}

/** One message attribute as the publisher sent it (`Binary` values stay base64). */
export interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

/** One accepted Publish, as SNS fans it out. */
export interface PublishedMessage {
  readonly topicArn: string;
  readonly messageId: string;
  readonly subject: string | undefined;
  readonly message: string;
  readonly messageStructure: string | undefined;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  /** When SNS accepted it, ISO 8601 (the envelope's `Timestamp`). */
  readonly timestamp: string;
}

/** How the topic signs what it delivers, and the URLs the envelope points at. */
export interface NotificationSigner {
  readonly signatureVersion: '1';
  /** Base64 `SHA1withRSA` signature of `text`. */
  sign(text: string): string;
  readonly signingCertUrl: string;
  unsubscribeUrl(subscriptionArn: string): string;
}

/** What one subscription received for one Publish. */
export interface Delivery {
  readonly subscriptionArn: string;
  readonly protocol: SubscriptionProtocol;
  readonly endpoint: string;
  readonly rawMessageDelivery: boolean;
  /** email: the mail's subject (SNS sends the Publish subject). */
  readonly subject?: string | undefined;
  /** http and https: the headers of the POST request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Raw SQS delivery: the message attributes, as SQS message attributes. */
  readonly messageAttributes?: Readonly<Record<string, MessageAttribute>>;
  /** The mail text, the HTTP request body, the SQS message body, or the Lambda event as JSON. */
  readonly body: string;
}

/** The body SNS gives a subscriber of `protocol`: its own key of a JSON-structured message, else `default`. */
export function messageFor(
  publish: Pick<PublishedMessage, 'message' | 'messageStructure'>,
  protocol: SubscriptionProtocol,
): string {
  if (publish.messageStructure !== 'json') return publish.message;
  // The recorder accepted the Publish, so the message is an object of strings with a `default` entry.
  const bodies = JSON.parse(publish.message) as Record<string, string>;
  return Object.hasOwn(bodies, protocol) ? (bodies[protocol] as string) : (bodies.default as string);
}

/** What `subscription` receives for `publish`. */
export function deliver(
  publish: PublishedMessage,
  subscription: Subscription,
  signer: NotificationSigner,
): Delivery {
  const body = messageFor(publish, subscription.protocol);
  const { subscriptionArn, protocol, endpoint, rawMessageDelivery } = subscription;
  const common = { subscriptionArn, protocol, endpoint, rawMessageDelivery };
  switch (protocol) {
    case 'email':
      return { ...common, subject: publish.subject, body };
    case 'email-json':
      return { ...common, body: JSON.stringify(envelope(publish, body, subscriptionArn, signer, false)) };
    case 'http':
    case 'https':
      return {
        ...common,
        headers: httpHeaders(publish, subscription),
        body: rawMessageDelivery
          ? body
          : JSON.stringify(envelope(publish, body, subscriptionArn, signer, true)),
      };
    case 'sqs':
      return rawMessageDelivery
        ? { ...common, messageAttributes: publish.attributes, body }
        : { ...common, body: JSON.stringify(envelope(publish, body, subscriptionArn, signer, true)) };
    case 'lambda':
      return { ...common, body: JSON.stringify(lambdaEvent(publish, body, subscriptionArn, signer)) };
  }
}

/**
 * The JSON notification document. `Subject` is left out when the Publish had none; the signature covers
 * Message, MessageId, Subject (when present), Timestamp, TopicArn and Type, each as `name\nvalue\n`
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html).
 */
function envelope(
  publish: PublishedMessage,
  message: string,
  subscriptionArn: string,
  signer: NotificationSigner,
  withAttributes: boolean,
): Record<string, unknown> {
  const attributes = envelopeAttributes(publish.attributes);
  return {
    Type: 'Notification',
    MessageId: publish.messageId,
    TopicArn: publish.topicArn,
    ...(publish.subject === undefined ? {} : { Subject: publish.subject }),
    Message: message,
    Timestamp: publish.timestamp,
    SignatureVersion: signer.signatureVersion,
    Signature: signer.sign(stringToSign(publish, message)),
    SigningCertURL: signer.signingCertUrl,
    UnsubscribeURL: signer.unsubscribeUrl(subscriptionArn),
    ...(withAttributes && Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
  };
}

/** The Lambda event: one record whose `Sns` spells the URLs `...Url` and gives a missing subject as null. */
function lambdaEvent(
  publish: PublishedMessage,
  message: string,
  subscriptionArn: string,
  signer: NotificationSigner,
): Record<string, unknown> {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: 'Notification',
          MessageId: publish.messageId,
          TopicArn: publish.topicArn,
          Subject: publish.subject ?? null,
          Message: message,
          Timestamp: publish.timestamp,
          SignatureVersion: signer.signatureVersion,
          Signature: signer.sign(stringToSign(publish, message)),
          SigningCertUrl: signer.signingCertUrl,
          UnsubscribeUrl: signer.unsubscribeUrl(subscriptionArn),
          MessageAttributes: envelopeAttributes(publish.attributes),
        },
      },
    ],
  };
}

/** What SNS signs for a notification (the message being the subscriber's own body). */
export function stringToSign(publish: PublishedMessage, message: string): string {
  const fields: Array<[string, string | undefined]> = [
    ['Message', message],
    ['MessageId', publish.messageId],
    ['Subject', publish.subject],
    ['Timestamp', publish.timestamp],
    ['TopicArn', publish.topicArn],
    ['Type', 'Notification'],
  ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([name, value]) => `${name}\n${value}\n`)
    .join('');
}

/** Attributes as the envelope carries them: `{ "name": { "Type": ..., "Value": ... } }`. */
function envelopeAttributes(
  attributes: Readonly<Record<string, MessageAttribute>>,
): Record<string, { Type: string; Value: string }> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, attribute]) => [
      name,
      { Type: attribute.DataType, Value: attribute.StringValue ?? attribute.BinaryValue ?? '' },
    ]),
  );
}

/** The headers SNS sends with a notification POST (http-notification-json and raw message delivery pages). */
function httpHeaders(publish: PublishedMessage, subscription: Subscription): Record<string, string> {
  return {
    'x-amz-sns-message-type': 'Notification',
    'x-amz-sns-message-id': publish.messageId,
    'x-amz-sns-topic-arn': publish.topicArn,
    'x-amz-sns-subscription-arn': subscription.subscriptionArn,
    ...(subscription.rawMessageDelivery ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
    'content-type': 'text/plain; charset=UTF-8',
    'user-agent': 'Amazon Simple Notification Service Agent',
  };
}
