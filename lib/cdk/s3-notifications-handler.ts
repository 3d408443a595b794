import { type Stack, Validations } from 'aws-cdk-lib';

/**
 * Accepts the cdk-nag findings on the singleton CDK handler behind Custom::S3BucketNotifications: it is
 * CDK-owned and its role is not configurable per statement. Does nothing in a stack without one.
 * @param buckets what the handler configures in this stack, as the reason names it (`the bucket`, `the buckets`)
 */
export function acknowledgeNotificationsHandler(stack: Stack, buckets: string): void {
  const handler = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (handler === undefined) return;
  Validations.of(handler).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK-owned S3 notifications handler; its role is not configurable per statement.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `CDK-owned S3 notifications handler: s3:PutBucketNotification on ${buckets} it configures.`,
    },
  );
}
