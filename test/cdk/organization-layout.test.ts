import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import {
  addOrganizationLayout,
  type OrganizationSettings,
  type OrganizationStacks,
  parseOrganizationContext,
} from '../../lib/cdk/organization/organization-layout';
import { type ContextKey, parseStackContext } from '../../lib/cdk/stack-context';
import { SKIP_BUNDLING } from './synth-detector';

const SECURITY = '222233334444';
const LOG_ARCHIVE = '999988887777';
const MANAGEMENT = '555566667777';
const REGION = 'eu-west-1';
const BUCKET = 'org-trail-logs';
const TRAIL_ARN = `arn:aws:cloudtrail:${REGION}:${MANAGEMENT}:trail/org-trail`;
const DETECTOR: RegionSweepDetectorProps = {
  existingBucketName: BUCKET,
  keyPrefix: 'org',
  alertEmails: ['soc@example.com'],
};

/** The app as bin/app.ts builds it for the organization layout, with cdk-nag as a validation plugin. */
function organizationApp(organization: OrganizationSettings): { app: App; stacks: OrganizationStacks } {
  const app = new App({ context: SKIP_BUNDLING });
  const stacks = addOrganizationLayout(app, { organization, detector: DETECTOR, stackName: 'RegionSweep' });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stacks };
}

/** The statements of the only resource policy of `type` in `template`. */
/** The organization's stacks and the templates of its forwarding and detector stacks. */
function organizationTemplates(organization: OrganizationSettings): {
  stacks: OrganizationStacks;
  forwarding: Template;
  detector: Template;
} {
  const { stacks } = organizationApp(organization);
  return {
    stacks,
    forwarding: Template.fromStack(stacks.forwarding),
    detector: Template.fromStack(stacks.detector),
  };
}

function statementsOf(template: Template, type: string, key: 'PolicyDocument' | 'KeyPolicy'): unknown[] {
  const resources = Object.values(template.findResources(type)) as Array<{
    Properties: Record<string, { Statement: unknown[] }>;
  }>;
  expect(resources).toHaveLength(1);
  return resources[0]?.Properties[key]?.Statement ?? [];
}

