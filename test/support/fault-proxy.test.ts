import { request as httpRequest } from 'node:http';
import {
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import {
  CONTEXT_FIELDS,
  DEFAULT_STATE_LIMITS,
  type GroupContext,
  type GroupContribution,
  type GroupKey,
} from '../../lambda/domain/detection/window-state';
import { createWindowTable, type DynamoDbStandIn, startDynamoDb } from '../../lib/local/dynamodb-standin';
import { type SnsRecorder, startSnsRecorder } from '../../lib/local/sns-recorder';
import {
  dynamoDbFault,
  type FaultAction,
  type FaultProxy,
  type ProxiedRequest,
  snsFault,
  startFaultProxy,
  windowStoreStep,
} from './fault-proxy';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const TABLE = 'proxy-windows';

let dynamo: DynamoDbStandIn;
let proxy: FaultProxy;
let client: DynamoDBClient;
let direct: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynamoDb('dynalite');
  direct = new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials: CREDENTIALS });
  await createWindowTable(direct, TABLE);
  proxy = await startFaultProxy(dynamo.endpoint);
  client = new DynamoDBClient({ region: REGION, endpoint: proxy.url, credentials: CREDENTIALS });
});

afterEach(() => proxy.setRule(undefined));

afterAll(async () => {
  client.destroy();
  direct.destroy();
  await proxy.close();
  await dynamo.stop();
});

/** The first `count` requests the rule sees get `fault`; later ones are forwarded. */
function firstN(
  count: number,
  fault: () => FaultAction,
): (request: ProxiedRequest) => FaultAction | undefined {
  let left = count;
  return () => {
    if (left === 0) return undefined;
    left -= 1;
    return fault();
  };
}

function putItem(pk: string) {
  return new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk }, sk: { S: 'x' } } });
}

async function itemExists(pk: string): Promise<boolean> {
  const output = await direct.send(
    new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk }, sk: { S: 'x' } }, ConsistentRead: true }),
  );
  return output.Item !== undefined;
}

function requestsSince(start: number): ProxiedRequest[] {
  return proxy.requests.slice(start);
}

