import { type Allowlist, EMPTY_ALLOWLIST, parseAllowlist } from './domain/allowlist';
import {
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  parseRuleDefinitions,
  selectRules,
} from './domain/built-in-rules';
import { ConfigError } from './domain/errors';
import { MAX_WINDOW_SECONDS, type RuleDefinition, type WindowMode, withOverrides } from './domain/rule';
import { DEFAULT_STATE_LIMITS, type StateLimits } from './domain/window-state';

/**
 * The function's environment contract: every variable the CDK construct sets and the handler reads.
 * Names are exported so the construct and `regionsweep local` use the same spelling.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  topicArn: 'TOPIC_ARN',
  expectedBucketOwner: 'EXPECTED_BUCKET_OWNER',
  minRegions: 'MIN_REGIONS',
  minEvents: 'MIN_EVENTS',
  windowSeconds: 'WINDOW_SECONDS',
  windowMode: 'WINDOW_MODE',
  rules: 'RULES',
  customRules: 'CUSTOM_RULES_JSON',
  retentionDays: 'RETENTION_DAYS',
  alertLeaseSeconds: 'ALERT_LEASE_SECONDS',
  suppressionMinutes: 'SUPPRESSION_MINUTES',
  allowlist: 'ALLOWLIST_JSON',
  maxDecompressedBytes: 'MAX_DECOMPRESSED_BYTES',
  maxRecordBytes: 'MAX_RECORD_BYTES',
  maxRecords: 'MAX_RECORDS',
} as const;

/**
 * How long the function may run (the construct sets it): the longest object read, a replay's wait for a
 * live alert claim, and the publish must fit in it.
 */
export const FUNCTION_TIMEOUT_SECONDS = 300;

/** SNS Publish: each attempt is cut at this time-out (see the handler's client), and the SDK makes this many. */
export const SNS_REQUEST_TIMEOUT_MS = 10_000;
export const SNS_MAX_ATTEMPTS = 3;
/**
 * The longest one publish can take: every attempt timing out, plus the SDK's backoff between attempts (the
 * standard retry strategy waits at most 100 ms x 2^attempt before the second and third: under 1 s).
 */
export const PUBLISH_TIMEOUT_MS = SNS_MAX_ATTEMPTS * SNS_REQUEST_TIMEOUT_MS + 1_000;

/**
 * An alert claim's lease must outlast the publish it guards, twice over: hopping windows keep half of the
 * lease for publishing (the other half may go to waiting for a neighbour's half-slot), and a lease that runs
 * out while its holder still publishes lets a replay claim and publish too.
 */
export const MIN_ALERT_LEASE_SECONDS = (2 * PUBLISH_TIMEOUT_MS) / 1000;
/**
 * A replay that meets a live claim waits the lease out within its own invocation, then claims and publishes:
 * the lease may take at most half the function's time, the rest stays for reading the object and publishing.
 * A longer lease could never be waited out, and the retries would time out one after the other.
 */
export const MAX_ALERT_LEASE_SECONDS = FUNCTION_TIMEOUT_SECONDS / 2;

/**
 * Days the failure queue, the delivery queue (`sns` mode) and the dead-letter queues keep a message: SQS's
 * maximum, so that an operator has two weeks to fix a cause before replaying. A dead-letter queue keeps a
 * message's first enqueue time, so 14 days bound every queued path
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 */
export const QUEUE_RETENTION_DAYS = 14;
/**
 * Window items must outlive every replay of a failed object, or the replay would count its windows afresh
 * and alert again: the queues' 14 days, plus one day for the asynchronous retries (at most 6 hours of event
 * age) and CloudTrail's delivery delay. Retention is counted from the later of the window's end and its last
 * write.
 */
export const MIN_RETENTION_DAYS = QUEUE_RETENTION_DAYS + 1;

const RETENTION_WHY =
  `window items must outlive the ${QUEUE_RETENTION_DAYS} days the failure queue keeps a message, or its ` +
  'replay counts the windows afresh and alerts again';
const LEASE_WHY =
  `an alert claim must outlast twice the longest publish (${PUBLISH_TIMEOUT_MS / 1000} s), and a replay must ` +
  `be able to wait it out within half the function's ${FUNCTION_TIMEOUT_SECONDS} s time-out`;

/** Everything the pipeline needs to process objects, parsed once at start. */
export interface PipelineSettings {
  /** The enabled rules, each evaluated on every object (which is read once whatever their number). */
  readonly rules: readonly RuleDefinition[];
  readonly allowlist: Allowlist;
  readonly limits: StateLimits;
  readonly retentionSeconds: number;
  readonly alertLeaseMs: number;
  /** 0 = no suppression (Elastic parity): every window that fires alerts. */
  readonly suppressionMs: number;
  readonly reader: {
    readonly maxDecompressedBytes?: number;
    readonly maxRecordBytes?: number;
    readonly maxRecords?: number;
  };
}

