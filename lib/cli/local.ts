import { createCipheriv, randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type DeliveryReport, deliverNotifications } from '../local/delivery';
import { javaAvailable } from '../local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment, uploadFiles } from '../local/environment';
import { type LocalFile, listLocalFiles } from '../local/file-object-source';
import { type PublishedAlert, publishedAlerts } from '../local/published-alerts';
import type { Delivery } from '../local/sns-delivery';
import { type CliIo, integerOption, printable, UsageError } from './io';
import { RULE_OPTIONS, settingsFromOptions } from './scan';

export const LOCAL_HELP = `Usage: regionsweep local [options] [files|dirs...]

Runs the real Lambda handler end to end on this machine, with no AWS account: starts stand-ins for
DynamoDB, S3 and SNS on 127.0.0.1, creates the table, bucket and topic, uploads the files under their
relative paths as keys, delivers one S3 notification per object (shuffled, in parallel, optionally several
times each, as S3 may), and prints every alert published to the topic. Default input: the bundled sample.

Options:
  --serve                     keep the stand-ins running (until Ctrl-C or SIGTERM) with the files uploaded
                              but not delivered, and print the endpoints, bucket, table, topic and the
                              environment to export, so 'regionsweep backfill' can run against them; on
                              exit, print the alerts the topic received
  --dynamodb local|dynalite   DynamoDB Local (official, needs Java 17+; default when Java is present) or dynalite
  --concurrency N             parallel invocations (default 4)
  --deliveries K              copies of each notification (default 1; more simulates at-least-once delivery)
  --seed N                    shuffle seed (default: random, printed)
  --format table|json         readable alerts (default) or one JSON object per alert and line, with what
                              each subscriber kind of the topic received ('deliveries', keyed by protocol:
                              email, email-json, https as Amazon Q Developer, raw sqs, lambda, http)
  --rules, --building-blocks, --rule-file, --window-mode, --min-regions, --min-events,
  --window-seconds, --allowlist
                              the rules and noise settings, as for scan
  --suppression-minutes N     one alert per identity per N minutes (default 0: every window alerts)

Exit code: 0 when every notification was handled, 1 when any invocation still failed after Lambda's two
retries, 2 on usage errors.
`;

/** `regionsweep local`: the main job on stand-ins. */
export async function localCommand(
  argv: readonly string[],
  io: CliIo,
  defaultPaths: readonly string[],
  serveUntil: () => Promise<void> = untilInterrupted,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      serve: { type: 'boolean', default: false },
      dynamodb: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      deliveries: { type: 'string', default: '1' },
      seed: { type: 'string' },
      format: { type: 'string', default: 'table' },
      'suppression-minutes': { type: 'string' },
      ...RULE_OPTIONS,
    },
  });
  if (values.format !== 'table' && values.format !== 'json') {
    throw new UsageError(`--format must be table or json, got "${values.format}"`);
  }
  const kind = dynamoDbKind(values.dynamodb);
  const concurrency = integerOption('concurrency', values.concurrency, 1, 256) ?? 4;
  const deliveries = integerOption('deliveries', values.deliveries, 1, 10) ?? 1;
  const seed = integerOption('seed', values.seed, 0, 2 ** 31) ?? randomInt(2 ** 31);
  const suppression = integerOption('suppression-minutes', values['suppression-minutes'], 0, 10_080);
  const settings = await settingsFromOptions(values);
  const files = await listLocalFiles(positionals.length > 0 ? positionals : defaultPaths);

  const environment = await startLocalEnvironment(kind);
  try {
    if (values.serve) {
      await uploadFiles(environment, files);
      io.stdout.write(serveBanner(environment, files));
      await serveUntil();
      const alerts = publishedAlerts(environment.recorder.published());
      io.stdout.write(values.format === 'json' ? alertsAsJsonLines(alerts) : alertsAsText(alerts));
      io.stderr.write(`local: stopped; ${alerts.length} alert(s) published while serving\n`);
      return 0;
    }
    const runSettings = {
      ...settings,
      ...(suppression === undefined ? {} : { suppressionMs: suppression * 60_000 }),
    };
    const report = await deliverNotifications(environment, files, runSettings, {
      concurrency,
      deliveries,
      seed,
    });
    const alerts = publishedAlerts(environment.recorder.published());
    io.stdout.write(values.format === 'json' ? alertsAsJsonLines(alerts) : alertsAsText(alerts));
    io.stderr.write(summary(kind, report, alerts.length, { concurrency, deliveries, seed }));
    return report.failedInvocations > 0 ? 1 : 0;
  } finally {
    await environment.stop();
  }
}

