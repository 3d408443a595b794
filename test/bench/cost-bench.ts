/**
 * What regionsweep costs per million CloudTrail events (`npm run bench:cost`), from measurements on this
 * machine and list prices:
 * 1. The reader's single-core CPU time per MB of JSON: reader-bench-child.ts on the real-record file, pinned
 *    to one core (`taskset -c 0`); and from its CPU split, what a second vCPU can gain.
 * 2. The function's single-core CPU time per object, per-invocation overhead included: the real Lambda handler
 *    (handler-cpu-child.ts, bundled as deployed, pinned to one core) invoked once per object against the
 *    local stand-ins, for objects of 10, 100, 1,000 and 10,000 real records (sampled from the fixtures).
 * 3. Requests per object: one GetObject, one UpdateItem per (window, group) with matching events (what
 *    `npm run bench:pipeline` checks request by request; counted here with the rule's own aggregator), the
 *    write units of each from the stored items' sizes, and in `sns` mode the SQS requests.
 * 4. Dollars per million events for each memory size (CPU share = memory / 1,769 MB), for each object size and
 *    for an assumed mix of sizes, the cheapest memory size, and what GuardDuty and CloudTrail Insights charge
 *    for the same events.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { loadPipelineSettings } from '../../lambda/config';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/detection/allowlist';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { ObjectAggregator } from '../../lambda/domain/detection/object-aggregator';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import { s3Notification } from '../../lib/local/delivery';
import { standInFunctionEnvironment, startLocalEnvironment, uploadFiles } from '../../lib/local/environment';
import type { LocalFile } from '../../lib/local/file-object-source';
import { seededRandom } from '../../lib/local/seeded-random';
import { cloudTrailKey } from '../fixtures/corpus';
import type { HandlerCpuReport, HandlerCpuRequest } from './handler-cpu-child';
import { bundleHere, ensureBenchFiles, MB, REAL_RECORD_FILE, runReaderChild } from './reader-bench-runner';
import { loadRealRecordPool, sampleRealRecord } from './real-record-cloudtrail';
import { table } from './text-table';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * List prices, US East (N. Virginia), read on PRICES_READ. Where a figure could not be confirmed on AWS's own
 * page it says so; change the constants and re-run for another region or date.
 */
const PRICES_READ = '2026-12-01';
const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-seconds a month). */
  lambdaArmPerGbSecond: 0.0000133334,
  /** https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests). */
  lambdaPerRequest: 0.2 / 1e6,
  /** https://aws.amazon.com/s3/pricing/ (S3 Standard, GET and all other requests: $0.0004 per 1,000). */
  s3GetPerRequest: 0.0004 / 1000,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million write request units since Nov 2024). */
  dynamoDbPerWriteUnit: 0.625 / 1e6,
  /** https://aws.amazon.com/sqs/pricing/ (standard queue, $0.40 per million requests after the free tier). */
  sqsPerRequest: 0.4 / 1e6,
  /** https://aws.amazon.com/guardduty/pricing/ (CloudTrail management event analysis, first 500 million a month). */
  guardDutyPerMillionEvents: 4.0,
  /**
   * https://aws.amazon.com/cloudtrail/pricing/ (Insights: $0.35 per 100,000 events analysed per Insights type).
   * Not confirmed on the current page through our search (its tables render per region); the figure AWS
   * published when Insights launched and still quoted by the pricing calculator.
   */
  insightsPer100kEventsAnalysed: 0.35,
} as const;

/** https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: at 1,769 MB, one vCPU. */
const MB_PER_VCPU = 1769;
/** The construct's default memory and the range it accepts (lib/cdk/detector-props.ts). */
const DEPLOYED_MEMORY_MB = 1024;
const MEMORY_SIZES_MB = [512, 768, 1024, 1280, 1536, 1769, 2048, 3008] as const;
/**
 * Waiting, not computing (billed as duration all the same): S3 first-byte latency, "roughly 100-200 ms"
 * for larger objects (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-design-patterns.html),
 * taken at its low end; DynamoDB "single-digit millisecond" writes (https://aws.amazon.com/dynamodb/), taken at 5 ms
 * each, one after another.
 */
const S3_FIRST_BYTE_MS = 100;
const DYNAMODB_WRITE_MS = 5;
/** `sns` mode: the function takes SQS messages in batches of 10 (lib/cdk/region-sweep-detector.ts). */
const SQS_BATCH = 10;

/**
 * Object sizes as a trail writes them: one file per account, region and about five minutes, so most files are
 * small (quiet regions), a few hold most events. An assumption, not a measurement: the per-size columns let
 * a reader apply their own mix.
 */
