/**
 * Benchmark of the streaming CloudTrail reader (`npm run bench`). Generates three gzip log files into `.bench/`
 * (git-ignored; reused between runs): synthetic files of 64 MB and 600 MB of JSON, and 64 MB of real records
 * sampled from test/fixtures/real-events (real-record-cloudtrail.ts). Then, in a child process bundled as the
 * function is, once pinned to one core (`taskset -c 0`: a function below 1,769 MB has at most one vCPU) and
 * once on all cores, prints per file the best of RUNS runs of: plain streaming gunzip, the full scan (reader +
 * prefilter + exact rule), their ratio (both from the same run, so per byte of the same file), the same with
 * 1 MiB reads, a whole-file JSON.parse (64 MB synthetic file, all cores only), and the peak RSS of one scan;
 * then where the scan's main-thread time goes on the real-record file (a CPU profile sorted into stages),
 * and the 1-minute load average around each measurement (the machine is shared).
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import type { ChildReport, FileReport, Timing } from './reader-bench-child';
import {
  BENCH_FILES,
  bundleHere,
  type ChildRun,
  type CpuSetting,
  ensureBenchFiles,
  MB,
  REAL_RECORD_FILE,
  runReaderChild,
} from './reader-bench-runner';
import { STAGES } from './reader-profile';
import { table } from './text-table';

const RUNS = 3;
const TARGET_RATIO = 1.3;
const TARGET_RSS_MB = 150;
const SETTINGS: readonly CpuSetting[] = ['one core', 'all cores'];

/**
 * Runs reader-rss-child.ts in a fresh process. Through `sh` on purpose: Linux carries a forking parent's peak
 * RSS into the child's `maxRSS` across exec, so a direct child of this (large) process would report this
 * process's peak; the shell's own small fork starts the count afresh.
 */
async function peakRssMb(rssChild: string, path?: string): Promise<{ rssMb: number; records: number }> {
  const args = ['-c', '"$0" "$@"; exit $?', process.execPath, rssChild];
  if (path !== undefined) args.push(path);
  const { stdout } = await promisify(execFile)('/bin/sh', args, { maxBuffer: MB });
  const report = JSON.parse(stdout.trim()) as { maxRssBytes: number; records: number };
  return { rssMb: report.maxRssBytes / MB, records: report.records };
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);
const ratio = (scan: Timing, gunzip: Timing) => scan.ms / gunzip.ms;
const cpuRatio = (scan: Timing, gunzip: Timing) => scan.cpuMs / gunzip.cpuMs;
const verdict = (value: number) => `${fixed(value, 2)} ${value <= TARGET_RATIO ? 'ok' : 'OVER'}`;

function fileRow(file: FileReport, rssMb: number | undefined): string[] {
  return [
    file.label,
    fixed(file.jsonBytes / MB, 1),
    String(file.records),
    `${file.parsed} (${fixed((100 * file.parsed) / file.records, 1)}%)`,
    `${file.counted} in ${file.groups} groups`,
    fixed(file.gunzip.ms),
    fixed(file.scan.ms),
    verdict(ratio(file.scan, file.gunzip)),
    `${fixed(file.gunzip.cpuMs)} / ${fixed(file.scan.cpuMs)} / ${verdict(cpuRatio(file.scan, file.gunzip))}`,
    `${fixed(file.gunzip1MiB.ms)} / ${fixed(file.scan1MiB.ms)} / ${verdict(ratio(file.scan1MiB, file.gunzip1MiB))}`,
    file.parseWhole === undefined
      ? '-'
      : `${fixed(file.parseWhole.ms)} (${fixed(file.parseWhole.ms / file.gunzip.ms, 2)}x)`,
    rssMb === undefined ? '-' : `${fixed(rssMb)} ${rssMb <= TARGET_RSS_MB ? 'ok' : 'OVER'}`,
  ];
}

/** The scan's CPU by stage (robust to load: CPU time), each also as a share of gunzip's CPU. */
function stageLines(report: ChildReport): string[] {
  const stages = report.stages;
  if (stages === undefined) return [];
  const row = (name: string, ms: number) => [name, fixed(ms, 1), `${fixed((100 * ms) / stages.gunzip)}%`];
  return table(
    ['stage (CPU, all threads)', 'ms', 'of gunzip'],
    [
      row('gunzip (the floor)', stages.gunzip),
      row('structural scan (WebAssembly, alone)', stages.structuralScan),
      row('needle search, copy into the scan, per-record bookkeeping', stages.searchCopyBookkeeping),
      row('parse of matching records (UTF-8 decode, JSON.parse)', stages.parse),
      row('exact rule and window grouping of them', stages.rule),
      row('streaming (pipeline, async iteration, thread hand-offs)', stages.streaming),
      row('= streaming scan', stages.streamingScan),
    ],
  ).concat(
    `exact prefilter: the \\u alternative costs ${fixed(stages.exactness.ms, 1)} ms of the in-memory scan ` +
      `(${stages.exactness.parsedExact} records parsed with it, ${stages.exactness.parsedBlind} without)`,
  );
}

