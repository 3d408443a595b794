/**
 * Load benchmark of the whole pipeline (`npm run bench:pipeline`): the `regionsweep local` code path with
 * DynamoDB Local, on a generated corpus of over 2,000 CloudTrail objects and 1,000,000 events.
 *
 * 1. Generate the corpus (pipeline-corpus.ts) into a temporary directory, in one child process per CPU, and
 *    count from the generated records, plainly, what the pipeline must do: (window, ARN) groups per object,
 *    and the windows that cross both thresholds.
 * 2. Start the stand-ins as `local` does (startLocalEnvironment), with the shared fault proxy, pass-through,
 *    between the handler and DynamoDB Local, in a child process that counts every request.
 * 3. Deliver every object's notification once, concurrency 8, through deliverNotifications (upload, then the
 *    real handler in this process).
 * 4. Print throughput, DynamoDB writes (measured against expected, in total and object by object), reads
 *    (one per alert, the fence before its publish),
 *    peak RSS and the machine; exit 1 when a count differs or an alert is missing or extra.
 *
 * Options: --seed N (corpus and delivery order, default 1), --concurrency N (default 8), --keep (leave the
 * corpus directory in place and print it).
 */

import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineSettings } from '../../lambda/config';
import { contributorIdOf } from '../../lambda/process-log-object';
import { deliverNotifications } from '../../lib/local/delivery';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import {
  functionEnvironment,
  type LocalEnvironment,
  startLocalEnvironment,
} from '../../lib/local/environment';
import { listLocalFiles } from '../../lib/local/file-object-source';
import { publishedAlerts } from '../../lib/local/published-alerts';
import type { CounterCommand, CounterMessage, Outcomes, RequestCounts } from './dynamodb-request-counter';
import { type CorpusOptions, DEFAULT_CORPUS_OPTIONS, type GeneratedObjectSummary } from './pipeline-corpus';
import type { CorpusWorkerMessage } from './pipeline-corpus-worker';

/** Elastic's rule, restated here so the expected side shares no code with the pipeline. */
// As in bin/regionsweep.mjs: the pinned SDK supports Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const RULE = { windowMs: 30_000, minRegions: 10, minEvents: 10 };
/** Window items keep this many event-id hashes (DEFAULT_STATE_LIMITS); the plain model is exact below it. */
const EXACT_DEDUPLICATION_BOUND = 1000;
const MIN_OBJECTS = 2000;
const MIN_EVENTS = 1_000_000;
const MB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    keep: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
if (!Number.isSafeInteger(seed) || seed < 0 || !Number.isSafeInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: pipeline-bench.ts [--seed N] [--concurrency N] [--keep]\n');
  process.exit(2);
}
if (!javaAvailable()) {
  process.stderr.write('pipeline-bench: DynamoDB Local needs Java 17 or later on the PATH\n');
  process.exit(2);
}

const benchStart = performance.now();
const seconds = (from: number, to = performance.now()) => (to - from) / 1000;
const progress = (message: string) =>
  process.stderr.write(`[${seconds(benchStart).toFixed(1).padStart(6)} s] ${message}\n`);

/** What the corpus requires of the pipeline, counted from the generated records without pipeline code. */
interface Expectation {
  readonly objects: number;
  readonly events: number;
  readonly jsonBytes: number;
  readonly gzipBytes: number;
  readonly matchingEvents: number;
  /** Per object key: distinct (window, ARN) among its matching events. */
  readonly groupsByKey: ReadonlyMap<string, number>;
  readonly groups: number;
  /** `windowStart ISO|ARN` (`(null)` for no ARN) of every window at or over both thresholds. */
  readonly alertWindows: ReadonlySet<string>;
  readonly windows: number;
  /** Most distinct events in one (window, ARN). */
  readonly largestWindow: number;
}

function windowKey(windowStart: number, arn: string | null): string {
  return `${new Date(windowStart).toISOString()}|${arn ?? '(null)'}`;
}

