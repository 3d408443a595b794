import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionPolicyStatements, synthDetector, TRAIL_KEY_ARN } from './synth-detector';

describe('RegionSweepDetector function permissions', () => {
  let withKey: Template;
  let withoutKey: Template;
  beforeAll(() => {
    ({ template: withKey } = synthDetector({
      existingBucketName: 'trail-bucket',
      keyPrefix: 'org/',
      kmsKeyArn: TRAIL_KEY_ARN,
    }));
    ({ template: withoutKey } = synthDetector({ existingBucketName: 'trail-bucket' }));
  });

  const actionsOf = (statement: Record<string, unknown>): string[] => [statement.Action].flat() as string[];

  it('reads objects only under <keyPrefix>AWSLogs/', () => {
    const reads = functionPolicyStatements(withKey).filter((s) => actionsOf(s).includes('s3:GetObject'));
    expect(reads).toEqual([
      expect.objectContaining({
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        // A literal partition: the stack's region is known (@aws-cdk/core:enablePartitionLiterals).
        Resource: 'arn:aws:s3:::trail-bucket/org/AWSLogs/*',
      }),
    ]);
  });

  it('grants kms:Decrypt on the trail key through S3 only when kmsKeyArn is given', () => {
    const decrypt = functionPolicyStatements(withKey).filter((s) => s.Resource === TRAIL_KEY_ARN);
    expect(decrypt).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      }),
    ]);
  });

  it('grants no KMS action beyond the alert key when kmsKeyArn is absent', () => {
    const kms = functionPolicyStatements(withoutKey).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('kms:')),
    );
    expect(kms).toEqual([
      expect.objectContaining({ Resource: { 'Fn::GetAtt': [expect.stringMatching(/AlertKey/), 'Arn'] } }),
    ]);
  });

  it('allows only GetItem, Query and UpdateItem, on the window table only', () => {
    const dynamo = functionPolicyStatements(withKey).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo.map((s) => ({ actions: actionsOf(s).sort(), resource: s.Resource }))).toEqual([
      {
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        resource: { 'Fn::GetAtt': [expect.stringMatching(/WindowTable/), 'Arn'] },
      },
    ]);
  });

  it('publishes only to the alert topic', () => {
    const publish = functionPolicyStatements(withKey).filter((s) => actionsOf(s).includes('sns:Publish'));
    expect(publish).toEqual([
      expect.objectContaining({ Resource: { Ref: expect.stringMatching(/AlertTopic/) } }),
    ]);
  });

  it('has no statement on resource "*" and no wildcard action', () => {
    const statements = functionPolicyStatements(withKey);
    const resources = statements.flatMap((s) => [s.Resource].flat());
    expect(resources).not.toContain('*');
    expect(statements.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
  });

  it('uses no AWS managed policy on the function role', () => {
    withKey.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });
});
