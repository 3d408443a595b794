import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the proxy saw it (body fully buffered). */
export interface ProxiedRequest {
  readonly method: string;
  /** Includes the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** DynamoDB: the X-Amz-Target suffix, e.g. 'UpdateItem'. */
  readonly target?: string;
  /** AwsQuery (SNS): the form field Action, e.g. 'Publish'. */
  readonly action?: string;
  /** DynamoDB: the parsed JSON body. */
  readonly json?: unknown;
}

/** What the proxy does with one request. */
export type FaultAction =
  /** Pass through (the default). */
  | { readonly kind: 'forward' }
  /** Reply with this, without forwarding: the upstream never sees the request. */
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body: string;
    }
  /** Forward (the upstream applies it), then reply with this instead of the upstream's answer. */
  | {
      readonly kind: 'forward-then-respond';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body: string;
    }
  /**
   * Forward (the upstream applies it), then hold the upstream's reply until `until` settles: a caller that
   * stalls right after its write took effect (a long pause, a slow network) while the world moves on.
   */
  | { readonly kind: 'forward-then-hold'; readonly until: Promise<unknown> }
  /** Send the upstream's status, headers and the first `afterBytes` of its body, then destroy the socket. */
  | { readonly kind: 'forward-then-cut'; readonly afterBytes: number }
  /** Wait, then forward; a request whose caller gave up meanwhile is dropped (lost in the network). */
  | { readonly kind: 'delay'; readonly ms: number };

/** A running proxy in front of one upstream endpoint. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request seen, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Decides per request; undefined (or a rule returning undefined) forwards. Replaces the previous rule. */
  setRule(rule: ((request: ProxiedRequest) => FaultAction | undefined) | undefined): void;
  /** Called with each request and the upstream status once forwarded (for counting). */
  onForwarded(listener: (request: ProxiedRequest, status: number) => void): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

type Rule = (request: ProxiedRequest) => FaultAction | undefined;

/** What the upstream answered, fully buffered. */
interface UpstreamReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Starts an HTTP proxy on a free loopback port that forwards every request to `upstream` (headers, including
 * Host, unchanged, so signatures still verify) unless the rule injects a fault. Requests and replies are fully
 * buffered: the proxy is for small API calls and test objects, not for large streams.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const listeners: ((request: ProxiedRequest, status: number) => void)[] = [];
  let rule: Rule | undefined;

  const forward = async (request: ProxiedRequest): Promise<UpstreamReply> => {
    const reply = await send(target, request);
    for (const listener of listeners) listener(request, reply.status);
    return reply;
  };

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const request = describe(incoming, await readAll(incoming));
    requests.push(request);
    const action = rule?.(request) ?? { kind: 'forward' };
    switch (action.kind) {
      case 'forward': {
        const reply = await forward(request);
        response.writeHead(reply.status, reply.headers);
        response.end(reply.body);
        return;
      }
      case 'respond':
        reply(response, action);
        return;
      case 'forward-then-respond':
        await forward(request);
        reply(response, action);
        return;
      case 'forward-then-hold': {
        const reply = await forward(request);
        await action.until;
        response.writeHead(reply.status, reply.headers);
        response.end(reply.body);
        return;
      }
      case 'forward-then-cut': {
        const upstreamReply = await forward(request);
        response.writeHead(upstreamReply.status, upstreamReply.headers);
        response.flushHeaders();
        const head = upstreamReply.body.subarray(0, action.afterBytes);
        // The body is cut once the kept bytes are on the wire: the caller reads them, then sees the socket end.
        response.write(head, () => response.socket?.destroy());
        return;
      }
      case 'delay': {
        const gone = new Promise<'gone'>((resolve) => response.once('close', () => resolve('gone')));
        const outcome = await Promise.race([sleep(action.ms).then(() => 'waited' as const), gone]);
        if (outcome === 'gone' || response.destroyed) return;
        const reply = await forward(request);
        response.writeHead(reply.status, reply.headers);
        response.end(reply.body);
        return;
      }
    }
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`fault proxy: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setRule(next) {
      rule = next;
    },
    onForwarded(listener) {
      listeners.push(listener);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Names the request the way the rules match it: DynamoDB target and JSON body, AwsQuery action. */
function describe(incoming: IncomingMessage, body: Buffer): ProxiedRequest {
  const headers = { ...incoming.headers };
  const base = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers, body };
  const amzTarget = headers['x-amz-target'];
  const contentType = String(headers['content-type'] ?? '');
  if (typeof amzTarget === 'string') {
    const target = amzTarget.slice(amzTarget.lastIndexOf('.') + 1);
    return contentType.includes('json') && body.length > 0
      ? { ...base, target, json: JSON.parse(body.toString('utf8')) as unknown }
      : { ...base, target };
  }
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    return action === null ? base : { ...base, action };
  }
  return base;
}

function send(target: URL, request: ProxiedRequest): Promise<UpstreamReply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
      },
      (reply) => {
        readAll(reply).then(
          (body) => resolve({ status: reply.statusCode ?? 502, headers: reply.headers, body }),
          reject,
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

function reply(
  response: ServerResponse,
  action: {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body: string;
  },
): void {
  response.writeHead(action.status, {
    ...action.headers,
    'content-length': String(Buffer.byteLength(action.body)),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(action.body);
}

const DYNAMODB_ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';

/** A DynamoDB (awsJson1_0) error reply: the `__type` body and the `x-amzn-ErrorType` header the SDK reads. */
function dynamoDbError(status: number, code: string, message: string) {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': code },
    body: JSON.stringify({ __type: `${DYNAMODB_ERROR_PREFIX}${code}`, message }),
  };
}

/**
 * The name of the injected crash: a 400 with a code no SDK retry rule knows (not throttling, not transient,
 * not clock skew), so the call fails at once, as if the process had died there.
 */
export const INJECTED_CRASH = 'InjectedCrash';

/** Canned DynamoDB replies in the awsJson1_0 wire format `@aws-sdk/client-dynamodb` parses. */
export const dynamoDbFault = {
  /** 400 ThrottlingException: the SDK retries it (a throttling code), with backoff. */
  throttling: (): FaultAction => ({
    kind: 'respond',
    ...dynamoDbError(400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.'),
  }),
  /** 500 InternalServerError: the SDK retries it (a transient status). */
  internal: (): FaultAction => ({
    kind: 'respond',
    ...dynamoDbError(500, 'InternalServerError', 'Internal server error'),
  }),
  /** 500 after the write was applied upstream: the SDK retries a request that already took effect. */
  internalAfterWrite: (): FaultAction => ({
    kind: 'forward-then-respond',
    ...dynamoDbError(500, 'InternalServerError', 'Internal server error'),
  }),
  /** The write happened upstream; the caller dies before learning so (never retried by the SDK). */
  crashAfter: (): FaultAction => ({
    kind: 'forward-then-respond',
    ...dynamoDbError(400, INJECTED_CRASH, 'injected crash after the write'),
  }),
  /** The caller dies before the request reaches DynamoDB (never retried by the SDK). */
  crashBefore: (): FaultAction => ({
    kind: 'respond',
    ...dynamoDbError(400, INJECTED_CRASH, 'injected crash before the write'),
  }),
};

/** An SNS (awsQuery) error reply: the `ErrorResponse` document `@aws-sdk/client-sns` parses. */
function snsError(status: number, type: 'Sender' | 'Receiver', code: string, message: string) {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body:
      '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
      `<Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** Canned SNS replies in the awsQuery wire format. */