describe('forwarding', () => {
  it('passes a request through and names its DynamoDB target', async () => {
    // Prepare
    const start = proxy.requests.length;
    const forwarded: [string | undefined, number][] = [];
    proxy.onForwarded((request, status) => forwarded.push([request.target, status]));

    // Act
    const output = await client.send(new ListTablesCommand({}));

    // Assess
    expect(output.TableNames).toContain(TABLE);
    expect(requestsSince(start).map((r) => r.target)).toEqual(['ListTables']);
    expect(forwarded).toEqual([['ListTables', 200]]);
  });

  it('delays a request, then forwards it', async () => {
    // Prepare
    proxy.setRule(() => ({ kind: 'delay', ms: 300 }));
    const started = Date.now();

    // Act
    await client.send(putItem('delayed'));

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await itemExists('delayed')).toBe(true);
  });

  it('cuts the upstream reply after the given number of body bytes', async () => {
    // Prepare
    proxy.setRule(() => ({ kind: 'forward-then-cut', afterBytes: 5 }));

    // Act
    const seen = await new Promise<{ status: number; received: number; error: string }>((resolve) => {
      const outgoing = httpRequest(`${proxy.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'x-amz-date': '20300101T000000Z',
          // dynalite checks the shape of the signature, not its value.
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20300101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
      });
      outgoing.on('response', (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        response.on('error', (error) =>
          resolve({ status: response.statusCode ?? 0, received, error: error.message }),
        );
        response.on('end', () => resolve({ status: response.statusCode ?? 0, received, error: 'none' }));
      });
      outgoing.end('{}');
    });

    // Assess
    expect(seen).toEqual({ status: 200, received: 5, error: 'aborted' });
  });
});

describe('canned DynamoDB faults as the SDK reads them', () => {
  it.each([
    { case: 'throttling', fault: dynamoDbFault.throttling },
    { case: 'internal server error', fault: dynamoDbFault.internal },
  ])('retries a transient $case and then succeeds', async ({ fault }) => {
    // Prepare
    const start = proxy.requests.length;
    proxy.setRule(firstN(2, fault));

    // Act
    const output = await client.send(putItem(`transient-${fault.name}`));

    // Assess
    expect(output.$metadata.attempts).toBe(3);
    expect(requestsSince(start)).toHaveLength(3);
  });

  it.each([
    { case: 'throttling', fault: dynamoDbFault.throttling, name: 'ThrottlingException' },
    { case: 'internal server error', fault: dynamoDbFault.internal, name: 'InternalServerError' },
  ])("gives up on a persistent $case after the DynamoDB client's four attempts", async ({ fault, name }) => {
    // Prepare
    proxy.setRule(fault);

    // Act
    const error = await client.send(putItem('persistent')).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name, $metadata: { attempts: 4 } });
  });

  it.each([
    { case: 'crash after the write', fault: dynamoDbFault.crashAfter, written: true },
    { case: 'crash before the write', fault: dynamoDbFault.crashBefore, written: false },
  ])('fails at once on an injected $case', async ({ case: name, fault, written }) => {
    // Prepare
    const pk = `crash-${name}`;
    proxy.setRule(fault);

    // Act
    const error = await client.send(putItem(pk)).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'InjectedCrash', $metadata: { attempts: 1, httpStatusCode: 400 } });
    expect(await itemExists(pk)).toBe(written);
  });
});

describe('canned SNS faults as the SDK reads them', () => {
  let recorder: SnsRecorder;
  let snsProxy: FaultProxy;
  let sns: SNSClient;
  let topicArn: string;

  beforeAll(async () => {
    recorder = await startSnsRecorder();
    topicArn = recorder.createTopic('proxy-alerts');
    snsProxy = await startFaultProxy(recorder.endpoint);
    sns = new SNSClient({ region: REGION, endpoint: snsProxy.url, credentials: CREDENTIALS });
  });

  afterEach(() => snsProxy.setRule(undefined));

  afterAll(async () => {
    sns.destroy();
    await snsProxy.close();
    await recorder.stop();
  });

  const publish = (message: string) => sns.send(new PublishCommand({ TopicArn: topicArn, Message: message }));

  it('names the AwsQuery action of a request', async () => {
    // Prepare
    const start = snsProxy.requests.length;

    // Act
    await publish('named');

    // Assess
    expect(snsProxy.requests.slice(start).map((r) => r.action)).toEqual(['Publish']);
  });

  it.each([
    { case: 'throttling', fault: snsFault.throttling },
    { case: 'internal error', fault: snsFault.internal },
  ])('retries a transient $case and publishes once', async ({ case: name, fault }) => {
    // Prepare
    snsProxy.setRule(firstN(2, fault));

    // Act
    const output = await publish(`transient ${name}`);

    // Assess
    expect(output.$metadata.attempts).toBe(3);
    expect(recorder.published().filter((p) => p.message === `transient ${name}`)).toHaveLength(1);
  });

  it("gives up on a persistent internal error after the SNS client's three attempts", async () => {
    // Prepare
    snsProxy.setRule(snsFault.internal);

    // Act
    const error = await publish('persistent').catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'InternalErrorException', $metadata: { attempts: 3 } });
  });

  it.each([
    { case: 'crash after the publish', fault: snsFault.crashAfter, published: 1 },
    { case: 'crash before the publish', fault: snsFault.crashBefore, published: 0 },
  ])('fails at once on an injected $case', async ({ case: name, fault, published }) => {
    // Prepare
    snsProxy.setRule(fault);

    // Act
    const error = await publish(name).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'InjectedCrash', $metadata: { attempts: 1 } });
    expect(recorder.published().filter((p) => p.message === name)).toHaveLength(published);
  });
});

describe('windowStoreStep', () => {
  const key: GroupKey = {
    ruleId: 'proxy-rule',
    windowStart: Date.UTC(2030, 0, 1),
    arn: 'arn:aws:iam::1:user/a',
  };
  const contribution: GroupContribution = {
    ...key,
    distinctValues: ['us-east-1'],
    eventCount: 1,
    eventIdHashes: ['hash-1'],
    failedCount: 0,
    windowEnd: key.windowStart + 30_000,
    firstEventTime: key.windowStart + 1_000,
    lastEventTime: key.windowStart + 1_000,
    context: Object.fromEntries(CONTEXT_FIELDS.map((field) => [field, []])) as unknown as GroupContext,
  };

  it("classifies each request of the window store's steps", async () => {
    // Prepare
    const store = new DynamoDbWindowStore({
      client,
      tableName: TABLE,
      limits: DEFAULT_STATE_LIMITS,
      retentionSeconds: 86_400,
    });
    const now = key.windowStart + 40_000;
    const slot = { ...key, slotStart: key.windowStart, slotEnd: key.windowStart + 15_000 };
    const start = proxy.requests.length;

    // Act
    await store.apply(contribution, 'object-1', now);
    await store.claimAlert(key, 'token-1', now, now + 60_000);
    await store.releaseClaim(key, 'token-1');
    await store.claimAlert(key, 'token-2', now, now + 60_000);
    await store.recordAlert(key, 'message-1');
    await store.get(key);
    await store.reserveAlertSlot(key, now, 60_000);
    await store.reserveAlertSlot({ ...key, windowStart: key.windowStart + 30_000 }, now, 60_000);
    await store.recordSuppressed(key, 'token-2');
    await store.claimHalfSlot(slot, key.windowStart, now, now + 60_000);
    await store.markHalfSlotAlerted(slot, key.windowStart);
    await store.releaseHalfSlot(slot, key.windowStart, { evenIfMarked: true });

    // Assess
    expect(requestsSince(start).map(windowStoreStep)).toEqual([
      'apply',
      'claim',
      'release',
      'claim',
      'record-alert',
      'get',
      'get',
      'suppression-take',
      'get',
      'suppression-deny',
      'record-suppressed',
      'half-slot-claim',
      'half-slot-mark',
      'half-slot-release',
    ]);
  });

  it('calls a request outside the window store other', async () => {
    // Prepare
    const start = proxy.requests.length;

    // Act
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'unrelated' }, sk: { S: 'x' } },
        UpdateExpression: 'SET #n = :n',
        ExpressionAttributeNames: { '#n': 'note' },
        ExpressionAttributeValues: { ':n': { S: 'hello' } },
      }),
    );

    // Assess
    expect(requestsSince(start).map(windowStoreStep)).toEqual(['other']);
  });
});
