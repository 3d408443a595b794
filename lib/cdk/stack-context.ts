import { Duration } from 'aws-cdk-lib';
import { MIN_RETENTION_DAYS } from '../../lambda/config';
import { definedOnly } from '../../lambda/domain/defined-only';
import { parseAllowlist } from '../../lambda/domain/detection/allowlist';
import { isWindowMode, type WindowMode, windowModeMismatch } from '../../lambda/domain/detection/rule';
import { DEAF_ALARM_MINUTES } from './deaf-detector-alarm';
import { type DeliveryMode, PROP_PATTERNS, type RegionSweepDetectorProps } from './detector-props';
import { StackContextError } from './errors';

/**
 * CDK context keys the app reads (`npx cdk synth -c key=value`, or `context` in cdk.json).
 * With no context at all the app builds a demo bucket (`createDemoBucket` defaults to true when
 * `bucketName` is absent), so a fresh clone synthesizes offline.
 */
export const CONTEXT_KEYS = {
  /** Existing trail bucket to import. Mutually exclusive with `createDemoBucket`. */
  bucketName: 'bucketName',
  /** `true` creates an empty demo bucket. Default: true when `bucketName` is absent, else false. */
  createDemoBucket: 'createDemoBucket',
  /** KMS key ARN the trail encrypts objects with. Default: none (SSE-S3). */
  kmsKeyArn: 'kmsKeyArn',
  /** The trail's S3 key prefix, before `AWSLogs/`. Default: none. */
  keyPrefix: 'keyPrefix',
  /** `s3` | `eventbridge` | `sns`. Default: `s3`. */
  deliveryMode: 'deliveryMode',
  /** Topic that receives the bucket's notifications; required for `sns`, rejected otherwise. */
  notificationTopicArn: 'notificationTopicArn',
  /** 12-digit account id that must own the bucket. Default: not checked. */
  expectedBucketOwner: 'expectedBucketOwner',
  /** Comma-separated email addresses (or a list in cdk.json). Default: none. */
  alertEmails: 'alertEmails',
  /** Slack workspace id (Amazon Q Developer in chat applications); needs `slackChannelId`. Default: no Slack. */
  slackWorkspaceId: 'slackWorkspaceId',
  /** Slack channel id (Amazon Q Developer in chat applications); needs `slackWorkspaceId`. Default: no Slack. */
  slackChannelId: 'slackChannelId',
  /** Built-in rules to enable: comma-separated slugs (or a list in cdk.json). Default: the EC2 rule. */
  rules: 'rules',
  /** Enabled rules run as building blocks (kept, counted, fed to correlations, never published). Default: none. */
  buildingBlocks: 'buildingBlocks',
  /** Your own rule files, JSON, Sigma YAML or TypeScript: comma-separated paths (or a list). Default: none. */
  ruleFiles: 'ruleFiles',
  /** `tumbling` (Elastic parity) or `hopping` (also half-offset windows). Default: tumbling. */
  windowMode: 'windowMode',
  /** EC2 rule: distinct regions to fire. Default: 10. */
  minRegions: 'minRegions',
  /** EC2 rule: events to fire. Default: 10. */
  minEvents: 'minEvents',
  /** EC2 rule: window length in seconds. Default: 30. */
  windowSeconds: 'windowSeconds',
  /** Days window state is kept. Default: 7. */
  retentionDays: 'retentionDays',
  /** One alert per identity per this many minutes. Default: 0 (no suppression, as Elastic). */
  suppressionMinutes: 'suppressionMinutes',
  /** Most concurrent invocations the backfill queue drives (2-1000). Default: 5. */
  backfillConcurrency: 'backfillConcurrency',
  /** Reserved concurrency of the function. Default: unreserved. */
  reservedConcurrency: 'reservedConcurrency',
  /** Allowlist as JSON (`{"arns":[],"arnPatterns":[],"userAgentPatterns":[],"accounts":[],"identityTypes":[]}`). Default: none. */
  allowlist: 'allowlist',
  /** CloudFormation stack name. Default: `RegionSweep`. */
  stackName: 'stackName',
  /** Minutes without a processed object before the deaf-detector alarm fires (5-1440). Default: 30. */
  deafAlarmMinutes: 'deafAlarmMinutes',
  /** Organization layout: the security account the detector deploys to. Default: single stack. */
  securityAccount: 'securityAccount',
  /** Organization layout: the account that owns the trail's bucket (the log-archive account). */
  logArchiveAccount: 'logArchiveAccount',
  /** Organization layout: the Region of every stack (the bucket's). */
  region: 'region',
  /** Organization layout: the trail whose own SNS topic feeds the detector. Default: the bucket's notifications. */
  trailArn: 'trailArn',
} as const;

