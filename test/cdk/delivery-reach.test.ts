import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import { RegionSweepStack } from '../../lib/cdk/region-sweep-stack';
import { NOTIFICATION_TOPIC_ARN, SKIP_BUNDLING, synthDetector, TEST_ENV } from './synth-detector';

const OTHER_ACCOUNT = '444455556666';

describe('synth refuses a delivery mode that cannot reach a stack in another account than the bucket', () => {
  it.each([
    { mode: 's3' as const, reason: /only the bucket owner configures its notifications/ },
    { mode: 'eventbridge' as const, reason: /default bus of account 444455556666/ },
  ])('deliveryMode $mode with another bucket owner names sns as the mode to use', ({ mode, reason }) => {
    // Act
    const synth = () =>
      synthDetector({
        existingBucketName: 'trail-bucket',
        deliveryMode: mode,
        expectedBucketOwner: OTHER_ACCOUNT,
      });

    // Assess
    expect(synth).toThrow(reason);
    expect(synth).toThrow(/use deliveryMode "sns"/);
  });

  it.each(['s3', 'eventbridge'] as const)(
    'deliveryMode %s with the stack account as bucket owner synthesizes',
    (mode) => {
      // Act
      const { template } = synthDetector({
        existingBucketName: 'trail-bucket',
        deliveryMode: mode,
        expectedBucketOwner: TEST_ENV.account,
      });

      // Assess
      template.resourceCountIs('AWS::Lambda::Function', 2);
    },
  );

  it('deliveryMode sns with another bucket owner synthesizes (the organization layout)', () => {
    // Act
    const { template } = synthDetector({
      existingBucketName: 'trail-bucket',
      deliveryMode: 'sns',
      notificationTopicArn: NOTIFICATION_TOPIC_ARN,
      expectedBucketOwner: OTHER_ACCOUNT,
    });

    // Assess
    template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: NOTIFICATION_TOPIC_ARN });
  });

  it('an environment-agnostic stack cannot be checked, so it synthesizes', () => {
    // Prepare
    const app = new App({ context: SKIP_BUNDLING });
    const detector: RegionSweepDetectorProps = {
      existingBucketName: 'trail-bucket',
      expectedBucketOwner: OTHER_ACCOUNT,
    };

    // Act
    const stack = new RegionSweepStack(app, 'Agnostic', { detector });

    // Assess
    Template.fromStack(stack).resourceCountIs('Custom::S3BucketNotifications', 1);
  });
});

describe('key prefixes in filters', () => {
  it('URL-encodes the prefix of the S3 notification filter, as S3 expects', () => {
    // Act
    const { template } = synthDetector({ existingBucketName: 'trail-bucket', keyPrefix: 'my logs/é' });

    // Assess
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({
            Filter: {
              Key: {
                FilterRules: [
                  { Name: 'suffix', Value: '.json.gz' },
                  { Name: 'prefix', Value: 'my%20logs/%C3%A9/AWSLogs/' },
                ],
              },
            },
          }),
        ],
      },
    });
  });

  it('matches every spelling of a prefix in the EventBridge rule (plain, percent- and form-encoded)', () => {
    // Act
    const { template } = synthDetector({
      existingBucketName: 'trail-bucket',
      deliveryMode: 'eventbridge',
      keyPrefix: 'my logs',
    });

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: {
          bucket: { name: ['trail-bucket'] },
          object: {
            key: [
              { wildcard: 'my logs/AWSLogs/*/CloudTrail/*.json.gz' },
              { wildcard: 'my%20logs/AWSLogs/*/CloudTrail/*.json.gz' },
              { wildcard: 'my+logs/AWSLogs/*/CloudTrail/*.json.gz' },
            ],
          },
        },
      }),
    });
  });
});

describe('queues a Lambda function consumes', () => {
  it('every queue behind an event source mapping moves a message aside only after 5 or more receives', () => {
    // Prepare: sns mode has both consumed queues (notifications and backfill).
    const { template } = synthDetector({
      existingBucketName: 'trail-bucket',
      deliveryMode: 'sns',
      notificationTopicArn: NOTIFICATION_TOPIC_ARN,
    });
    const queues = template.findResources('AWS::SQS::Queue');
    const consumed = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (mapping) =>
        (mapping as { Properties: { EventSourceArn: { 'Fn::GetAtt': [string, string] } } }).Properties
          .EventSourceArn['Fn::GetAtt'][0],
    );

    // Act
    const receives = consumed.map(
      (id) =>
        (queues[id] as { Properties: { RedrivePolicy?: { maxReceiveCount?: number } } }).Properties
          .RedrivePolicy?.maxReceiveCount,
    );

    // Assess
    expect(consumed).toHaveLength(2);
    expect(receives.every((count) => count !== undefined && count >= 5)).toBe(true);
  });
});

describe('deaf-detector alarm', () => {
  it('alarms on the topic when no object was processed for 30 minutes, missing data breaching', () => {
    // Act
    const { template } = synthDetector({ existingBucketName: 'trail-bucket' });

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RegionSweep',
      MetricName: 'ObjectsProcessed',
      Dimensions: [{ Name: 'service', Value: 'regionsweep' }],
      Statistic: 'Sum',
      Period: 1800,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
    });
  });

  it('takes its period from deafAlarmPeriod', () => {
    // Act
    const { template } = synthDetector({
      existingBucketName: 'trail-bucket',
      deafAlarmPeriod: Duration.hours(2),
    });

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ObjectsProcessed',
      Period: 7200,
    });
  });

  it.each([
    { case: 'shorter than 5 minutes', period: Duration.minutes(4) },
    { case: 'longer than a day', period: Duration.minutes(1441) },
    { case: 'not whole minutes', period: Duration.seconds(330) },
  ])('refuses a period $case', ({ period }) => {
    // Act
    const synth = () => synthDetector({ existingBucketName: 'trail-bucket', deafAlarmPeriod: period });

    // Assess
    expect(synth).toThrow(/deafAlarmPeriod must be a whole number of minutes from 5 to 1440/);
  });
});

describe('stack outputs for the organization layout', () => {
  it('exports the function role ARN that the other accounts grant', () => {
    // Act
    const { template } = synthDetector({ existingBucketName: 'trail-bucket' });

    // Assess
    template.hasOutput('FunctionRoleArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DetectorFunctionRole'), 'Arn'] },
    });
  });
});
