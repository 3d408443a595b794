import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../lambda/domain/detection/window-state';
import type { SqsSendBatchPort } from '../../lib/backfill/runner';
import { backfillCommand } from '../../lib/cli/backfill';
import { type LocalEnvironment, startLocalEnvironment, uploadFiles } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { setProcessEnv } from '../support/process-env';
import { standInConfig, standInHandler } from '../support/stand-in-handler';
import {
  bufferIo,
  comparable,
  corpusOnDisk,
  keyOf,
  SETTINGS,
  scanFindings,
  storedFindings,
} from './backfill-fixture';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/backfill';

/** A recording SQS port: accepts every entry and keeps the bodies, as the queue would hold them. */
function recordingQueue(): SqsSendBatchPort & { bodies: string[]; calls: number[] } {
  const bodies: string[] = [];
  const calls: number[] = [];
  return {
    bodies,
    calls,
    async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
      const entries = command.input.Entries ?? [];
      calls.push(entries.length);
      for (const entry of entries) bodies.push(entry.MessageBody ?? '');
      return {
        Successful: entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
        Failed: [],
        $metadata: {},
      } as SendMessageBatchCommandOutput;
    },
  };
}

describe('queue mode', () => {
  let corpus: Awaited<ReturnType<typeof corpusOnDisk>>;
  let expected: Finding[];
  let environment: LocalEnvironment;
  let queue: ReturnType<typeof recordingQueue>;
  let code: number;
  let handlerFailures: number;

  beforeAll(async () => {
    corpus = await corpusOnDisk();
    expected = await scanFindings(corpus.inFolders(['2026/11/27', '2026/11/28']));
    environment = await startLocalEnvironment('dynalite');
    await uploadFiles(environment, corpus.files);
    queue = recordingQueue();
    const buffer = bufferIo();
    // The command builds its clients from the environment, as the CLI does.
    const restore = setProcessEnv(environment.env);
    try {
      code = await backfillCommand(
        [
          '--mode',
          'queue',
          '--queue-url',
          QUEUE_URL,
          '--bucket',
          environment.bucket,
          '--start',
          '2026-11-27',
          '--end',
          '2026-11-27',
          '--checkpoint',
          `${corpus.root}/queue.json`,
        ],
        buffer.io,
        { sqs: queue },
      );
      // The event source hands the function batches of 2 messages, as BACKFILL_BATCH_SIZE configures.
      const handler = standInHandler(environment, standInConfig(environment, SETTINGS));
      handlerFailures = 0;
      for (let i = 0; i < queue.bodies.length; i += 2) {
        const records = queue.bodies.slice(i, i + 2).map((body, j) => ({
          messageId: `m-${i + j}`,
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:backfill',
          awsRegion: 'us-east-1',
          body,
        }));
        const response = await handler({ Records: records });
        handlerFailures += response?.batchItemFailures.length ?? 0;
      }
    } finally {
      restore();
    }
  });
  afterAll(async () => {
    await environment?.stop();
    await corpus?.remove();
  });

  it('sends one message per object of the range, at most 10 per SendMessageBatch call', () => {
    expect(code).toBe(0);
    expect(queue.bodies.length).toBe(corpus.inFolders(['2026/11/27', '2026/11/28']).length);
    expect(Math.max(...queue.calls)).toBeLessThanOrEqual(10);
    expect(queue.calls.length).toBe(Math.ceil(queue.bodies.length / 10));
  });

  it('makes the real handler publish one backfill alert per scan finding', () => {
    // Act
    const alerts = publishedAlerts(environment.recorder.published());
    // Assess
    expect(handlerFailures).toBe(0);
    expect(alerts.map((a) => keyOf(a.finding)).sort()).toEqual(expected.map(keyOf).sort());
    expect(alerts.every((a) => a.origin === 'backfill' && a.attributes.backfill === 'true')).toBe(true);
  });

  it('leaves the final window counts equal to scan', async () => {
    expect((await storedFindings(environment, expected)).map(comparable)).toEqual(expected.map(comparable));
  });
});