export type ContextKey = (typeof CONTEXT_KEYS)[keyof typeof CONTEXT_KEYS];

/** What the app builds: a stack name and the detector's props. */
export interface StackSettings {
  readonly stackName: string;
  readonly detector: RegionSweepDetectorProps;
  /** Rule definition files the app loads (they may be TypeScript) into the detector's `customRules`. */
  readonly ruleFiles: readonly string[];
}

/** Reads one context value (`node.tryGetContext`); CLI values arrive as strings, cdk.json values as JSON. */
export type ContextReader = (key: ContextKey) => unknown;

const DELIVERY_MODES: readonly DeliveryMode[] = ['s3', 'eventbridge', 'sns'];
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/**
 * Parses and validates the app's context; throws {@link StackContextError} naming the first bad key.
 * Absent and empty values are the same (so `-c keyPrefix=` means no prefix).
 */
export function parseStackContext(read: ContextReader): StackSettings {
  const bucketName = contextText(read, CONTEXT_KEYS.bucketName);
  const demoFlag = flag(read, CONTEXT_KEYS.createDemoBucket);
  if (bucketName !== undefined && demoFlag === true) {
    throw new StackContextError(CONTEXT_KEYS.createDemoBucket, 'cannot be true together with bucketName');
  }
  if (bucketName === undefined && demoFlag === false) {
    throw new StackContextError(CONTEXT_KEYS.bucketName, 'must be set when createDemoBucket is false');
  }
  if (bucketName !== undefined && !PROP_PATTERNS.bucketName.test(bucketName)) {
    throw new StackContextError(CONTEXT_KEYS.bucketName, `is not a valid S3 bucket name: ${bucketName}`);
  }

  const deliveryMode = contextText(read, CONTEXT_KEYS.deliveryMode) ?? 's3';
  if (!isDeliveryMode(deliveryMode)) {
    throw new StackContextError(
      CONTEXT_KEYS.deliveryMode,
      `must be one of ${DELIVERY_MODES.join(', ')}, got "${deliveryMode}"`,
    );
  }
  const notificationTopicArn = matching(
    read,
    CONTEXT_KEYS.notificationTopicArn,
    PROP_PATTERNS.snsTopicArn,
    'SNS topic ARN',
  );
  if (deliveryMode === 'sns' && notificationTopicArn === undefined) {
    throw new StackContextError(CONTEXT_KEYS.notificationTopicArn, 'is required when deliveryMode is sns');
  }
  if (deliveryMode !== 'sns' && notificationTopicArn !== undefined) {
    throw new StackContextError(
      CONTEXT_KEYS.notificationTopicArn,
      `applies only to deliveryMode sns, not ${deliveryMode}`,
    );
  }
  if (deliveryMode === 'sns' && bucketName === undefined) {
    throw new StackContextError(CONTEXT_KEYS.bucketName, 'is required when deliveryMode is sns');
  }

  const workspaceId = contextText(read, CONTEXT_KEYS.slackWorkspaceId);
  const channelId = contextText(read, CONTEXT_KEYS.slackChannelId);
  if ((workspaceId === undefined) !== (channelId === undefined)) {
    const missing = workspaceId === undefined ? CONTEXT_KEYS.slackWorkspaceId : CONTEXT_KEYS.slackChannelId;
    throw new StackContextError(missing, 'slackWorkspaceId and slackChannelId must be given together');
  }

  const stackName = contextText(read, CONTEXT_KEYS.stackName) ?? 'RegionSweep';
  if (!STACK_NAME.test(stackName)) {
    throw new StackContextError(
      CONTEXT_KEYS.stackName,
      `is not a valid CloudFormation stack name: ${stackName}`,
    );
  }

  const detector: RegionSweepDetectorProps = {
    ...(bucketName === undefined ? { createDemoBucket: true } : { existingBucketName: bucketName }),
    deliveryMode,
    kmsKeyArn: matching(read, CONTEXT_KEYS.kmsKeyArn, PROP_PATTERNS.kmsKeyArn, 'KMS key ARN'),
    keyPrefix: keyPrefix(read),
    notificationTopicArn,
    expectedBucketOwner: matching(
      read,
      CONTEXT_KEYS.expectedBucketOwner,
      PROP_PATTERNS.accountId,
      '12-digit account id',
    ),
    alertEmails: emails(read),
    slack: workspaceId === undefined || channelId === undefined ? undefined : { workspaceId, channelId },
    rules: list(read, CONTEXT_KEYS.rules),
    buildingBlocks: list(read, CONTEXT_KEYS.buildingBlocks),
    windowMode: windowMode(read),
    minRegions: wholeNumber(read, CONTEXT_KEYS.minRegions, 1),
    minEvents: wholeNumber(read, CONTEXT_KEYS.minEvents, 1),
    windowSeconds: wholeNumber(read, CONTEXT_KEYS.windowSeconds, 1),
    retentionDays: wholeNumber(read, CONTEXT_KEYS.retentionDays, MIN_RETENTION_DAYS),
    suppressionMinutes: wholeNumber(read, CONTEXT_KEYS.suppressionMinutes, 0),
    reservedConcurrentExecutions: wholeNumber(read, CONTEXT_KEYS.reservedConcurrency, 1),
    backfillConcurrency: wholeNumber(read, CONTEXT_KEYS.backfillConcurrency, 2),
    deafAlarmPeriod: minutes(wholeNumber(read, CONTEXT_KEYS.deafAlarmMinutes, DEAF_ALARM_MINUTES.min)),
    allowlist: allowlist(read),
  };
  return {
    stackName,
    // Absent keys dropped, so the props read as what the user actually set.
    detector: definedOnly(detector) as typeof detector,
    ruleFiles: list(read, CONTEXT_KEYS.ruleFiles) ?? [],
  };
}