export const snsFault = {
  /** SNS accepted (and delivers) the message; the caller dies before learning so. */
  crashAfter: (): FaultAction => ({
    kind: 'forward-then-respond',
    ...snsError(400, 'Sender', INJECTED_CRASH, 'injected crash after the publish'),
  }),
  /** The caller dies before the Publish reaches SNS. */
  crashBefore: (): FaultAction => ({
    kind: 'respond',
    ...snsError(400, 'Sender', INJECTED_CRASH, 'injected crash before the publish'),
  }),
  /** 400 Throttling: the SDK retries it (a throttling code), with backoff. */
  throttling: (): FaultAction => ({
    kind: 'respond',
    ...snsError(400, 'Sender', 'Throttling', 'Rate exceeded'),
  }),
  /** 500 InternalError: the SDK retries it (a transient status). */
  internal: (): FaultAction => ({
    kind: 'respond',
    ...snsError(500, 'Receiver', 'InternalError', 'Internal Error'),
  }),
};

/** A step of DynamoDbWindowStore, as one DynamoDB request shows it. */
export type WindowStoreStep = (typeof WINDOW_STORE_WRITE_STEPS)[number] | 'get' | 'other';

/**
 * Every conditional write of the window store, each a step a fault can hit: the window item's apply, claim,
 * release, message-id record and suppressed mark; the suppression item's take (a window takes the identity's
 * slot) and deny (a window is counted as suppressed); a half-slot item's claim, mark and release.
 */
export const WINDOW_STORE_WRITE_STEPS = [
  'apply',
  'claim',
  'release',
  'record-alert',
  'record-suppressed',
  'suppression-take',
  'suppression-deny',
  'half-slot-claim',
  'half-slot-mark',
  'half-slot-release',
] as const;

/** What the UpdateExpression of each write step starts with, placeholders resolved to attribute names. */
const STEP_EXPRESSIONS: readonly (readonly [RegExp, WindowStoreStep])[] = [
  [/^ADD contributors\b/, 'apply'],
  // A contribution to a full window item: its sets on the item, then its contributor on a shard item.
  [/^ADD eventTimes\b/, 'apply'],
  [/^SET claimToken = /, 'claim'],
  [/^REMOVE claimToken\b/, 'release'],
  [/^SET messageId = /, 'record-alert'],
  [/^SET suppressed = /, 'record-suppressed'],
  [/^SET lastAlertAt = /, 'suppression-take'],
  [/^ADD suppressedWindows\b/, 'suppression-deny'],
  [/^SET ownerWindowStart = /, 'half-slot-claim'],
  [/^SET alerted = /, 'half-slot-mark'],
  [/^REMOVE ownerWindowStart\b/, 'half-slot-release'],
];

/**
 * Classifies a DynamoDB request of the window store by its UpdateExpression, with the placeholders resolved
 * to attribute names (see the item modules in lambda/adapters/dynamodb/). GetItem is 'get'; everything else
 * (non-store calls) is 'other'.
 */
export function windowStoreStep(request: ProxiedRequest): WindowStoreStep {
  if (request.target === 'GetItem') return 'get';
  if (request.target !== 'UpdateItem' || !isRecord(request.json)) return 'other';
  const expression = request.json.UpdateExpression;
  if (typeof expression !== 'string') return 'other';
  const names = isRecord(request.json.ExpressionAttributeNames) ? request.json.ExpressionAttributeNames : {};
  const resolved = expression.replace(/#[A-Za-z0-9_]+/g, (placeholder) => {
    const name = names[placeholder];
    return typeof name === 'string' ? name : placeholder;
  });
  return STEP_EXPRESSIONS.find(([pattern]) => pattern.test(resolved))?.[1] ?? 'other';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
