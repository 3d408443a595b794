/**
 * Benchmark of the streaming CloudTrail reader (`npm run bench`). Writes two synthetic gzip log files into
 * `.bench/` (git-ignored; reused between runs), then prints, per file, the best of three runs of:
 * plain streaming gunzip, the full scan (reader + prefilter + exact rule), their ratio, the whole-file
 * JSON.parse approach (64 MB file only), and the peak RSS of one scan in a child process. Then what the exact
 * prefilter costs: its byte search over the 64 MB file's records, with and without the `\u` alternative that
 * keeps escaped spellings from being dropped.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { build } from 'esbuild';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/allowlist';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/built-in-rules';
import { READER_GUNZIP_OPTIONS, readCloudTrailRecords } from '../../lambda/domain/cloudtrail-reader';
import { ObjectAggregator } from '../../lambda/domain/object-aggregator';
import { prefilterNeedles } from '../../lambda/domain/rule';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/window-state';
import { type ScanResult, scanLogFile } from './scan-log-file';
import { ensureSyntheticLogFile } from './synthetic-cloudtrail';

const MB = 1024 * 1024;
const RUNS = 3;
const TARGET_RATIO = 1.3;
const TARGET_RSS_MB = 150;
const benchDir = join(import.meta.dirname, '..', '..', '.bench');
const files = [
  {
    label: '64 MB',
    path: join(benchDir, 'cloudtrail-64mb-seed1.json.gz'),
    jsonBytes: 64 * MB,
    seed: 1,
    parseWhole: true,
  },
  {
    label: '600 MB',
    path: join(benchDir, 'cloudtrail-600mb-seed2.json.gz'),
    jsonBytes: 600 * MB,
    seed: 2,
    parseWhole: false,
  },
];

interface Timed<T> {
  ms: number;
  result: T;
}

async function timed<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const start = process.hrtime.bigint();
  const result = await run();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

const faster = <T>(a: Timed<T> | undefined, b: Timed<T>): Timed<T> =>
  a === undefined || b.ms < a.ms ? b : a;

/**
 * Best of RUNS for each of `runs`, taken in turns (A, B, A, B, ...) so that a noisy neighbour on the machine
 * slows every contender alike instead of one of them.
 */
async function bestOfInTurns<T>(runs: readonly (() => Promise<T>)[]): Promise<Timed<T>[]> {
  const best: (Timed<T> | undefined)[] = runs.map(() => undefined);
  for (let round = 0; round < RUNS; round++) {
    for (const [index, run] of runs.entries()) best[index] = faster(best[index], await timed(run));
  }
  return best.filter((entry) => entry !== undefined);
}

/**
 * Streaming gunzip to nowhere: the floor any reader of the object pays. `readBytes` undefined is a plain file
 * stream (64 KiB reads); 1 MiB reads are gunzip's fastest setting measured here, so both are measured, each
 * against a scan fed the same way: neither ratio is flattered by a slow baseline.
 */
async function gunzipOnly(path: string, readBytes?: number): Promise<number> {
  let bytes = 0;
  await pipeline(
    createReadStream(path, readBytes === undefined ? {} : { highWaterMark: readBytes }),
    createGunzip(READER_GUNZIP_OPTIONS),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    }),
  );
  return bytes;
}

/** The naive approach for contrast: inflate the whole object, JSON.parse it, run the rule on every record. */
async function parseWhole(path: string): Promise<number> {
  const text = (await promisify(gunzip)(await readFile(path))).toString('utf8');
  const parsed = JSON.parse(text) as { Records: unknown[] };
  const aggregator = new ObjectAggregator(
    EC2_MULTI_REGION_DESCRIBE_INSTANCES,
    compileAllowlist(EMPTY_ALLOWLIST),
    DEFAULT_STATE_LIMITS,
  );
  for (const record of parsed.Records) aggregator.add(record);
  return parsed.Records.length;
}

/**
 * Runs reader-rss-child.ts in a fresh process, bundled by esbuild as the function is (Lambda runs a bundle, not
 * the TypeScript loader, which alone costs about 30 MB more). Through `sh` on purpose: Linux carries a forking
 * parent's peak RSS into the child's `maxRSS` across exec, so a direct child of this (large) process would
 * report this process's peak; the shell's own small fork starts the count afresh.
 */
async function peakRssMb(path?: string): Promise<{ rssMb: number; records: number }> {
  const args = ['-c', '"$0" "$@"; exit $?', process.execPath, rssChild];
  if (path !== undefined) args.push(path);
  const { stdout } = await promisify(execFile)('/bin/sh', args, { maxBuffer: MB });
  const report = JSON.parse(stdout.trim()) as { maxRssBytes: number; records: number };
  return { rssMb: report.maxRssBytes / MB, records: report.records };
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);

/** The records of a log file as JSON text, one buffer each (as the reader hands them to its prefilter). */
async function recordTexts(path: string): Promise<Buffer[]> {
  const texts: Buffer[] = [];
  await readCloudTrailRecords(createReadStream(path), {
    objectName: path,
    needles: [],
    onRecord: (record) => texts.push(Buffer.from(JSON.stringify(record))),
  });
  return texts;
}

