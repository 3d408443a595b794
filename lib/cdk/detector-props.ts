/**
 * What the `RegionSweepDetector` construct is given, and the checks that turn props which cannot describe a
 * working deployment into a synth error naming the prop (never a deployment that fails on every invocation).
 */
import type { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Token } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { ENV, loadPipelineSettings, SNS_TOPIC_ARN } from '../../lambda/config';
import type { Allowlist } from '../../lambda/domain/detection/allowlist';
import type { RuleDefinition, WindowMode } from '../../lambda/domain/detection/rule';
import { refuseUnreachableDelivery } from './delivery-reach';
import { RegionSweepDetectorPropsError } from './errors';
import { functionEnvironment } from './function-environment';

/** How object-created notifications reach the function. */
export type DeliveryMode = 's3' | 'eventbridge' | 'sns';

/**
 * A Slack channel that receives every alert through Amazon Q Developer in chat applications (formerly AWS
 * Chatbot; https://docs.aws.amazon.com/chatbot/latest/adminguide/service-rename.html), with the workspace
 * already authorised in its console. CloudFormation still names the resource `AWS::Chatbot::...`.
 */
export interface SlackChannel {
  /** The Slack workspace (team) id, e.g. `T0123ABCD`. */
  readonly workspaceId: string;
  /** The Slack channel id, e.g. `C0123ABCD`. */
  readonly channelId: string;
}

