import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Publish the recorder accepted, as SNS would have delivered it. */
export interface RecordedPublish {
  readonly topicArn: string;
  readonly messageId: string;
  readonly subject: string | undefined;
  readonly message: string;
  readonly messageStructure: string | undefined;
  readonly attributes: Readonly<Record<string, RecordedAttribute>>;
  readonly receivedAt: Date;
}

/** One message attribute as the client sent it (`Binary` values stay base64). */
export interface RecordedAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

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

/** SNS limits the recorder enforces, as the SNS API reference states them. */
export const SNS_LIMITS = {
  /** Message body plus every attribute's name, type and value, in UTF-8 bytes. */
  maxMessageBytes: 262_144,
  maxSubjectLength: 100,
  maxAttributes: 10,
} as const;

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
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
 * `@aws-sdk/client-sns` for `CreateTopic`, `ListTopics` and `Publish`, validates Publish the way SNS does
 * (subject, JSON message structure, total size, attribute shape, topic existence) and records each accepted
 * Publish. Signatures are not checked.
 */
export async function startSnsRecorder(options: SnsRecorderOptions = {}): Promise<SnsRecorder> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const topics = new Set<string>();
  const records: RecordedPublish[] = [];
  const failures: InjectedFailure[] = [];

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
    records.push({
      topicArn,
      messageId,
      subject,
      message,
      messageStructure,
      attributes,
      receivedAt: new Date(),
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
      default:
        throw new SnsFault(
          400,
          'InvalidAction',
          `Could not find operation ${action ?? '(none)'} for version 2010-03-31`,
        );
    }
  };

  const server = createServer((request, response) => {
    readForm(request)
      .then((params) => {
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

  return {
    endpoint: `http://127.0.0.1:${port}`,
    published: () => [...records],
    createTopic,
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
