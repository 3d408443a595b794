import { describe, expect, it } from 'vitest';
import { StackContextError } from '../../lib/cdk/errors';
import { type ContextKey, parseStackContext } from '../../lib/cdk/stack-context';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:trail-bucket-events';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0b1c2d3e-aaaa-bbbb-cccc-123456789012';

/** A context reader over a plain object, as `app.node.tryGetContext` would return values. */
const reader =
  (context: Partial<Record<ContextKey, unknown>>) =>
  (key: ContextKey): unknown =>
    context[key];

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('parseStackContext', () => {
  it('builds a demo-bucket, s3-mode stack named RegionSweep from no context at all', () => {
    // Act
    const settings = parseStackContext(reader({}));
    // Assess
    expect(settings).toEqual({
      stackName: 'RegionSweep',
      detector: { createDemoBucket: true, deliveryMode: 's3' },
      ruleFiles: [],
    });
  });

  it('reads every key from CLI strings into typed props', () => {
    // Prepare
    const context = {
      bucketName: 'trail-bucket',
      kmsKeyArn: KEY_ARN,
      keyPrefix: 'org',
      deliveryMode: 'sns',
      notificationTopicArn: TOPIC_ARN,
      expectedBucketOwner: '444455556666',
      alertEmails: 'soc@example.com, oncall@example.com',
      slackWorkspaceId: 'T0123ABCD',
      slackChannelId: 'C0123ABCD',
      rules: 'ec2-multi-region-describe-instances, s3-rapid-bucket-posture',
      ruleFiles: 'rules/mine.json,rules/other.ts',
      windowMode: 'hopping',
      minRegions: '5',
      minEvents: '20',
      windowSeconds: '60',
      retentionDays: '30',
      suppressionMinutes: '0',
      reservedConcurrency: '10',
      allowlist: '{"accounts":["444455556666"]}',
      stackName: 'RegionSweepProd',
    };
    // Act
    const settings = parseStackContext(reader(context));
    // Assess
    expect(settings).toEqual({
      stackName: 'RegionSweepProd',
      detector: {
        existingBucketName: 'trail-bucket',
        kmsKeyArn: KEY_ARN,
        keyPrefix: 'org',
        deliveryMode: 'sns',
        notificationTopicArn: TOPIC_ARN,
        expectedBucketOwner: '444455556666',
        alertEmails: ['soc@example.com', 'oncall@example.com'],
        slack: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
        rules: ['ec2-multi-region-describe-instances', 's3-rapid-bucket-posture'],
        windowMode: 'hopping',
        minRegions: 5,
        minEvents: 20,
        windowSeconds: 60,
        retentionDays: 30,
        suppressionMinutes: 0,
        reservedConcurrentExecutions: 10,
        allowlist: {
          arns: [],
          arnPatterns: [],
          userAgentPatterns: [],
          accounts: ['444455556666'],
          identityTypes: [],
        },
      },
      ruleFiles: ['rules/mine.json', 'rules/other.ts'],
    });
  });

  it('accepts JSON-typed values from cdk.json (numbers, booleans, lists, objects)', () => {
    // Act
    const settings = parseStackContext(
      reader({
        createDemoBucket: true,
        minRegions: 12,
        alertEmails: ['soc@example.com'],
        allowlist: { arns: ['arn:aws:iam::111122223333:role/inventory'] },
        rules: ['discovery-api-calls-via-cli'],
      }),
    );
    // Assess
    expect(settings.detector).toMatchObject({
      createDemoBucket: true,
      minRegions: 12,
      alertEmails: ['soc@example.com'],
      allowlist: { arns: ['arn:aws:iam::111122223333:role/inventory'] },
      rules: ['discovery-api-calls-via-cli'],
    });
  });

  it('treats empty strings as absent', () => {
    // Act
    const settings = parseStackContext(reader({ keyPrefix: '', kmsKeyArn: ' ', minRegions: '' }));
    // Assess
    expect(settings.detector).toEqual({ createDemoBucket: true, deliveryMode: 's3' });
  });

  it.each<{ case: string; context: Partial<Record<ContextKey, unknown>>; key: ContextKey; message: RegExp }>([
    {
      case: 'windowMode neither tumbling nor hopping',
      context: { windowMode: 'sliding' },
      key: 'windowMode',
      message: /tumbling or hopping/,
    },
    { case: 'rules as a number', context: { rules: 5 }, key: 'rules', message: /list of strings/ },
    {
      case: 'bucketName with createDemoBucket',
      context: { bucketName: 'trail-bucket', createDemoBucket: 'true' },
      key: 'createDemoBucket',
      message: /together with bucketName/,
    },
    {
      case: 'neither bucketName nor createDemoBucket',
      context: { createDemoBucket: 'false' },
      key: 'bucketName',
      message: /must be set/,
    },
    {
      case: 'createDemoBucket not a boolean',
      context: { createDemoBucket: 'yes' },
      key: 'createDemoBucket',
      message: /true or false/,
    },
    {
      case: 'invalid bucket name',
      context: { bucketName: 'Trail_Bucket' },
      key: 'bucketName',
      message: /bucket name/,
    },
    { case: 'bad KMS ARN', context: { kmsKeyArn: 'alias/trail' }, key: 'kmsKeyArn', message: /KMS key ARN/ },
    {
      case: 'unknown delivery mode',
      context: { deliveryMode: 'kinesis' },
      key: 'deliveryMode',
      message: /one of s3/,
    },
    {
      case: 'sns mode without topic',
      context: { bucketName: 'trail-bucket', deliveryMode: 'sns' },
      key: 'notificationTopicArn',
      message: /required/,
    },
    {
      case: 'sns mode with the demo bucket',
      context: { deliveryMode: 'sns', notificationTopicArn: TOPIC_ARN },
      key: 'bucketName',
      message: /required when deliveryMode is sns/,
    },
    {
      case: 'topic outside sns mode',
      context: { notificationTopicArn: TOPIC_ARN },
      key: 'notificationTopicArn',
      message: /only to deliveryMode sns/,
    },
    {
      case: 'bad topic ARN',
      context: { deliveryMode: 'sns', notificationTopicArn: 'trail-events' },
      key: 'notificationTopicArn',
      message: /SNS topic ARN/,
    },
    {
      case: 'owner not 12 digits',
      context: { expectedBucketOwner: '1234' },
      key: 'expectedBucketOwner',
      message: /12-digit/,
    },
    {
      case: 'bad email',
      context: { alertEmails: 'soc@example.com,oncall' },
      key: 'alertEmails',
      message: /"oncall"/,
    },
    {
      case: 'Slack channel without workspace',
      context: { slackChannelId: 'C1' },
      key: 'slackWorkspaceId',
      message: /together/,
    },
    {
      case: 'non-numeric minRegions',
      context: { minRegions: 'ten' },
      key: 'minRegions',
      message: /whole number/,
    },
    {
      case: 'fractional minEvents',
      context: { minEvents: '2.5' },
      key: 'minEvents',
      message: /whole number/,
    },
    {
      case: 'negative retentionDays',
      context: { retentionDays: '-1' },
      key: 'retentionDays',
      message: /whole number/,
    },
    {
      case: 'retentionDays shorter than the failure queue keeps a message',
      context: { retentionDays: '14' },
      key: 'retentionDays',
      message: />= 15/,
    },
    {
      case: 'zero reservedConcurrency',
      context: { reservedConcurrency: 0 },
      key: 'reservedConcurrency',
      message: />= 1/,
    },
    { case: 'allowlist not JSON', context: { allowlist: '{arns:' }, key: 'allowlist', message: /not JSON/ },
    { case: 'keyPrefix with wildcard', context: { keyPrefix: 'org/*' }, key: 'keyPrefix', message: /"\*"/ },
    {
      case: 'stack name with spaces',
      context: { stackName: 'Region Sweep' },
      key: 'stackName',
      message: /stack name/,
    },
  ])('rejects $case, naming the key', ({ context, key, message }) => {
    // Act
    const error = thrownBy(() => parseStackContext(reader(context)));
    // Assess
    expect(error).toBeInstanceOf(StackContextError);
    expect(error).toMatchObject({ key, message: expect.stringMatching(message) });
  });
});

describe('parseStackContext: deafAlarmMinutes', () => {
  it('becomes the deaf-detector alarm period', () => {
    // Act
    const settings = parseStackContext(reader({ deafAlarmMinutes: '45' }));
    // Assess
    expect(settings.detector.deafAlarmPeriod?.toSeconds()).toBe(45 * 60);
  });

  it('refuses fewer than 5 minutes, naming the key', () => {
    // Act
    const error = thrownBy(() => parseStackContext(reader({ deafAlarmMinutes: '2' })));
    // Assess
    expect(error).toMatchObject({ key: 'deafAlarmMinutes', message: expect.stringMatching(/>= 5/) });
  });

  it('leaves the period to the construct default when absent', () => {
    // Act
    const settings = parseStackContext(reader({}));
    // Assess
    expect(settings.detector.deafAlarmPeriod).toBeUndefined();
  });
});
