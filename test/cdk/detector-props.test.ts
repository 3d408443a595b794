import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { MIN_RETENTION_DAYS } from '../../lambda/config';
import {
  DISCOVERY_CAMPAIGN,
  S3_RAPID_BUCKET_POSTURE_API_CALLS,
} from '../../lambda/domain/detection/built-in-rules';
import type { RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import { RegionSweepDetectorPropsError } from '../../lib/cdk/errors';
import { RegionSweepDetector } from '../../lib/cdk/region-sweep-detector';
import { NOTIFICATION_TOPIC_ARN, synthDetector } from './synth-detector';

const bucket = { existingBucketName: 'trail-bucket' } as const;

describe('RegionSweepDetector props validation', () => {
  it.each<{ case: string; props: RegionSweepDetectorProps; message: RegExp }>([
    {
      case: 'no bucket at all',
      props: {},
      message: /exactly one of existingBucketName and createDemoBucket/,
    },
    {
      case: 'both bucket sources',
      props: { ...bucket, createDemoBucket: true },
      message: /exactly one of existingBucketName and createDemoBucket/,
    },
    {
      case: 'invalid bucket name',
      props: { existingBucketName: 'Trail_Bucket' },
      message: /existingBucketName/,
    },
    { case: 'kmsKeyArn not a key ARN', props: { ...bucket, kmsKeyArn: 'alias/trail' }, message: /kmsKeyArn/ },
    { case: 'keyPrefix with leading slash', props: { ...bucket, keyPrefix: '/org' }, message: /keyPrefix/ },
    { case: 'sns without topic', props: { ...bucket, deliveryMode: 'sns' }, message: /notificationTopicArn/ },
    {
      case: 'topic outside sns mode',
      props: { ...bucket, notificationTopicArn: NOTIFICATION_TOPIC_ARN },
      message: /only to deliveryMode "sns"/,
    },
    {
      case: 'sns with the demo bucket',
      props: { createDemoBucket: true, deliveryMode: 'sns', notificationTopicArn: NOTIFICATION_TOPIC_ARN },
      message: /cannot use createDemoBucket/,
    },
    {
      case: 'owner not 12 digits',
      props: { ...bucket, expectedBucketOwner: '1234' },
      message: /expectedBucketOwner/,
    },
    { case: 'bad email', props: { ...bucket, alertEmails: ['soc'] }, message: /alertEmails/ },
    { case: 'minRegions above 64', props: { ...bucket, minRegions: 65 }, message: /MIN_REGIONS/ },
    {
      case: 'an unknown rule',
      props: { ...bucket, rules: ['ec2-sweep'] },
      message: /unknown rule "ec2-sweep"/,
    },
    {
      case: 'a correlation naming a rule that is not enabled',
      props: { ...bucket, rules: ['ec2-multi-region-describe-instances', 'discovery-campaign'] },
      message: /correlation discovery-campaign: rule discovery-api-calls-via-cli is not enabled/,
    },
    {
      case: 'a correlation naming an unknown rule',
      props: {
        ...bucket,
        customRules: [
          {
            ...DISCOVERY_CAMPAIGN,
            id: 'mine',
            slug: 'mine',
            correlation: { rules: ['no-such-rule'] },
            minDistinct: 1,
          },
        ],
      },
      message: /correlation mine: names no known rule "no-such-rule"/,
    },
    {
      case: 'a building block that is not enabled',
      props: { ...bucket, buildingBlocks: ['s3-rapid-bucket-posture'] },
      message: /building blocks s3-rapid-bucket-posture name no enabled rule/,
    },
    {
      case: 'a custom rule that does not group by identity first',
      props: {
        ...bucket,
        customRules: [
          { ...S3_RAPID_BUCKET_POSTURE_API_CALLS, id: 'mine', slug: 'mine', groupBy: ['sourceIPAddress'] },
        ],
      },
      message: /groupBy must start with userIdentity.arn/,
    },
    {
      case: 'a custom rule whose matches pattern needs backtracking (RE2 refuses lookahead)',
      props: {
        ...bucket,
        customRules: [
          {
            ...S3_RAPID_BUCKET_POSTURE_API_CALLS,
            id: 'mine',
            slug: 'mine',
            filter: [{ field: 'userAgent', matches: '^(?!aws-cli/)' }],
          },
        ],
      },
      message: /matches "\^\(\?!aws-cli\/\)" is not a regular expression RE2 accepts/,
    },
    {
      case: 'custom rules too large for the function environment',
      props: {
        ...bucket,
        customRules: Array.from({ length: 8 }, (_, i) => ({
          ...S3_RAPID_BUCKET_POSTURE_API_CALLS,
          id: `mine-${i}`,
          slug: `mine-${i}`,
        })),
      },
      message: /over Lambda's 4096: shorten customRules/,
    },
    { case: 'fractional minEvents', props: { ...bucket, minEvents: 2.5 }, message: /MIN_EVENTS/ },
    {
      case: 'allowlist account not 12 digits',
      props: { ...bucket, allowlist: { accounts: ['12'] } },
      message: /allowlist account "12"/,
    },
    {
      case: 'backfill concurrency above the reserved concurrency',
      props: { ...bucket, reservedConcurrentExecutions: 3 },
      message: /backfillConcurrency \(5\) must not exceed reservedConcurrentExecutions \(3\)/,
    },
    {
      case: 'windows kept for less than the failure queue keeps a message',
      props: { ...bucket, retentionDays: 7 },
      message: /RETENTION_DAYS must be a whole number from 15 to 365, got "7": window items must outlive/,
    },
    {
      case: 'an alert lease a replay cannot wait out within the function time-out',
      props: { ...bucket, alertLeaseSeconds: 600 },
      message: /ALERT_LEASE_SECONDS must be a whole number from 62 to 150, got "600"/,
    },
    {
      case: 'an alert lease shorter than twice the longest publish',
      props: { ...bucket, alertLeaseSeconds: 30 },
      message: /ALERT_LEASE_SECONDS .* an alert claim must outlast twice the longest publish/,
    },
    {
      case: 'reserved concurrency 0',
      props: { ...bucket, reservedConcurrentExecutions: 0 },
      message: /reserved/,
    },
  ])('rejects $case', ({ props, message }) => {
    // Act: a fresh stack per call, so each assertion builds the construct once
    const build = () => new RegionSweepDetector(new Stack(new App(), 'Props'), 'Detector', props);
    // Assess
    expect(build).toThrow(RegionSweepDetectorPropsError);
    expect(build).toThrow(message);
  });

  it.each([
    {
      case: 'a key in another region',
      props: {
        ...bucket,
        kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
      message: /kmsKeyArn is in us-east-1 but the stack deploys to eu-west-1/,
    },
    {
      case: 'a notification topic in another region',
      props: {
        ...bucket,
        deliveryMode: 'sns' as const,
        notificationTopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-bucket-events',
      },
      message: /notificationTopicArn is in us-east-1/,
    },
  ])('rejects $case when the stack region is known', ({ props, message }) => {
    // Act
    const build = () =>
      new RegionSweepDetector(
        new Stack(new App(), 'Props', { env: { account: '111122223333', region: 'eu-west-1' } }),
        'Detector',
        props,
      );
    // Assess
    expect(build).toThrow(message);
  });

  it('accepts a key and topic in the stack region', () => {
    // Act
    const build = () =>
      new RegionSweepDetector(
        new Stack(new App(), 'Props', { env: { account: '111122223333', region: 'eu-west-1' } }),
        'Detector',
        {
          ...bucket,
          kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          deliveryMode: 'sns',
          notificationTopicArn: NOTIFICATION_TOPIC_ARN,
        },
      );
    // Assess
    expect(build).not.toThrow();
  });

  it.each([
    { mode: 's3' as const, props: {} },
    { mode: 'sns' as const, props: { notificationTopicArn: NOTIFICATION_TOPIC_ARN } },
  ])(
    'every queue ($mode mode) lets go of a message before the shortest window retention ends',
    ({ mode, props }) => {
      // Act
      const { template } = synthDetector({ ...bucket, deliveryMode: mode, ...props });

      // Assess
      const periods = Object.values(template.findResources('AWS::SQS::Queue')).map(
        (queue) =>
          (queue as { Properties: { MessageRetentionPeriod?: number } }).Properties.MessageRetentionPeriod,
      );
      expect(periods.length).toBeGreaterThan(0);
      expect(periods.every((seconds) => seconds !== undefined && seconds < MIN_RETENTION_DAYS * 86_400)).toBe(
        true,
      );
    },
  );
});
