import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { seededRandom } from '../../lib/local/seeded-random';
import { ensureGzipLogFile, fileExists } from './synthetic-cloudtrail';

type Random = () => number;

const REAL_EVENTS_DIR = join(import.meta.dirname, '..', 'fixtures', 'real-events');
/** Share of DescribeInstances records in the files built here (the "about 5%"). */
export const REAL_RECORD_DESCRIBE_INSTANCES_SHARE = 0.05;
/** CloudTrail delivers a file about every five minutes: every event time lies within one such delivery. */
const DELIVERY_MS = 5 * 60_000;

/** The real third-party CloudTrail records vendored in test/fixtures/real-events, DescribeInstances apart. */
export interface RealRecordPool {
  readonly describeInstances: readonly Readonly<Record<string, unknown>>[];
  readonly others: readonly Readonly<Record<string, unknown>>[];
}

/** Loads every record of test/fixtures/real-events (see its README for provenance and licence). */
export async function loadRealRecordPool(): Promise<RealRecordPool> {
  const describeInstances: Record<string, unknown>[] = [];
  const others: Record<string, unknown>[] = [];
  const names = (await readdir(REAL_EVENTS_DIR)).filter((name) => name.endsWith('.json.gz')).sort();
  for (const name of names) {
    const parsed = JSON.parse(gunzipSync(await readFile(join(REAL_EVENTS_DIR, name))).toString('utf8')) as {
      Records: Record<string, unknown>[];
    };
    for (const record of parsed.Records) {
      const isDescribeInstances =
        record.eventName === 'DescribeInstances' && record.eventSource === 'ec2.amazonaws.com';
      (isDescribeInstances ? describeInstances : others).push(record);
    }
  }
  if (describeInstances.length === 0 || others.length === 0) {
    throw new Error(`${REAL_EVENTS_DIR} holds no DescribeInstances record, or nothing else`);
  }
  return { describeInstances, others };
}

/**
 * One record sampled from the pool (DescribeInstances with probability `describeShare`), with a fresh
 * `eventID` and an `eventTime` within the delivery that starts at `deliveryStart`. Everything else is the
 * real record as its source published it.
 */
export function sampleRealRecord(
  pool: RealRecordPool,
  random: Random,
  deliveryStart: number,
  describeShare = REAL_RECORD_DESCRIBE_INSTANCES_SHARE,
): Record<string, unknown> {
  const source = random() < describeShare ? pool.describeInstances : pool.others;
  const picked = source[Math.floor(random() * source.length)] ?? {};
  const eventTime = new Date(deliveryStart + Math.floor(random() * DELIVERY_MS));
  return {
    ...picked,
    eventTime: eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventID: uuid(random),
  };
}

function uuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/**
 * Writes a gzip CloudTrail log file of about `targetJsonBytes` bytes of compact JSON (as CloudTrail writes it)
 * made of real records sampled from the fixtures (see sampleRealRecord), streaming. Reuses an existing file.
 */
export async function ensureRealRecordLogFile(
  path: string,
  targetJsonBytes: number,
  seed: number,
): Promise<void> {
  if (await fileExists(path)) return;
  const pool = await loadRealRecordPool();
  const random = seededRandom(seed);
  const deliveryStart = Date.UTC(2026, 10, 28, 10, 10, 0);
  await ensureGzipLogFile(path, targetJsonBytes, () => sampleRealRecord(pool, random, deliveryStart));
}
