import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  RegionSweepDetector,
  type RegionSweepDetectorProps,
  RegionSweepDetectorPropsError,
} from '../../lib/region-sweep-detector';
import { NOTIFICATION_TOPIC_ARN } from './synth-detector';

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
    { case: 'fractional minEvents', props: { ...bucket, minEvents: 2.5 }, message: /MIN_EVENTS/ },
    {
      case: 'allowlist account not 12 digits',
      props: { ...bucket, allowlist: { accounts: ['12'] } },
      message: /allowlist account "12"/,
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
});
