import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { describeError } from '../../lambda/domain/errors';
import { packBackfillMessages } from '../../lambda/domain/reading/notifications';
import type { ObjectRef } from '../../lambda/ports';
import { type PipelineDeps, processLogObject } from '../../lambda/process-log-object';
import { forEachConcurrently } from '../concurrency';
import type { PlannedObject } from './enumeration';

/** Live counters of a run, read by the progress reporter. */
export interface RunCounters {
  objectsDone: number;
  bytesDone: number;
  failed: number;
  alertsPublished: number;
}

/** An object that could not be processed (direct) or sent (queue), with the reason. */
export interface ObjectFailure {
  readonly ref: ObjectRef;
  readonly reason: string;
}

/** One alert a direct backfill published. */
export interface PublishedByBackfill {
  readonly windowStart: number;
  readonly arn: string | null;
  readonly messageId?: string;
}

export interface DirectRunReport {
  readonly processed: number;
  readonly skipped: number;
  readonly failures: readonly ObjectFailure[];
  readonly alerts: readonly PublishedByBackfill[];
}

/** Starts a fresh set of counters. */
export function newCounters(): RunCounters {
  return { objectsDone: 0, bytesDone: 0, failed: 0, alertsPublished: 0 };
}

/**
 * Direct mode: runs processLogObject (the Lambda's code path, origin 'backfill') over the objects,
 * `concurrency` at a time.
 * 1. Each object is processed once; its window writes are idempotent per object, so an object processed
 *    before (by the function or an earlier backfill) changes no count and publishes no second alert.
 * 2. A finished object (processed or skipped by the pipeline) is passed to `onFinished` (the checkpoint).
 * 3. A poison object or an error that survived the SDK's retries is a failure with its reason; the others
 *    still run, and a failed object is not recorded as finished, so the next run tries it again.
 */
export async function runDirect(
  deps: PipelineDeps,
  objects: readonly PlannedObject[],
  options: {
    readonly concurrency: number;
    readonly counters: RunCounters;
    readonly onFinished?: (ref: ObjectRef) => Promise<void>;
  },
): Promise<DirectRunReport> {
  const { counters } = options;
  const failures: ObjectFailure[] = [];
  const alerts: PublishedByBackfill[] = [];
  let processed = 0;
  let skipped = 0;
  await forEachConcurrently(objects, options.concurrency, async ({ ref }) => {
    try {
      const outcome = await processLogObject(deps, ref, { origin: 'backfill', keyMode: 'strict' });
      if (outcome.status === 'poison') {
        failures.push({ ref, reason: describeError(outcome.error) });
        counters.failed += 1;
        return;
      }
      if (outcome.status === 'skipped') skipped += 1;
      else {
        processed += 1;
        for (const alert of outcome.alerts) {
          if (alert.outcome !== 'published') continue;
          counters.alertsPublished += 1;
          alerts.push({
            windowStart: alert.key.windowStart,
            arn: alert.key.arn,
            ...(alert.messageId === undefined ? {} : { messageId: alert.messageId }),
          });
        }
      }
      await options.onFinished?.(ref);
    } catch (error) {
      failures.push({ ref, reason: describeError(error) });
      counters.failed += 1;
    } finally {
      counters.objectsDone += 1;
      counters.bytesDone += ref.size ?? 0;
    }
  });
  return { processed, skipped, failures, alerts };
}

/** The one SQS call the queue sender makes: `SQSClient` satisfies it. */
export interface SqsSendBatchPort {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

/** SendMessageBatch limits: 10 entries, and the sum of the bodies at most 256 KiB. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 262_144;

export interface QueueRunReport {
  readonly messages: number;
  readonly requests: number;
  readonly failures: readonly ObjectFailure[];
}

export interface QueueRunOptions {
  readonly queueUrl: string;
  /** Objects per backfill message; the function processes a message's objects in one invocation. */
  readonly objectsPerMessage: number;
  /** Batches in flight at once. */
  readonly concurrency: number;
  readonly counters: RunCounters;
  /** Attempts per entry, counting the first (entries SQS marks as sender faults are never retried). */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onSent?: (refs: readonly ObjectRef[]) => Promise<void>;
}

interface Message {
  readonly body: string;
  readonly refs: readonly ObjectRef[];
}

/**
 * Queue mode: sends the objects to the backfill queue as backfill messages (`packBackfillMessages`), with
 * SendMessageBatch, 10 messages (and at most 256 KiB) per call.
 * 1. Entries SQS rejects in a partial failure are retried with exponential backoff, unless SQS says the
 *    sender is at fault (the same entry would fail again); a call that throws is retried whole.
 * 2. Objects of accepted messages are passed to `onSent` (the checkpoint); the others are failures.
 * Sending twice is harmless: the function's window writes are idempotent per object.
 */
export async function sendToQueue(
  client: SqsSendBatchPort,
  objects: readonly PlannedObject[],
  options: QueueRunOptions,
): Promise<QueueRunReport> {
  const messages: Message[] = [];
  for (let i = 0; i < objects.length; i += options.objectsPerMessage) {
    const refs = objects.slice(i, i + options.objectsPerMessage).map((o) => o.ref);
    let offset = 0;
    for (const body of packBackfillMessages(refs)) {
      const count = (JSON.parse(body) as { objects: unknown[] }).objects.length;
      messages.push({ body, refs: refs.slice(offset, offset + count) });
      offset += count;
    }
  }
  const batches = intoBatches(messages);
  const failures: ObjectFailure[] = [];
  let requests = 0;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxAttempts = options.maxAttempts ?? 5;
  const { counters } = options;

  const settle = async (message: Message, failure: string | undefined) => {
    const bytes = message.refs.reduce((sum, ref) => sum + (ref.size ?? 0), 0);
    counters.objectsDone += message.refs.length;
    counters.bytesDone += bytes;
    if (failure === undefined) {
      await options.onSent?.(message.refs);
      return;
    }
    counters.failed += message.refs.length;
    for (const ref of message.refs) failures.push({ ref, reason: failure });
  };

  await forEachConcurrently(batches, options.concurrency, async (batch) => {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const entries: SendMessageBatchRequestEntry[] = pending.map((message, index) => ({
        Id: `m${index}`,
        MessageBody: message.body,
      }));
      const retry: Message[] = [];
      try {
        requests += 1;
        const output = await client.send(
          new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }),
        );
        const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
        for (const [index, message] of pending.entries()) {
          const entry = failed.get(`m${index}`);
          if (entry === undefined) await settle(message, undefined);
          else if (entry.SenderFault === true || attempt >= maxAttempts) {
            await settle(message, `SQS ${entry.Code ?? 'error'}: ${entry.Message ?? 'message rejected'}`);
          } else retry.push(message);
        }
      } catch (error) {
        if (attempt >= maxAttempts) {
          for (const message of pending) await settle(message, describeError(error));
        } else retry.push(...pending);
      }
      pending = retry;
      if (pending.length > 0) await sleep(100 * 2 ** (attempt - 1));
    }
  });
  return { messages: messages.length, requests, failures };
}

function intoBatches(messages: readonly Message[]): Message[][] {
  const batches: Message[][] = [];
  let batch: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.body);
    if (batch.length === BATCH_ENTRIES || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
