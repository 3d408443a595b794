import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FUNCTION_TIMEOUT_SECONDS, QUEUE_RETENTION_DAYS } from '../../lambda/config';
import { detectorQueue } from '../../lib/cdk/queues';
import { TEST_CONTEXT, TEST_ENV } from './synth-detector';

/** One dead-letter queue and one consumed queue that sends to it, as the detector pairs them. */
function queuePair(): { app: App; stack: Stack; template: () => Template } {
  const app = new App({ context: TEST_CONTEXT });
  const stack = new Stack(app, 'Queues', { env: TEST_ENV });
  const deadLetterQueue = detectorQueue(stack, 'Dead', { kind: 'dead-letter', describedAs: 'a test DLQ' });
  detectorQueue(stack, 'Work', { kind: 'consumed', deadLetterQueue });
  return { app, stack, template: () => Template.fromStack(stack) };
}

function queueProperties(template: Template, fragment: string): Record<string, unknown> {
  const [queue, ...others] = Object.entries(template.findResources('AWS::SQS::Queue')).filter(([id]) =>
    id.startsWith(fragment),
  );
  if (queue === undefined || others.length > 0) throw new Error(`expected one queue ${fragment}`);
  return (queue[1] as { Properties: Record<string, unknown> }).Properties;
}

describe('detectorQueue', () => {
  it.each(['Dead', 'Work'])('%s queue: SQS-managed encryption and QUEUE_RETENTION_DAYS retention', (id) => {
    // Prepare
    const { template } = queuePair();
    // Act
    const properties = queueProperties(template(), id);
    // Assess
    expect(properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: QUEUE_RETENTION_DAYS * 86_400,
    });
  });

  it('denies every request without TLS on both queues', () => {
    // Prepare
    const { template } = queuePair();
    // Act
    const policies = template().findResources('AWS::SQS::QueuePolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    // Assess
    expect(Object.keys(policies)).toHaveLength(2);
  });

  it('a consumed queue hides a batch for 6 function time-outs and gives up after 5 receives', () => {
    // Prepare
    const { template } = queuePair();
    // Act
    const properties = queueProperties(template(), 'Work');
    // Assess
    expect(properties).toMatchObject({
      VisibilityTimeout: FUNCTION_TIMEOUT_SECONDS * 6,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^Dead/), 'Arn'] } },
    });
    expect(properties).toHaveProperty('RedrivePolicy.maxReceiveCount', 5);
  });

  it('a dead-letter queue has no dead-letter queue of its own', () => {
    // Prepare
    const { template } = queuePair();
    // Act
    const properties = queueProperties(template(), 'Dead');
    // Assess
    expect(properties).not.toHaveProperty('RedrivePolicy');
  });

  it('acknowledges a dead-letter queue no queue redrives to (a Lambda failure destination) for SQS3', () => {
    // Prepare: cdk-nag accepts a queue another queue redrives to; the failure queue in s3 mode is not one.
    const app = new App({ context: TEST_CONTEXT });
    const stack = new Stack(app, 'Destination', { env: TEST_ENV });
    detectorQueue(stack, 'Failure', { kind: 'dead-letter', describedAs: 'a failure destination' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act
    const synth = () => app.synth();
    // Assess
    expect(synth).not.toThrow();
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });
});