/** Properties of `RegionSweepDetector`. Exactly one of `existingBucketName` / `createDemoBucket`. */
export interface RegionSweepDetectorProps {
  /** Name of the bucket CloudTrail already delivers to (imported, never modified except for notifications). */
  readonly existingBucketName?: string;
  /** Creates an empty, encrypted, TLS-only bucket instead (a fresh clone synthesizes and deploys without input). */
  readonly createDemoBucket?: boolean;
  /** ARN of the KMS key the trail encrypts log objects with; `kms:Decrypt` is granted only when given. */
  readonly kmsKeyArn?: string;
  /**
   * The trail's S3 key prefix (what comes before `AWSLogs/`), with or without the trailing `/`.
   * @default - none: objects live under `AWSLogs/`
   */
  readonly keyPrefix?: string;
  /**
   * How notifications reach the function.
   * - `s3`: a bucket notification invokes the function directly (the bucket must have no overlapping
   *   object-created notification on the same prefix; S3 rejects overlaps).
   * - `eventbridge`: turns on EventBridge delivery for the bucket and routes Object Created events through a rule.
   * - `sns`: subscribes a queue to `notificationTopicArn`, a topic that already receives the bucket's notifications.
   * @default 's3'
   */
  readonly deliveryMode?: DeliveryMode;
  /** Topic that already receives the bucket's object-created notifications; required for (and only for) `sns`. */
  readonly notificationTopicArn?: string;
  /** Optional SNS subscription filter on the message body (`sns` mode), e.g. on `Records.s3.object.key`. */
  readonly notificationFilter?: { readonly [attribute: string]: sns.FilterOrPolicy };
  /** Account id that must own the bucket; the function passes it as `ExpectedBucketOwner` on every read. */
  readonly expectedBucketOwner?: string;
  /**
   * Built-in rules to enable, by slug or id (see `regionsweep rules`).
   * @default ['ec2-multi-region-describe-instances'] - unless `customRules` are given, then only those
   */
  readonly rules?: readonly string[];
  /** Your own rule definitions (checked at synth), enabled in addition to `rules`. @default - none */
  readonly customRules?: readonly RuleDefinition[];
  /**
   * Enabled rules (slugs or ids) run as building blocks: their findings are kept, counted and fed to
   * correlations (such as `discovery-campaign` in `rules`), never published. @default - none
   */
  readonly buildingBlocks?: readonly string[];
  /** `hopping` also counts every event in windows offset by half a window, for every rule. @default 'tumbling' */
  readonly windowMode?: WindowMode;
  /** EC2 rule: distinct regions needed to fire. @default 10 (Elastic) */
  readonly minRegions?: number;
  /** EC2 rule: events needed to fire. @default 10 (Elastic) */
  readonly minEvents?: number;
  /** EC2 rule: window length in seconds. @default 30 (Elastic) */
  readonly windowSeconds?: number;
  /**
   * Days window items are kept (after the later of the window's end and its last write) before TTL removes
   * them; at least 15, so that a replay of anything the 14-day queues still hold finds its windows. @default 15
   */
  readonly retentionDays?: number;
  /** Alerts per identity at most once per this many minutes. @default 0 (every window alerts, as Elastic) */
  readonly suppressionMinutes?: number;
  /**
   * Seconds one invocation holds the right to publish a window's alert: 62 to 150 (twice the longest
   * publish, and at most half the function's time-out, so a replay can wait it out). @default 120
   */
  readonly alertLeaseSeconds?: number;
  /** Callers never counted. @default - none */
  readonly allowlist?: Partial<Allowlist>;
  /** Per-object reader limits (poison-object guards). @default - the reader's built-in limits */
  readonly readerLimits?: {
    readonly maxDecompressedBytes?: number;
    readonly maxRecordBytes?: number;
    readonly maxRecords?: number;
  };
  /** Email addresses subscribed to the alert topic (each must confirm the subscription). */
  readonly alertEmails?: readonly string[];
  /** Slack channel for alerts through Amazon Q Developer in chat applications. @default - none */
  readonly slack?: SlackChannel;
  /** Topic for operational alarms. @default - the alert topic */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Silence after which the deaf-detector alarm fires: no log object processed for this long (whole
   * minutes, 5 to 1440). Missing data counts as silence.
   * @default Duration.minutes(30)
   */
  readonly deafAlarmPeriod?: Duration;
  /** Name of the operator's CloudWatch dashboard. @default - a name CloudFormation generates */
  readonly dashboardName?: string;
  /** Function memory; a 50 MB gzip object decompresses to several hundred MB of JSON. @default 1024 */
  readonly memorySize?: number;
  /**
   * Most concurrent invocations the backfill queue may drive (the SQS event source's `maxConcurrency`,
   * 2 to 1000), so a backfill cannot starve live processing of the function's concurrency.
   * @default 5
   */
  readonly backfillConcurrency?: number;
  /** Reserved concurrency, to protect the account's pool or cap DynamoDB load. @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** Retention of the function's log group. @default ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Encryption key for the window table. @default - AWS managed key */
  readonly tableEncryptionKey?: kms.IKey;
  /** What happens to the window table when the stack is deleted. @default RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

/** Default `maxConcurrency` of the backfill event source. */
export const DEFAULT_BACKFILL_CONCURRENCY = 5;

/** Shapes the props are checked against (shared with the app's context parsing). */
export const PROP_PATTERNS = {
  bucketName: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  kmsKeyArn: /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[a-zA-Z0-9-]+$/,
  snsTopicArn: SNS_TOPIC_ARN,
  accountId: /^\d{12}$/,
  email: /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/,
} as const;

/**
 * Throws {@link RegionSweepDetectorPropsError} (or `UnreachableDeliveryError`) for props that cannot
 * describe a working deployment in `stack`; the message names the prop.
 */
export function validateDetectorProps(props: RegionSweepDetectorProps, stack: Stack): void {
  const mode = props.deliveryMode ?? 's3';
  validateProps(props, mode, stack.region);
  refuseUnreachableDelivery(mode, props.expectedBucketOwner, stack.account);
}

function validateProps(props: RegionSweepDetectorProps, mode: DeliveryMode, stackRegion: string): void {
  const fail = (message: string): never => {
    throw new RegionSweepDetectorPropsError(message);
  };
  const hasBucket = props.existingBucketName !== undefined;
  if (hasBucket === (props.createDemoBucket === true)) {
    fail('Give exactly one of existingBucketName and createDemoBucket');
  }
  if (hasBucket && !Token.isUnresolved(props.existingBucketName)) {
    if (!PROP_PATTERNS.bucketName.test(props.existingBucketName ?? '')) {
      fail(`existingBucketName is not a valid S3 bucket name: ${props.existingBucketName}`);
    }
  }
  if (props.kmsKeyArn !== undefined && !PROP_PATTERNS.kmsKeyArn.test(props.kmsKeyArn)) {
    fail(`kmsKeyArn is not a KMS key ARN: ${props.kmsKeyArn}`);
  }
  requireStackRegion('kmsKeyArn', props.kmsKeyArn, stackRegion, fail);
  if (props.keyPrefix !== undefined && (props.keyPrefix.startsWith('/') || props.keyPrefix.includes('*'))) {
    fail(`keyPrefix must not start with "/" or contain "*": ${props.keyPrefix}`);
  }
  if (mode === 'sns') {
    if (props.notificationTopicArn === undefined) fail('deliveryMode "sns" needs notificationTopicArn');
    if (!PROP_PATTERNS.snsTopicArn.test(props.notificationTopicArn ?? '')) {
      fail(`notificationTopicArn is not an SNS topic ARN: ${props.notificationTopicArn}`);
    }
    if (props.createDemoBucket) {
      fail(
        'deliveryMode "sns" reads an existing topic fed by an existing bucket; it cannot use createDemoBucket',
      );
    }
    requireStackRegion('notificationTopicArn', props.notificationTopicArn, stackRegion, fail);
  } else if (props.notificationTopicArn !== undefined || props.notificationFilter !== undefined) {
    fail(`notificationTopicArn and notificationFilter apply only to deliveryMode "sns", not "${mode}"`);
  }
  if (props.expectedBucketOwner !== undefined && !PROP_PATTERNS.accountId.test(props.expectedBucketOwner)) {
    fail(`expectedBucketOwner must be a 12-digit account id: ${props.expectedBucketOwner}`);
  }
  const badEmail = props.alertEmails?.find((email) => !PROP_PATTERNS.email.test(email));
  if (badEmail !== undefined) fail(`alertEmails contains an invalid address: "${badEmail}"`);
  if (props.memorySize !== undefined && (props.memorySize < 512 || props.memorySize > 10_240)) {
    fail(`memorySize must be 512 to 10240 MB, got ${props.memorySize}`);
  }
  const backfill = props.backfillConcurrency;
  if (backfill !== undefined && !(Number.isInteger(backfill) && backfill >= 2 && backfill <= 1000)) {
    fail(`backfillConcurrency must be a whole number from 2 to 1000 (SQS maxConcurrency), got ${backfill}`);
  }
  if (props.reservedConcurrentExecutions !== undefined && !(props.reservedConcurrentExecutions >= 1)) {
    fail(`reservedConcurrentExecutions must be at least 1, got ${props.reservedConcurrentExecutions}`);
  }
  // Receives beyond the reserved concurrency are throttled yet still counted: backfill messages would reach
  // their dead-letter queue without ever running.
  const backfillCeiling = backfill ?? DEFAULT_BACKFILL_CONCURRENCY;
  if (
    props.reservedConcurrentExecutions !== undefined &&
    backfillCeiling > props.reservedConcurrentExecutions
  ) {
    fail(
      `backfillConcurrency (${backfillCeiling}) must not exceed reservedConcurrentExecutions ` +
        `(${props.reservedConcurrentExecutions})`,
    );
  }
  // The function parses the same variables at start: checking them here, with the function's own parser,
  // turns a deployment that would fail on every invocation into a synth error.
  const environment = functionEnvironment(props, TABLE_NAME_ALLOWANCE, TOPIC_ARN_ALLOWANCE);
  const environmentBytes = Object.entries(environment).reduce(
    (total, [name, value]) => total + Buffer.byteLength(name) + Buffer.byteLength(value),
    0,
  );
  if (environmentBytes > LAMBDA_ENVIRONMENT_LIMIT) {
    fail(
      `the function's environment would take about ${environmentBytes} bytes, over Lambda's ` +
        `${LAMBDA_ENVIRONMENT_LIMIT}: shorten customRules (they travel in ${ENV.customRules}) or the allowlist`,
    );
  }
  try {
    loadPipelineSettings(environment);
  } catch (error) {
    throw new RegionSweepDetectorPropsError(
      `Invalid detector settings: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Lambda's limit on all environment variables of a function together (names and values, in bytes). */
const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** Stand-ins as long as the longest table name and topic ARN the stack can get, for the size check. */
const TABLE_NAME_ALLOWANCE = 't'.repeat(255);
const TOPIC_ARN_ALLOWANCE = `arn:aws-us-gov:sns:us-gov-west-1:000000000000:${'t'.repeat(256)}`;

/**
 * The bucket's key and notification topic must live in the stack's region: S3 decrypts through KMS only in
 * the bucket's region (`kms:ViaService`), and the function reads the bucket from its own region. Checked
 * only when the stack's region is known at synth (an environment-agnostic stack cannot be checked).
 */
function requireStackRegion(
  name: string,
  arn: string | undefined,
  stackRegion: string,
  fail: (message: string) => never,
): void {
  if (arn === undefined || Token.isUnresolved(stackRegion)) return;
  const region = arn.split(':')[3];
  if (region !== undefined && region !== stackRegion) {
    fail(
      `${name} is in ${region} but the stack deploys to ${stackRegion}: deploy the stack in the bucket's region`,
    );
  }
}
