import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WINDOW_TABLE_SCHEMA } from '../lambda/adapters/dynamodb/window-table-schema';
import {
  ENV,
  FUNCTION_TIMEOUT_SECONDS,
  loadPipelineSettings,
  QUEUE_RETENTION_DAYS,
  SNS_TOPIC_ARN,
} from '../lambda/config';
import type { Allowlist } from '../lambda/domain/detection/allowlist';
import type { RuleDefinition, WindowMode } from '../lambda/domain/detection/rule';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/metric-names';
import { DeafDetectorAlarm } from './deaf-detector-alarm';
import { refuseUnreachableDelivery } from './delivery-reach';
import { detectorFunction } from './detector-function';
import { OperatorDashboard } from './operator-dashboard';
import { keyPrefixSpellings, normaliseKeyPrefix, s3NotificationFilterPrefix } from './s3-key-filter';
import { acknowledgeNotificationsHandler } from './s3-notifications-handler';

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

/** Properties of {@link RegionSweepDetector}. Exactly one of `existingBucketName` / `createDemoBucket`. */
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

/**
 * Function timeout: a 50 MB gzip object is read, parsed and written within it. The function's configuration
 * checks the alert lease against the same number.
 */
const FUNCTION_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS);

/**
 * Backfill messages per invocation. `regionsweep backfill` sends one object per message by default, and an
 * object can be 50 MB of gzip: two per invocation stay far inside FUNCTION_TIMEOUT.
 */
export const BACKFILL_BATCH_SIZE = 2;

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

/** Props that cannot describe a working deployment; the message names the prop. */
export class RegionSweepDetectorPropsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegionSweepDetectorPropsError';
  }
}

/**
 * CloudTrail log objects in S3 -> Lambda -> DynamoDB windows -> SNS alerts, with the failure paths
 * (failure queue, alarms) that make every unprocessed object visible.
 *
 * The failure queue receives, depending on `deliveryMode`: Lambda on-failure destination records
 * (`requestPayload` holds the original event; `s3` and `eventbridge`), EventBridge events the rule could not
 * deliver (`eventbridge`), or SNS envelopes that failed `maxReceiveCount` times (`sns`).
 */
export class RegionSweepDetector extends Construct {
  readonly function: lambda.Function;
  readonly table: dynamodb.Table;
  /** Alert topic, encrypted with {@link alertKey}. */
  readonly topic: sns.Topic;
  readonly alertKey: kms.Key;
  /** Where notifications that could not be processed end up (see the class doc for the message shapes). */
  readonly failureQueue: sqs.Queue;
  /** The queue subscribed to the notification topic (`sns` mode only). */
  readonly queue?: sqs.Queue;
  /** Backfill messages from `regionsweep backfill --mode queue`, consumed by the function. */
  readonly backfillQueue: sqs.Queue;
  /** Backfill messages that failed five receives. */
  readonly backfillDeadLetterQueue: sqs.Queue;
  readonly bucket: s3.IBucket;
  /** Object key prefix the detector reads, e.g. `org/AWSLogs/` (always ends in `AWSLogs/`). */
  readonly logsPrefix: string;
  /** The function's role: the principal the bucket, key and topic policies of other accounts name. */
  readonly functionRole: iam.Role;
  /** Fires when no object was processed for `deafAlarmPeriod`. */
  readonly deafAlarm: DeafDetectorAlarm;
  /** The operator's CloudWatch dashboard: objects, lag, matches, alerts, poison objects, errors, queues. */
  readonly dashboard: OperatorDashboard;