function expectationOf(summaries: readonly GeneratedObjectSummary[]): Expectation {
  const groupsByKey = new Map<string, number>();
  const windows = new Map<string, { eventIds: Set<string>; regions: Set<string> }>();
  let matching = 0;
  for (const summary of summaries) {
    const groups = new Set<string>();
    for (const [eventTime, arn, region, eventId] of summary.matches) {
      const key = windowKey(Math.floor(Date.parse(eventTime) / RULE.windowMs) * RULE.windowMs, arn);
      groups.add(key);
      const window = windows.get(key) ?? { eventIds: new Set(), regions: new Set() };
      window.eventIds.add(eventId);
      window.regions.add(region);
      windows.set(key, window);
    }
    matching += summary.matches.length;
    groupsByKey.set(summary.key, groups.size);
  }
  const alertWindows = new Set<string>();
  let largestWindow = 0;
  for (const [key, window] of windows) {
    largestWindow = Math.max(largestWindow, window.eventIds.size);
    if (window.regions.size >= RULE.minRegions && window.eventIds.size >= RULE.minEvents)
      alertWindows.add(key);
  }
  const sum = (pick: (summary: GeneratedObjectSummary) => number) =>
    summaries.reduce((total, summary) => total + pick(summary), 0);
  return {
    objects: summaries.length,
    events: sum((summary) => summary.events),
    jsonBytes: sum((summary) => summary.jsonBytes),
    gzipBytes: sum((summary) => summary.gzipBytes),
    matchingEvents: matching,
    groupsByKey,
    groups: [...groupsByKey.values()].reduce((total, groups) => total + groups, 0),
    alertWindows,
    windows: windows.size,
    largestWindow,
  };
}

