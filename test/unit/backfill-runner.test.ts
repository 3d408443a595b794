import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListObjectsV2Command, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../lambda/domain/reading/notifications';
import { Checkpoint } from '../../lib/backfill/checkpoint';
import { enumerateSelection, type PlannedObject } from '../../lib/backfill/enumeration';
import { newCounters, sendToQueue } from '../../lib/backfill/runner';

const objects = (count: number): PlannedObject[] =>
  Array.from({ length: count }, (_, i) => ({
    ref: {
      bucket: 'trail',
      key: `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/f${i}.json.gz`,
      size: 100,
    },
    account: '111122223333',
    region: 'us-east-1',
    day: '2026/11/28',
  }));

type Reply = (ids: string[]) => Partial<SendMessageBatchCommandOutput> | Error;

/** An SQS port answering each call with the next reply (then accepting everything). */
function scriptedQueue(replies: Reply[]) {
  const calls: string[][] = [];
  const bodies: string[] = [];
  return {
    calls,
    bodies,
    async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
      const entries = command.input.Entries ?? [];
      calls.push(entries.map((e) => e.Id ?? ''));
      const reply = replies.shift()?.(entries.map((e) => e.Id ?? '')) ?? {};
      if (reply instanceof Error) throw reply;
      const failed = new Set((reply.Failed ?? []).map((f) => f.Id));
      for (const entry of entries) if (!failed.has(entry.Id)) bodies.push(entry.MessageBody ?? '');
      return { $metadata: {}, Successful: [], Failed: [], ...reply } as SendMessageBatchCommandOutput;
    },
  };
}

const options = (extra = {}) => ({
  queueUrl: 'https://sqs.example/q',
  objectsPerMessage: 1,
  concurrency: 1,
  counters: newCounters(),
  sleep: async () => undefined,
  ...extra,
});

describe('sendToQueue', () => {
  it('sends 10 messages per call and every object once, readable by the handler as backfill', async () => {
    // Prepare
    const queue = scriptedQueue([]);
    // Act
    const report = await sendToQueue(queue, objects(23), options());
    // Assess
    expect(queue.calls.map((ids) => ids.length)).toEqual([10, 10, 3]);
    const parsed = queue.bodies.map((body) =>
      parseInvocation({ Records: [{ eventSource: 'aws:sqs', messageId: 'm', body }] }),
    );
    expect(parsed.flatMap((p) => p.items.flatMap((i) => i.refs.map((r) => r.key)))).toEqual(
      objects(23).map((o) => o.ref.key),
    );
    expect(parsed.every((p) => p.items.every((i) => i.origin === 'backfill'))).toBe(true);
    expect(report.failures).toEqual([]);
  });

  it('puts objectsPerMessage objects in each message', async () => {
    // Prepare
    const queue = scriptedQueue([]);
    // Act
    const report = await sendToQueue(queue, objects(7), options({ objectsPerMessage: 3 }));
    // Assess
    expect(report.messages).toBe(3);
  });

  it('retries only the entries of a partial failure', async () => {
    // Prepare
    const queue = scriptedQueue([
      () => ({ Failed: [{ Id: 'm1', Code: 'InternalError', SenderFault: false }] }),
    ]);
    // Act
    const report = await sendToQueue(queue, objects(3), options());
    // Assess
    expect(queue.calls).toEqual([['m0', 'm1', 'm2'], ['m0']]);
    expect(queue.bodies.length).toBe(3);
    expect(report.failures).toEqual([]);
  });

  it('does not retry a sender fault and reports its object with the reason', async () => {
    // Prepare
    const queue = scriptedQueue([
      () => ({ Failed: [{ Id: 'm0', Code: 'InvalidMessageContents', Message: 'bad', SenderFault: true }] }),
    ]);
    // Act
    const report = await sendToQueue(queue, objects(2), options());
    // Assess
    expect(queue.calls.length).toBe(1);
    expect(report.failures).toEqual([{ ref: objects(1)[0]?.ref, reason: 'SQS InvalidMessageContents: bad' }]);
  });

  it('retries a call that throws, and gives up after maxAttempts', async () => {
    // Prepare
    const down = () => new Error('socket hang up');
    const queue = scriptedQueue([down, down, down]);
    const counters = newCounters();
    // Act
    const report = await sendToQueue(queue, objects(2), options({ maxAttempts: 3, counters }));
    // Assess
    expect(queue.calls.length).toBe(3);
    expect(report.failures.map((f) => f.reason)).toEqual(['Error: socket hang up', 'Error: socket hang up']);
    expect(counters.failed).toBe(2);
  });

  it('reports sent objects to onSent (the checkpoint), and failed ones not', async () => {
    // Prepare
    const queue = scriptedQueue([() => ({ Failed: [{ Id: 'm1', Code: 'x', SenderFault: true }] })]);
    const sent: string[] = [];
    // Act
    await sendToQueue(
      queue,
      objects(2),
      options({
        onSent: async (refs: { key: string }[]) => {
          sent.push(...refs.map((r) => r.key));
        },
      }),
    );
    // Assess
    expect(sent).toEqual([objects(1)[0]?.ref.key]);
  });
});

