import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { WINDOW_TABLE_SCHEMA } from '../../lambda/adapters/dynamodb/window-table-schema';
import { ENV } from '../../lambda/config';
import { S3_RAPID_BUCKET_POSTURE_API_CALLS } from '../../lambda/domain/detection/built-in-rules';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/metric-names';
import { detectorFunctionProperties, synthDetector, TRAIL_KEY_ARN } from './synth-detector';

/** A user's rule: the S3 posture rule's shape with its own id and a lower threshold. */
const CUSTOM_RULE = {
  ...S3_RAPID_BUCKET_POSTURE_API_CALLS,
  id: 'posture-8',
  slug: 'posture-8',
  minDistinct: 8,
};

/** Environment variables the function needs whatever the props. */
const REQUIRED_ENV = [ENV.tableName, ENV.topicArn, 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];

describe('RegionSweepDetector resources', () => {
  let configured: Template;
  let minimal: Template;
  beforeAll(() => {
    ({ template: configured } = synthDetector({
      existingBucketName: 'trail-bucket',
      kmsKeyArn: TRAIL_KEY_ARN,
      expectedBucketOwner: '111122223333',
      minRegions: 5,
      rules: ['ec2-multi-region-describe-instances', 'discovery-api-calls-via-cli'],
      buildingBlocks: ['ec2-multi-region-describe-instances'],
      customRules: [CUSTOM_RULE],
      windowMode: 'hopping',
      suppressionMinutes: 60,
      allowlist: { arns: ['arn:aws:iam::444455556666:role/inventory'] },
      alertEmails: ['soc@example.com'],
      slack: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
      reservedConcurrentExecutions: 20,
    }));
    ({ template: minimal } = synthDetector({ createDemoBucket: true }));
  });

  it('runs the handler on nodejs22.x, arm64, 1024 MB, 5 minutes', () => {
    minimal.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 300,
      Handler: 'index.handler',
    });
  });

  it('sets only the required environment variables when no options are given', () => {
    const variables = detectorFunctionProperties(minimal).Environment?.Variables ?? {};
    expect(Object.keys(variables).sort()).toEqual([...REQUIRED_ENV, 'NODE_OPTIONS'].sort());
  });

  it('passes given options to the function environment under the names loadConfig reads', () => {
    configured.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.expectedBucketOwner]: '111122223333',
          [ENV.minRegions]: '5',
          [ENV.rules]: 'ec2-multi-region-describe-instances,discovery-api-calls-via-cli',
          [ENV.buildingBlocks]: 'ec2-multi-region-describe-instances',
          [ENV.customRules]: JSON.stringify([CUSTOM_RULE]),
          [ENV.windowMode]: 'hopping',
          [ENV.suppressionMinutes]: '60',
          [ENV.allowlist]: JSON.stringify({ arns: ['arn:aws:iam::444455556666:role/inventory'] }),
          POWERTOOLS_SERVICE_NAME: 'regionsweep',
          POWERTOOLS_METRICS_NAMESPACE: 'RegionSweep',
        }),
      },
      ReservedConcurrentExecutions: 20,
    });
  });

  it('keeps function logs for a month', () => {
    minimal.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('defines the window table from WINDOW_TABLE_SCHEMA with TTL, PITR and on-demand billing', () => {
    minimal.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: WINDOW_TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: WINDOW_TABLE_SCHEMA.sortKey.name, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: WINDOW_TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('retains the window table when the stack is deleted', () => {
    minimal.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('encrypts the alert topic with a rotating customer-managed key', () => {
    minimal.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    minimal.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlertKey'), 'Arn'] },
    });
  });

  it('lets CloudWatch alarms of this account use the alert key', () => {
    minimal.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
          }),
        ]),
      },
    });
  });

  it('denies publishing to the alert topic without TLS', () => {
    minimal.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms of this account publish to the alert topic', () => {
    minimal.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': '111122223333' } }),
          }),
        ]),
      },
    });
  });

  it('subscribes each alert email to the topic', () => {
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'soc@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('AlertTopic') },
    });
  });

  it('keeps failures for 14 days in an encrypted, TLS-only queue', () => {
    minimal.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    minimal.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('creates the demo bucket encrypted, TLS-only and closed to the public', () => {
    minimal.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    minimal.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('adds an Amazon Q Developer Slack channel on the alert topic, with a deny-all guardrail', () => {
    configured.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
      GuardrailPolicies: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AWSDenyAll']] },
      ],
    });
  });

  it.each([
    { case: 'function errors', namespace: 'AWS/Lambda', metric: 'Errors' },
    { case: 'function throttles', namespace: 'AWS/Lambda', metric: 'Throttles' },
    {
      case: 'messages in the failure queue',
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
    },
    { case: 'poison objects', namespace: METRICS_NAMESPACE, metric: METRIC.poisonObjects },
  ])('alarms on $case above 0, notifying the alert topic', ({ namespace, metric }) => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: metric,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
    });
  });

  it('reads the poison-object metric with the service dimension Powertools adds', () => {
    minimal.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.poisonObjects,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
    });
  });

  it('sends alarms to alarmTopic instead when one is given', () => {
    // Prepare
    const opsTopicArn = 'arn:aws:sns:eu-west-1:111122223333:ops';
    const alarmTopic = sns.Topic.fromTopicArn(new Stack(new App(), 'Imports'), 'Ops', opsTopicArn);
    // Act
    const { template } = synthDetector({ createDemoBucket: true, alarmTopic });
    // Assess
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{
      Properties: { AlarmActions: unknown[] };
    }>;
    expect(alarms.map((alarm) => alarm.Properties.AlarmActions)).toEqual(alarms.map(() => [opsTopicArn]));
  });
});
