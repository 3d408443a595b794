import { createSign, generateKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNS_LIMITS } from '../../lambda/domain/alerting/sizing';
import {
  type Delivery,
  deliver,
  type MessageAttribute,
  type NotificationSigner,
  RAW_DELIVERY_PROTOCOLS,
  SUBSCRIPTION_PROTOCOLS,
  type Subscription,
  type SubscriptionProtocol,
} from './sns-delivery';

/** One Publish the recorder accepted, and what each subscription of its topic received (see sns-delivery). */
export interface RecordedPublish {
  readonly topicArn: string;
  readonly messageId: string;
  readonly subject: string | undefined;
  readonly message: string;
  readonly messageStructure: string | undefined;
  readonly attributes: Readonly<Record<string, RecordedAttribute>>;
  readonly receivedAt: Date;
  /** One per subscription of the topic at the time of the Publish, in subscription order. */
  readonly deliveries: readonly Delivery[];
}

/** One message attribute as the client sent it (`Binary` values stay base64). */
export type RecordedAttribute = MessageAttribute;

/**
 * How an injected failure looks to the client: `throttle` is SNS's `Throttled` (HTTP 429), `internal` its
 * `InternalError` (HTTP 500), `timeout` a request that is never answered: the client fails once its request
 * timeout passes (`requestHandler: { requestTimeout, throwOnRequestTimeout: true }`; without the second option
 * the SDK only warns), or when the recorder stops and drops the connection.
 */
export type InjectedFailure = 'throttle' | 'internal' | 'timeout';

/** A running recorder. Give `endpoint` to an `SNSClient` (any region, any static credentials). */
export interface SnsRecorder {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Every accepted Publish, oldest first (a copy). */
  published(): RecordedPublish[];
  /** Creates the topic (idempotent, as SNS is) and returns its ARN. */
  createTopic(name: string): string;
  /**
   * Subscribes an endpoint (confirmed at once: nothing is sent to it). Later publishes record what it receives.
   * Raw message delivery is refused where SNS refuses it (email, email-json, lambda). Resolves once the key
   * that signs the envelopes exists, so no Publish ever waits for it.
   */
  subscribe(
    topicArn: string,
    protocol: SubscriptionProtocol,
    endpoint: string,
    options?: { readonly rawMessageDelivery?: boolean },
  ): Promise<Subscription>;
  /** The topic's subscriptions, oldest first. */
  subscriptions(topicArn: string): Subscription[];
  /** The next `count` Publish requests fail as `kind` and are not recorded (SDK retries consume them too). */
  failNext(count: number, kind: InjectedFailure): void;
  /** Closes the server, dropping held and idle connections. */
  stop(): Promise<void>;
}

/** Where the recorder's topics live: their ARNs use this region and account. */
export interface SnsRecorderOptions {
  readonly region?: string;
  readonly accountId?: string;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
/**
 * Where envelopes say their signing key is. SNS serves an X.509 certificate there; the recorder, which cannot
 * mint one with node:crypto alone, serves the bare public key (what a verifier extracts from the certificate).
 */
const SIGNING_KEY_PATH = '/SimpleNotificationService-regionsweep-local.pem';
/** Far above any valid form-encoded Publish (a 256 KiB message encodes to at most about 768 KiB). */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const ATTRIBUTE_TYPE = /^(String|String\.Array|Number|Binary)(\..+)?$/;

/** An SNS error reply: the AwsQuery `ErrorResponse` document and its HTTP status. */
class SnsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
    this.name = 'SnsFault';
  }
}

const invalidParameter = (message: string) => new SnsFault(400, 'InvalidParameter', message);

/**
 * Starts a recording SNS endpoint on a free loopback port. It speaks the AwsQuery protocol of
 * `@aws-sdk/client-sns` for `CreateTopic`, `ListTopics`, `Publish` and `Unsubscribe`, validates Publish the way
 * SNS does (subject, JSON message structure, total size, attribute shape, topic existence) and records each
 * accepted Publish with what every subscription of its topic received (sns-delivery.ts). Request signatures
 * are not checked; the envelopes it delivers are signed (SignatureVersion 1) with its own key.
 */
