/**
 * Child process of pipeline-bench.ts: generates every `count`-th object of the load corpus (starting at
 * `worker`) under `root`, gzip-compressed at its key, and sends one GeneratedObjectSummary per object to the
 * parent. Run as `pipeline-corpus-worker.ts <root> <worker> <count> <options JSON>` through `fork`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type CorpusOptions,
  type GeneratedObjectSummary,
  matchingEvents,
  objectRecords,
  planCorpus,
} from './pipeline-corpus';

/** Parent <- worker messages. */
export type CorpusWorkerMessage =
  | { readonly kind: 'objects'; readonly objects: readonly GeneratedObjectSummary[] }
  | { readonly kind: 'done' };

const [root, worker, count, optionsJson] = process.argv.slice(2);
if (root === undefined || worker === undefined || count === undefined || optionsJson === undefined) {
  throw new Error('usage: pipeline-corpus-worker.ts <root> <worker> <count> <options JSON>');
}
const options = JSON.parse(optionsJson) as CorpusOptions;
const send = (message: CorpusWorkerMessage) =>
  new Promise<void>((resolve, reject) =>
    process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );

const directories = new Set<string>();
let batch: GeneratedObjectSummary[] = [];
for (const object of planCorpus(options)) {
  if (object.index % Number(count) !== Number(worker)) continue;
  const records = objectRecords(object, options);
  const json = JSON.stringify({ Records: records });
  const body = gzipSync(json);
  const path = join(root, object.key);
  const directory = dirname(path);
  if (!directories.has(directory)) {
    mkdirSync(directory, { recursive: true });
    directories.add(directory);
  }
  writeFileSync(path, body);
  batch.push({
    index: object.index,
    key: object.key,
    events: records.length,
    jsonBytes: Buffer.byteLength(json),
    gzipBytes: body.length,
    matches: matchingEvents(records),
  });
  if (batch.length >= 25) {
    await send({ kind: 'objects', objects: batch });
    batch = [];
  }
}
await send({ kind: 'objects', objects: batch });
await send({ kind: 'done' });
process.disconnect?.();
