/**
 * The measuring half of `npm run bench`, run by reader-bench.ts in a fresh process (bundled by esbuild, as the
 * function is) so that the parent can pin it to CPUs (`taskset -c 0` for one core):
 * `node reader-bench-child.mjs '<ChildRequest JSON>'` prints one ChildReport JSON line.
 *
 * Per file, best of `runs` runs taken in turns (A, B, A, B, ...) so that a noisy neighbour slows every
 * contender alike: plain streaming gunzip and the full scan, with 64 KiB and 1 MiB file reads, optionally a
 * whole-file JSON.parse; wall and CPU time (process.cpuUsage: every thread, zlib's included). With `profile`,
 * one more scan of that file runs under V8's CPU profiler and its samples are sorted into the reader's stages.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/detection/allowlist';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { ObjectAggregator } from '../../lambda/domain/detection/object-aggregator';
import { prefilterNeedles } from '../../lambda/domain/detection/rule';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import {
  READER_GUNZIP_OPTIONS,
  type ReadStats,
  readCloudTrailRecords,
} from '../../lambda/domain/reading/cloudtrail-reader';
import { STRUCTURAL_SCAN_WASM_BASE64 } from '../../lambda/domain/reading/structural-scan-wasm';
import { type ProfileBreakdown, stagesOfProfile } from './reader-profile';
import { type ScanResult, scanLogFile } from './scan-log-file';

const MB = 1024 * 1024;

export interface ChildRequest {
  readonly files: readonly { readonly label: string; readonly path: string; readonly parseWhole: boolean }[];
  readonly runs: number;
  /** Label of the file to profile, if any. */
  readonly profile?: string;
}

/** Least wall and least CPU milliseconds over the runs. */
export interface Timing {
  readonly ms: number;
  readonly cpuMs: number;
}

export interface FileReport {
  readonly label: string;
  readonly jsonBytes: number;
  readonly records: number;
  readonly parsed: number;
  readonly counted: number;
  readonly groups: number;
  readonly gunzip: Timing;
  readonly scan: Timing;
  readonly gunzip1MiB: Timing;
  readonly scan1MiB: Timing;
  readonly parseWhole?: Timing;
}

/**
 * CPU milliseconds of the scan's stages, measured apart on the file's JSON already inflated into the reader's
 * 256 KiB chunks (least of STAGE_RUNS each), and what streaming adds: the streaming scan's CPU less gunzip's
 * and less the in-memory scan.
 */
export interface StageBreakdown {
  readonly gunzip: number;
  /** The WebAssembly structural scan alone: one call over the whole inflated JSON, no needles, no records. */
  readonly structuralScan: number;
  /**
   * The rest of the reader on records it does not parse: the needle search (inside the scan), copying each
   * chunk into the scanner's memory, and per-record bookkeeping.
   */
  readonly searchCopyBookkeeping: number;
  readonly parse: number;
  readonly rule: number;
  readonly streaming: number;
  readonly streamingScan: number;
  /** The in-memory scan with the exact needles less the same without their `\u` alternative, and what each parses. */
  readonly exactness: { readonly ms: number; readonly parsedExact: number; readonly parsedBlind: number };
}

export interface SmallObjectReport {
  readonly records: number;
  readonly jsonBytes: number;
  /** Least CPU microseconds per object over SMALL_OBJECT_RUNS rounds of SMALL_OBJECT_READS reads. */
  readonly cpuMicros: number;
}

export interface ChildReport {
  readonly files: readonly FileReport[];
  readonly profile?: ProfileBreakdown;
  readonly stages?: StageBreakdown;
  /** CPUs this process may run on (`taskset` shows here). */
  readonly cpus: number;
  /** With `profile`: the scan of one small object (its first records), CPU per object. */
  readonly smallObject?: SmallObjectReport;
}

interface Measured<T> extends Timing {
  readonly result: T;
}

async function measured<T>(run: () => Promise<T>): Promise<Measured<T>> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = await run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, result };
}

/**
 * Best of `runs` for each contender, taken in turns (A, B, A, B, ...) so that a noisy neighbour slows every
 * contender alike: the least wall time and, separately, the least CPU time (on a loaded machine, CPU time
 * is the steadier of the two; on one core and an idle machine they agree).
 */
