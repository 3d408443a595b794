import { gzipSync } from 'node:zlib';
import {
  type ReadOptions,
  type ReadStats,
  readCloudTrailRecords,
} from '../../lambda/domain/reading/cloudtrail-reader';

/** The body as chunks of the given sizes, repeated until it is used up. */
export async function* chunked(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let index = 0; offset < bytes.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** Seeded chunk sizes from 1 to `max` bytes, so a failure can be replayed. */
export function randomSizes(seed: number, count: number, max: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return 1 + (state % max);
  });
}

export interface ReadResult {
  readonly stats: ReadStats;
  readonly records: unknown[];
}

/** Reads `bytes` (in one chunk unless `sizes` is given) and collects what reached onRecord. */
export async function readAll(
  bytes: Buffer,
  options: Partial<Omit<ReadOptions, 'onRecord'>> = {},
  sizes: readonly number[] = [Math.max(bytes.length, 1)],
): Promise<ReadResult> {
  const records: unknown[] = [];
  const stats = await readCloudTrailRecords(chunked(bytes, sizes), {
    objectName: 'test-object.json.gz',
    needles: [],
    ...options,
    onRecord: (record) => records.push(record),
  });
  return { stats, records };
}

/** The error reading `bytes` fails with; fails the test when reading succeeds. */
export async function readError(
  bytes: Buffer,
  options: Partial<Omit<ReadOptions, 'onRecord'>> = {},
  sizes?: readonly number[],
): Promise<unknown> {
  try {
    await readAll(bytes, options, sizes);
  } catch (error) {
    return error;
  }
  throw new Error('expected the read to fail');
}

/** A CloudTrail log file holding `records`, as JSON bytes. */
export function logFile(records: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ Records: records }));
}

export const gzip = (bytes: Buffer | string): Buffer => gzipSync(bytes);
