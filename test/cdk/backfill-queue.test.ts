import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegionSweepDetectorPropsError } from '../../lib/cdk/errors';
import { parseStackContext } from '../../lib/cdk/stack-context';
import { functionPolicyStatements, logicalIdOf, synthDetector } from './synth-detector';

describe('backfill queue', () => {
  let template: Template;
  let queueId: string;
  let deadLetterId: string;
  beforeAll(() => {
    ({ template } = synthDetector({ createDemoBucket: true }));
    queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'DetectorBackfillQueue');
    deadLetterId = logicalIdOf(template, 'AWS::SQS::Queue', 'BackfillDeadLetterQueue');
  });

  it('gives the queue a 30-minute visibility timeout (6x the function timeout), encrypted', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      SqsManagedSseEnabled: true,
      RedrivePolicy: Match.objectLike({ deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] } }),
    });
  });

  it('moves a message to its own dead-letter queue after 5 receives (AWS: at least 5 for a Lambda consumer)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it.each(['queue', 'dead-letter queue'])('denies access to the backfill %s without TLS', (which) => {
    const id = which === 'queue' ? queueId : deadLetterId;
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is consumed in batches of 2 with partial batch failures and at most 5 concurrent invocations', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('takes maxConcurrency from backfillConcurrency', () => {
    // Act
    const { template: custom } = synthDetector({ createDemoBucket: true, backfillConcurrency: 20 });
    // Assess
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  it('lets the function receive and delete messages of the backfill queue only', () => {
    const consume = functionPolicyStatements(template).filter((s) =>
      [s.Action].flat().includes('sqs:ReceiveMessage'),
    );
    expect(consume).toEqual([
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      }),
    ]);
  });

  it('alarms on messages in the backfill dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterId, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it.each([
    { output: 'BackfillQueueUrl', id: () => queueId },
    { output: 'BackfillDeadLetterQueueUrl', id: () => deadLetterId },
  ])('exports $output', ({ output, id }) => {
    template.hasOutput(output, { Value: { Ref: id() } });
  });

  it.each([1, 1001, 2.5])('rejects backfillConcurrency %s', (backfillConcurrency) => {
    // Act
    const synth = () => synthDetector({ createDemoBucket: true, backfillConcurrency });
    // Assess
    expect(synth).toThrow(RegionSweepDetectorPropsError);
  });

  it('reads backfillConcurrency from context', () => {
    // Act
    const settings = parseStackContext((key) => (key === 'backfillConcurrency' ? '12' : undefined));
    // Assess
    expect(settings.detector.backfillConcurrency).toBe(12);
  });
});
