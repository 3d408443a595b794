import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
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
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WINDOW_TABLE_SCHEMA } from '../../lambda/adapters/dynamodb/window-table-schema';
import { normaliseKeyPrefix } from '../../lambda/domain/reading/object-key';
import { METRIC } from '../../lambda/metric-names';
import { DeafDetectorAlarm } from './deaf-detector-alarm';
import { detectorFunction, FUNCTION_TIMEOUT } from './detector-function';
import { detectorMetric } from './detector-metric';
import {
  DEFAULT_BACKFILL_CONCURRENCY,
  type DeliveryMode,
  type RegionSweepDetectorProps,
  type SlackChannel,
  validateDetectorProps,
} from './detector-props';
import { functionEnvironment } from './function-environment';
import { OperatorDashboard } from './operator-dashboard';
import { detectorQueue } from './queues';
import { keyPrefixSpellings, s3NotificationFilterPrefix } from './s3-key-filter';
import { acknowledgeNotificationsHandler } from './s3-notifications-handler';

/**
 * Backfill messages per invocation. `regionsweep backfill` sends one object per message by default, and an
 * object can be 50 MB of gzip: two per invocation stay far inside FUNCTION_TIMEOUT.
 */
export const BACKFILL_BATCH_SIZE = 2;

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
    validateDetectorProps(props, Stack.of(this));
    const mode = props.deliveryMode ?? 's3';
    this.logsPrefix = `${normaliseKeyPrefix(props.keyPrefix)}AWSLogs/`;

    // Each step uses what the steps before it made: the function's environment names the table and the topic,
    // its failure destination is the failure queue, and the alarms watch all of them.
    this.bucket = this.trailBucket(props, mode);
    this.table = this.windowTable(props);
    this.alertKey = this.alertTopicKey();
    this.topic = this.alertTopic(props);
    this.failureQueue = detectorQueue(this, 'FailureQueue', {
      kind: 'dead-letter',
      describedAs: 'the dead-letter/failure destination',
    });
    [this.function, this.functionRole] = this.functionAndRole(props, mode);
    this.grantLeastPrivilege(props, this.functionRole, Stack.of(this).region);

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

  /** The trail's bucket, imported by name, or an empty demo bucket (`createDemoBucket`). */
  private trailBucket(props: RegionSweepDetectorProps, mode: DeliveryMode): s3.IBucket {
    if (!props.createDemoBucket) {
      return s3.Bucket.fromBucketName(this, 'SourceBucket', props.existingBucketName ?? '');
    }
    const bucket = new s3.Bucket(this, 'DemoBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      eventBridgeEnabled: mode === 'eventbridge',
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Demo bucket for a first deployment; the real trail bucket is imported and keeps its own logging.',
    });
    return bucket;
  }

  /** The window table, keyed as the function's store expects (WINDOW_TABLE_SCHEMA), items expired by TTL. */
  private windowTable(props: RegionSweepDetectorProps): dynamodb.Table {
    return new dynamodb.Table(this, 'WindowTable', {
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
  }

  /** The key the alert topic is encrypted with. */
  private alertTopicKey(): kms.Key {
    const key = new kms.Key(this, 'AlertKey', {
      description: 'Encrypts the RegionSweep alert topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the topic as the service principal, so the key policy must let them encrypt.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return key;
  }

  /** The alert topic (TLS only, encrypted with {@link alertKey}), its email subscriptions, its Slack channel. */
  private alertTopic(props: RegionSweepDetectorProps): sns.Topic {
    const topic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'RegionSweep alerts',
      masterKey: this.alertKey,
      enforceSSL: true,
    });
    // The TLS-only policy replaces SNS's default topic policy, and CloudWatch alarms publish as a service
    // principal through the topic policy: without this statement no alarm could notify anyone.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: {
            'aws:SourceArn': `arn:${Stack.of(this).partition}:cloudwatch:${Stack.of(this).region}:${Stack.of(this).account}:alarm:*`,
          },
        },
      }),
    );
    for (const email of props.alertEmails ?? []) {
      topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    if (props.slack !== undefined) this.addSlackChannel(props.slack, topic);
    return topic;
  }

  /**
   * The function, its log group and its role. In `s3` and `eventbridge` mode it is invoked asynchronously:
   * two retries, then the event goes to the failure queue; in `sns` mode the notification queue retries.
   */
  private functionAndRole(props: RegionSweepDetectorProps, mode: DeliveryMode): [lambda.Function, iam.Role] {
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: log writes are scoped to this log group only.
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grantWrite(role);

    const asyncInvocation =
      mode === 'sns'
        ? {}
        : {
            retryAttempts: 2,
            maxEventAge: Duration.hours(6),
            onFailure: new SqsDestination(this.failureQueue),
          };
    const fn = detectorFunction(this, 'Function', {
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
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the handler is built and tested for; moving is a deliberate upgrade.',
    });
    return [fn, role];
  }

  /**
   * The queue `regionsweep backfill --mode queue` fills with object references. Small batches (each object
   * can be 50 MB), partial batch failures, and `maxConcurrency` so a backfill of millions of objects never
   * takes more than its share of the function's concurrency from live delivery.
   */
  private consumeBackfillQueue(props: RegionSweepDetectorProps): [sqs.Queue, sqs.Queue] {
    const deadLetterQueue = detectorQueue(this, 'BackfillDeadLetterQueue', {
      kind: 'dead-letter',
      describedAs: 'the backfill dead-letter queue',
    });
    const queue = detectorQueue(this, 'BackfillQueue', { kind: 'consumed', deadLetterQueue });
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
    const queue = detectorQueue(this, 'NotificationQueue', {
      kind: 'consumed',
      deadLetterQueue: this.failureQueue,
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

  private addSlackChannel(slack: SlackChannel, topic: sns.ITopic): void {
    new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
      slackChannelConfigurationName: `${Stack.of(this).stackName}-alerts`.slice(0, 128),
      slackWorkspaceId: slack.workspaceId,
      slackChannelId: slack.channelId,
      notificationTopics: [topic],
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
        metric: detectorMetric(METRIC.poisonObjects, period, cloudwatch.Stats.SUM),
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
