import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbWindowStore } from './adapters/dynamodb/dynamodb-window-store';
import type { WindowTableClient } from './adapters/dynamodb/window-table';
import { MemoryWindowStore } from './adapters/memory-window-store';
import { type S3GetObjectPort, S3ObjectSource } from './adapters/s3-object-source';
import { SnsAlertPublisher, type SnsPublishPort } from './adapters/sns-alert-publisher';
import { type PipelineSettings, SNS_MAX_ATTEMPTS, SNS_REQUEST_TIMEOUT_MS } from './config';
import { type Finding, findingsAmong, type WindowState } from './domain/detection/window-state';
import type { LogObjectSource } from './ports';
import type { PipelineDeps } from './process-log-object';

/**
 * The composition root: every entry point (the Lambda handler, `scan`, `local`, `backfill`, `test-rule`)
 * builds its pipeline here, from typed settings and the clients it was given. Nothing here reads the
 * process environment.
 */

/** The platform's time: wall clock and timers in production; tests may run the pipeline on a virtual clock. */
export interface PipelineTime {
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<unknown>;
}

export const WALL_TIME: PipelineTime = { clock: Date.now, sleep };

/** The AWS clients the pipeline uses, as the narrow ports its adapters take. */
export interface PipelineClients {
  readonly s3: S3GetObjectPort;
  readonly dynamodb: WindowTableClient;
  readonly sns: SnsPublishPort;
}

/** Where the clients send their requests: the SDK's defaults (environment, profile) for what is left out. */
export interface ClientOptions {
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints?: { readonly s3?: string; readonly dynamodb?: string; readonly sns?: string };
  /** Path-style S3 requests (stand-ins and S3-compatible stores rarely resolve virtual-hosted names). */
  readonly s3ForcePathStyle?: boolean;
  /** Follow S3's redirect to a bucket's own region (a backfill lists buckets of any region). */
  readonly s3FollowRegionRedirects?: boolean;
}

/** S3 requests (for a stream, the wait for its next bytes), DynamoDB requests. */
const S3_REQUEST_TIMEOUT_MS = 30_000;
const DYNAMODB_REQUEST_TIMEOUT_MS = 5_000;

/**
 * SDK clients with every request bounded, the same for every entry point: a hung call must fail and be
 * retried rather than hold the run, and an alert claim's lease must outlast the publish (see
 * PUBLISH_TIMEOUT_MS, derived from the SNS time-out and attempts).
 */
export function awsClients(options: ClientOptions = {}): PipelineClients & {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
} {
  const common = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const endpoint = (url: string | undefined) => (url === undefined ? {} : { endpoint: url });
  return {
    s3: new S3Client({
      ...common,
      ...endpoint(options.endpoints?.s3),
      requestHandler: requestTimeout(S3_REQUEST_TIMEOUT_MS),
      ...(options.s3ForcePathStyle === true ? { forcePathStyle: true } : {}),
      ...(options.s3FollowRegionRedirects === true ? { followRegionRedirects: true } : {}),
    }),
    dynamodb: new DynamoDBClient({
      ...common,
      ...endpoint(options.endpoints?.dynamodb),
      requestHandler: requestTimeout(DYNAMODB_REQUEST_TIMEOUT_MS),
    }),
    sns: new SNSClient({
      ...common,
      ...endpoint(options.endpoints?.sns),
      requestHandler: requestTimeout(SNS_REQUEST_TIMEOUT_MS),
      maxAttempts: SNS_MAX_ATTEMPTS,
    }),
  };
}

function requestTimeout(ms: number) {
  return { requestTimeout: ms, throwOnRequestTimeout: true };
}

/** The deployed resources a pipeline writes to: the window table and the alert topic. */
export interface PipelineTarget {
  readonly tableName: string;
  readonly topicArn: string;
  readonly expectedBucketOwner?: string;
}

/** The pipeline against DynamoDB and SNS: the Lambda handler, `local`, and `backfill --mode direct`. */
export function buildPipeline(
  settings: PipelineSettings,
  target: PipelineTarget,
  clients: PipelineClients,
  time: PipelineTime = WALL_TIME,
): PipelineDeps {
  return {
    settings,
    objects: s3LogObjects(clients.s3, target.expectedBucketOwner),
    windows: new DynamoDbWindowStore({
      client: clients.dynamodb,
      tableName: target.tableName,
      limits: settings.limits,
      retentionSeconds: settings.retentionSeconds,
    }),
    alerts: new SnsAlertPublisher({ client: clients.sns, topicArn: target.topicArn }),
    ...runtime(time),
  };
}

/** Log objects read from S3; with `expectedBucketOwner`, only from a bucket that account owns. */
export function s3LogObjects(client: S3GetObjectPort, expectedBucketOwner?: string): LogObjectSource {
  return new S3ObjectSource({
    client,
    ...(expectedBucketOwner === undefined ? {} : { expectedBucketOwner }),
  });
}

/** A pipeline with no alerts and its windows in memory, and the findings it holds so far. */
export interface MemoryPipeline {
  readonly deps: PipelineDeps;
  /** Every window counted so far. */
  states(): WindowState[];
  /** Every window that crosses its rule's thresholds, newest first. */
  findings(): Finding[];
}

/**
 * The pipeline in memory: `scan`, `backfill --no-alerts` and `test-rule`. No alert is published: the
 * caller reads the findings back at the end.
 */
export function memoryPipeline(
  settings: PipelineSettings,
  objects: LogObjectSource,
  time: PipelineTime = WALL_TIME,
): MemoryPipeline {
  const store = new MemoryWindowStore(settings.limits);
  return {
    deps: { settings, objects, windows: store, ...runtime(time) },
    states: () => store.states(),
    findings: () => findingsAmong(store.states(), settings.rules),
  };
}

function runtime(time: PipelineTime) {
  return {
    clock: time.clock,
    newClaimToken: randomUUID,
    sleep: async (ms: number) => {
      await time.sleep(ms);
    },
  };
}
