import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_API_CALLS_VIA_CLI,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  S3_RAPID_BUCKET_POSTURE_API_CALLS,
} from '../../lambda/domain/detection/built-in-rules';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { type Finding, presentationOf } from '../../lambda/domain/detection/window-state';
import { findingsAsJsonLines, findingsAsTable } from '../../lib/cli/findings-output';

function findingOf(rule: RuleDefinition, overrides: Partial<Finding> = {}): Finding {
  return {
    ruleId: rule.id,
    ruleName: rule.name,
    presentation: presentationOf(rule),
    severity: rule.severity,
    arn: 'arn:aws:iam::111122223333:user/alice',
    groupedBy: {},
    windowStart: '2026-11-28T10:00:00.000Z',
    windowSeconds: rule.windowSeconds,
    window: 'aligned',
    distinctField: rule.distinctField,
    distinctCount: 2,
    eventCount: 20,
    distinctValues: ['eu-west-1', 'us-east-1'],
    failedCount: 0,
    firstEventTime: '2026-11-28T10:00:01.000Z',
    lastEventTime: '2026-11-28T10:00:09.000Z',
    accountIds: ['111122223333'],
    identityTypes: ['IAMUser'],
    accessKeyIds: [],
    sourceIps: ['203.0.113.9'],
    userAgents: ['aws-cli/2.15.0'],
    sessionIssuers: [],
    sampleEventIds: [],
    ...overrides,
  };
}

describe('scan table', () => {
  it('heads the count column DISTINCT', () => {
    // Act
    const table = findingsAsTable([findingOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES)]);

    // Assess
    expect(table.split('\n')[0]).toMatch(
      /^WINDOW START \(UTC\)\s+DISTINCT\s+EVENTS\s+FAILED\s+IDENTITY ARN$/,
    );
  });

  it.each([
    {
      case: 'EC2 regions',
      finding: findingOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES),
      line: '    regions:     eu-west-1, us-east-1',
    },
    {
      case: 'S3 buckets',
      finding: findingOf(S3_RAPID_BUCKET_POSTURE_API_CALLS, { distinctValues: ['arn:aws:s3:::logs'] }),
      line: '    buckets:     arn:aws:s3:::logs',
    },
    {
      case: 'a noun longer than the label column',
      finding: findingOf(DISCOVERY_API_CALLS_VIA_CLI, { distinctValues: ['GetCallerIdentity', 'ListUsers'] }),
      line: '    distinct discovery API calls: GetCallerIdentity, ListUsers',
    },
  ])('labels the distinct values by the rule noun: $case', ({ finding, line }) => {
    // Act
    const table = findingsAsTable([finding]);

    // Assess
    expect(table.split('\n')).toContain(line);
  });

  it('names the rule', () => {
    // Act
    const table = findingsAsTable([findingOf(S3_RAPID_BUCKET_POSTURE_API_CALLS)]);

    // Assess
    expect(table).toContain(`    rule:        ${S3_RAPID_BUCKET_POSTURE_API_CALLS.name}\n`);
  });

  it('shows the values a finding is further grouped by', () => {
    // Act
    const table = findingsAsTable([
      findingOf(S3_RAPID_BUCKET_POSTURE_API_CALLS, { groupedBy: { sourceIPAddress: '203.0.113.9' } }),
    ]);

    // Assess
    expect(table).toContain('    grouped by:  sourceIPAddress=203.0.113.9\n');
  });

  it.each([
    { case: 'offset', window: 'offset' as const, expected: true },
    { case: 'aligned', window: 'aligned' as const, expected: false },
  ])('says so for an $case window: $expected', ({ window, expected }) => {
    // Act
    const table = findingsAsTable([findingOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES, { window })]);

    // Assess
    expect(table.includes('    window:      offset by half a window (hopping mode)\n')).toBe(expected);
  });
});

describe('scan JSON lines', () => {
  it('lead with arn, windowStart, distinctCount, eventCount and distinctValues', () => {
    // Act
    const [line] = findingsAsJsonLines([findingOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES)]).split('\n');

    // Assess
    expect(Object.keys(JSON.parse(line ?? '{}')).slice(0, 5)).toEqual([
      'arn',
      'windowStart',
      'distinctCount',
      'eventCount',
      'distinctValues',
    ]);
  });

  it('carry the presentation and group values of the finding', () => {
    // Prepare
    const finding = findingOf(S3_RAPID_BUCKET_POSTURE_API_CALLS, {
      groupedBy: { sourceIPAddress: '203.0.113.9' },
    });

    // Act
    const [line] = findingsAsJsonLines([finding]).split('\n');

    // Assess
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      presentation: finding.presentation,
      groupedBy: { sourceIPAddress: '203.0.113.9' },
    });
  });
});
