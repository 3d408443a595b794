import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MemoryWindowStore } from '../../lambda/adapters/memory-window-store';
import { loadPipelineSettings, type PipelineSettings } from '../../lambda/config';
import type { AlertPublisher, AlertToPublish, LogObjectSource, ObjectRef } from '../../lambda/ports';
import type { PipelineDeps } from '../../lambda/process-log-object';

/**
 * Objects held in memory, gzip-compressed, keyed by S3 key. Each read reports its version as S3 would: the
 * body's MD5 as ETag (a single-part upload) and its size.
 */
export function memoryObjects(
  objects: Record<string, readonly unknown[]>,
): LogObjectSource & { refs: ObjectRef[] } {
  const bodies = new Map(
    Object.entries(objects).map(([key, records]) => [key, gzipSync(JSON.stringify({ Records: records }))]),
  );
  return {
    refs: [...bodies.keys()].map((key) => ({ bucket: 'trail', key })),
    async open(ref) {
      const body = bodies.get(ref.key);
      if (body === undefined) throw new Error(`no object ${ref.key}`);
      const version = { eTag: createHash('md5').update(body).digest('hex'), size: body.length };
      return Object.assign(Readable.from([body]), { version });
    },
  };
}

/** A publisher that records alerts and can be told to fail its next calls (a crash or an SNS outage). */
export function recordingPublisher() {
  const published: AlertToPublish[] = [];
  let failures = 0;
  const publisher: AlertPublisher & { published: AlertToPublish[]; failNext(n: number): void } = {
    published,
    failNext(n) {
      failures = n;
    },
    async publish(alert) {
      if (failures > 0) {
        failures -= 1;
        throw new Error('SNS unavailable');
      }
      published.push(alert);
      return `message-${published.length}`;
    },
  };
  return publisher;
}

/**
 * The use case wired to memory: a MemoryWindowStore, a recording publisher and a test clock that `sleep`
 * advances (lease waits take no real time).
 */
export function pipeline(objects: LogObjectSource, settings: PipelineSettings = loadPipelineSettings({})) {
  let now = Date.parse('2026-11-28T10:10:00Z');
  let token = 0;
  const publisher = recordingPublisher();
  const windows = new MemoryWindowStore(settings.limits);
  const deps: PipelineDeps = {
    objects,
    windows,
    alerts: publisher,
    settings,
    clock: () => now,
    newClaimToken: () => `token-${++token}`,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  return { deps, publisher, windows, advance: (ms: number) => (now += ms) };
}
