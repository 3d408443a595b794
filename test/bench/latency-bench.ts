/**
 * Detection latency through `regionsweep local` (`npm run bench:latency`): the time from the notification of the
 * last object a sweep needs to the alert's publish, per size of that object.
 *
 * 1. Start the stand-ins as `local` does (DynamoDB Local when Java 17+ is present, dynalite otherwise; s3rver;
 *    the SNS recorder) and build the real handler for them, in this process.
 * 2. Per trial, one identity sweeps ten regions in one 30-second window: nine one-event objects are delivered
 *    first (not timed), then the last object, which holds the tenth region's event among real records sampled
 *    from the fixtures (10 to 10,000 records).
 * 3. Latency = the SNS recorder's receipt of that identity's alert minus the moment the last notification was
 *    handed to the handler. Prints median, p99 and max per size, and the load average (the machine is shared).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadPipelineSettings } from '../../lambda/config';
import { SERVICE_NAME } from '../../lambda/metric-names';
import { s3Notification } from '../../lib/local/delivery';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { startLocalEnvironment, uploadFiles } from '../../lib/local/environment';
import type { LocalFile } from '../../lib/local/file-object-source';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { seededRandom } from '../../lib/local/seeded-random';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS } from '../fixtures/events';
import { standInConfig, standInHandler } from '../support/stand-in-handler';
import { loadRealRecordPool, sampleRealRecord } from './real-record-cloudtrail';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SIZES = [
  { records: 10, trials: 40 },
  { records: 100, trials: 40 },
  { records: 1000, trials: 30 },
  { records: 10000, trials: 15 },
] as const;
const REGIONS_NEEDED = 10;
const ACCOUNT = '111122223333';
/** A window far from the real records' own times, and one per trial. */
const FIRST_WINDOW = Date.UTC(2026, 10, 29, 0, 0, 0);

const progress = (message: string) => process.stderr.write(`bench:latency: ${message}\n`);
const fixed = (value: number, digits = 0) => value.toFixed(digits);

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

const root = await mkdtemp(join(tmpdir(), 'regionsweep-latency-bench-'));
const dynamodbKind = javaAvailable() ? 'dynamodb-local' : 'dynalite';
const environment = await startLocalEnvironment(dynamodbKind);
const rows: string[] = [];
const loadBefore = loadavg()[0] ?? 0;
try {
  const handler = standInHandler(environment, standInConfig(environment, loadPipelineSettings({})), {
    logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'WARN' }),
  });
  const pool = await loadRealRecordPool();
  const random = seededRandom(16);
  let trial = 0;
  const writeObject = async (name: string, key: string, records: unknown[]): Promise<LocalFile> => {
    const path = join(root, name);
    await writeFile(path, gzipSync(JSON.stringify({ Records: records })));
    return { path, relativePath: key, size: (await stat(path)).size };
  };
  for (const size of SIZES) {
    progress(`${size.trials} sweeps whose last object holds ${size.records} records`);
    const latencies: number[] = [];
    for (let run = 0; run < size.trials; run++, trial++) {
      const windowStart = FIRST_WINDOW + trial * 60_000;
      const arn = `arn:aws:sts::${ACCOUNT}:assumed-role/latency-bench/trial-${trial}`;
      const event = (region: string, second: number) =>
        cloudTrailEvent({
          arn,
          awsRegion: region,
          eventTime: new Date(windowStart + second * 1000).toISOString(),
        });
      const delivered = new Date(windowStart + 5 * 60_000);
      const regions = DEFAULT_REGIONS.slice(0, REGIONS_NEEDED);
      const firsts: LocalFile[] = [];
      for (const [index, region] of regions.slice(0, -1).entries()) {
        firsts.push(
          await writeObject(
            `t${trial}-r${index}.json.gz`,
            cloudTrailKey(ACCOUNT, region, delivered, `t${trial}`),
            [event(region, index)],
          ),
        );
      }
      const lastRegion = regions[regions.length - 1] ?? 'us-east-1';
      const background = Array.from({ length: size.records - 1 }, () =>
        sampleRealRecord(pool, random, delivered.getTime() - 5 * 60_000),
      );
      background.splice(Math.floor(random() * background.length), 0, event(lastRegion, 12));
      const last = await writeObject(
        `t${trial}-last.json.gz`,
        cloudTrailKey(ACCOUNT, lastRegion, delivered, `t${trial}`),
        background,
      );
      await uploadFiles(environment, [...firsts, last]);
      for (const file of firsts)
        await handler(s3Notification(environment.bucket, file.relativePath, file.size));
      const notifiedAt = Date.now();
      await handler(s3Notification(environment.bucket, last.relativePath, last.size));
      const alerts = environment.recorder
        .published()
        .filter((publish) => publishedAlerts([publish])[0]?.finding.arn === arn);
      const [alert] = alerts;
      if (alerts.length !== 1 || alert === undefined) {
        throw new Error(`trial ${trial}: ${alerts.length} alerts for ${arn}, expected one`);
      }
      latencies.push(alert.receivedAt.getTime() - notifiedAt);
    }
    latencies.sort((a, b) => a - b);
    rows.push(
      [
        String(size.records).padStart(7),
        String(size.trials).padStart(6),
        fixed(quantile(latencies, 0.5)).padStart(9),
        fixed(quantile(latencies, 0.99)).padStart(6),
        fixed(latencies[latencies.length - 1] ?? Number.NaN).padStart(6),
      ].join(' | '),
    );
  }
} finally {
  await environment.stop();
  await rm(root, { recursive: true, force: true });
}
const machine = cpus();
process.stdout.write(
  [
    `detection latency through regionsweep local (${dynamodbKind}, s3rver, SNS recorder; the handler in this process):`,
    "from the last needed object's notification to the alert's publish, in milliseconds",
    `${machine.length} x ${machine[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; 1-minute load ${fixed(loadBefore, 1)} before, ${fixed(loadavg()[0] ?? 0, 1)} after`,
    'records | trials | median ms | p99 ms | max ms',
    '--------+--------+-----------+--------+-------',
    ...rows,
    '(p99 of 15 to 40 trials is close to their maximum; CloudTrail itself delivers events about 5 minutes after the call)',
    '',
  ].join('\n'),
);
