import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ForwardingStackProps, ForwardingTopic } from './forwarding-topic';

/** Properties of {@link TrailTopicStack}. */
export interface TrailTopicStackProps extends ForwardingStackProps {
  /** The organization trail, `arn:aws:cloudtrail:<region>:<account>:trail/<name>`: its account and Region are this stack's. */
  readonly trailArn: string;
}

/**
 * Deployed in the account that owns the trail (the management account, or CloudTrail's delegated
 * administrator): a topic the trail notifies after every log file it delivers, which the security
 * account's detector subscribes to. Point the trail at it afterwards (`aws cloudtrail update-trail --name
 * <trail> --sns-topic-name <TopicArn>`, the `UpdateTrailCommand` output); "you can specify the name or the
 * ARN" (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html).
 *
 * The topic policy lets only this trail publish (`aws:SourceArn`, as CloudTrail's own guidance advises:
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-permissions-for-sns-notifications.html),
 * and the key policy lets it encrypt. A trail that already notifies a topic keeps it: add the statements
 * from the README to that topic instead and give its ARN as `notificationTopicArn`.
 */
export class TrailTopicStack extends Stack {
  readonly forwarding: ForwardingTopic;

  constructor(scope: Construct, id: string, props: TrailTopicStackProps) {
    super(scope, id, props);
    this.forwarding = new ForwardingTopic(this, 'TrailNotifications', {
      topicName: props.topicName,
      displayName: 'CloudTrail log file deliveries for RegionSweep',
      publisherService: 'cloudtrail.amazonaws.com',
      publisherArn: props.trailArn,
      subscriberAccount: props.subscriberAccount,
    });
    const { topicArn } = this.forwarding.topic;
    new CfnOutput(this, 'TopicArn', {
      value: topicArn,
      description: 'Topic the security account subscribes to (deliveryMode sns)',
    });
    new CfnOutput(this, 'UpdateTrailCommand', {
      value: `aws cloudtrail update-trail --name ${props.trailArn} --sns-topic-name ${topicArn}`,
      description: "Points the trail at the topic (run once in this account, in the trail's home Region)",
    });
  }
}
