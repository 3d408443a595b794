import { type Allowlist, EMPTY_ALLOWLIST, parseAllowlist } from './domain/allowlist';
import {
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  parseRuleDefinitions,
  selectRules,
} from './domain/built-in-rules';
import { ConfigError } from './domain/errors';
import { type RuleDefinition, type WindowMode, withOverrides } from './domain/rule';
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
    windowSeconds: integer(env, ENV.windowSeconds, 1, 3600),
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
    retentionSeconds: (integer(env, ENV.retentionDays, 1, 365) ?? 7) * 86_400,
    alertLeaseMs: (integer(env, ENV.alertLeaseSeconds, 10, 3600) ?? 120) * 1000,
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

function integer(env: Env, name: string, min: number, max: number): number | undefined {
  const text = optional(env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
