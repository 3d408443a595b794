import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATION_TOPIC_ARN, synthDetector } from './synth-detector';

let s3Template: Template;
beforeAll(() => {
  ({ template: s3Template } = synthDetector({ existingBucketName: 'trail-bucket', keyPrefix: 'org' }));
});

describe('deliveryMode s3', () => {
  it('adds an object-created notification filtered to <keyPrefix>AWSLogs/ and .json.gz', () => {
    s3Template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'trail-bucket',
      Managed: false,
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: {
              Key: {
                FilterRules: [
                  { Name: 'suffix', Value: '.json.gz' },
                  { Name: 'prefix', Value: 'org/AWSLogs/' },
                ],
              },
            },
            LambdaFunctionArn: Match.anyValue(),
          },
        ],
      },
    });
  });

  it('lets S3 invoke the function only from the trail bucket', () => {
    s3Template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceAccount: '111122223333',
      // A literal partition: the stack's region is known (@aws-cdk/core:enablePartitionLiterals).
      SourceArn: 'arn:aws:s3:::trail-bucket',
    });
  });

  it('retries async invocations twice within 6 hours, then sends them to the failure queue', () => {
    s3Template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailureQueue'), 'Arn'] } },
      },
    });
  });
});

describe('stack outputs', () => {
  it.each(['TableName', 'TopicArn', 'FunctionName', 'FailureQueueUrl', 'BucketName', 'LogsPrefix'])(
    'exports %s for regionsweep backfill',
    (name) => {
      s3Template.hasOutput(name, { Value: Match.anyValue() });
    },
  );

  it('exports no QueueUrl outside sns mode', () => {
    expect(Object.keys(s3Template.findOutputs('QueueUrl'))).toEqual([]);
  });
});

describe('deliveryMode eventbridge', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthDetector({ existingBucketName: 'trail-bucket', deliveryMode: 'eventbridge' }));
  });

  it('turns on EventBridge delivery for the imported bucket without replacing its other notifications', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'trail-bucket',
      Managed: false,
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('matches Object Created for the bucket and CloudTrail log files under AWSLogs/ only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: ['trail-bucket'] },
          object: { key: [{ wildcard: 'AWSLogs/*/CloudTrail/*.json.gz' }] },
        },
      },
    });
  });

  it('targets the function with retries and the failure queue as dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Function'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailureQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 3600 },
        }),
      ],
    });
  });

  it('adds no direct S3 -> Lambda notification', () => {
    const notifications = template.findResources('Custom::S3BucketNotifications', {
      Properties: { NotificationConfiguration: { LambdaFunctionConfigurations: Match.anyValue() } },
    });
    expect(Object.keys(notifications)).toEqual([]);
  });
});

describe('deliveryMode sns', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthDetector({
      existingBucketName: 'trail-bucket',
      deliveryMode: 'sns',
      notificationTopicArn: NOTIFICATION_TOPIC_ARN,
      notificationFilter: {
        Records: sns.FilterOrPolicy.policy({
          s3: sns.FilterOrPolicy.policy({
            object: sns.FilterOrPolicy.policy({
              key: sns.FilterOrPolicy.filter(
                sns.SubscriptionFilter.stringFilter({ matchPrefixes: ['AWSLogs/'] }),
              ),
            }),
          }),
        }),
      },
    }));
  });

  it('subscribes a queue to the existing topic with the SNS envelope kept', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: NOTIFICATION_TOPIC_ARN,
      RawMessageDelivery: false,
      Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationQueue'), 'Arn'] },
    });
  });

  it('gives the queue a 30-minute visibility timeout (6x the function timeout) and the failure queue as DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailureQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
  });

  it('consumes the queue in batches of 10 with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('exports QueueUrl', () => {
    template.hasOutput('QueueUrl', { Value: { Ref: Match.stringLikeRegexp('NotificationQueue') } });
  });

  it('configures no async retries, because SQS redelivery and the DLQ handle failures', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it('filters on the message body when a filter is given', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      FilterPolicyScope: 'MessageBody',
      FilterPolicy: { Records: { s3: { object: { key: [{ prefix: 'AWSLogs/' }] } } } },
    });
  });
});