  constructor(scope: Construct, id: string, props: RegionSweepDetectorProps) {
    super(scope, id);
    const mode = props.deliveryMode ?? 's3';
    validateProps(props, mode, Stack.of(this).region);
    refuseUnreachableDelivery(mode, props.expectedBucketOwner, Stack.of(this).account);
    this.logsPrefix = `${normaliseKeyPrefix(props.keyPrefix)}AWSLogs/`;
    const region = Stack.of(this).region;

    this.bucket = props.createDemoBucket
      ? new s3.Bucket(this, 'DemoBucket', {
          encryption: s3.BucketEncryption.S3_MANAGED,
          enforceSSL: true,
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          versioned: true,
          eventBridgeEnabled: mode === 'eventbridge',
        })
      : s3.Bucket.fromBucketName(this, 'SourceBucket', props.existingBucketName ?? '');
    if (props.createDemoBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Demo bucket for a first deployment; the real trail bucket is imported and keeps its own logging.',
      });
    }

    this.table = new dynamodb.Table(this, 'WindowTable', {
      partitionKey: {
        name: WINDOW_TABLE_SCHEMA.partitionKey.name,
        type: dynamodb.AttributeType.STRING,
      },
      sortKey: { name: WINDOW_TABLE_SCHEMA.sortKey.name, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: WINDOW_TABLE_SCHEMA.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.tableEncryptionKey === undefined
        ? { encryption: dynamodb.TableEncryption.AWS_MANAGED }
        : { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.tableEncryptionKey }),
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.alertKey = new kms.Key(this, 'AlertKey', {
      description: 'Encrypts the RegionSweep alert topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the topic as the service principal, so the key policy must let them encrypt.
    this.alertKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'RegionSweep alerts',
      masterKey: this.alertKey,
      enforceSSL: true,
    });
    // The TLS-only policy replaces SNS's default topic policy, and CloudWatch alarms publish as a service
    // principal through the topic policy: without this statement no alarm could notify anyone.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: {
            'aws:SourceArn': `arn:${Stack.of(this).partition}:cloudwatch:${Stack.of(this).region}:${Stack.of(this).account}:alarm:*`,
          },
        },
      }),
    );
    for (const email of props.alertEmails ?? []) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    if (props.slack !== undefined) this.addSlackChannel(props.slack);

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter/failure destination itself; it is alarmed, not redriven further.',
    });

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: log writes are scoped to this log group only.
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    this.functionRole = role;
    logGroup.grantWrite(role);

    const asyncInvocation =
      mode === 'sns'
        ? {}
        : {
            retryAttempts: 2,
            maxEventAge: Duration.hours(6),
            onFailure: new SqsDestination(this.failureQueue),
          };
    this.function = detectorFunction(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role,
      logGroup,
      environment: functionEnvironment(props, this.table.tableName, this.topic.topicArn),
      ...asyncInvocation,
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the handler is built and tested for; moving is a deliberate upgrade.',
    });

    this.grantLeastPrivilege(props, role, region);

    switch (mode) {
      case 's3':
        this.bucket.addEventNotification(
          s3.EventType.OBJECT_CREATED,
          new s3n.LambdaDestination(this.function),
          { prefix: s3NotificationFilterPrefix(this.logsPrefix), suffix: '.json.gz' },
        );
        break;
      case 'eventbridge':
        this.routeThroughEventBridge(props);
        break;
      case 'sns':
        this.queue = this.consumeNotificationTopic(props);
        break;
    }

    [this.backfillQueue, this.backfillDeadLetterQueue] = this.consumeBackfillQueue(props);

    this.addAlarms(props.alarmTopic ?? this.topic);
    this.deafAlarm = new DeafDetectorAlarm(this, 'DeafDetectorAlarm', {
      period: props.deafAlarmPeriod,
      topic: props.alarmTopic ?? this.topic,
    });
    this.dashboard = new OperatorDashboard(this, 'OperatorDashboard', {
      function: this.function,
      failureQueue: this.failureQueue,
      backfillQueue: this.backfillQueue,
      backfillDeadLetterQueue: this.backfillDeadLetterQueue,
      dashboardName: props.dashboardName,
    });
    acknowledgeNotificationsHandler(Stack.of(this), 'the buckets');
  }

  /**
   * The queue `regionsweep backfill --mode queue` fills with object references. Small batches (each object
   * can be 50 MB), partial batch failures, and `maxConcurrency` so a backfill of millions of objects never
   * takes more than its share of the function's concurrency from live delivery.
   */
  private consumeBackfillQueue(props: RegionSweepDetectorProps): [sqs.Queue, sqs.Queue] {
    const deadLetterQueue = new sqs.Queue(this, 'BackfillDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
    });
    Validations.of(deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the backfill dead-letter queue itself; it is alarmed, not redriven further.',
    });
    const queue = new sqs.Queue(this, 'BackfillQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS guidance: at least 6x the function timeout, so in-flight batches are never redelivered mid-run.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
      // AWS advises at least 5 for a queue Lambda consumes, so that throttled receives (which count too)
      // do not send messages to the dead-letter queue unprocessed:
      // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
    });
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: BACKFILL_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: props.backfillConcurrency ?? DEFAULT_BACKFILL_CONCURRENCY,
      }),
    );
    return [queue, deadLetterQueue];
  }

  /** Grants exactly what the handler calls: GetObject under the prefix, UpdateItem/GetItem, Publish. */
  private grantLeastPrivilege(props: RegionSweepDetectorProps, role: iam.Role, region: string): void {
    const logObjects = this.bucket.arnForObjects(`${this.logsPrefix}*`);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrailLogObjects',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [logObjects],
      }),
    );
    // With s3:ListBucket a missing object answers 404 (NoSuchKey, counted as gone) instead of 403, which
    // would be retried into the failure queue (GetObject, "Permissions":
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). S3 evaluates that ListBucket with
    // the requested key as s3:prefix (as Ceph RGW reproduces, ceph/ceph#68577), so the grant stays
    // scoped to the trail's prefix.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListTrailLogPrefix',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': `${this.logsPrefix}*` } },
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResourceName(Stack.of(this), logObjects)}]`,
      reason:
        'Object reads are scoped to the trail prefix; CloudTrail names objects by account, region and date.',
    });
    if (props.kmsKeyArn !== undefined) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DecryptTrailLogObjects',
          actions: ['kms:Decrypt'],
          resources: [props.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
        }),
      );
    }
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'UpdateWindows',
        // Query: the counters of a window's contributor shard items (see contributor-shards.ts).
        actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
        resources: [this.table.tableArn],
      }),
    );
    props.tableEncryptionKey?.grantEncryptDecrypt(this.function);
    // Explicit instead of topic.grantPublish, which grants kms:GenerateDataKey* on the topic key.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PublishAlerts',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EncryptAlerts',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.alertKey.keyArn],
      }),
    );
  }

  /** Object Created events for this bucket under the prefix, CloudTrail log files only (no digests). */
  private routeThroughEventBridge(props: RegionSweepDetectorProps): void {
    if (!props.createDemoBucket) {
      // Imported bucket: CDK's BucketNotifications custom resource turns EventBridge delivery on and keeps
      // every notification configured outside this stack (it only adds, never replaces).
      this.bucket.enableEventBridgeNotification();
    }
    const rule = new events.Rule(this, 'ObjectCreatedRule', {
      description: 'CloudTrail log objects created in the trail bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          object: {
            // Every spelling of the prefix: the key in the event may be URL-encoded (see notifications.ts).
            key: events.Match.anyOf(
              ...keyPrefixSpellings(this.logsPrefix).map((prefix) =>
                events.Match.wildcard(`${escapeWildcard(prefix)}*/CloudTrail/*.json.gz`),
              ),
            ),
          },
        },
      },
    });
    rule.addTarget(
      new targets.LambdaFunction(this.function, {
        deadLetterQueue: this.failureQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    );
  }

  /** A queue subscribed to the existing notification topic, consumed in batches with partial failures. */
  private consumeNotificationTopic(props: RegionSweepDetectorProps): sqs.Queue {
    const notificationTopic = sns.Topic.fromTopicArn(
      this,
      'NotificationTopic',
      props.notificationTopicArn ?? '',
    );
    // The failure queue is the DLQ: after 5 failed receives a notification stops cycling and is alarmed on.
    const queue = new sqs.Queue(this, 'NotificationQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS guidance: at least 6x the function timeout, so in-flight batches are never redelivered mid-run.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: 5 },
    });
    notificationTopic.addSubscription(
      new subscriptions.SqsSubscription(queue, {
        rawMessageDelivery: false,
        ...(props.notificationFilter === undefined
          ? {}
          : { filterPolicyWithMessageBody: { ...props.notificationFilter } }),
      }),
    );
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );
    return queue;
  }

  private addSlackChannel(slack: SlackChannel): void {
    new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
      slackChannelConfigurationName: `${Stack.of(this).stackName}-alerts`.slice(0, 128),
      slackWorkspaceId: slack.workspaceId,
      slackChannelId: slack.channelId,
      notificationTopics: [this.topic],
      // Amazon Q Developer only relays alerts here: deny every action a channel member could run through it.
      guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AWSDenyAll')],
    });
  }

  private addAlarms(alarmTopic: sns.ITopic): void {
    const action = new cwActions.SnsAction(alarmTopic);
    const period = Duration.minutes(5);
    const alarms: Record<string, { metric: cloudwatch.IMetric; description: string }> = {
      FunctionErrorsAlarm: {
        metric: this.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        description: 'The RegionSweep function failed (it will be retried; see its logs).',
      },
      FunctionThrottlesAlarm: {
        metric: this.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        description: 'The RegionSweep function was throttled: notifications are delayed.',
      },
      FailureQueueAlarm: {
        metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        description: 'Log objects were given up on: they are in the failure queue and were not analysed.',
      },
      BackfillDeadLetterQueueAlarm: {
        metric: this.backfillDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        description:
          'Backfill messages failed five times: their objects were not analysed (see the function logs).',
      },
      PoisonObjectsAlarm: {
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC.poisonObjects,
          dimensionsMap: { service: SERVICE_NAME },
          period,
          statistic: cloudwatch.Stats.SUM,
        }),
        description: 'Log objects could not be read as CloudTrail and were skipped (see the function logs).',
      },
    };
    for (const [id, { metric, description }] of Object.entries(alarms)) {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
    }
  }
}