/** A list given as comma-separated text (`-c rules=a,b`) or as a JSON array of strings (cdk.json). */
function list(read: ContextReader, key: ContextKey): string[] | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  const entries = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(entries) || entries.some((entry) => typeof entry !== 'string')) {
    throw new StackContextError(
      key,
      `must be comma-separated text or a list of strings, got ${JSON.stringify(value)}`,
    );
  }
  const names = (entries as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
  return names.length === 0 ? undefined : names;
}

function minutes(value: number | undefined): Duration | undefined {
  return value === undefined ? undefined : Duration.minutes(value);
}

function windowMode(read: ContextReader): WindowMode | undefined {
  const value = contextText(read, CONTEXT_KEYS.windowMode);
  if (value === undefined || isWindowMode(value)) return value;
  throw new StackContextError(CONTEXT_KEYS.windowMode, windowModeMismatch(value));
}

function isDeliveryMode(value: string): value is DeliveryMode {
  return (DELIVERY_MODES as readonly string[]).includes(value);
}

/** A context value as trimmed text; absent, null or blank reads as undefined, and a non-string throws. */
export function contextText(read: ContextReader, key: ContextKey): string | undefined {
  const value = read(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new StackContextError(key, `must be a string, got ${JSON.stringify(value)}`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function matching(read: ContextReader, key: ContextKey, pattern: RegExp, what: string): string | undefined {
  const value = contextText(read, key);
  if (value !== undefined && !pattern.test(value)) {
    throw new StackContextError(key, `is not a ${what}: ${value}`);
  }
  return value;
}

function flag(read: ContextReader, key: ContextKey): boolean | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new StackContextError(key, `must be true or false, got ${JSON.stringify(value)}`);
}

function wholeNumber(read: ContextReader, key: ContextKey, min: number): number | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  const wellFormed = typeof value === 'number' || (typeof value === 'string' && /^\s*\d+\s*$/.test(value));
  if (!wellFormed || !Number.isSafeInteger(number) || number < min) {
    throw new StackContextError(key, `must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return number;
}

function keyPrefix(read: ContextReader): string | undefined {
  const value = contextText(read, CONTEXT_KEYS.keyPrefix);
  if (value !== undefined && (value.startsWith('/') || value.includes('*'))) {
    throw new StackContextError(CONTEXT_KEYS.keyPrefix, `must not start with "/" or contain "*": ${value}`);
  }
  return value;
}

function emails(read: ContextReader): string[] | undefined {
  const value = read(CONTEXT_KEYS.alertEmails);
  if (value === undefined || value === null || value === '') return undefined;
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string')) {
    throw new StackContextError(
      CONTEXT_KEYS.alertEmails,
      'must be comma-separated addresses or a list of strings',
    );
  }
  const addresses = (list as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = addresses.find((address) => !PROP_PATTERNS.email.test(address));
  if (bad !== undefined)
    throw new StackContextError(CONTEXT_KEYS.alertEmails, `"${bad}" is not an email address`);
  return addresses.length === 0 ? undefined : addresses;
}

function allowlist(read: ContextReader): RegionSweepDetectorProps['allowlist'] {
  const value = read(CONTEXT_KEYS.allowlist);
  if (value === undefined || value === null || value === '') return undefined;
  const json = typeof value === 'string' ? value : JSON.stringify(value);
  try {
    return parseAllowlist(json, CONTEXT_KEYS.allowlist);
  } catch (error) {
    throw new StackContextError(
      CONTEXT_KEYS.allowlist,
      error instanceof Error ? error.message : String(error),
      {
        cause: error,
      },
    );
  }
}