async function bestOfInTurns<T>(
  runs: number,
  contenders: readonly (() => Promise<T>)[],
): Promise<Measured<T>[]> {
  const best: (Measured<T> | undefined)[] = contenders.map(() => undefined);
  for (let round = 0; round < runs; round++) {
    for (const [index, run] of contenders.entries()) {
      const next = await measured(run);
      const current = best[index];
      best[index] =
        current === undefined
          ? next
          : { ...next, ms: Math.min(current.ms, next.ms), cpuMs: Math.min(current.cpuMs, next.cpuMs) };
    }
  }
  return best.map((entry) => {
    if (entry === undefined) throw new Error('no run');
    return entry;
  });
}

/**
 * Streaming gunzip to nowhere: the floor any reader of the object pays, fed like the scan it is compared with
 * (`readBytes` undefined: 64 KiB file reads; 1 MiB is gunzip's fastest setting measured here).
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

async function measureFile(file: ChildRequest['files'][number], runs: number): Promise<FileReport> {
  const [gunzipRun, scanRun, gunzip1MiB, scan1MiB, wholeRun] = await bestOfInTurns<number | ScanResult>(
    runs,
    [
      () => gunzipOnly(file.path),
      () => scanLogFile(file.path),
      () => gunzipOnly(file.path, MB),
      () => scanLogFile(file.path, MB),
      ...(file.parseWhole ? [() => parseWhole(file.path)] : []),
    ],
  );
  if (
    gunzipRun === undefined ||
    scanRun === undefined ||
    gunzip1MiB === undefined ||
    scan1MiB === undefined
  ) {
    throw new Error('missing run');
  }
  const { stats, groups, counted } = scanRun.result as ScanResult;
  const timing = ({ ms, cpuMs }: Timing): Timing => ({ ms, cpuMs });
  return {
    label: file.label,
    jsonBytes: gunzipRun.result as number,
    records: stats.records,
    parsed: stats.parsed,
    counted,
    groups,
    gunzip: timing(gunzipRun),
    scan: timing(scanRun),
    gunzip1MiB: timing(gunzip1MiB),
    scan1MiB: timing(scan1MiB),
    ...(wholeRun === undefined ? {} : { parseWhole: timing(wholeRun) }),
  };
}

const STAGE_RUNS = 5;
const CHUNK_BYTES = 256 * 1024;
/**
 * The rule's needles, each with a NUL byte appended: as costly to search (same first bytes and probes), yet no
 * record holds one (JSON text holds no raw control character, RFC 8259 section 7), so the reader parses none.
 */
function neverNeedles(needles: readonly (readonly Buffer[])[]): Buffer[][] {
  return needles.map((group) => group.map((needle) => Buffer.concat([needle, Buffer.from([0])])));
}

/** The part of the WebAssembly API used here (the project's TypeScript libs leave out the DOM's). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (
    module: object,
  ) => {
    readonly exports: {
      readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
      scan(...args: number[]): number;
    };
  };
}

/**
 * The structural scan alone over the whole JSON, as one container (the top-level object), in a fresh instance:
 * what the scan's WebAssembly costs without needles, records, chunks or JavaScript. Layout as in
 * structural-scan.wat: the input from byte 512 on, with slack after it.
 */
function structuralScanAlone(json: Buffer): () => Promise<number> {
  const wasm = (globalThis as unknown as { readonly WebAssembly: WebAssemblyApi }).WebAssembly;
  const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(STRUCTURAL_SCAN_WASM_BASE64, 'base64')));
  const input = 512;
  const needed = input + json.length + 1024;
  exports.memory.grow(Math.ceil((needed - exports.memory.buffer.byteLength) / 65_536));
  new Uint8Array(exports.memory.buffer).set(json, input);
  return async () => {
    const end = exports.scan(input, input + json.length, 0, 0, 0, 0, 128, 0, 0, 0);
    if (end < 0) throw new Error(`the structural scan stopped with ${end}`);
    return end;
  };
}