function functionEnvironment(
  props: RegionSweepDetectorProps,
  tableName: string,
  topicArn: string,
): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.tableName]: tableName,
    [ENV.topicArn]: topicArn,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    // Stack traces point into lambda/*.ts through the bundled source map.
    NODE_OPTIONS: '--enable-source-maps',
  };
  // Only what was given is set: the function's own defaults are the Elastic rule's.
  const optional: ReadonlyArray<readonly [string, string | number | undefined]> = [
    [ENV.expectedBucketOwner, props.expectedBucketOwner],
    [ENV.rules, props.rules === undefined ? undefined : props.rules.join(',')],
    [ENV.customRules, props.customRules === undefined ? undefined : JSON.stringify(props.customRules)],
    [ENV.buildingBlocks, props.buildingBlocks === undefined ? undefined : props.buildingBlocks.join(',')],
    [ENV.windowMode, props.windowMode],
    [ENV.minRegions, props.minRegions],
    [ENV.minEvents, props.minEvents],
    [ENV.windowSeconds, props.windowSeconds],
    [ENV.retentionDays, props.retentionDays],
    [ENV.suppressionMinutes, props.suppressionMinutes],
    [ENV.alertLeaseSeconds, props.alertLeaseSeconds],
    [ENV.maxDecompressedBytes, props.readerLimits?.maxDecompressedBytes],
    [ENV.maxRecordBytes, props.readerLimits?.maxRecordBytes],
    [ENV.maxRecords, props.readerLimits?.maxRecords],
    [ENV.allowlist, props.allowlist === undefined ? undefined : JSON.stringify(props.allowlist)],
  ];
  for (const [name, value] of optional) {
    if (value !== undefined) env[name] = String(value);
  }
  return env;
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
 * The resource name cdk-nag gives a tokenised ARN in its finding ids (`<Logical.Arn>`, `<AWS::Partition>`):
 * cdk-nag 3 acknowledges findings by exact id, so the id is derived from the same ARN the policy uses.
 */
function nagResourceName(stack: Stack, arn: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (Array.isArray(node)) return node.map(flatten).join('');
    if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const join = record['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(flatten).join(join[0]);
      }
      const getAtt = record['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.map(flatten).join('.')}>`;
      if ('Ref' in record) return `<${flatten(record.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return flatten(stack.resolve(arn));
}

/** EventBridge wildcard patterns treat `*` and `\` specially; a literal prefix must escape them. */
function escapeWildcard(literal: string): string {
  return literal.replace(/[\\*]/g, '\\$&');
}

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
