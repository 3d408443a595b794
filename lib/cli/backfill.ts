import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineSettings } from '../../lambda/config';
import { normaliseKeyPrefix } from '../../lambda/domain/reading/object-key';
import {
  awsClients,
  buildPipeline,
  type MemoryPipeline,
  memoryPipeline,
  type PipelineClients,
  s3LogObjects,
} from '../../lambda/pipeline';
import { objectName, type PipelineDeps } from '../../lambda/process-log-object';
import { Checkpoint } from '../backfill/checkpoint';
import {
  countByFolder,
  type Enumeration,
  enumerateSelection,
  type S3ListPort,
} from '../backfill/enumeration';
import { BackfillSetupError } from '../backfill/errors';
import { formatBytes, ProgressReporter } from '../backfill/progress';
import {
  newCounters,
  type ObjectFailure,
  type RunCounters,
  runDirect,
  type SqsSendBatchPort,
  sendToQueue,
} from '../backfill/runner';
import {
  checkRange,
  isAccountId,
  isRegionName,
  parseDayBound,
  type Selection,
  selectionHash,
} from '../backfill/selection';
import { type DescribeStacksPort, readStackOutputs, requireOutput } from '../backfill/stack-outputs';
import { findingsAsJsonLines } from './findings-output';
import { type CliIo, integerOption, printable, UsageError } from './io';
import { RULE_OPTIONS, settingsFromOptions } from './scan';

export const BACKFILL_HELP = `Usage: regionsweep backfill --start DATE --end DATE [options]

Replays CloudTrail history from S3 through the detector: after a first deployment, after an outage, or to
try a threshold change. Lists only the date folders of the range (.../CloudTrail/<region>/YYYY/MM/DD/, both
the AWSLogs/<account>/ and the organization AWSLogs/<o-id>/<account>/ layouts) for days start..end plus
the day after end (files are named by delivery time, which trails event time).

Selection:
  --start DATE, --end DATE    UTC dates (2026-11-28) or ISO times; a time selects its day
  --bucket NAME               the trail bucket (default: output BucketName of --stack-name)
  --prefix PREFIX             the trail's key prefix before AWSLogs/ (default: from LogsPrefix, else none)
  --accounts ID,ID            only these accounts (default: every account found)
  --regions R,R               only these regions (default: every region found)

Mode:
  --mode direct|queue         direct (default): process here through the Lambda's code path, against the
                              deployed table and topic; queue: send object references to the backfill
                              queue and let the deployed function process them
  --stack-name NAME           read TableName, TopicArn, BackfillQueueUrl, BucketName, LogsPrefix from the stack
  --table NAME, --topic-arn ARN, --queue-url URL   instead of (or overriding) the stack outputs
  --concurrency N             objects (direct) or SendMessageBatch calls (queue) in flight (default 8)
  --objects-per-message N     queue mode: objects per SQS message (default 1; the function's batch is 2 messages)
  --s3-force-path-style       path-style S3 requests (default: on when AWS_ENDPOINT_URL_S3 or
                              AWS_ENDPOINT_URL is set, as for local stand-ins)

Output:
  --dry-run                   list what would be processed: objects and bytes per account, region and day
  --no-alerts                 direct mode: compute findings in memory and print them as JSON lines (like
                              scan --format json); nothing is written to the table or published
  --checkpoint FILE           finished objects, appended as JSON lines; a re-run skips them
                              (default: .regionsweep-backfill-<hash of the selection>.json here)

Settings (direct mode: give the values the deployed function has; in queue mode it uses its own):
  --rules, --building-blocks, --rule-file, --window-mode, --min-regions, --min-events,
  --window-seconds, --allowlist
                              the rules and noise settings, as for scan
  --suppression-minutes N     one alert per identity per N minutes, as the deployment's suppressionMinutes
  --expected-bucket-owner ID  refuse objects of a bucket owned by any other account

Alerts a backfill publishes say so in the subject and carry the attribute backfill=true. Replaying an
object that was processed before changes no count and sends no second alert.

Exit code: 0 when every object was processed (or sent), 1 when any failed (listed on stderr), 2 on usage
or setup errors (bad dates, unknown stack, missing outputs).
`;

/** Where a run's work goes: the deployed table and topic (direct), or the backfill queue. */
export type BackfillTarget =
  | { readonly tableName: string; readonly topicArn: string }
  | { readonly queueUrl: string };