describe('organization layout: the bucket owner forwards its notifications (no trailArn)', () => {
  const organization = { securityAccount: SECURITY, logArchiveAccount: LOG_ARCHIVE, region: REGION };
  let stacks: OrganizationStacks;
  let forwarding: Template;
  let detector: Template;
  beforeAll(() => {
    ({ stacks, forwarding, detector } = organizationTemplates(organization));
  });

  it('deploys the forwarding stack to the log-archive account and the detector to the security account', () => {
    // Assess
    expect([
      stacks.forwarding.account,
      stacks.forwarding.region,
      stacks.detector.account,
      stacks.detector.region,
    ]).toEqual([LOG_ARCHIVE, REGION, SECURITY, REGION]);
    expect(stacks.detector.dependencies).toEqual([stacks.forwarding]);
  });

  it("sends the bucket's object-created notifications under <prefix>AWSLogs/ (.json.gz) to the topic", () => {
    // Assess
    forwarding.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: BUCKET,
      Managed: false,
      NotificationConfiguration: {
        TopicConfigurations: [
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
            TopicArn: { Ref: Match.stringLikeRegexp('ObjectCreatedTopic') },
          },
        ],
      },
    });
  });

  it('names the topic so the detector can derive its ARN, encrypted with its own key', () => {
    // Assess
    forwarding.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'regionsweep-trail-objects',
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ObjectCreatedKey'), 'Arn'] },
    });
  });

  it('lets only this bucket of this account publish, and only SQS queues of the security account subscribe', () => {
    // Assess
    const bucketArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}`]] };
    expect(statementsOf(forwarding, 'AWS::SNS::TopicPolicy', 'PolicyDocument')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 's3.amazonaws.com' },
          Action: 'sns:Publish',
          Condition: {
            ArnLike: { 'aws:SourceArn': bucketArn },
            StringEquals: { 'aws:SourceAccount': LOG_ARCHIVE },
          },
        }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: {
            AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${SECURITY}:root`]] },
          },
          Action: 'sns:Subscribe',
          Condition: {
            StringEquals: { 'sns:Protocol': 'sqs' },
            ArnLike: {
              'sns:Endpoint': {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:${REGION}:${SECURITY}:*`]],
              },
            },
          },
        }),
      ]),
    );
  });

  it('lets S3 encrypt with the topic key, for this bucket only', () => {
    // Assess
    expect(statementsOf(forwarding, 'AWS::KMS::Key', 'KeyPolicy')).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 's3.amazonaws.com' },
        Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
        Condition: {
          ArnLike: {
            'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${BUCKET}`]] },
          },
          StringEquals: { 'aws:SourceAccount': LOG_ARCHIVE },
        },
      }),
    );
  });

  it("subscribes the detector's queue to the forwarding topic from the security account", () => {
    // Assess
    detector.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: `arn:aws:sns:${REGION}:${LOG_ARCHIVE}:regionsweep-trail-objects`,
      Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationQueue'), 'Arn'] },
      RawMessageDelivery: false,
    });
    detector.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'sns.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': `arn:aws:sns:${REGION}:${LOG_ARCHIVE}:regionsweep-trail-objects`,
              },
            },
          }),
        ]),
      },
    });
  });

  it('never configures the bucket from the security account', () => {
    // Assess
    detector.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('checks the log-archive account as the bucket owner on every read', () => {
    // Assess
    detector.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EXPECTED_BUCKET_OWNER: LOG_ARCHIVE }) },
    });
  });

  it('has the deaf-detector alarm in the security account', () => {
    // Assess
    detector.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ObjectsProcessed',
      TreatMissingData: 'breaching',
      Period: 1800,
    });
  });

  it('exports the function role ARN the log-archive account grants', () => {
    // Assess
    detector.hasOutput('FunctionRoleArn', { Value: Match.anyValue() });
  });
});

describe("organization layout: the trail's own topic in the management account (trailArn)", () => {
  const organization = {
    securityAccount: SECURITY,
    logArchiveAccount: LOG_ARCHIVE,
    region: REGION,
    trailArn: TRAIL_ARN,
  };
  let stacks: OrganizationStacks;
  let forwarding: Template;
  let detector: Template;
  beforeAll(() => {
    ({ stacks, forwarding, detector } = organizationTemplates(organization));
  });

  it("deploys the topic stack to the trail's account, and touches no bucket there", () => {
    // Assess
    expect([stacks.forwarding.account, stacks.forwarding.region]).toEqual([MANAGEMENT, REGION]);
    forwarding.resourceCountIs('Custom::S3BucketNotifications', 0);
    forwarding.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'regionsweep-trail-notifications' });
  });

  it('lets only this trail publish and encrypt, and SQS queues of the security account subscribe', () => {
    // Assess
    const fromTrail = {
      ArnLike: { 'aws:SourceArn': TRAIL_ARN },
      StringEquals: { 'aws:SourceAccount': MANAGEMENT },
    };
    expect(statementsOf(forwarding, 'AWS::SNS::TopicPolicy', 'PolicyDocument')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Principal: { Service: 'cloudtrail.amazonaws.com' },
          Action: 'sns:Publish',
          Condition: fromTrail,
        }),
        expect.objectContaining({
          Action: 'sns:Subscribe',
          Condition: expect.objectContaining({ StringEquals: { 'sns:Protocol': 'sqs' } }),
        }),
      ]),
    );
    expect(statementsOf(forwarding, 'AWS::KMS::Key', 'KeyPolicy')).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudtrail.amazonaws.com' }, Condition: fromTrail }),
    );
  });

  it('prints the command that points the trail at the topic', () => {
    // Assess
    forwarding.hasOutput('UpdateTrailCommand', {
      Value: {
        'Fn::Join': [
          '',
          [`aws cloudtrail update-trail --name ${TRAIL_ARN} --sns-topic-name `, { Ref: Match.anyValue() }],
        ],
      },
    });
  });

  it("subscribes the detector to the trail's topic, still checking the log-archive account as bucket owner", () => {
    // Assess
    detector.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: `arn:aws:sns:${REGION}:${MANAGEMENT}:regionsweep-trail-notifications`,
    });
    detector.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EXPECTED_BUCKET_OWNER: LOG_ARCHIVE }) },
    });
  });
});