describe('enumerateSelection paging', () => {
  it('follows continuation tokens and counts every request', async () => {
    // Prepare: a bucket with one account, one region and 5 objects a day, listed 2 per page
    const keys = ['2026/11/28', '2026/11/29'].flatMap((day) =>
      Array.from({ length: 5 }, (_, i) => `AWSLogs/111122223333/CloudTrail/us-east-1/${day}/f${i}.json.gz`),
    );
    const list = {
      async send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput> {
        const { Prefix = '', Delimiter, ContinuationToken, MaxKeys = 1000 } = command.input;
        const under = keys.filter((k) => k.startsWith(Prefix));
        if (Delimiter === '/') {
          const folders = [
            ...new Set(under.map((k) => `${Prefix}${k.slice(Prefix.length).split('/')[0] ?? ''}/`)),
          ];
          return { $metadata: {}, CommonPrefixes: folders.map((p) => ({ Prefix: p })), IsTruncated: false };
        }
        const from = Number(ContinuationToken ?? 0);
        const page = under.slice(from, from + MaxKeys);
        const more = from + MaxKeys < under.length;
        return {
          $metadata: {},
          Contents: page.map((Key) => ({ Key, Size: 10 })),
          IsTruncated: more,
          ...(more ? { NextContinuationToken: String(from + MaxKeys) } : {}),
        };
      },
    };
    // Act
    const result = await enumerateSelection(
      list,
      {
        bucket: 'trail',
        prefix: '',
        accounts: [],
        regions: [],
        startDay: '2026-11-28',
        endDay: '2026-11-28',
      },
      { pageSize: 2 },
    );
    // Assess: 2 discovery requests, then 3 pages for each of the 2 day folders
    expect(result.objects.map((o) => o.ref.key)).toEqual(keys);
    expect(result.listRequests).toBe(2 + 3 * 2);
  });
});

describe('Checkpoint', () => {
  it('appends finished objects and reads them back, ignoring a torn last line', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'regionsweep-checkpoint-'));
    const path = join(dir, 'cp.json');
    await writeFile(path, '{"key":"a"}\n{"key":"b","versionId":"v1"}\n{"key":"c');
    try {
      // Act
      const checkpoint = await Checkpoint.open(path);
      await checkpoint.record({ bucket: 't', key: 'd' });
      await checkpoint.close();
      const reopened = await Checkpoint.open(path);
      await reopened.close();
      // Assess
      expect(reopened.has({ bucket: 't', key: 'a' })).toBe(true);
      expect(reopened.has({ bucket: 't', key: 'b', versionId: 'v1' })).toBe(true);
      expect(reopened.has({ bucket: 't', key: 'b' })).toBe(false);
      expect(reopened.has({ bucket: 't', key: 'c' })).toBe(false);
      expect(reopened.has({ bucket: 't', key: 'd' })).toBe(true);
      expect((await readFile(path, 'utf8')).endsWith('{"key":"d"}\n')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