function smallObjectLines(report: ChildReport): string[] {
  const small = report.smallObject;
  if (small === undefined) return [];
  return [
    `a small object (its first ${small.records} records, ${fixed(small.jsonBytes / 1024)} KB of JSON, gzip, in memory): ` +
      `${fixed(small.cpuMicros)} µs CPU per object, read and aggregated`,
  ];
}

function profileLines(report: ChildReport): string[] {
  const profile = report.profile;
  if (profile === undefined) return [];
  const total = STAGES.reduce((sum, stage) => sum + profile.stages[stage], 0);
  const rows = STAGES.filter((stage) => profile.stages[stage] > 0).map((stage) => [
    stage,
    fixed(profile.stages[stage], 1),
    `${fixed((100 * profile.stages[stage]) / total, 1)}%`,
  ]);
  return [
    `one profiled scan: ${fixed(profile.wallMs)} ms wall, ${fixed(profile.cpuMs)} ms CPU (all threads; the profiler slows it)`,
    ...table(['main-thread stage', 'ms', 'share'], rows),
  ];
}

const out = (lines: readonly string[]) => process.stdout.write(`${lines.join('\n')}\n`);

out(await ensureBenchFiles(BENCH_FILES));
const rssChild = await bundleHere('reader-rss-child.ts');
const benchChild = await bundleHere('reader-bench-child.ts');
const floor = await peakRssMb(rssChild);
const rss = new Map<string, number>();
for (const file of BENCH_FILES) rss.set(file.label, (await peakRssMb(rssChild, file.path)).rssMb);

const runs = new Map<CpuSetting, ChildRun>();
for (const setting of SETTINGS) {
  const run = await runReaderChild(
    benchChild,
    {
      files: BENCH_FILES.map((file) => ({
        label: file.label,
        path: file.path,
        parseWhole: file.parseWhole && setting === 'all cores',
      })),
      runs: RUNS,
      profile: REAL_RECORD_FILE.label,
    },
    setting,
  );
  runs.set(setting, run);
}

const machine = cpus();
out([
  '',
  `Node ${process.version}, ${machine.length} x ${machine[0]?.model.trim() ?? 'unknown CPU'}; best of ${RUNS} runs taken in turns; ` +
    `ratios are scan / gunzip of the same file in the same process; peak RSS from a separate process running the bundled reader ` +
    `(Node and the bundle alone: ${fixed(floor.rssMb)} MB)`,
]);
for (const setting of SETTINGS) {
  const run = runs.get(setting);
  if (run === undefined) continue;
  out([
    '',
    `${setting === 'one core' ? 'ONE CORE (taskset -c 0)' : `ALL CORES (${machine.length})`}: load average ${fixed(run.loadBefore, 1)} before, ${fixed(run.loadAfter, 1)} after (1-minute; above ${machine.length}, other work shared the CPUs)`,
    ...table(
      [
        'file',
        'JSON MB',
        'records',
        'parsed',
        'rule matches',
        'gunzip ms',
        'scan ms',
        `scan/gunzip (<=${TARGET_RATIO})`,
        'CPU ms: gunzip / scan / ratio',
        '1 MiB reads: gunzip / scan ms / ratio',
        'JSON.parse ms (x gunzip)',
        `peak RSS MB (<=${TARGET_RSS_MB})`,
      ],
      run.report.files.map((file) => fileRow(file, rss.get(file.label))),
    ),
    '',
    `where the scan's CPU goes, ${REAL_RECORD_FILE.label} file, ${setting} (stages measured apart on the inflated JSON):`,
    ...stageLines(run.report),
    ...smallObjectLines(run.report),
    `and a CPU profile of one scan, its main-thread samples by stage (indicative: on a loaded core, samples land where the thread was descheduled):`,
    ...profileLines(run.report),
  ]);
}
const realOneCore = runs.get('one core')?.report.files.find((file) => file.label === REAL_RECORD_FILE.label);
if (realOneCore !== undefined) {
  // On one core the scan includes gunzip's work, so its CPU ratio is what an idle core's wall ratio would be;
  // wall times on a shared machine also count other processes' turns.
  const wall = ratio(realOneCore.scan, realOneCore.gunzip);
  out([
    '',
    `target: scan <= ${TARGET_RATIO} x gunzip on one core on the real-record file, in CPU time: ` +
      `${verdict(cpuRatio(realOneCore.scan, realOneCore.gunzip))} (wall ${fixed(wall, 2)}${wall < 1 ? ', below 1: disturbed by load' : ''}; ` +
      `1 MiB reads, wall ${fixed(ratio(realOneCore.scan1MiB, realOneCore.gunzip1MiB), 2)})`,
  ]);
}