export interface HandlerConfig extends PipelineSettings {
  readonly tableName: string;
  readonly topicArn: string;
  readonly expectedBucketOwner?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the function's environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): HandlerConfig {
  const tableName = required(env, ENV.tableName);
  const topicArn = required(env, ENV.topicArn);
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(topicArn)) {
    throw new ConfigError(`${ENV.topicArn} is not an SNS topic ARN: ${topicArn}`);
  }
  const owner = optional(env, ENV.expectedBucketOwner);
  if (owner !== undefined && !/^\d{12}$/.test(owner)) {
    throw new ConfigError(`${ENV.expectedBucketOwner} must be a 12-digit account id, got ${owner}`);
  }
  return {
    tableName,
    topicArn,
    ...(owner === undefined ? {} : { expectedBucketOwner: owner }),
    ...loadPipelineSettings(env),
  };
}

/** The settings shared by the handler, `local` and `backfill`: defaults give Elastic parity. */
export function loadPipelineSettings(env: Env): PipelineSettings {
  const customJson = optional(env, ENV.customRules);
  const custom = customJson === undefined ? [] : parseRuleDefinitions(customJson, ENV.customRules);
  const selection = (optional(env, ENV.rules) ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  // MIN_REGIONS, MIN_EVENTS and WINDOW_SECONDS tune the EC2 rule (they predate the rule family);
  // WINDOW_MODE applies to every enabled rule.
  const ec2Overrides = {
    minDistinct: integer(env, ENV.minRegions, 1, 64),
    minEvents: integer(env, ENV.minEvents, 1, 1_000_000),
    windowSeconds: integer(env, ENV.windowSeconds, 1, MAX_WINDOW_SECONDS),
  };
  const windowMode = windowModeOf(env);
  const rules = selectRules(selection, custom).map((rule) =>
    withOverrides(rule, {
      ...(rule.id === EC2_MULTI_REGION_DESCRIBE_INSTANCES.id ? ec2Overrides : {}),
      ...(windowMode === undefined ? {} : { windowMode }),
    }),
  );
  const allowlistJson = optional(env, ENV.allowlist);
  return {
    rules,
    allowlist: allowlistJson === undefined ? EMPTY_ALLOWLIST : parseAllowlist(allowlistJson, ENV.allowlist),
    limits: DEFAULT_STATE_LIMITS,
    retentionSeconds:
      (integer(env, ENV.retentionDays, MIN_RETENTION_DAYS, 365, RETENTION_WHY) ?? MIN_RETENTION_DAYS) *
      86_400,
    alertLeaseMs:
      (integer(env, ENV.alertLeaseSeconds, MIN_ALERT_LEASE_SECONDS, MAX_ALERT_LEASE_SECONDS, LEASE_WHY) ??
        120) * 1000,
    suppressionMs: (integer(env, ENV.suppressionMinutes, 0, 10_080) ?? 0) * 60_000,
    reader: {
      maxDecompressedBytes: integer(env, ENV.maxDecompressedBytes, 1024, 2 ** 40),
      maxRecordBytes: integer(env, ENV.maxRecordBytes, 1024, 2 ** 30),
      maxRecords: integer(env, ENV.maxRecords, 1, 100_000_000),
    },
  };
}

/**
 * The environment that makes `loadPipelineSettings` give back `settings` (for `regionsweep local`, which runs
 * the real handler): the enabled rules travel whole, with any overrides already applied.
 */
export function settingsEnvironment(settings: PipelineSettings): Record<string, string> {
  const { maxDecompressedBytes, maxRecordBytes, maxRecords } = settings.reader;
  return {
    [ENV.customRules]: JSON.stringify(settings.rules),
    [ENV.allowlist]: JSON.stringify(settings.allowlist),
    [ENV.suppressionMinutes]: String(settings.suppressionMs / 60_000),
    [ENV.alertLeaseSeconds]: String(settings.alertLeaseMs / 1000),
    [ENV.retentionDays]: String(settings.retentionSeconds / 86_400),
    ...(maxDecompressedBytes === undefined
      ? {}
      : { [ENV.maxDecompressedBytes]: String(maxDecompressedBytes) }),
    ...(maxRecordBytes === undefined ? {} : { [ENV.maxRecordBytes]: String(maxRecordBytes) }),
    ...(maxRecords === undefined ? {} : { [ENV.maxRecords]: String(maxRecords) }),
  };
}

function windowModeOf(env: Env): WindowMode | undefined {
  const mode = optional(env, ENV.windowMode);
  if (mode === undefined || mode === 'tumbling' || mode === 'hopping') return mode;
  throw new ConfigError(`${ENV.windowMode} must be tumbling or hopping, got "${mode}"`);
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(`${name} must be set`);
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The whole number in `name`, from `min` to `max`; `why` says why the range is what it is. */
function integer(env: Env, name: string, min: number, max: number, why?: string): number | undefined {
  const text = optional(env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    const reason = why === undefined ? '' : `: ${why}`;
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${text}"${reason}`);
  }
  return value;
}