/** The AWS clients a backfill uses, as narrow ports; tests replace some of them. */
export interface BackfillClients extends PipelineClients {
  readonly s3: S3ListPort & PipelineClients['s3'];
  readonly sqs: SqsSendBatchPort;
  readonly cloudformation: DescribeStacksPort;
}

/**
 * SDK clients from the process environment: region, credentials and the standard endpoint variables
 * (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`, ...), which is how a backfill runs against the
 * stand-ins of `regionsweep local --serve`. The pipeline's clients are the function's, with the same request
 * time-outs. S3 requests are path-style when asked, or when a custom S3 endpoint is set (stand-ins and
 * S3-compatible stores rarely resolve virtual-hosted bucket names).
 */
export function defaultClients(
  env: Readonly<Record<string, string | undefined>>,
  forcePathStyle: boolean,
): BackfillClients {
  const customS3 = (env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? '') !== '';
  return {
    ...awsClients({ s3ForcePathStyle: forcePathStyle || customS3, s3FollowRegionRedirects: true }),
    sqs: new SQSClient({}),
    cloudformation: new CloudFormationClient({}),
  };
}

const DEFAULT_CONCURRENCY = 8;

/** `regionsweep backfill`. */
export async function backfillCommand(
  argv: readonly string[],
  io: CliIo,
  overrides: Partial<BackfillClients> = {},
  options: { readonly progressLineMs?: number } = {},
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      start: { type: 'string' },
      end: { type: 'string' },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      accounts: { type: 'string' },
      regions: { type: 'string' },
      mode: { type: 'string', default: 'direct' },
      'stack-name': { type: 'string' },
      table: { type: 'string' },
      'topic-arn': { type: 'string' },
      'queue-url': { type: 'string' },
      concurrency: { type: 'string' },
      'objects-per-message': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'no-alerts': { type: 'boolean', default: false },
      checkpoint: { type: 'string' },
      's3-force-path-style': { type: 'boolean', default: false },
      'expected-bucket-owner': { type: 'string' },
      'suppression-minutes': { type: 'string' },
      ...RULE_OPTIONS,
    },
  });
  const mode = values.mode;
  if (mode !== 'direct' && mode !== 'queue')
    throw new UsageError(`--mode must be direct or queue, got "${mode}"`);
  if (values.start === undefined || values.end === undefined)
    throw new UsageError('--start and --end are required');
  if (values['no-alerts'] && mode === 'queue') {
    throw new UsageError(
      '--no-alerts applies to --mode direct (in queue mode the deployed function publishes)',
    );
  }
  const startDay = usage(() => parseDayBound('start', values.start ?? ''));
  const endDay = usage(() => parseDayBound('end', values.end ?? ''));
  usage(() => checkRange(startDay, endDay));
  const accounts = listOption('accounts', values.accounts, isAccountId, '12-digit account ids');
  const regions = listOption('regions', values.regions, isRegionName, 'region names such as us-east-1');
  const concurrency = integerOption('concurrency', values.concurrency, 1, 256) ?? DEFAULT_CONCURRENCY;
  const objectsPerMessage = integerOption('objects-per-message', values['objects-per-message'], 1, 10) ?? 1;
  const suppressionMinutes = integerOption('suppression-minutes', values['suppression-minutes'], 0, 10_080);
  const owner = values['expected-bucket-owner'];
  if (owner !== undefined && !isAccountId(owner)) {
    throw new UsageError(`--expected-bucket-owner must be a 12-digit account id, got "${owner}"`);
  }
  const ruleSettings = await settingsFromOptions(values);
  const settings =
    suppressionMinutes === undefined
      ? ruleSettings
      : { ...ruleSettings, suppressionMs: suppressionMinutes * 60_000 };
  const clients = { ...defaultClients(process.env, values['s3-force-path-style']), ...overrides };

  // 1. Where: the stack's outputs, overridden by explicit flags.
  const stackName = values['stack-name'];
  const outputs = stackName === undefined ? {} : await readStackOutputs(clients.cloudformation, stackName);
  const fromStack = (key: string, flag: string, given: string | undefined): string => {
    if (given !== undefined) return given;
    if (stackName === undefined) throw new UsageError(`give ${flag} or --stack-name`);
    return requireOutput(outputs, stackName, key, flag);
  };
  const bucket = fromStack('BucketName', '--bucket', values.bucket);
  const logsPrefix = values.prefix ?? (outputs.LogsPrefix ?? '').replace(/AWSLogs\/$/, '');
  const selection: Selection = {
    bucket,
    prefix: normaliseKeyPrefix(logsPrefix),
    accounts,
    regions,
    startDay,
    endDay,
  };
  const dryRun = values['dry-run'];
  const noAlerts = values['no-alerts'];
  const target: BackfillTarget | undefined =
    dryRun || noAlerts
      ? undefined
      : mode === 'queue'
        ? { queueUrl: fromStack('BackfillQueueUrl', '--queue-url', values['queue-url']) }
        : {
            tableName: fromStack('TableName', '--table', values.table),
            topicArn: fromStack('TopicArn', '--topic-arn', values['topic-arn']),
          };

  // 2. What: the day folders of the selection.
  const enumeration = await enumerateSelection(clients.s3, selection);
  const listed = describeListing(selection, enumeration);
  if (dryRun) {
    io.stdout.write(dryRunReport(enumeration));
    io.stderr.write(`backfill (dry run): ${listed}\n`);
    return 0;
  }

  // 3. Resume: objects a previous run of the same selection finished are skipped.
  const checkpoint = noAlerts
    ? undefined
    : await Checkpoint.open(
        values.checkpoint ?? defaultCheckpointPath(process.cwd(), selection, destinationOf(mode, target)),
      );
  try {
    const remaining = enumeration.objects.filter((o) => checkpoint?.has(o.ref) !== true);
    const resumed = enumeration.objects.length - remaining.length;
    const counters = newCounters();
    const totals = {
      objectsTotal: remaining.length,
      bytesTotal: remaining.reduce((sum, o) => sum + o.ref.size, 0),
    };
    io.stderr.write(
      `backfill: ${listed}` +
        (checkpoint === undefined
          ? '\n'
          : `; ${resumed} already finished per ${checkpoint.path}, ${remaining.length} to go\n`),
    );

    // 4. Run, with progress on stderr.
    const onFinished =
      checkpoint === undefined
        ? undefined
        : (ref: Parameters<Checkpoint['record']>[0]) => checkpoint.record(ref);
    if (mode === 'queue') {
      const queueUrl = target !== undefined && 'queueUrl' in target ? target.queueUrl : '';
      const reporter = startProgress(io, options, () => ({ ...totals, ...counters, verb: 'sent' }));
      const report = await sendToQueue(clients.sqs, remaining, {
        queueUrl,
        objectsPerMessage,
        concurrency,
        counters,
        ...(checkpoint === undefined
          ? {}
          : {
              onSent: async (refs) => {
                for (const ref of refs) await checkpoint.record(ref);
              },
            }),
      }).finally(() => reporter.finish());
      listFailures(io, report.failures);
      io.stderr.write(
        `backfill: ${remaining.length - report.failures.length} object(s) sent to ${queueUrl} in ` +
          `${report.messages} message(s), ${report.requests} SendMessageBatch call(s); ` +
          `${report.failures.length} failed. Watch the queue depth and the function's logs; failures after 3 ` +
          'receives land in the backfill dead-letter queue (alarmed).\n',
      );
      return report.failures.length > 0 ? 1 : 0;
    }

    const { deps, memory } = directPipeline(settings, target, clients, owner);
    const findingsSoFar = (counters: RunCounters) =>
      memory === undefined ? counters.alertsPublished : memory.findings().length;
    const reporter = startProgress(io, options, () => ({
      ...totals,
      ...counters,
      findings: findingsSoFar(counters),
      verb: 'processed',
    }));
    const report = await runDirect(deps, remaining, {
      concurrency,
      counters,
      ...(onFinished === undefined ? {} : { onFinished }),
    }).finally(() => reporter.finish());
    listFailures(io, report.failures);
    if (memory !== undefined) {
      const findings = memory.findings();
      io.stdout.write(findingsAsJsonLines(findings));
      io.stderr.write(
        `backfill (no alerts): ${report.processed} processed, ${report.skipped} skipped, ` +
          `${report.failures.length} failed; ${findings.length} finding(s)\n`,
      );
    } else {
      for (const alert of report.alerts) {
        const windowStart = new Date(alert.windowStart).toISOString();
        io.stdout.write(`${JSON.stringify({ windowStart, arn: alert.arn, messageId: alert.messageId })}\n`);
      }
      io.stderr.write(
        `backfill: ${report.processed} processed, ${report.skipped} skipped, ${report.failures.length} failed; ` +
          `${report.alerts.length} alert(s) published\n`,
      );
    }
    return report.failures.length > 0 ? 1 : 0;
  } finally {
    await checkpoint?.close();
  }
}

