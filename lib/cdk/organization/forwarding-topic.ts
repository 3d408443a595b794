import { Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IDependable } from 'constructs';

/** Properties of {@link ForwardingTopic}. */
export interface ForwardingTopicProps {
  /** Fixed name: the detector in another account derives the topic's ARN from it (no cross-account references). */
  readonly topicName: string;
  readonly displayName: string;
  /** The AWS service that publishes (`s3.amazonaws.com`, `cloudtrail.amazonaws.com`) ... */
  readonly publisherService: string;
  /** ... and the one resource it publishes for (the bucket, the trail): `aws:SourceArn`. */
  readonly publisherArn: string;
  /** The security account, whose detector queue subscribes. */
  readonly subscriberAccount: string;
}

/** What both stacks that own a {@link ForwardingTopic} are told about the security account's side. */
export interface ForwardingStackProps extends StackProps {
  /** The security account that runs the detector. */
  readonly subscriberAccount: string;
  /** Name of the forwarding topic (the detector derives its ARN). */
  readonly topicName: string;
}

/**
 * An encrypted topic in the account that owns the logs' source (the bucket, or the trail), which one AWS
 * service publishes to and which only SQS queues of the security account may subscribe to.
 *
 * - The queue owner subscribes: "when the queue owner creates a subscription, the subscription doesn't
 *   require confirmation" (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html),
 *   so the detector's stack subscribes with a plain `AWS::SNS::Subscription` once this topic allows it.
 * - SSE with a customer managed key: an AWS service publishing to an encrypted topic needs
 *   `kms:GenerateDataKey*` and `kms:Decrypt` on the key, which an AWS managed key cannot grant
 *   (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 * - Both the publish and the key statements carry `aws:SourceArn` and `aws:SourceAccount`, so no other
 *   bucket or trail can use them (confused deputy).
 * - TLS only (cdk-nag SNS3): publishing to an encrypted topic already requires HTTPS and Signature
 *   Version 4 (https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html), so the deny on
 *   `aws:SecureTransport: false` refuses nothing S3 or CloudTrail sends.
 */
export class ForwardingTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  /** What must exist before the publisher is pointed at the topic (its key and topic policies). */
  readonly publishPermissions: IDependable[];

  constructor(scope: Construct, id: string, props: ForwardingTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fromThePublisher = {
      ArnLike: { 'aws:SourceArn': props.publisherArn },
      StringEquals: { 'aws:SourceAccount': stack.account },
    };
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts ${props.topicName} (RegionSweep forwarding topic)`,
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowPublisherToEncrypt',
        principals: [new iam.ServicePrincipal(props.publisherService)],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: fromThePublisher,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    const publish = this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowPublisherToPublish',
        principals: [new iam.ServicePrincipal(props.publisherService)],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThePublisher,
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSecurityAccountQueuesToSubscribe',
        principals: [new iam.AccountPrincipal(props.subscriberAccount)],
        actions: ['sns:Subscribe'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'sns:Protocol': 'sqs' },
          ArnLike: {
            'sns:Endpoint': `arn:${stack.partition}:sqs:${stack.region}:${props.subscriberAccount}:*`,
          },
        },
      }),
    );
    this.publishPermissions = [
      this.key,
      ...(publish.policyDependable === undefined ? [] : [publish.policyDependable]),
    ];
  }
}
