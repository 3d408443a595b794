/**
 * What `npm run bench` and `npm run bench:cost` share: the bench files (generated into `.bench/`, git-ignored,
 * reused between runs), and running the measuring child (reader-bench-child.ts, bundled by esbuild as the
 * function is) on all CPUs or pinned to one with `taskset`.
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { ChildReport, ChildRequest } from './reader-bench-child';
import { ensureRealRecordLogFile } from './real-record-cloudtrail';
import { ensureSyntheticLogFile } from './synthetic-cloudtrail';

export const MB = 1024 * 1024;
export const BENCH_DIR = join(import.meta.dirname, '..', '..', '.bench');

export interface BenchFile {
  readonly label: string;
  readonly path: string;
  readonly jsonBytes: number;
  readonly seed: number;
  /** Also time a whole-file JSON.parse (only where the JSON fits in one V8 string). */
  readonly parseWhole: boolean;
  readonly kind: 'synthetic' | 'real records';
}

/** The real-record file: the one the one-core target is about. */
export const REAL_RECORD_FILE: BenchFile = {
  label: 'real 64 MB',
  path: join(BENCH_DIR, 'cloudtrail-real-records-64mb-seed3.json.gz'),
  jsonBytes: 64 * MB,
  seed: 3,
  parseWhole: false,
  kind: 'real records',
};

export const BENCH_FILES: readonly BenchFile[] = [
  {
    label: '64 MB',
    path: join(BENCH_DIR, 'cloudtrail-64mb-seed1.json.gz'),
    jsonBytes: 64 * MB,
    seed: 1,
    parseWhole: true,
    kind: 'synthetic',
  },
  {
    label: '600 MB',
    path: join(BENCH_DIR, 'cloudtrail-600mb-seed2.json.gz'),
    jsonBytes: 600 * MB,
    seed: 2,
    parseWhole: false,
    kind: 'synthetic',
  },
  REAL_RECORD_FILE,
];

/** Generates the files that are missing; returns, per file, a line saying where it is. */
export async function ensureBenchFiles(files: readonly BenchFile[]): Promise<string[]> {
  await mkdir(BENCH_DIR, { recursive: true });
  const lines: string[] = [];
  for (const file of files) {
    const started = Date.now();
    if (file.kind === 'synthetic') await ensureSyntheticLogFile(file.path, file.jsonBytes, file.seed);
    else await ensureRealRecordLogFile(file.path, file.jsonBytes, file.seed);
    const size = (await stat(file.path)).size;
    lines.push(
      `${file.label}: ${file.path} (${file.kind}, ${(size / MB).toFixed(1)} MB gzip; ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  return lines;
}

/**
 * Bundles a TypeScript module of this folder into `.bench/<name>.mjs` with the function's bundling settings
 * (lib/cdk/function-bundle.ts); `minify` as deployed, or not, so that a CPU profile names every function.
 */
export async function bundleHere(module: string, minify = false): Promise<string> {
  const outfile = join(BENCH_DIR, module.replace(/\.ts$/, '.mjs'));
  await build({
    entryPoints: [join(import.meta.dirname, module)],
    outfile,
    bundle: true,
    minify,
    keepNames: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}

/** Where a measurement ran: every CPU of the machine, or one core (`taskset -c 0`). */
export type CpuSetting = 'one core' | 'all cores';

/** Command prefix that pins a child to one core; Linux's taskset (util-linux). */
const ONE_CORE = ['taskset', '-c', '0'];

export interface ChildRun {
  readonly report: ChildReport;
  /** 1-minute load average before and after: above the CPU count, other work shared the CPUs. */
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** Runs the bundled measuring child (see reader-bench-child.ts) under `setting`. */
export async function runReaderChild(
  childBundle: string,
  request: ChildRequest,
  setting: CpuSetting,
): Promise<ChildRun> {
  const command = [
    ...(setting === 'one core' ? ONE_CORE : []),
    process.execPath,
    childBundle,
    JSON.stringify(request),
  ];
  const loadBefore = loadavg()[0] ?? 0;
  const [file, ...args] = command;
  const { stdout } = await promisify(execFile)(file ?? '', args, { maxBuffer: 16 * MB });
  const report = JSON.parse(stdout.trim()) as ChildReport;
  if (setting === 'one core' && report.cpus !== 1) {
    throw new Error(`the one-core child could run on ${report.cpus} CPUs: taskset did not pin it`);
  }
  return { report, loadBefore, loadAfter: loadavg()[0] ?? 0 };
}
