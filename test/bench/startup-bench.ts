/**
 * Start-up benchmark of the `regionsweep` command (`npm run bench:startup`): how long a user waits for the
 * first output of `regionsweep --help` and of `regionsweep scan` on an empty file, where the work itself takes
 * milliseconds. Target: under 200 ms to the first output (median), from the compiled CLI.
 *
 * 1. Build dist/ (`npm run build`), so the figures are those of the current sources.
 * 2. Run each case RUNS times, the cases taking turns, each in a fresh process as a shell would start it:
 *    the compiled command (bin/regionsweep.mjs, what `npm install` links), the same through `npx`, the
 *    TypeScript sources through the tsx loader (how the command ran before it was compiled), and bare Node.
 * 3. Print, per case, the milliseconds from spawn to the first byte on stdout or stderr and to exit (median,
 *    fastest, slowest), the median above bare Node's (what the command itself adds, which a busy machine
 *    inflates less than Node's own start), ok/OVER against the target for the compiled cases, and the load.
 *
 * Options: --runs N (default 15).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const TARGET_MS = 200;
const root = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
if (!Number.isSafeInteger(runs) || runs < 1) {
  process.stderr.write('usage: startup-bench.ts [--runs N]\n');
  process.exit(2);
}

interface Case {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Compared with TARGET_MS. */
  readonly target: boolean;
}

interface Timing {
  readonly firstOutputMs: number;
  readonly exitMs: number;
}

/** Starts the command and times its first output and its exit; rejects when it exits with an error. */
function timeOnce({ command, args }: Case): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstOutputMs: number | undefined;
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = () => {
      firstOutputMs ??= performance.now() - started;
    };
    let stderr = '';
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      onData();
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const exitMs = performance.now() - started;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ firstOutputMs: firstOutputMs ?? exitMs, exitMs });
    });
  });
}

function summary(samples: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] ?? 0)
      : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return { median, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 };
}

// 1. Build.
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'build.ts')],
  {
    cwd: root,
    stdio: 'ignore',
  },
);

const scratch = await mkdtemp(join(tmpdir(), 'regionsweep-startup-'));
const emptyFile = join(scratch, 'empty.json');
await writeFile(emptyFile, '');
const node = process.execPath;
const bin = join(root, 'bin', 'regionsweep.mjs');
const fromSource = (args: readonly string[]) => [
  '--import',
  'tsx',
  '--input-type=module',
  '-e',
  "const { main } = await import('./bin/cli.ts'); process.exitCode = await main(process.argv.slice(1));",
  ...args,
];
const cases: Case[] = [
  { name: 'regionsweep --help (compiled)', command: node, args: [bin, '--help'], target: true },
  {
    name: 'regionsweep scan <empty file> (compiled)',
    command: node,
    args: [bin, 'scan', emptyFile],
    target: true,
  },
  { name: 'regionsweep rules (compiled)', command: node, args: [bin, 'rules'], target: false },
  {
    name: 'regionsweep backfill --help (compiled)',
    command: node,
    args: [bin, 'backfill', '--help'],
    target: false,
  },
  {
    name: 'regionsweep local --help (compiled)',
    command: node,
    args: [bin, 'local', '--help'],
    target: false,
  },
  {
    name: 'npx regionsweep --help (compiled)',
    command: 'npx',
    args: ['--no-install', 'regionsweep', '--help'],
    target: false,
  },
  {
    name: 'regionsweep --help (sources through tsx)',
    command: node,
    args: fromSource(['--help']),
    target: false,
  },
  {
    name: 'regionsweep scan <empty file> (sources through tsx)',
    command: node,
    args: fromSource(['scan', emptyFile]),
    target: false,
  },
  { name: 'node -e 0 (Node itself)', command: node, args: ['-e', '0'], target: false },
];

// 2. Measure, cases taking turns (one warm-up round first: disk cache, not counted).
const timings = new Map<Case, Timing[]>(cases.map((entry) => [entry, []]));
for (let round = 0; round <= runs; round++) {
  for (const entry of cases) {
    const timing = await timeOnce(entry);
    if (round > 0) timings.get(entry)?.push(timing);
  }
}
await rm(scratch, { recursive: true, force: true });

// 3. Report.
const pad = (value: number) => Math.round(value).toString().padStart(5);
console.log(
  `regionsweep start-up, ${runs} runs per case; Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${'case'.padEnd(52)} first output ms (median / min / max)   exit ms (median)   median above bare Node`,
);
const firstOutputOf = (entry: Case) =>
  summary((timings.get(entry) ?? []).map((sample) => sample.firstOutputMs));
const bareNode = firstOutputOf(cases.at(-1) as Case).median;
let over = false;
for (const entry of cases) {
  const samples = timings.get(entry) ?? [];
  const first = firstOutputOf(entry);
  const exit = summary(samples.map((sample) => sample.exitMs));
  const verdict = entry.target
    ? first.median < TARGET_MS
      ? `  ok (< ${TARGET_MS})`
      : `  OVER ${TARGET_MS}`
    : '';
  if (entry.target && first.median >= TARGET_MS) over = true;
  console.log(
    `${entry.name.padEnd(52)} ${pad(first.median)} / ${pad(first.min)} / ${pad(first.max)}              ${pad(exit.median)}          ${pad(first.median - bareNode)}${verdict}`,
  );
}
if (over) process.exitCode = 1;
