import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { loadPipelineSettings } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { backfillCommand } from '../../lib/cli/backfill';
import { s3Notification } from '../../lib/local/delivery';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS } from '../fixtures/events';
import { setProcessEnv } from '../support/process-env';
import { type StandInHandler, standInConfig, standInHandler } from '../support/stand-in-handler';
import { bufferIo } from './backfill-fixture';

const SETTINGS = loadPipelineSettings({});

const WINDOW = '2026-11-28T10:00:00Z';

/** `count` DescribeInstances events of `arn` in one window, over 12 regions, each with its own event id. */
function burst(arn: string, count: number, tag: string) {
  return Array.from({ length: count }, (_, i) =>
    cloudTrailEvent({
      arn,
      awsRegion: DEFAULT_REGIONS[i % 12],
      eventTime: new Date(Date.parse(WINDOW) + (i % 30) * 1000).toISOString(),
      eventID: `${tag}-${i}`,
    }),
  );
}

/** A live S3 notification naming a version, as S3 sends for a versioned bucket. */
function versionedNotification(bucket: string, key: string, size: number, versionId: string) {
  const notification = s3Notification(bucket, key, size) as {
    Records: { s3: { object: Record<string, unknown> } }[];
  };
  for (const record of notification.Records) record.s3.object.versionId = versionId;
  return notification;
}

/** The same object as EventBridge delivers it from a versioned bucket, wrapped in an SQS record. */
function eventBridgeInSqs(bucket: string, key: string, size: number, versionId: string) {
  const event = {
    version: '0',
    id: 'e',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: {
      bucket: { name: bucket },
      object: { key, size, 'version-id': versionId },
      reason: 'PutObject',
    },
  };
  return { Records: [{ messageId: 'm1', eventSource: 'aws:sqs', body: JSON.stringify(event) }] };
}

describe.each([
  { kind: 'dynalite' as const, skip: false },
  { kind: 'dynamodb-local' as const, skip: !javaAvailable() },
])('one object is one object on every path ($kind)', ({ kind, skip }) => {
  let environment: LocalEnvironment;
  let handler: StandInHandler;

  beforeAll(async () => {
    if (skip) return;
    environment = await startLocalEnvironment(kind);
    handler = standInHandler(environment, standInConfig(environment, SETTINGS));
  });

  afterAll(async () => {
    await environment?.stop();
  });

  async function upload(key: string, records: readonly unknown[]): Promise<number> {
    const body = gzipSync(JSON.stringify({ Records: records }));
    await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
    return body.length;
  }

  async function eventsOf(arn: string): Promise<number> {
    const store = new DynamoDbWindowStore({
      client: environment.dynamodb,
      tableName: environment.tableName,
      limits: SETTINGS.limits,
      retentionSeconds: SETTINGS.retentionSeconds,
    });
    const state = await store.get({
      ruleId: EC2_MULTI_REGION_DESCRIBE_INSTANCES.id,
      windowStart: Date.parse(WINDOW),
      arn,
    });
    return state === undefined ? 0 : eventCountOf(state);
  }

  it.skipIf(skip)(
    'a live delivery with a version id, EventBridge through SQS and a backfill of the same object count its 1,200 events once',
    async () => {
      // Prepare: more events than a window keeps ids of, so only the object's identity can de-duplicate
      const arn = 'arn:aws:iam::111122223333:user/versioned';
      const key = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), 'versioned');
      const size = await upload(key, burst(arn, 1_200, 'v'));

      // Act
      await handler(
        versionedNotification(environment.bucket, key, size, '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY'),
      );
      await handler(eventBridgeInSqs(environment.bucket, key, size, '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY'));
      const buffer = bufferIo();
      const restore = setProcessEnv(environment.env);
      const code = await backfillCommand(
        [
          ...['--bucket', environment.bucket, '--table', environment.tableName],
          ...['--topic-arn', environment.topicArn, '--start', '2026-11-28', '--end', '2026-11-28'],
          ...[
            '--checkpoint',
            join(await mkdtemp(join(tmpdir(), 'regionsweep-identity-')), 'checkpoint.json'),
          ],
        ],
        buffer.io,
      ).finally(restore);

      // Assess
      expect(code, buffer.stderr()).toBe(0);
      expect(await eventsOf(arn)).toBe(1_200);
    },
  );

  it.skipIf(skip)(
    'an overwrite at the same key of an unversioned bucket counts as the new object it is',
    async () => {
      // Prepare
      const arn = 'arn:aws:iam::111122223333:user/overwritten';
      const key = cloudTrailKey('111122223333', 'us-east-2', new Date('2026-11-28T10:05:00Z'), 'overwritten');
      const firstSize = await upload(key, burst(arn, 5, 'first'));
      await handler(s3Notification(environment.bucket, key, firstSize));

      // Act
      const secondSize = await upload(key, burst(arn, 7, 'second'));
      await handler(s3Notification(environment.bucket, key, secondSize));

      // Assess
      expect(await eventsOf(arn)).toBe(12);
    },
  );
});