/** Forks a TypeScript module of this folder with the same loader this process runs under (tsx). */
function forkHere(module: string, args: readonly string[]): ChildProcess {
  return fork(join(import.meta.dirname, module), [...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function exited(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${name} exited with ${signal ?? `code ${code}`}`)),
    );
  });
}

/** Generates the corpus under `root` with one worker per CPU; resolves with every object's summary. */
async function generateCorpus(root: string, options: CorpusOptions): Promise<GeneratedObjectSummary[]> {
  const workers = availableParallelism();
  const summaries: GeneratedObjectSummary[] = [];
  let reported = 0;
  await Promise.all(
    Array.from({ length: workers }, (_, worker) => {
      const child = forkHere('pipeline-corpus-worker.ts', [
        root,
        String(worker),
        String(workers),
        JSON.stringify(options),
      ]);
      child.on('message', (message: CorpusWorkerMessage) => {
        if (message.kind !== 'objects') return;
        summaries.push(...message.objects);
        if (summaries.length - reported >= 250) {
          reported = summaries.length;
          progress(`corpus: ${summaries.length} objects written`);
        }
      });
      return exited(child, `corpus worker ${worker}`);
    }),
  );
  return summaries.sort((a, b) => a.index - b.index);
}

/** The request counter in its child process. */
interface Counter {
  readonly url: string;
  report(): Promise<RequestCounts>;
  stop(): Promise<void>;
}

async function startCounter(upstream: string, onProgress: (writesApplied: number) => void): Promise<Counter> {
  const child = forkHere('dynamodb-request-counter.ts', [upstream]);
  const done = exited(child, 'DynamoDB request counter');
  const send = (command: CounterCommand) => child.send(command);
  const url = await new Promise<string>((resolve, reject) => {
    done.catch(reject);
    child.on('message', (message: CounterMessage) => {
      if (message.kind === 'ready') resolve(message.url);
      else if (message.kind === 'progress') onProgress(message.writesApplied);
    });
  });
  return {
    url,
    report: () =>
      new Promise((resolve) => {
        const listener = (message: CounterMessage) => {
          if (message.kind !== 'report') return;
          child.off('message', listener);
          resolve(message.counts);
        };
        child.on('message', listener);
        send({ kind: 'report' });
      }),
    async stop() {
      if (child.connected) send({ kind: 'stop' });
      await done;
    },
  };
}

/** Records when the last upload of `deliverNotifications` finished: the handler runs from then on. */
function watchUploads(
  environment: LocalEnvironment,
  total: number,
  onFinished: () => void,
): { readonly finishedAt: () => number } {
  let uploaded = 0;
  let finishedAt = Number.NaN;
  environment.s3.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (context.commandName === 'PutObjectCommand') {
        uploaded += 1;
        finishedAt = performance.now();
        if (uploaded % 250 === 0 || uploaded === total) progress(`upload: ${uploaded}/${total} objects`);
        if (uploaded === total) onFinished();
      }
      return output;
    },
    { step: 'initialize', name: 'pipelineBenchUploads' },
  );
  return { finishedAt: () => finishedAt };
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks per second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by this process's `java` children (DynamoDB Local); Linux only. */
async function javaChildCpuSeconds(): Promise<number | undefined> {
  const pids = await readdir('/proc').catch(() => [] as string[]);
  let total: number | undefined;
  for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command name: state ppid ... utime (12th) stime (13th).
    const match = /^\d+ \((.*)\) (.*)$/s.exec(stat);
    const fields = match?.[2]?.split(' ') ?? [];
    if (match?.[1] !== 'java' || Number(fields[1]) !== process.pid) continue;
    total = (total ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }
  return total;
}

const none: Outcomes = { ok: 0, refused: 0, other: 0 };
const fixed = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const outcomes = (o: Outcomes) =>
  `${fixed(o.ok)} applied, ${fixed(o.refused)} refused (4xx), ${fixed(o.other)} other`;

const options: CorpusOptions = { ...DEFAULT_CORPUS_OPTIONS, seed };
const root = await mkdtemp(join(tmpdir(), 'regionsweep-pipeline-bench-'));
const failures: string[] = [];
let environment: LocalEnvironment | undefined;
let counter: Counter | undefined;
try {
  progress(`corpus: generating into ${root} (seed ${seed})`);
  const generationStart = performance.now();
  const summaries = await generateCorpus(root, options);
  const generationSeconds = seconds(generationStart);
  const expected = expectationOf(summaries);
  progress(
    `corpus: ${fixed(expected.objects)} objects, ${fixed(expected.events)} events in ${generationSeconds.toFixed(1)} s; ` +
      `expecting ${fixed(expected.groups)} window writes and ${fixed(expected.alertWindows.size)} alerts`,
  );
  if (expected.objects < MIN_OBJECTS)
    failures.push(`corpus has ${expected.objects} objects, fewer than ${MIN_OBJECTS}`);
  if (expected.events < MIN_EVENTS)
    failures.push(`corpus has ${expected.events} events, fewer than ${MIN_EVENTS}`);
  if (expected.largestWindow > EXACT_DEDUPLICATION_BOUND) {
    failures.push(
      `a window holds ${expected.largestWindow} events: past ${EXACT_DEDUPLICATION_BOUND}, the model is not exact`,
    );
  }

  const standInStart = performance.now();
  environment = await startLocalEnvironment('dynamodb-local');
  const expectedWrites = expected.groups + 2 * expected.alertWindows.size;
  let lastProgress = performance.now();
  let handlerRunning = false;
  counter = await startCounter(environment.endpoints.dynamodb, (writesApplied) => {
    if (!handlerRunning || performance.now() - lastProgress < 5000) return;
    lastProgress = performance.now();
    progress(`processing: ${fixed(writesApplied)}/${fixed(expectedWrites)} DynamoDB writes applied`);
  });
  progress(`stand-ins: DynamoDB Local, s3rver, SNS recorder up in ${seconds(standInStart).toFixed(1)} s`);

  const files = await listLocalFiles([root]);
  const uploads = watchUploads(environment, files.length, () => {
    handlerRunning = true;
  });
  const functionEnv = {
    ...functionEnvironment(environment, loadPipelineSettings({})),
    AWS_ENDPOINT_URL_DYNAMODB: counter.url,
  };
  const loadBefore = loadavg()[0] ?? 0;
  const proxyCpuBefore = (await counter.report()).cpuMicros;
  const javaCpuBefore = await javaChildCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const runStart = performance.now();
  const report = await deliverNotifications(environment, files, functionEnv, {
    concurrency,
    deliveries: 1,
    seed,
  });
  const runEnd = performance.now();
  const loadAfter = loadavg()[0] ?? 0;
  const cpuRun = process.cpuUsage(cpuBefore);
  const javaCpuAfter = await javaChildCpuSeconds();
  const uploadEnd = uploads.finishedAt();
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const counts = await counter.report();
  const cpuSeconds = {
    handler: (cpuRun.user + cpuRun.system) / 1e6,
    proxy: (counts.cpuMicros - proxyCpuBefore) / 1e6,
    dynamoDbLocal:
      javaCpuBefore === undefined || javaCpuAfter === undefined ? undefined : javaCpuAfter - javaCpuBefore,
  };
  const alerts = publishedAlerts(environment.recorder.published());

  // Writes object by object: each window update names its object by contributor id.
  const objectsWithWrongWrites: string[] = [];
  let appliesAttributed = 0;
  for (const summary of summaries) {
    // s3rver's ETag is the MD5 of the body, as S3's is for a single-part upload without SSE-KMS.
    const body = await readFile(join(root, summary.key));
    const version = { eTag: createHash('md5').update(body).digest('hex'), size: body.length };
    const id = contributorIdOf({ bucket: environment.bucket, key: summary.key }, version);
    const applies = counts.appliesByContributor[id] ?? none;
    appliesAttributed += applies.ok;
    const groups = expected.groupsByKey.get(summary.key) ?? 0;
    if (applies.ok !== groups)
      objectsWithWrongWrites.push(`${summary.key}: ${applies.ok} writes, ${groups} groups`);
  }
  const step = (name: string) => counts.byStep[name] ?? none;
  const writes = Object.values(counts.byStep).reduce(
    (total, o) => ({ ok: total.ok + o.ok, refused: total.refused + o.refused, other: total.other + o.other }),
    none,
  );
  const reads = counts.byTarget.GetItem ?? none;
  const fullSets = Object.entries(counts.setsFoundFull)
    .sort(([, a], [, b]) => b - a)
    .map(([attribute, times]) => `${attribute} ${fixed(times)}`);

  const published = new Map<string, number>();
  for (const alert of alerts) {
    const key = windowKey(Date.parse(alert.finding.windowStart), alert.finding.arn);
    published.set(key, (published.get(key) ?? 0) + 1);
  }
  const missing = [...expected.alertWindows].filter((key) => !published.has(key));
  const extra = [...published.keys()].filter((key) => !expected.alertWindows.has(key));
  const repeated = [...published].filter(([, count]) => count > 1).map(([key]) => key);

  if (report.failedInvocations > 0)
    failures.push(`${report.failedInvocations} invocation(s) failed after retries`);
  if (writes.ok !== expectedWrites) {
    failures.push(`DynamoDB writes applied: ${writes.ok}, expected ${expectedWrites}`);
  }
  const applies = step('apply');
  const applyRequests = applies.ok + applies.refused + applies.other;
  // DynamoDB bills a refused conditional write like any other: every window update must be one request.
  if (applyRequests !== expected.groups) {
    failures.push(
      `window update requests: ${applyRequests} (${applies.refused} refused), expected one per group: ${expected.groups}`,
    );
  }
  // The one read of the common path: the fence before each publish re-reads the claim (process-log-object.ts).
  const readRequests = reads.ok + reads.refused + reads.other;
  if (readRequests !== expected.alertWindows.size) {
    failures.push(`GetItem requests: ${readRequests}, expected one per alert (the fence before its publish)`);
  }
  if (objectsWithWrongWrites.length > 0) {
    failures.push(
      `${objectsWithWrongWrites.length} object(s) with window writes other than their groups, e.g. ` +
        objectsWithWrongWrites.slice(0, 3).join('; '),
    );
  }
  if (missing.length > 0)
    failures.push(`${missing.length} alert(s) missing, e.g. ${missing.slice(0, 3).join(', ')}`);
  if (extra.length > 0)
    failures.push(`${extra.length} unexpected alert(s), e.g. ${extra.slice(0, 3).join(', ')}`);
  if (repeated.length > 0)
    failures.push(`${repeated.length} window(s) alerted more than once, e.g. ${repeated[0]}`);

  const runSeconds = seconds(runStart, runEnd);
  const processSeconds = Number.isNaN(uploadEnd) ? runSeconds : seconds(uploadEnd, runEnd);
  const perObject = (n: number) => (n / expected.objects).toFixed(2);
  const cpu = cpus();
  const rows: [string, string][] = [
    [
      'corpus',
      `${fixed(expected.objects)} objects, ${fixed(expected.events)} events, ${fixed(expected.jsonBytes / MB)} MB JSON, ${fixed(expected.gzipBytes / MB)} MB gzip (seed ${seed}, generated in ${generationSeconds.toFixed(1)} s)`,
    ],
    [
      'matching events',
      `${fixed(expected.matchingEvents)} DescribeInstances in ${fixed(expected.windows)} (window, ARN) windows`,
    ],
    [
      'groups',
      `${fixed(expected.groups)} (window, ARN) groups summed over objects; largest window ${expected.largestWindow} events`,
    ],
    [
      'alerts',
      `${fixed(alerts.length)} published, ${fixed(expected.alertWindows.size)} expected from the corpus`,
    ],
    [
      'delivery',
      `${fixed(report.notifications)} notifications, concurrency ${concurrency}, 1 delivery each; ${report.retriedInvocations} retried, ${report.failedInvocations} failed`,
    ],
    [
      'wall time',
      `${runSeconds.toFixed(1)} s (upload ${(runSeconds - processSeconds).toFixed(1)} s, handler ${processSeconds.toFixed(1)} s)`,
    ],
    [
      'objects/s',
      `${fixed(expected.objects / processSeconds, 1)} handler (${fixed(expected.objects / runSeconds, 1)} incl. upload)`,
    ],
    [
      'events/s',
      `${fixed(expected.events / processSeconds)} handler (${fixed(expected.events / runSeconds)} incl. upload); ${fixed(expected.jsonBytes / MB / processSeconds, 1)} MB/s of JSON`,
    ],
    [
      'DynamoDB writes',
      `${fixed(writes.ok)} applied, expected ${fixed(expectedWrites)} = ${fixed(expected.groups)} groups + 2 x ${fixed(expected.alertWindows.size)} alerts (claim, record) ${writes.ok === expectedWrites ? 'ok' : 'DIFFERENT'}`,
    ],
    [
      '  per object',
      `${perObject(writes.ok)} applied, expected ${perObject(expectedWrites)}; window writes object by object: ${fixed(appliesAttributed)} attributed, ${objectsWithWrongWrites.length === 0 ? 'all objects equal their groups' : `${objectsWithWrongWrites.length} objects differ`}`,
    ],
    [
      '  write requests',
      `${fixed(writes.ok + writes.refused + writes.other)} (${perObject(writes.ok + writes.refused + writes.other)} per object): ${outcomes(writes)}`,
    ],
    [
      '  window updates',
      `${outcomes(step('apply'))}; a refused update is retried without the bounded sets it found full ` +
        `(${fullSets.length === 0 ? 'none' : fullSets.join(', ')})`,
    ],
    ['  alert claims', outcomes(step('claim'))],
    ['  alert records', outcomes(step('record-alert'))],
    ['  claim releases', outcomes(step('release'))],
    ['  other writes', outcomes(step('other'))],
    [
      'CPU during run',
      `this process ${cpuSeconds.handler.toFixed(1)} s, DynamoDB Local ${cpuSeconds.dynamoDbLocal?.toFixed(1) ?? 'n/a'} s, ` +
        `counting proxy ${cpuSeconds.proxy.toFixed(1)} s (of ${(runSeconds * cpu.length).toFixed(0)} CPU-seconds in ${runSeconds.toFixed(0)} s wall)`,
    ],
    [
      'DynamoDB reads',
      `${fixed(readRequests)} GetItem (${perObject(readRequests)} per object), expected ${fixed(expected.alertWindows.size)}: one per alert, the fence before its publish`,
    ],
    [
      'peak RSS',
      `${fixed(maxRssBytes / MB)} MB (process.resourceUsage().maxRSS of this process: handler, s3rver, SNS recorder)`,
    ],
    [
      'machine',
      `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${fixed(totalmem() / 1024 ** 3, 1)} GB, Node ${process.version}, ${process.platform}/${process.arch}, DynamoDB Local (Java)`,
    ],
    [
      'load average',
      `${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after the run (1-minute; above ${cpu.length}, other work shared the CPUs)`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
} finally {
  await counter?.stop().catch(() => undefined);
  await environment?.stop();
  if (values.keep) progress(`corpus kept in ${root}`);
  else await rm(root, { recursive: true, force: true });
}
for (const failure of failures) process.stdout.write(`FAIL: ${failure}\n`);
process.stdout.write(failures.length === 0 ? 'PASS\n' : '');
process.exit(failures.length === 0 ? 0 : 1);