/** The reader's prefilter test over every record: for each group, some needle occurs. Returns the passes. */
function prefilterPasses(records: readonly Buffer[], needles: readonly (readonly Buffer[])[]): number {
  let passes = 0;
  for (const bytes of records) {
    if (needles.every((group) => group.some((needle) => bytes.indexOf(needle) >= 0))) passes += 1;
  }
  return passes;
}

await mkdir(benchDir, { recursive: true });
for (const file of files) {
  const started = Date.now();
  await ensureSyntheticLogFile(file.path, file.jsonBytes, file.seed);
  const seconds = (Date.now() - started) / 1000;
  const size = (await stat(file.path)).size;
  process.stdout.write(
    `${file.label}: ${file.path} (${fixed(size / MB, 1)} MB gzip; ready in ${fixed(seconds, 1)} s)\n`,
  );
}

const rssChild = join(benchDir, 'reader-rss-child.mjs');
await build({
  entryPoints: [join(import.meta.dirname, 'reader-rss-child.ts')],
  outfile: rssChild,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'error',
});
const rows: string[][] = [];
const floor = await peakRssMb();
for (const file of files) {
  const [inflateRun, scanRun, fastInflateRun, fastScanRun, wholeRun] = await bestOfInTurns<
    number | ScanResult
  >([
    () => gunzipOnly(file.path),
    () => scanLogFile(file.path),
    () => gunzipOnly(file.path, MB),
    () => scanLogFile(file.path, MB),
    ...(file.parseWhole ? [() => parseWhole(file.path)] : []),
  ]);
  if (
    inflateRun === undefined ||
    scanRun === undefined ||
    fastInflateRun === undefined ||
    fastScanRun === undefined
  ) {
    throw new Error('missing run');
  }
  const inflate = { ms: inflateRun.ms, result: inflateRun.result as number };
  const scan = { ms: scanRun.ms, result: scanRun.result as ScanResult };
  const whole = wholeRun;
  const rss = await peakRssMb(file.path);
  const { stats, groups, counted } = scan.result;
  if (rss.records !== stats.records)
    throw new Error(`child read ${rss.records} records, expected ${stats.records}`);
  rows.push([
    file.label,
    fixed(inflate.result / MB, 1),
    String(stats.records),
    `${stats.parsed} (${fixed((100 * stats.parsed) / stats.records, 1)}%)`,
    `${counted} in ${groups} groups`,
    fixed(inflate.ms),
    fixed(scan.ms),
    `${fixed(scan.ms / inflate.ms, 2)} ${scan.ms / inflate.ms <= TARGET_RATIO ? 'ok' : 'OVER'}`,
    `${fixed(fastInflateRun.ms)} / ${fixed(fastScanRun.ms)} / ${fixed(fastScanRun.ms / fastInflateRun.ms, 2)} ${fastScanRun.ms / fastInflateRun.ms <= TARGET_RATIO ? 'ok' : 'OVER'}`,
    whole === undefined ? '-' : `${fixed(whole.ms)} (${fixed(whole.ms / inflate.ms, 2)}x)`,
    `${fixed(rss.rssMb)} ${rss.rssMb <= TARGET_RSS_MB ? 'ok' : 'OVER'}`,
  ]);
}

// What exactness costs: the needles as the reader uses them, against the same without the `\u` alternative
// (the prefilter before it: fast, but blind to escaped spellings).
const first = files[0];
if (first === undefined) throw new Error('no bench file');
const records = await recordTexts(first.path);
const exact = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);
const blind = exact.map((group) => group.filter((needle) => needle.toString() !== '\\u'));
const [exactRun, blindRun] = await bestOfInTurns([
  async () => prefilterPasses(records, exact),
  async () => prefilterPasses(records, blind),
]);
if (exactRun === undefined || blindRun === undefined) throw new Error('missing run');
const withEscape = records.filter((bytes) => bytes.indexOf('\\u') >= 0).length;

const header = [
  'file',
  'JSON MB',
  'records',
  'parsed',
  'rule matches',
  'gunzip ms',
  'scan ms',
  `scan/gunzip (<=${TARGET_RATIO})`,
  '1 MiB reads: gunzip / scan ms / ratio',
  'JSON.parse ms (x gunzip)',
  `peak RSS MB (<=${TARGET_RSS_MB})`,
];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
);
const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ');
process.stdout.write(
  [
    '',
    `Node ${process.version}, best of ${RUNS} runs; peak RSS from a separate process running the bundled reader (Node and the bundle alone: ${fixed(floor.rssMb)} MB)`,
    line(header),
    widths.map((width) => '-'.repeat(width)).join('-+-'),
    ...rows.map(line),
    '',
    `Prefilter byte search over the ${first.label} file's ${records.length} records (${fixed(records.reduce((n, r) => n + r.length, 0) / MB)} MB), best of ${RUNS}:`,
    `  exact (a needle or a \\u escape): ${fixed(exactRun.ms, 1)} ms, ${exactRun.result} pass; without the \\u alternative: ${fixed(blindRun.ms, 1)} ms, ${blindRun.result} pass`,
    `  exactness costs ${fixed(exactRun.ms - blindRun.ms, 1)} ms per ${first.label} (${withEscape} records hold a \\u escape)`,
    '',
  ].join('\n'),
);
