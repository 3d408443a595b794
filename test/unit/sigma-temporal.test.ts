import { describe, expect, it } from 'vitest';
import { pipelineSettings } from '../../lambda/config';
import type { ObjectRef } from '../../lambda/ports';
import { processLogObject } from '../../lambda/process-log-object';
import { parseSigmaRules } from '../../lib/rules/sigma/sigma-rules';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent } from '../fixtures/events';
import { memoryObjects, pipeline } from '../support/pipeline-harness';

const FILE = 'rules/recon.yml';
const ACCOUNT = '111122223333';

/** Two detections and a temporal correlation over both: one identity doing both within the hour. */
const RECON = `title: EC2 instance listing
name: ec2_listing
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: ec2.amazonaws.com
        eventName: DescribeInstances
    condition: selection
---
title: Bucket policy read
name: bucket_policy_read
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: s3.amazonaws.com
        eventName: GetBucketPolicy
    condition: selection
---
title: Instances then bucket policies
name: recon_sequence
level: high
correlation:
    type: temporal
    rules:
        - ec2_listing
        - bucket_policy_read
    group-by:
        - userIdentity.arn
    timespan: 1h
`;

describe('a Sigma temporal correlation is a correlation over findings', () => {
  it('its detections become building blocks, and it requires a finding of each within the timespan', () => {
    // Act
    const rules = parseSigmaRules(RECON, FILE);

    // Assess
    expect(rules.map((rule) => [rule.slug, rule.buildingBlock ?? false])).toEqual([
      ['ec2_listing', true],
      ['bucket_policy_read', true],
      ['recon_sequence', false],
    ]);
    expect(rules[2]).toMatchObject({
      severity: 'high',
      windowSeconds: 3600,
      groupBy: ['userIdentity.arn'],
      minDistinct: 2,
      correlation: {
        rules: ['ec2_listing', 'bucket_policy_read'],
        requires: ['ec2_listing', 'bucket_policy_read'],
      },
    });
  });

  it('alerts once for the identity that matched both within the hour, publishing no building block', async () => {
    // Prepare
    const settings = pipelineSettings({ customRules: parseSigmaRules(RECON, FILE) });
    const both = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/both`;
    const one = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/only-ec2`;
    const call = (arn: string, eventSource: string, eventName: string, eventTime: string) =>
      cloudTrailEvent({ arn, eventSource, eventName, eventTime });
    const objects = memoryObjects({
      [cloudTrailKey(ACCOUNT, 'us-east-1', new Date('2026-11-28T10:10:00Z'), 'a')]: [
        call(both, 'ec2.amazonaws.com', 'DescribeInstances', '2026-11-28T10:01:00Z'),
        call(one, 'ec2.amazonaws.com', 'DescribeInstances', '2026-11-28T10:02:00Z'),
      ],
      [cloudTrailKey(ACCOUNT, 'us-east-1', new Date('2026-11-28T10:50:00Z'), 'b')]: [
        call(both, 's3.amazonaws.com', 'GetBucketPolicy', '2026-11-28T10:44:00Z'),
        call(both, 's3.amazonaws.com', 'GetBucketPolicy', '2026-11-28T10:45:00Z'),
      ],
    });
    const harness = pipeline(objects, settings);

    // Act
    for (const ref of [...objects.refs, ...objects.refs] as ObjectRef[])
      await processLogObject(harness.deps, ref, { origin: 'live', keyMode: 'strict' });

    // Assess
    expect(harness.publisher.published.map(({ finding }) => [finding.ruleId, finding.arn])).toEqual([
      ['recon_sequence', both],
    ]);
    // Published when the first bucket-policy read joined: the findings the window held then.
    expect(harness.publisher.published[0]?.finding.contributingFindings?.map((f) => f.rule)).toEqual([
      'ec2_listing',
      'bucket_policy_read',
    ]);
  });
});