/** Resolves on the first Ctrl-C (SIGINT) or SIGTERM. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in its legacy provider:
 * without it, a listing of more than 1,000 keys under one prefix fails on the stand-in (never on S3).
 */
export function s3StandInCanPage(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

const DAY_FOLDER = /\/CloudTrail\/[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\//;

/** What `--serve` prints: where the stand-ins listen, the environment to export, and a backfill to try. */
function serveBanner(environment: LocalEnvironment, files: readonly LocalFile[]): string {
  const days = files
    .flatMap((file) => {
      const match = DAY_FOLDER.exec(`/${file.relativePath}`);
      return match === null ? [] : [`${match[1]}-${match[2]}-${match[3]}`];
    })
    .sort();
  const exports = Object.entries(environment.env).map(([name, value]) => `export ${name}=${value}`);
  const lines = [
    `regionsweep local: stand-ins running (${environment.dynamodbKind}, s3rver, SNS recorder); Ctrl-C stops them`,
    `  S3:        ${environment.endpoints.s3}  bucket ${environment.bucket} (${files.length} object(s) uploaded)`,
    `  DynamoDB:  ${environment.endpoints.dynamodb}  table ${environment.tableName}`,
    `  SNS:       ${environment.endpoints.sns}  topic ${environment.topicArn}`,
    '',
    '# in another shell:',
    ...exports,
    ...(days.length === 0
      ? []
      : [
          `npx regionsweep backfill --bucket ${environment.bucket} --table ${environment.tableName} ` +
            `--topic-arn ${environment.topicArn} --start ${days[0]} --end ${days[days.length - 1]}`,
        ]),
    ...(s3StandInCanPage()
      ? []
      : [
          '# note: listings of more than 1,000 keys per folder need this process started with',
          '# NODE_OPTIONS=--openssl-legacy-provider (s3rver signs continuation tokens with DES)',
        ]),
    '',
  ];
  return lines.join('\n');
}

function dynamoDbKind(option: string | undefined): 'dynamodb-local' | 'dynalite' {
  if (option === undefined) return javaAvailable() ? 'dynamodb-local' : 'dynalite';
  if (option === 'local') {
    if (!javaAvailable())
      throw new UsageError('--dynamodb local needs Java 17 or later on the PATH; use --dynamodb dynalite');
    return 'dynamodb-local';
  }
  if (option === 'dynalite') return 'dynalite';
  throw new UsageError(`--dynamodb must be local or dynalite, got "${option}"`);
}

function alertsAsJsonLines(alerts: readonly PublishedAlert[]): string {
  return alerts
    .map(({ finding, subject, email, slack, attributes, deliveries }) => {
      const { arn, windowStart, distinctCount, eventCount, distinctValues } = finding;
      return `${JSON.stringify({
        arn,
        windowStart,
        distinctCount,
        eventCount,
        distinctValues,
        subject,
        finding,
        attributes,
        email,
        slack,
        deliveries: deliveriesByProtocol(deliveries),
      })}\n`;
    })
    .join('');
}

/**
 * What each subscriber kind received, keyed by protocol (the local topic has one subscription of each): a JSON
 * body (envelope, Lambda event, raw document) as its value, any other body (an email) as its text.
 */
function deliveriesByProtocol(deliveries: readonly Delivery[]): Record<string, unknown> {
  return Object.fromEntries(
    deliveries.map(
      ({ protocol, endpoint, rawMessageDelivery, subject, headers, messageAttributes, body }) => [
        protocol,
        {
          endpoint,
          rawMessageDelivery,
          ...(protocol === 'email' ? { subject } : {}),
          ...(headers === undefined ? {} : { headers }),
          ...(messageAttributes === undefined ? {} : { messageAttributes }),
          body: protocol === 'email' ? body : JSON.parse(body),
        },
      ],
    ),
  );
}

function alertsAsText(alerts: readonly PublishedAlert[]): string {
  if (alerts.length === 0) return 'No alerts published.\n';
  const lines = (text: string) => text.split('\n').map(printable).join('\n');
  return alerts
    .map((alert) => `=== SNS alert: ${printable(alert.subject)}\n${lines(alert.email)}\n`)
    .join('\n');
}

function summary(
  kind: string,
  report: DeliveryReport,
  alerts: number,
  options: { concurrency: number; deliveries: number; seed: number },
): string {
  return (
    `local: ${kind === 'dynamodb-local' ? 'DynamoDB Local' : 'dynalite'}, s3rver, SNS recorder; ` +
    `${report.objects} objects uploaded, ${report.notifications} notifications delivered ` +
    `(${options.deliveries} per object, concurrency ${options.concurrency}, seed ${options.seed}); ` +
    `${report.retriedInvocations} retried, ${report.failedInvocations} failed after retries; ${alerts} alert(s) published\n`
  );
}