const OBJECT_CLASSES = [
  { events: 10, objects: 120, warmup: 20, share: 0.55 },
  { events: 100, objects: 60, warmup: 10, share: 0.3 },
  { events: 1000, objects: 24, warmup: 4, share: 0.12 },
  { events: 10000, objects: 8, warmup: 2, share: 0.03 },
] as const;

interface ClassMeasurement {
  readonly events: number;
  readonly share: number;
  readonly jsonMb: number;
  readonly gzipKb: number;
  readonly cpuMs: number;
  readonly updates: number;
}

const out = (lines: readonly string[]) => process.stdout.write(`${lines.join('\n')}\n`);
const progress = (message: string) => process.stderr.write(`bench:cost: ${message}\n`);
const fixed = (value: number, digits = 0) => value.toFixed(digits);
const dollars = (value: number) => `$${value < 0.1 ? value.toFixed(4) : value.toFixed(3)}`;

/** Writes `count` gzip objects of `events` real records each under `root`, keyed as CloudTrail keys them. */
async function writeObjects(
  root: string,
  events: number,
  count: number,
): Promise<{ files: LocalFile[]; jsonBytes: number; updates: number }> {
  const pool = await loadRealRecordPool();
  const random = seededRandom(events);
  const files: LocalFile[] = [];
  let jsonBytes = 0;
  let updates = 0;
  for (let index = 0; index < count; index++) {
    const delivered = new Date(Date.UTC(2026, 10, 28, 10, 0, 0) + index * 5 * 60_000);
    const records = Array.from({ length: events }, () => sampleRealRecord(pool, random, delivered.getTime()));
    const json = JSON.stringify({ Records: records });
    const aggregator = new ObjectAggregator(
      EC2_MULTI_REGION_DESCRIBE_INSTANCES,
      compileAllowlist(EMPTY_ALLOWLIST),
      DEFAULT_STATE_LIMITS,
    );
    for (const record of records) aggregator.add(record);
    updates += aggregator.contributions().length;
    const key = cloudTrailKey('111122223333', 'us-east-1', delivered, `c${events}i${index}`);
    const path = join(root, `${events}-${index}.json.gz`);
    await writeFile(path, gzipSync(json));
    files.push({ path, relativePath: key, size: (await stat(path)).size });
    jsonBytes += Buffer.byteLength(json);
  }
  return { files, jsonBytes, updates };
}

/**
 * An item's size as DynamoDB bills it: attribute names plus values (strings and binaries by length, numbers
 * about one byte per two digits plus one, sets and lists by their elements, 3 bytes of overhead per list or
 * map), per https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html.
 */
