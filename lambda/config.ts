import { type Allowlist, EMPTY_ALLOWLIST, parseAllowlist } from './domain/detection/allowlist';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES, selectRules } from './domain/detection/built-in-rules';
import {
  isWindowMode,
  MAX_WINDOW_SECONDS,
  type RuleDefinition,
  type WindowMode,
  windowModeMismatch,
  withOverrides,
} from './domain/detection/rule';
import { parseRuleDefinitions } from './domain/detection/rule-parser';
import { DEFAULT_STATE_LIMITS, type StateLimits } from './domain/detection/window-state';
import { ConfigError } from './domain/errors';

/**
 * The function's environment contract: every variable the CDK construct sets and the Lambda entry reads.
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
  buildingBlocks: 'BUILDING_BLOCKS',
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

/** SNS Publish: each attempt is cut at this time-out (see awsClients), and the SDK makes this many. */
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

/** An SNS topic ARN in any partition (the function's TOPIC_ARN and the construct's notificationTopicArn). */
export const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;

/** Parses the function's environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): HandlerConfig {
  const tableName = required(env, ENV.tableName);
  const topicArn = required(env, ENV.topicArn);
  if (!SNS_TOPIC_ARN.test(topicArn)) {
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

/**
 * The rule and noise choices, typed: what the function's variables or the CLI's options say. Left out:
 * the default (Elastic parity).
 */
export interface SettingsChoices {
  /** Built-in rules to enable, by slug (none and no custom rule: the EC2 rule). */
  readonly rules?: readonly string[];
  /** User rule definitions, already checked; enabled too. */
  readonly customRules?: readonly RuleDefinition[];
  /** Enabled rules (slugs or ids) whose findings are kept and counted but never published. */
  readonly buildingBlocks?: readonly string[];
  /** Overrides of the EC2 rule (they predate the rule family). */
  readonly ec2?: {
    readonly minDistinct?: number;
    readonly minEvents?: number;
    readonly windowSeconds?: number;
  };
  /** Applies to every enabled rule but those alerting per event (see pipelineSettings). */
  readonly windowMode?: WindowMode;
  readonly allowlist?: Allowlist;
  readonly retentionDays?: number;
  readonly alertLeaseSeconds?: number;
  readonly suppressionMinutes?: number;
  readonly reader?: PipelineSettings['reader'];
}

/** The settings for `choices`: the rules with their overrides applied, and every default filled in. */
export function pipelineSettings(choices: SettingsChoices): PipelineSettings {
  const { windowMode, ec2 = {} } = choices;
  const selected = selectRules(choices.rules ?? [], choices.customRules ?? [], choices.buildingBlocks ?? []);
  const rules = selected.map((rule) =>
    withOverrides(rule, {
      ...(rule.id === EC2_MULTI_REGION_DESCRIBE_INSTANCES.id ? ec2 : {}),
      // A rule alerting per event (a Sigma detection rule) has no burst that could straddle a window
      // boundary; hopping would only put its one event in a second, overlapping window and alert twice.
      ...(windowMode === undefined || rule.presentation?.perEvent === true ? {} : { windowMode }),
    }),
  );
  return {
    rules,
    allowlist: choices.allowlist ?? EMPTY_ALLOWLIST,
    limits: DEFAULT_STATE_LIMITS,
    retentionSeconds: (choices.retentionDays ?? MIN_RETENTION_DAYS) * 86_400,
    alertLeaseMs: (choices.alertLeaseSeconds ?? 120) * 1000,
    suppressionMs: (choices.suppressionMinutes ?? 0) * 60_000,
    reader: choices.reader ?? {},
  };
}

/** The slugs of a comma-separated rule selection (`RULES`, `--rules`). */
export function ruleSelection(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * The rule and noise settings from the function's variables (loadConfig's part; the construct checks its
 * environment with it at synth, and `{}` gives the defaults).
 */
export function loadPipelineSettings(env: Env): PipelineSettings {
  const customJson = optional(env, ENV.customRules);
  const allowlistJson = optional(env, ENV.allowlist);
  return pipelineSettings({
    rules: ruleSelection(optional(env, ENV.rules)),
    customRules: customJson === undefined ? undefined : parseRuleDefinitions(customJson, ENV.customRules),
    buildingBlocks: ruleSelection(optional(env, ENV.buildingBlocks)),
    ec2: {
      minDistinct: integer(env, ENV.minRegions, 1, 64),
      minEvents: integer(env, ENV.minEvents, 1, 1_000_000),
      windowSeconds: integer(env, ENV.windowSeconds, 1, MAX_WINDOW_SECONDS),
    },
    windowMode: windowModeOf(env),
    allowlist: allowlistJson === undefined ? undefined : parseAllowlist(allowlistJson, ENV.allowlist),
    retentionDays: integer(env, ENV.retentionDays, MIN_RETENTION_DAYS, 365, RETENTION_WHY),
    alertLeaseSeconds: integer(
      env,
      ENV.alertLeaseSeconds,
      MIN_ALERT_LEASE_SECONDS,
      MAX_ALERT_LEASE_SECONDS,
      LEASE_WHY,
    ),
    suppressionMinutes: integer(env, ENV.suppressionMinutes, 0, 10_080),
    reader: {
      maxDecompressedBytes: integer(env, ENV.maxDecompressedBytes, 1024, 2 ** 40),
      maxRecordBytes: integer(env, ENV.maxRecordBytes, 1024, 2 ** 30),
      maxRecords: integer(env, ENV.maxRecords, 1, 100_000_000),
    },
  });
}

function windowModeOf(env: Env): WindowMode | undefined {
  const mode = optional(env, ENV.windowMode);
  if (mode === undefined || isWindowMode(mode)) return mode;
  throw new ConfigError(`${ENV.windowMode} ${windowModeMismatch(mode)}`);
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