export async function startSnsRecorder(options: SnsRecorderOptions = {}): Promise<SnsRecorder> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const topics = new Set<string>();
  const subscriptions: Subscription[] = [];
  const records: RecordedPublish[] = [];
  const failures: InjectedFailure[] = [];
  // Made off the event loop when the first subscription arrives (a 2048-bit key takes a CPU-bound fraction of
  // a second), before subscribe resolves. Most recorders have no subscription and never sign.
  let signingKey: Promise<SigningKey> | undefined;
  let readyKey: SigningKey | undefined;
  const keyPair = (): Promise<SigningKey> => {
    signingKey ??= makeSigningKey().then((made) => {
      readyKey = made;
      return made;
    });
    return signingKey;
  };
  let endpoint = '';
  const signer: NotificationSigner = {
    signatureVersion: '1',
    sign: (text) => {
      // Only called for a topic with subscriptions, and subscribe resolves only once the key exists.
      if (readyKey === undefined) throw new Error('SNS recorder: signing key not ready');
      return createSign('RSA-SHA1').update(text, 'utf8').sign(readyKey.privateKey, 'base64');
    },
    get signingCertUrl() {
      return `${endpoint}${SIGNING_KEY_PATH}`;
    },
    unsubscribeUrl: (subscriptionArn) =>
      `${endpoint}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscriptionArn)}`,
  };

  const subscribe = async (
    topicArn: string,
    protocol: SubscriptionProtocol,
    subscriber: string,
    options: { readonly rawMessageDelivery?: boolean } = {},
  ): Promise<Subscription> => {
    if (!topics.has(topicArn)) throw new SnsFault(404, 'NotFound', 'Topic does not exist');
    if (!(SUBSCRIPTION_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw invalidParameter(
        `Invalid parameter: Amazon SNS does not support this protocol string: ${protocol}`,
      );
    }
    const rawMessageDelivery = options.rawMessageDelivery ?? false;
    if (rawMessageDelivery && !RAW_DELIVERY_PROTOCOLS.has(protocol)) {
      throw invalidParameter(
        `Invalid parameter: Attributes Reason: Delivery protocol [${protocol}] does not support raw message delivery.`,
      );
    }
    const subscription: Subscription = {
      subscriptionArn: `${topicArn}:${randomUUID()}`,
      topicArn,
      protocol,
      endpoint: subscriber,
      rawMessageDelivery,
    };
    await keyPair();
    subscriptions.push(subscription);
    return subscription;
  };

  const unsubscribe = (subscriptionArn: string): void => {
    const index = subscriptions.findIndex((s) => s.subscriptionArn === subscriptionArn);
    if (index >= 0) subscriptions.splice(index, 1);
  };

  const createTopic = (name: string): string => {
    if (!TOPIC_NAME.test(name)) {
      throw invalidParameter('Invalid parameter: Topic Name');
    }
    const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
    topics.add(arn);
    return arn;
  };

  const publish = (params: URLSearchParams): string | 'timeout' => {
    const message = params.get('Message');
    const topicArn = params.get('TopicArn') ?? params.get('TargetArn');
    const subject = params.get('Subject') ?? undefined;
    const messageStructure = params.get('MessageStructure') ?? undefined;
    if (topicArn === null) {
      throw invalidParameter(
        'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
      );
    }
    if (message === null || message.length === 0) throw invalidParameter('Invalid parameter: Empty message');
    if (subject !== undefined) validateSubject(subject);
    const attributes = parseAttributes(params);
    if (messageSize(message, attributes) > SNS_LIMITS.maxMessageBytes) {
      throw invalidParameter('Invalid parameter: Message too long');
    }
    if (messageStructure !== undefined) validateStructure(messageStructure, message);
    if (!topics.has(topicArn)) throw new SnsFault(404, 'NotFound', 'Topic does not exist');
    const failure = failures.shift();
    if (failure === 'timeout') return 'timeout';
    if (failure === 'throttle') throw new SnsFault(429, 'Throttled', 'Rate exceeded');
    if (failure === 'internal') throw new SnsFault(500, 'InternalError', 'Internal Error', 'Receiver');
    const messageId = randomUUID();
    const receivedAt = new Date();
    const accepted = { topicArn, messageId, subject, message, messageStructure, attributes };
    const published = { ...accepted, timestamp: receivedAt.toISOString() };
    records.push({
      ...accepted,
      receivedAt,
      deliveries: subscriptions
        .filter((subscription) => subscription.topicArn === topicArn)
        .map((subscription) => deliver(published, subscription, signer)),
    });
    return messageId;
  };

  const handle = (params: URLSearchParams): string | 'timeout' => {
    const requestId = randomUUID();
    const action = params.get('Action');
    switch (action) {
      case 'CreateTopic': {
        const arn = createTopic(params.get('Name') ?? '');
        return reply('CreateTopic', `<TopicArn>${xml(arn)}</TopicArn>`, requestId);
      }
      case 'ListTopics': {
        const members = [...topics].map((arn) => `<member><TopicArn>${xml(arn)}</TopicArn></member>`);
        return reply('ListTopics', `<Topics>${members.join('')}</Topics>`, requestId);
      }
      case 'Publish': {
        const messageId = publish(params);
        if (messageId === 'timeout') return 'timeout';
        return reply('Publish', `<MessageId>${messageId}</MessageId>`, requestId);
      }
      case 'Unsubscribe': {
        unsubscribe(params.get('SubscriptionArn') ?? '');
        return reply('Unsubscribe', '', requestId);
      }
      default:
        throw new SnsFault(
          400,
          'InvalidAction',
          `Could not find operation ${action ?? '(none)'} for version 2010-03-31`,
        );
    }
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://recorder');
    if (request.method === 'GET' && url.pathname === SIGNING_KEY_PATH) {
      void keyPair().then(({ publicKeyPem }) => {
        response.writeHead(200, { 'content-type': 'application/x-pem-file' });
        response.end(publicKeyPem);
      });
      return;
    }
    readForm(request)
      .then((form) => {
        // An UnsubscribeURL is followed with GET: its parameters are in the query string.
        const params = new URLSearchParams([...url.searchParams, ...form]);
        const body = handle(params);
        // A held request gets no answer until the client gives up or the recorder stops.
        if (body === 'timeout') return;
        send(response, 200, body);
      })
      .catch((error: unknown) => {
        const fault =
          error instanceof SnsFault ? error : new SnsFault(500, 'InternalError', String(error), 'Receiver');
        send(response, fault.status, errorReply(fault));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    published: () => [...records],
    createTopic,
    subscribe,
    subscriptions: (topicArn) => subscriptions.filter((s) => s.topicArn === topicArn),
    failNext(count, kind) {
      for (let i = 0; i < count; i += 1) failures.push(kind);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

interface SigningKey {
  readonly privateKey: KeyObject;
  /** The public key that verifies every envelope's `Signature`, served at `SigningCertURL`. */
  readonly publicKeyPem: string;
}

function makeSigningKey(): Promise<SigningKey> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (error, publicKey, privateKey) => {
      if (error !== null) reject(error);
      else
        resolve({ privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    });
  });
}

function validateSubject(subject: string): void {
  // SNS: non-empty, no line breaks or control characters, at most 100 characters.
  if (
    subject.length === 0 ||
    subject.length > SNS_LIMITS.maxSubjectLength ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: SNS rejects subjects with control characters.
    /[\u0000-\u001f\u007f]/.test(subject) ||
    /^\s/.test(subject)
  ) {
    throw invalidParameter('Invalid parameter: Subject');
  }
}

function validateStructure(structure: string, message: string): void {
  if (structure !== 'json') throw invalidParameter('Invalid parameter: MessageStructure');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    Object.values(parsed).some((value) => typeof value !== 'string')
  ) {
    throw invalidParameter('Invalid parameter: Message Structure - JSON message body failed to parse');
  }
  if (!Object.hasOwn(parsed, 'default')) {
    throw invalidParameter('Invalid parameter: Message Structure - No default entry in JSON message body');
  }
}

/** Reads `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue,Value.BinaryValue}`. */
function parseAttributes(params: URLSearchParams): Record<string, RecordedAttribute> {
  const attributes: Record<string, RecordedAttribute> = {};
  for (let n = 1; params.has(`MessageAttributes.entry.${n}.Name`); n += 1) {
    const prefix = `MessageAttributes.entry.${n}`;
    const name = params.get(`${prefix}.Name`) ?? '';
    const dataType = params.get(`${prefix}.Value.DataType`);
    const stringValue = params.get(`${prefix}.Value.StringValue`) ?? undefined;
    const binaryValue = params.get(`${prefix}.Value.BinaryValue`) ?? undefined;
    if (dataType === null || !ATTRIBUTE_TYPE.test(dataType)) {
      throw new SnsFault(
        400,
        'ParameterValueInvalid',
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    const value = dataType.startsWith('Binary') ? binaryValue : stringValue;
    if (value === undefined || value.length === 0) {
      throw new SnsFault(
        400,
        'ParameterValueInvalid',
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    attributes[name] = dataType.startsWith('Binary')
      ? { DataType: dataType, BinaryValue: value }
      : { DataType: dataType, StringValue: value };
  }
  const count = Object.keys(attributes).length;
  if (count > SNS_LIMITS.maxAttributes) {
    throw invalidParameter(
      `Number of message attributes [${count}] exceeds the allowed maximum [${SNS_LIMITS.maxAttributes}].`,
    );
  }
  return attributes;
}

/** Bytes SNS counts toward the 256 KiB limit: the body and each attribute's name, type and value. */
function messageSize(message: string, attributes: Record<string, RecordedAttribute>): number {
  let size = Buffer.byteLength(message, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += Buffer.byteLength(value.StringValue ?? '') + Buffer.byteLength(value.BinaryValue ?? '', 'base64');
  }
  return size;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(buffer);
  }
  if (size > MAX_REQUEST_BYTES) throw invalidParameter('Invalid parameter: Message too long');
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function reply(action: string, result: string, requestId: string): string {
  return (
    `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function errorReply(fault: SnsFault): string {
  return (
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${fault.type}</Type><Code>${xml(fault.code)}</Code>` +
    `<Message>${xml(fault.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}

function send(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(body);
}

function xml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