function itemBytes(item: Record<string, unknown>): number {
  const valueBytes = (value: unknown): number => {
    const v = value as Record<string, unknown>;
    if (typeof v.S === 'string') return Buffer.byteLength(v.S);
    if (typeof v.N === 'string') return Math.ceil(v.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
    if (v.B instanceof Uint8Array) return v.B.length;
    if (Array.isArray(v.SS)) return v.SS.reduce((sum: number, s: string) => sum + Buffer.byteLength(s), 0);
    if (Array.isArray(v.NS))
      return v.NS.reduce((sum: number, n: string) => sum + Math.ceil(n.length / 2) + 1, 0);
    if (Array.isArray(v.BS)) return v.BS.reduce((sum: number, b: Uint8Array) => sum + b.length, 0);
    if (Array.isArray(v.L)) return 3 + v.L.reduce((sum: number, e: unknown) => sum + 1 + valueBytes(e), 0);
    if (v.M !== undefined) return 3 + itemBytes(v.M as Record<string, unknown>);
    return 1;
  };
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

async function runHandlerChild(
  bundle: string,
  requestPath: string,
  request: HandlerCpuRequest,
): Promise<HandlerCpuReport> {
  await writeFile(requestPath, JSON.stringify(request));
  const { stdout } = await promisify(execFile)(
    'taskset',
    ['-c', '0', process.execPath, bundle, requestPath],
    {
      maxBuffer: 64 * MB,
    },
  );
  const report = JSON.parse(stdout.trim()) as HandlerCpuReport;
  if (report.cpus !== 1) throw new Error(`the handler child could run on ${report.cpus} CPUs`);
  return report;
}

/** Billed dollars for one object of a class at `memoryMb`, in `s3` (one invocation per object) or `sns` mode. */
function objectCost(
  measurement: ClassMeasurement,
  memoryMb: number,
  mode: 's3' | 'sns',
  twoCoreSpeedup: number,
  writeUnitsPerUpdate: number,
): { total: number; lambda: number; requests: number; s3: number; dynamoDb: number; sqs: number } {
  const vcpus = memoryMb / MB_PER_VCPU;
  // Above one vCPU only zlib's thread pool runs beside the main thread: at most the two-core speed-up measured.
  const speed = vcpus <= 1 ? vcpus : Math.min(vcpus, Math.max(1, twoCoreSpeedup));
  const computeMs = measurement.cpuMs / speed;
  const waitMs = S3_FIRST_BYTE_MS + measurement.updates * DYNAMODB_WRITE_MS;
  const billedMs = Math.ceil(computeMs + waitMs);
  const lambda = (memoryMb / 1024) * (billedMs / 1000) * PRICES.lambdaArmPerGbSecond;
  const requests = PRICES.lambdaPerRequest / (mode === 'sns' ? SQS_BATCH : 1);
  const s3 = PRICES.s3GetPerRequest;
  const dynamoDb = measurement.updates * writeUnitsPerUpdate * PRICES.dynamoDbPerWriteUnit;
  // SNS delivers each notification to the queue (counted as a request), then one receive and one batch delete per batch.
  const sqs = mode === 'sns' ? (1 + 2 / SQS_BATCH) * PRICES.sqsPerRequest : 0;
  return { total: lambda + requests + s3 + dynamoDb + sqs, lambda, requests, s3, dynamoDb, sqs };
}

// 1. The reader alone: CPU per MB on one core, and what a second core buys.
progress('reader on the real-record file, one core');
await ensureBenchFiles([REAL_RECORD_FILE]);
const readerChild = await bundleHere('reader-bench-child.ts');
const readerRequest = {
  files: [{ label: REAL_RECORD_FILE.label, path: REAL_RECORD_FILE.path, parseWhole: false }],
  runs: 3,
};
const loadBefore = loadavg()[0] ?? 0;
const oneCore = (await runReaderChild(readerChild, readerRequest, 'one core')).report.files[0];
if (oneCore === undefined) throw new Error('reader child reported no file');
const readerCpuMsPerMb = oneCore.scan.cpuMs / (oneCore.jsonBytes / MB);
// With a second vCPU, zlib inflates on the thread pool while the main thread scans: at best the longer of the
// two sets the time. From CPU times, which a loaded machine disturbs far less than wall times.
const twoCoreSpeedup = Math.min(
  2,
  oneCore.scan.cpuMs / Math.max(oneCore.gunzip.cpuMs, oneCore.scan.cpuMs - oneCore.gunzip.cpuMs),
);

// 2. and 3. The function per object, on the stand-ins.
const root = await mkdtemp(join(tmpdir(), 'regionsweep-cost-bench-'));
const environment = await startLocalEnvironment('dynalite');
const measurements: ClassMeasurement[] = [];
let handlerRssMb = 0;
try {
  const handlerChild = await bundleHere('handler-cpu-child.ts', true);
  const env = {
    ...standInFunctionEnvironment(environment, loadPipelineSettings({})),
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const objectClass of OBJECT_CLASSES) {
    progress(`${objectClass.objects} objects of ${objectClass.events} records through the handler, one core`);
    const written = await writeObjects(root, objectClass.events, objectClass.objects);
    await uploadFiles(environment, written.files);
    const report = await runHandlerChild(handlerChild, join(root, 'request.json'), {
      env,
      notifications: written.files.map((file) =>
        s3Notification(environment.bucket, file.relativePath, file.size),
      ),
      warmup: objectClass.warmup,
    });
    handlerRssMb = Math.max(handlerRssMb, report.maxRssMb);
    const gzipBytes = written.files.reduce((sum, file) => sum + file.size, 0);
    measurements.push({
      events: objectClass.events,
      share: objectClass.share,
      jsonMb: written.jsonBytes / objectClass.objects / MB,
      gzipKb: gzipBytes / objectClass.objects / 1024,
      cpuMs: report.cpuMsPerInvocation,
      updates: written.updates / objectClass.objects,
    });
  }
  const items =
    (await environment.dynamodb.send(new ScanCommand({ TableName: environment.tableName }))).Items ?? [];
  const units = items.map((item) => Math.max(1, Math.ceil(itemBytes(item) / 1024)));
  const writeUnitsPerUpdate = units.length === 0 ? 1 : units.reduce((a, b) => a + b, 0) / units.length;
  const largestItem = Math.max(0, ...items.map((item) => itemBytes(item)));
  const loadAfter = loadavg()[0] ?? 0;

  // 4. Dollars.
  const mixEvents = measurements.reduce((sum, m) => sum + m.share * m.events, 0);
  const perMillion = (memoryMb: number, mode: 's3' | 'sns', only?: ClassMeasurement) => {
    const chosen = only === undefined ? measurements : [only];
    const events = only === undefined ? mixEvents : only.events;
    const cost = chosen.reduce(
      (sum, m) =>
        sum +
        (only === undefined ? m.share : 1) *
          objectCost(m, memoryMb, mode, twoCoreSpeedup, writeUnitsPerUpdate).total,
      0,
    );
    return (cost / events) * 1e6;
  };
  const cheapest = (mode: 's3' | 'sns') =>
    MEMORY_SIZES_MB.reduce((best, size) => (perMillion(size, mode) < perMillion(best, mode) ? size : best));
  const bestS3 = cheapest('s3');
  const bestSns = cheapest('sns');
  const machine = cpus();
  out([
    `regionsweep cost per million CloudTrail events: list prices of ${PRICES_READ} (us-east-1, arm64), CPU measured on`,
    `${machine.length} x ${machine[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, one core (taskset -c 0); 1-minute load ${fixed(loadBefore, 1)} before, ${fixed(loadAfter, 1)} after`,
    '',
    `reader, real-record file (${fixed(oneCore.jsonBytes / MB)} MB JSON): ${fixed(readerCpuMsPerMb, 2)} CPU ms per MB on one core (gunzip included); ` +
      `a second vCPU makes it at most ${fixed(twoCoreSpeedup, 2)}x faster (gunzip beside the scan)`,
    ...table(
      [
        'records/object',
        'JSON MB',
        'gzip KB',
        'CPU ms/object (1 core)',
        'of which per MB x size',
        'UpdateItem/object',
      ],
      measurements.map((m) => [
        String(m.events),
        fixed(m.jsonMb, 3),
        fixed(m.gzipKb, 1),
        fixed(m.cpuMs, 2),
        fixed(readerCpuMsPerMb * m.jsonMb, 2),
        fixed(m.updates, 2),
      ]),
    ),
    `per-invocation overhead (CPU of a ${measurements[0]?.events}-record object less its reading): ${fixed((measurements[0]?.cpuMs ?? 0) - readerCpuMsPerMb * (measurements[0]?.jsonMb ?? 0), 2)} ms; ` +
      `peak RSS of the function process ${fixed(handlerRssMb)} MB`,
    `window items: ${items.length}, largest ${fixed(largestItem)} bytes, ${fixed(writeUnitsPerUpdate, 2)} write units per UpdateItem on average`,
    `wait per object (billed, not computed): S3 first byte ${S3_FIRST_BYTE_MS} ms + ${DYNAMODB_WRITE_MS} ms per UpdateItem`,
    '',
    `dollars per million events; mix = ${measurements.map((m) => `${fixed(m.share * 100)}% of objects of ${m.events}`).join(', ')} records (${fixed(mixEvents)} per object on average)`,
    ...table(
      [
        'memory MB',
        'vCPU',
        ...measurements.map((m) => `${m.events}/object`),
        'mix, s3 mode',
        'mix, sns mode',
      ],
      MEMORY_SIZES_MB.map((size) => [
        `${size}${size === DEPLOYED_MEMORY_MB ? ' (deployed)' : ''}`,
        fixed(size / MB_PER_VCPU, 2),
        ...measurements.map((m) => dollars(perMillion(size, 's3', m))),
        `${dollars(perMillion(size, 's3'))}${size === bestS3 ? ' least' : ''}`,
        `${dollars(perMillion(size, 'sns'))}${size === bestSns ? ' least' : ''}`,
      ]),
    ),
  ]);
  const parts = measurements.reduce(
    (sum, m) => {
      const cost = objectCost(m, DEPLOYED_MEMORY_MB, 's3', twoCoreSpeedup, writeUnitsPerUpdate);
      return {
        lambda: sum.lambda + m.share * cost.lambda,
        requests: sum.requests + m.share * cost.requests,
        s3: sum.s3 + m.share * cost.s3,
        dynamoDb: sum.dynamoDb + m.share * cost.dynamoDb,
      };
    },
    { lambda: 0, requests: 0, s3: 0, dynamoDb: 0 },
  );
  const million = (value: number) => dollars((value / mixEvents) * 1e6);
  out([
    `mix at ${DEPLOYED_MEMORY_MB} MB, s3 mode: Lambda duration ${million(parts.lambda)}, Lambda requests ${million(parts.requests)}, ` +
      `S3 GET ${million(parts.s3)}, DynamoDB writes ${million(parts.dynamoDb)}; per alert add 2-4 writes and one SNS publish (under $0.00001)`,
    '',
    'instead, for the same million management events:',
    `  GuardDuty, CloudTrail management event analysis: ${dollars(PRICES.guardDutyPerMillionEvents)} (ML anomaly findings such as Discovery:IAMUser/AnomalousBehavior; no alert on a multi-region DescribeInstances burst by threshold)`,
    `  CloudTrail Insights: ${dollars(PRICES.insightsPer100kEventsAnalysed * 10)} per Insights type (read events such as DescribeInstances are analysed only for the API error rate; no per-identity or per-region view)`,
  ]);
} finally {
  await environment.stop();
  await rm(root, { recursive: true, force: true });
}