/**
 * Where the work goes (the mode and its table and topic, or its queue): part of the checkpoint's name, so a
 * backfill into another stack never believes the objects already done.
 */
export function destinationOf(mode: string, target: BackfillTarget | undefined): string {
  if (target === undefined) return mode;
  return 'queueUrl' in target
    ? `${mode} ${target.queueUrl}`
    : `${mode} ${target.tableName} ${target.topicArn}`;
}

/** The default checkpoint file: named by the selection and destination, so the same command resumes. */
export function defaultCheckpointPath(cwd: string, selection: Selection, mode: string): string {
  return join(cwd, `.regionsweep-backfill-${selectionHash(selection, mode)}.json`);
}

/**
 * The pipeline of a direct run: against the table and topic, or (`--no-alerts`, no target) in memory, its
 * findings read back at the end.
 */
function directPipeline(
  settings: PipelineSettings,
  target: BackfillTarget | undefined,
  clients: BackfillClients,
  expectedBucketOwner: string | undefined,
): { readonly deps: PipelineDeps; readonly memory?: MemoryPipeline } {
  if (target !== undefined && 'tableName' in target) {
    const owner = expectedBucketOwner === undefined ? {} : { expectedBucketOwner };
    return { deps: buildPipeline(settings, { ...target, ...owner }, clients) };
  }
  const memory = memoryPipeline(settings, s3LogObjects(clients.s3, expectedBucketOwner));
  return { deps: memory.deps, memory };
}

