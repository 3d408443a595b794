import { Logger } from '@aws-lambda-powertools/logger';
import type { PipelineSettings } from '../../lambda/config';
import { buildHandler } from '../../lambda/handler';
import type { MetricsPort } from '../../lambda/invocation';
import { SERVICE_NAME } from '../../lambda/metric-names';
import { awsClients } from '../../lambda/pipeline';
import { forEachConcurrently } from '../concurrency';
import { type LocalEnvironment, localHandlerConfig, uploadFiles } from './environment';
import type { LocalFile } from './file-object-source';
import { seededRandom } from './seeded-random';

export interface DeliveryOptions {
  readonly concurrency: number;
  /** Copies of each notification (S3 delivers at least once). */
  readonly deliveries: number;
  readonly seed: number;
}

export interface DeliveryReport {
  readonly objects: number;
  readonly notifications: number;
  /** Invocations that threw and were invoked again, as Lambda retries an asynchronous invocation. */
  readonly retriedInvocations: number;
  /** Invocations that still threw after Lambda's two retries (they would reach the failure destination). */
  readonly failedInvocations: number;
}

/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_RETRIES = 2;

/** A local run publishes no metrics (there is no CloudWatch to read them). */
export const NO_METRICS: MetricsPort = {
  addMetric: () => undefined,
  hasStoredMetrics: () => false,
  publishStoredMetrics: () => undefined,
};

/**
 * Uploads the files and delivers their S3 notifications to the real handler, built for the stand-ins from
 * `settings`: every notification `deliveries` times, in an order shuffled with `seed`, `concurrency` at a time.
 */
export async function deliverNotifications(
  environment: LocalEnvironment,
  files: readonly LocalFile[],
  settings: PipelineSettings,
  options: DeliveryOptions,
): Promise<DeliveryReport> {
  await uploadFiles(environment, files);
  const clients = awsClients(environment.clients);
  try {
    const handler = buildHandler(localHandlerConfig(environment, settings), clients, {
      logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'WARN' }),
      metrics: NO_METRICS,
    });
    const notifications = shuffle(
      files.flatMap((file) =>
        Array.from({ length: options.deliveries }, () =>
          s3Notification(environment.bucket, file.relativePath, file.size),
        ),
      ),
      seededRandom(options.seed),
    );
    let retried = 0;
    let failed = 0;
    await forEachConcurrently(notifications, options.concurrency, async (notification) => {
      for (let attempt = 0; attempt <= ASYNC_RETRIES; attempt++) {
        try {
          await handler(notification);
          return;
        } catch (error) {
          if (attempt === ASYNC_RETRIES) {
            failed += 1;
            process.stderr.write(
              `local: invocation failed after ${ASYNC_RETRIES} retries: ${String(error)}\n`,
            );
          } else {
            retried += 1;
          }
        }
      }
    });
    return {
      objects: files.length,
      notifications: notifications.length,
      retriedInvocations: retried,
      failedInvocations: failed,
    };
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}

/** An S3 `ObjectCreated:Put` notification as S3 sends it: the key form-URL-encoded (space as `+`). */
export function s3Notification(bucket: string, key: string, size: number): unknown {
  const now = new Date().toISOString();
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: now,
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:AROAEXAMPLECLOUDTRAIL:regionsweep-local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'LOCAL', 'x-amz-id-2': 'LOCAL' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'regionsweep-local',
          bucket: { name: bucket, ownerIdentity: { principalId: 'LOCAL' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeS3Key(key), size, sequencer: '0' },
        },
      },
    ],
  };
}

/** Encodes a key as S3 notifications carry it: form-URL-encoding, `/` kept, space as `+`. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