async function stageBreakdown(
  path: string,
  gunzipCpuMs: number,
  streamingScanCpuMs: number,
): Promise<StageBreakdown> {
  const json = gunzipSync(await readFile(path));
  const chunks: Buffer[] = [];
  for (let at = 0; at < json.length; at += CHUNK_BYTES) chunks.push(json.subarray(at, at + CHUNK_BYTES));
  const needles = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);
  const read = (groups: Buffer[][], onRecord: (record: unknown) => void) => () =>
    readCloudTrailRecords(Readable.from(chunks), { objectName: path, needles: groups, onRecord });
  const withRule = async () => {
    const aggregator = new ObjectAggregator(
      EC2_MULTI_REGION_DESCRIBE_INSTANCES,
      compileAllowlist(EMPTY_ALLOWLIST),
      DEFAULT_STATE_LIMITS,
    );
    await read(needles, (record) => aggregator.add(record))();
    return aggregator.contributions();
  };
  const blind = needles.map((group) => group.filter((needle) => needle.toString() !== '\\u'));
  const [iterate, scanAlone, scanOnly, parse, rule, parseBlind] = await bestOfInTurns<unknown>(STAGE_RUNS, [
    async () => {
      for await (const chunk of Readable.from(chunks)) void chunk;
    },
    structuralScanAlone(json),
    read(neverNeedles(needles), () => undefined),
    read(needles, () => undefined),
    withRule,
    read(blind, () => undefined),
  ]);
  if (
    iterate === undefined ||
    scanAlone === undefined ||
    scanOnly === undefined ||
    parse === undefined ||
    rule === undefined ||
    parseBlind === undefined
  ) {
    throw new Error('missing stage');
  }
  return {
    gunzip: gunzipCpuMs,
    structuralScan: scanAlone.cpuMs,
    searchCopyBookkeeping: scanOnly.cpuMs - iterate.cpuMs - scanAlone.cpuMs,
    parse: parse.cpuMs - scanOnly.cpuMs,
    rule: rule.cpuMs - parse.cpuMs,
    streaming: streamingScanCpuMs - gunzipCpuMs - (rule.cpuMs - iterate.cpuMs),
    streamingScan: streamingScanCpuMs,
    exactness: {
      ms: parse.cpuMs - parseBlind.cpuMs,
      parsedExact: (parse.result as ReadStats).parsed,
      parsedBlind: (parseBlind.result as ReadStats).parsed,
    },
  };
}

/** One scan under V8's sampling profiler (0.1 ms interval), its samples sorted into the reader's stages. */
async function profileScan(path: string): Promise<ProfileBreakdown> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const scan = await measured(() => scanLogFile(path));
    const { profile } = await session.post('Profiler.stop');
    return stagesOfProfile(profile, scan.ms, scan.cpuMs);
  } finally {
    session.disconnect();
  }
}

const SMALL_OBJECT_RECORDS = 20;
const SMALL_OBJECT_READS = 2000;
const SMALL_OBJECT_RUNS = 5;

/**
 * What one small object costs the reader and the rule (most objects of a trail are small: one file per
 * account and region every five minutes): the first SMALL_OBJECT_RECORDS records of the file, gzip, in
 * memory, read and aggregated as scanLogFile does; per-object work (a reader, its scan instance, an aggregator)
 * shows here, not in the large files.
 */
async function smallObject(path: string): Promise<SmallObjectReport> {
  const all = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { Records: unknown[] };
  const json = Buffer.from(JSON.stringify({ Records: all.Records.slice(0, SMALL_OBJECT_RECORDS) }));
  const body = gzipSync(json);
  const needles = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);
  const allowlist = compileAllowlist(EMPTY_ALLOWLIST);
  const [best] = await bestOfInTurns(SMALL_OBJECT_RUNS, [
    async () => {
      for (let read = 0; read < SMALL_OBJECT_READS; read++) {
        const aggregator = new ObjectAggregator(
          EC2_MULTI_REGION_DESCRIBE_INSTANCES,
          allowlist,
          DEFAULT_STATE_LIMITS,
        );
        await readCloudTrailRecords(Readable.from([body]), {
          objectName: path,
          needles,
          onRecord: (record) => aggregator.add(record),
        });
        aggregator.contributions();
      }
    },
  ]);
  if (best === undefined) throw new Error('no run');
  return {
    records: SMALL_OBJECT_RECORDS,
    jsonBytes: json.length,
    cpuMicros: (best.cpuMs * 1000) / SMALL_OBJECT_READS,
  };
}

const request = JSON.parse(process.argv[2] ?? '{}') as ChildRequest;
const files: FileReport[] = [];
for (const file of request.files) files.push(await measureFile(file, request.runs));
const profiled = request.files.find((file) => file.label === request.profile);
const profiledReport = files.find((file) => file.label === request.profile);
const report: ChildReport = {
  files,
  ...(profiled === undefined || profiledReport === undefined
    ? {}
    : {
        stages: await stageBreakdown(profiled.path, profiledReport.gunzip.cpuMs, profiledReport.scan.cpuMs),
        profile: await profileScan(profiled.path),
        smallObject: await smallObject(profiled.path),
      }),
  cpus: availableParallelism(),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
