import { randomUUID } from 'node:crypto';
import { type AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { MemoryWindowStore } from '../../lambda/adapters/memory-window-store';
import { DEFAULT_STATE_LIMITS, type StateLimits } from '../../lambda/domain/detection/window-state';
import type { WindowStore } from '../../lambda/ports';
import {
  createWindowTable,
  type DynamoDbStandIn,
  type DynamoDbStandInKind,
  javaAvailable,
  startDynamoDb,
} from '../../lib/local/dynamodb-standin';

/** Which store a contract suite runs against: in memory, or DynamoDB on one of its stand-ins. */
export type StoreKind = 'memory' | DynamoDbStandInKind;

export type Item = Record<string, AttributeValue>;

/** Builds stores of one kind; for DynamoDB kinds all share one fresh table on one running stand-in. */
export interface WindowStoreHarness {
  store(
    limits?: StateLimits,
    options?: {
      maxContributors?: number;
      tableName?: string;
      /**
       * Requests sent twice, the caller seeing only the second outcome: a write applied whose response was
       * lost, retried by the SDK (DynamoDB stores only).
       */
      resendWhen?: (input: { UpdateExpression?: string }) => boolean;
    },
  ): WindowStore;
  /** A DynamoDB store whose every request is counted (DynamoDB stores only). */
  countingStore(): { store: WindowStore; requests: () => number };
  /** The item as stored (a consistent read; DynamoDB stores only). */
  rawItem(key: Item): Promise<Item | undefined>;
}

/**
 * A harness for the enclosing `describe`: starts the stand-in (and creates the table) in `beforeAll`, stops
 * it in `afterAll`. DynamoDB stores keep items `retentionSeconds` past their window.
 */
export function useWindowStoreHarness(kind: StoreKind, retentionSeconds: number): WindowStoreHarness {
  let standIn: DynamoDbStandIn | undefined;
  let client: DynamoDBClient | undefined;
  const tableName = `windows-${randomUUID()}`;

  beforeAll(async () => {
    if (kind === 'memory') return;
    standIn = await startDynamoDb(kind);
    client = new DynamoDBClient({
      endpoint: standIn.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await createWindowTable(client, tableName);
  });

  afterAll(async () => {
    client?.destroy();
    await standIn?.stop();
  });

  return {
    store(limits = DEFAULT_STATE_LIMITS, options = {}) {
      if (client === undefined) return new MemoryWindowStore(limits);
      const real = client;
      const { resendWhen } = options;
      const sending =
        resendWhen === undefined
          ? real
          : {
              send: (async (command: Parameters<DynamoDBClient['send']>[0]) => {
                const input = command.input as { UpdateExpression?: string };
                if (!resendWhen(input)) return real.send(command);
                await real.send(command);
                return real.send(command);
              }) as DynamoDBClient['send'],
            };
      return new DynamoDbWindowStore({
        client: sending,
        tableName: options.tableName ?? tableName,
        limits,
        retentionSeconds,
        ...(options.maxContributors === undefined ? {} : { maxContributors: options.maxContributors }),
      });
    },
    countingStore() {
      const real = client;
      if (real === undefined) throw new Error('the memory store sends no requests');
      let requests = 0;
      const counting = {
        send: ((command: Parameters<DynamoDBClient['send']>[0]) => {
          requests += 1;
          return real.send(command);
        }) as DynamoDBClient['send'],
      };
      const store = new DynamoDbWindowStore({
        client: counting,
        tableName,
        limits: DEFAULT_STATE_LIMITS,
        retentionSeconds,
      });
      return { store, requests: () => requests };
    },
    async rawItem(key) {
      if (client === undefined) throw new Error('the memory store has no items');
      const output = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
      );
      return output.Item;
    },
  };
}

/**
 * Runs `suite` once per store kind, each in a `describe` named `<title>: <kind>`: memory and dynalite
 * always, DynamoDB Local where Java runs.
 */
export function describeEachStore(title: string, suite: (kind: StoreKind) => void): void {
  describe.each([{ kind: 'memory' as const }, { kind: 'dynalite' as const }])(`${title}: $kind`, ({ kind }) =>
    suite(kind),
  );
  describe.skipIf(!javaAvailable()).each([{ kind: 'dynamodb-local' as const }])(
    `${title}: $kind`,
    ({ kind }) => suite(kind),
  );
}
