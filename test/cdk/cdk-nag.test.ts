import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import { RegionSweepStack } from '../../lib/cdk/region-sweep-stack';
import { NOTIFICATION_TOPIC_ARN, TEST_CONTEXT, TEST_ENV, TRAIL_KEY_ARN } from './synth-detector';

/** The app as bin/app.ts builds it: AwsSolutions checks as a validation plugin, so findings fail synth. */
function appWithChecks(detector: RegionSweepDetectorProps): { app: App; stack: RegionSweepStack } {
  const app = new App({ context: TEST_CONTEXT });
  const stack = new RegionSweepStack(app, 'Nag', { env: TEST_ENV, detector });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

describe('cdk-nag AwsSolutions', () => {
  it.each<{ case: string; detector: RegionSweepDetectorProps }>([
    { case: 'demo bucket, s3 delivery (the no-context default)', detector: { createDemoBucket: true } },
    {
      case: 'existing bucket with prefix and key, s3 delivery',
      detector: { existingBucketName: 'trail-bucket', keyPrefix: 'org', kmsKeyArn: TRAIL_KEY_ARN },
    },
    {
      case: 'demo bucket, eventbridge delivery',
      detector: { createDemoBucket: true, deliveryMode: 'eventbridge' },
    },
    {
      case: 'existing bucket, sns delivery, email and Slack',
      detector: {
        existingBucketName: 'trail-bucket',
        deliveryMode: 'sns',
        notificationTopicArn: NOTIFICATION_TOPIC_ARN,
        alertEmails: ['soc@example.com'],
        slack: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
      },
    },
  ])('synthesizes with no findings: $case', ({ detector }) => {
    // Prepare
    const { app, stack } = appWithChecks(detector);
    // Act
    const synth = () => app.synth();
    // Assess
    expect(synth).not.toThrow();
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('fails the synth on an unacknowledged finding (the checks are active)', () => {
    // Prepare
    const { app, stack } = appWithChecks({ createDemoBucket: true });
    stack.detector.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    // Act
    const synth = () => app.synth();
    // Assess
    expect(synth).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
  });
});
