import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbWindowStore } from './adapters/dynamodb-window-store';
import { S3ObjectSource } from './adapters/s3-object-source';
import { SnsAlertPublisher } from './adapters/sns-alert-publisher';
import { loadConfig, SNS_MAX_ATTEMPTS, SNS_REQUEST_TIMEOUT_MS } from './config';
import { type BatchResponse, handleInvocation } from './invocation';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metric-names';

/** The platform's time: wall clock and timers in production; tests may run the handler on a virtual clock. */
export interface HandlerTime {
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<unknown>;
}

const WALL_TIME: HandlerTime = { clock: Date.now, sleep };

/**
 * Builds the handler from an environment: configuration is parsed and clients are created once, here.
 * The SDK clients take endpoints and credentials from the process environment as usual (which is how
 * `regionsweep local` points them at its stand-ins).
 */
export function buildHandler(
  env: Readonly<Record<string, string | undefined>>,
  time: HandlerTime = WALL_TIME,
) {
  const config = loadConfig(env);
  const deps = {
    logger: new Logger({ serviceName: SERVICE_NAME }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
    settings: config,
    objects: new S3ObjectSource({
      client: new S3Client({ requestHandler: requestTimeout(30_000) }),
      ...(config.expectedBucketOwner === undefined
        ? {}
        : { expectedBucketOwner: config.expectedBucketOwner }),
    }),
    windows: new DynamoDbWindowStore({
      client: new DynamoDBClient({ requestHandler: requestTimeout(5_000) }),
      tableName: config.tableName,
      limits: config.limits,
      retentionSeconds: config.retentionSeconds,
    }),
    alerts: new SnsAlertPublisher({
      // The alert lease is checked against these (see PUBLISH_TIMEOUT_MS): keep them where config says.
      client: new SNSClient({
        requestHandler: requestTimeout(SNS_REQUEST_TIMEOUT_MS),
        maxAttempts: SNS_MAX_ATTEMPTS,
      }),
      topicArn: config.topicArn,
    }),
    clock: time.clock,
    newClaimToken: randomUUID,
    sleep: async (ms: number) => {
      await time.sleep(ms);
    },
  };
  return (event: unknown): Promise<BatchResponse | undefined> => handleInvocation(deps, event);
}

/**
 * Bounds every request (for S3, the wait for the next bytes of a stream): a hung call must fail and be
 * retried rather than hold the function, and an alert claim's lease must outlast the publish.
 */
function requestTimeout(ms: number) {
  return { requestTimeout: ms, throwOnRequestTimeout: true };
}

/**
 * Lambda entry point: S3, SNS, SQS, EventBridge and backfill deliveries of CloudTrail log objects.
 * Built at module scope (once per execution environment): a configuration error fails the cold start and
 * names the variable.
 */
export const handler = buildHandler(process.env);