function startProgress(
  io: CliIo,
  options: { readonly progressLineMs?: number },
  snapshot: ConstructorParameters<typeof ProgressReporter>[1],
): ProgressReporter {
  const reporter = new ProgressReporter(io.stderr, snapshot, {
    interactive: io.interactive === true,
    ...(options.progressLineMs === undefined ? {} : { lineMs: options.progressLineMs }),
  });
  reporter.start();
  return reporter;
}

function listFailures(io: CliIo, failures: readonly ObjectFailure[]): void {
  for (const { ref, reason } of failures) {
    io.stderr.write(`backfill: failed ${printable(objectName(ref))}: ${printable(reason)}\n`);
  }
}

function describeListing(selection: Selection, enumeration: Enumeration): string {
  const bytes = enumeration.objects.reduce((sum, o) => sum + o.ref.size, 0);
  return (
    `${enumeration.objects.length} object(s), ${formatBytes(bytes)} in s3://${selection.bucket}/${selection.prefix}AWSLogs/ ` +
    `for ${selection.startDay}..${selection.endDay} (+1 day), ${enumeration.prefixes.length} day folder(s), ` +
    `${enumeration.listRequests} ListObjectsV2 request(s)`
  );
}

function dryRunReport(enumeration: Enumeration): string {
  const rows = countByFolder(enumeration.objects).map((c) => [
    c.account,
    c.region,
    c.day,
    String(c.objects),
    String(c.bytes),
  ]);
  const total = enumeration.objects.reduce((sum, o) => sum + o.ref.size, 0);
  const table = [
    ['ACCOUNT', 'REGION', 'DAY', 'OBJECTS', 'BYTES'],
    ...rows,
    ['total', '', '', String(enumeration.objects.length), String(total)],
  ];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return table
    .map((row) =>
      row.map((cell, i) => (i >= 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n')
    .concat('\n');
}

function listOption(
  name: string,
  value: string | undefined,
  valid: (item: string) => boolean,
  what: string,
): string[] {
  if (value === undefined) return [];
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const bad = items.find((item) => !valid(item));
  if (bad !== undefined) throw new UsageError(`--${name} takes ${what}, got "${bad}"`);
  return [...new Set(items)].sort();
}

/** Selection errors are usage errors: printed with the help, exit code 2. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof BackfillSetupError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
