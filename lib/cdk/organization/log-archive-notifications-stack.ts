import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { normaliseKeyPrefix } from '../../../lambda/domain/reading/object-key';
import { s3NotificationFilterPrefix } from '../s3-key-filter';
import { acknowledgeNotificationsHandler } from '../s3-notifications-handler';
import { type ForwardingStackProps, ForwardingTopic } from './forwarding-topic';

/** Properties of {@link LogArchiveNotificationsStack}. */
export interface LogArchiveNotificationsStackProps extends ForwardingStackProps {
  /** The organization trail's bucket, owned by this stack's account. */
  readonly bucketName: string;
  /** The trail's S3 key prefix, before `AWSLogs/`. @default - none */
  readonly keyPrefix?: string;
}

/**
 * Deployed in the account that owns the trail's bucket (the log-archive account): the bucket's
 * object-created notifications under `<keyPrefix>AWSLogs/` (`.json.gz`) go to a topic the security
 * account's detector subscribes to. Only the bucket owner may set a bucket's notification configuration
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-enable-disable-notification-intro.html),
 * which is why this part cannot live in the security account.
 *
 * The bucket is imported: CDK's notifications custom resource adds this one configuration and keeps every
 * other one on the bucket. S3 refuses a configuration that overlaps an existing one (same event type and
 * overlapping prefix and suffix); then feed the detector from the trail's own topic instead
 * ({@link TrailTopicStack}).
 */
export class LogArchiveNotificationsStack extends Stack {
  readonly forwarding: ForwardingTopic;

  constructor(scope: Construct, id: string, props: LogArchiveNotificationsStackProps) {
    super(scope, id, props);
    const bucket = s3.Bucket.fromBucketName(this, 'TrailBucket', props.bucketName);
    this.forwarding = new ForwardingTopic(this, 'ObjectCreated', {
      topicName: props.topicName,
      displayName: 'CloudTrail log objects for RegionSweep',
      publisherService: 's3.amazonaws.com',
      publisherArn: bucket.bucketArn,
      subscriberAccount: props.subscriberAccount,
    });
    const { topic, publishPermissions } = this.forwarding;
    // The topic's own policies (not s3n.SnsDestination's, which has no aws:SourceAccount condition and no key
    // statement), ready before S3 checks it may publish when the configuration is saved.
    bucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      {
        bind: () => ({
          type: s3.BucketNotificationDestinationType.TOPIC,
          arn: topic.topicArn,
          dependencies: publishPermissions,
        }),
      },
      {
        prefix: s3NotificationFilterPrefix(`${normaliseKeyPrefix(props.keyPrefix)}AWSLogs/`),
        suffix: '.json.gz',
      },
    );
    acknowledgeNotificationsHandler(this, 'the bucket');
    new CfnOutput(this, 'TopicArn', {
      value: topic.topicArn,
      description: 'Topic the security account subscribes to (deliveryMode sns)',
    });
  }
}