describe('organization layout passes cdk-nag AwsSolutions', () => {
  it.each([
    { case: 'log-archive forwarding', trailArn: undefined },
    { case: "the trail's topic", trailArn: TRAIL_ARN },
  ])('every stack synthesizes with no findings: $case', ({ trailArn }) => {
    // Prepare
    const { app, stacks } = organizationApp({
      securityAccount: SECURITY,
      logArchiveAccount: LOG_ARCHIVE,
      region: REGION,
      ...(trailArn === undefined ? {} : { trailArn }),
    });

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).not.toThrow();
    for (const stack of [stacks.forwarding, stacks.detector]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

/** A context reader over a plain object, as `app.node.tryGetContext` would return values. */
const reader =
  (context: Partial<Record<ContextKey, unknown>>) =>
  (key: ContextKey): unknown =>
    context[key];

function parse(context: Partial<Record<ContextKey, unknown>>): OrganizationSettings | undefined {
  const read = reader(context);
  return parseOrganizationContext(read, parseStackContext(read).detector);
}

describe('parseOrganizationContext', () => {
  const BASE = {
    securityAccount: SECURITY,
    logArchiveAccount: LOG_ARCHIVE,
    region: REGION,
    bucketName: BUCKET,
  };

  it('is off without organization keys (the single stack)', () => {
    // Assess
    expect(parse({ bucketName: BUCKET })).toBeUndefined();
  });

  it('reads the accounts, the Region and the trail', () => {
    // Assess
    expect(parse({ ...BASE, trailArn: TRAIL_ARN })).toEqual({
      securityAccount: SECURITY,
      logArchiveAccount: LOG_ARCHIVE,
      region: REGION,
      trailArn: TRAIL_ARN,
    });
  });

  it.each([
    {
      case: 'no securityAccount',
      context: { ...BASE, securityAccount: undefined },
      error: /"securityAccount": is required/,
    },
    { case: 'no region', context: { ...BASE, region: undefined }, error: /"region": is required/ },
    { case: 'no bucket', context: { ...BASE, bucketName: undefined }, error: /"bucketName": is required/ },
    {
      case: 'one account for both',
      context: { ...BASE, logArchiveAccount: SECURITY },
      error: /single stack/,
    },
    { case: 's3 delivery', context: { ...BASE, deliveryMode: 's3' }, error: /"deliveryMode".*uses sns/ },
    {
      case: 'eventbridge delivery',
      context: { ...BASE, deliveryMode: 'eventbridge' },
      error: /"deliveryMode".*uses sns/,
    },
    {
      case: 'another bucket owner',
      context: { ...BASE, expectedBucketOwner: '111122223333' },
      error: /"expectedBucketOwner": is 111122223333 but logArchiveAccount is 999988887777/,
    },
    {
      case: 'a trail in another Region',
      context: { ...BASE, trailArn: TRAIL_ARN.replace(REGION, 'us-east-1') },
      error: /"trailArn": is in us-east-1 but region is eu-west-1/,
    },
    {
      case: 'a malformed trail ARN',
      context: { ...BASE, trailArn: 'org-trail' },
      error: /"trailArn": is not a trail ARN/,
    },
  ])('refuses $case, naming the key', ({ context, error }) => {
    // Assess
    expect(() => parse(context)).toThrow(error);
  });
});
