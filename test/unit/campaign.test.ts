import { describe, expect, it } from 'vitest';
import { pipelineSettings } from '../../lambda/config';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
import { findingIdOf } from '../../lambda/domain/detection/correlation';
import { eventCountOf, findingsAmong, findingUnder } from '../../lambda/domain/detection/window-state';
import type { ObjectRef } from '../../lambda/ports';
import { processLogObject } from '../../lambda/process-log-object';
import { cloudTrailKey } from '../fixtures/corpus';
import { bucketPolicySweep, type EventSpec, sweep } from '../fixtures/events';
import { memoryObjects, pipeline } from '../support/pipeline-harness';

const LIVE = { origin: 'live', keyMode: 'strict' } as const;
const ACCOUNT = '111122223333';
const MALLORY = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/mallory`;
const EC2_ONLY = `arn:aws:sts::${ACCOUNT}:assumed-role/inventory/ec2-only`;
const S3_ONLY = `arn:aws:sts::${ACCOUNT}:assumed-role/auditor/s3-only`;
const EC2 = 'ec2-multi-region-describe-instances';
const S3 = 's3-rapid-bucket-posture';
const CAMPAIGN = 'discovery-campaign';
const CAMPAIGN_RULES = [
  EC2,
  'discovery-api-calls-via-cli',
  S3,
  'servicequotas-multi-region-get-service-quota',
];

/** The campaign with every rule it names, the EC2 and S3 rules as building blocks. */
const SETTINGS = pipelineSettings({ rules: [...CAMPAIGN_RULES, CAMPAIGN], buildingBlocks: [EC2, S3] });

/** One object per (kind, identity, start): CloudTrail files hold one account and region each. */
function objectsOf(activity: readonly { kind: 'ec2' | 's3'; arn: string; start: string }[]) {
  return Object.fromEntries(
    activity.map(({ kind, arn, start }, index) => {
      const extra: Partial<EventSpec> = { arn, accountId: ACCOUNT };
      const records =
        kind === 'ec2' ? sweep(12, start, extra, 500) : bucketPolicySweep(20, start, extra, 200);
      const delivered = new Date(Date.parse(start) + 300_000);
      return [cloudTrailKey(ACCOUNT, 'us-east-1', delivered, `${kind}-${index}`), records];
    }),
  );
}

/** Runs every object through the pipeline, in key order, and returns the outcomes. */
async function runAll(harness: ReturnType<typeof pipeline>, refs: readonly ObjectRef[]) {
  const outcomes = [];
  for (const ref of refs) outcomes.push(await processLogObject(harness.deps, ref, LIVE));
  return outcomes;
}

describe('the discovery campaign (a correlation over findings)', () => {
  it('alerts once for the identity that swept EC2 and read bucket policies within the hour, and for no identity with only one', async () => {
    // Prepare
    const objects = memoryObjects(
      objectsOf([
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:05:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:41:00Z' },
        { kind: 'ec2', arn: EC2_ONLY, start: '2026-11-28T10:07:01Z' },
        { kind: 's3', arn: S3_ONLY, start: '2026-11-28T10:20:00Z' },
      ]),
    );
    const harness = pipeline(objects, SETTINGS);

    // Act
    await runAll(harness, objects.refs);

    // Assess
    const published = harness.publisher.published.map(({ finding }) => finding);
    expect(published.map((finding) => [finding.ruleId, finding.arn, finding.severity])).toEqual([
      ['regionsweep-discovery-campaign', MALLORY, 'medium'],
    ]);
    expect(published[0]?.windowStart).toBe('2026-11-28T10:00:00.000Z');
    expect(published[0]?.distinctValues).toEqual([EC2, S3]);
    expect(
      published[0]?.contributingFindings?.map((f) => [f.rule, f.windowStart, f.distinctCount, f.eventCount]),
    ).toEqual([
      [EC2, '2026-11-28T10:05:00.000Z', 12, 12],
      [S3, '2026-11-28T10:41:00.000Z', 20, 20],
    ]);
  });

  it('alerts once per identity and hour: more findings in the hour add to it, the next hour alerts again', async () => {
    // Prepare
    const objects = memoryObjects(
      objectsOf([
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:05:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:41:00Z' },
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:50:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:55:00Z' },
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T11:02:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T11:03:00Z' },
      ]),
    );
    const harness = pipeline(objects, SETTINGS);

    // Act
    await runAll(harness, objects.refs);

    // Assess
    expect(harness.publisher.published.map(({ finding }) => finding.windowStart)).toEqual([
      '2026-11-28T10:00:00.000Z',
      '2026-11-28T11:00:00.000Z',
    ]);
    const campaign = harness.windows
      .states()
      .filter((state) => state.ruleId === 'regionsweep-discovery-campaign');
    expect(campaign.map((state) => [new Date(state.windowStart).toISOString(), eventCountOf(state)])).toEqual(
      [
        ['2026-11-28T10:00:00.000Z', 4],
        ['2026-11-28T11:00:00.000Z', 2],
      ],
    );
  });

  it('a finding counts once however often its window is replayed or re-crosses', async () => {
    // Prepare
    const objects = memoryObjects(
      objectsOf([
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:05:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:41:00Z' },
      ]),
    );
    const harness = pipeline(objects, SETTINGS);
    const first = await runAll(harness, objects.refs);
    const before = harness.windows.states();

    // Act
    const replays = [...(await runAll(harness, objects.refs)), ...(await runAll(harness, objects.refs))];

    // Assess
    expect(harness.windows.states()).toEqual(before);
    expect(first.map((o) => o.status === 'processed' && o.findingsCorrelated)).toEqual([1, 1]);
    expect(replays.map((o) => o.status === 'processed' && o.findingsCorrelated)).toEqual([0, 0, 0, 0]);
    const campaign = before.find((state) => state.ruleId === 'regionsweep-discovery-campaign');
    const findings = before.filter(
      (state) =>
        state.ruleId !== 'regionsweep-discovery-campaign' &&
        findingUnder(state, SETTINGS.rules) !== undefined,
    );
    expect(findings).toHaveLength(2);
    expect(campaign?.contributors.slice().sort()).toEqual(findings.map(findingIdOf).sort());
    expect(harness.publisher.published).toHaveLength(1);
  });

  it("records a building block's finding once, publishes none, and scan's findings mark it", async () => {
    // Prepare
    const objects = memoryObjects(objectsOf([{ kind: 'ec2', arn: EC2_ONLY, start: '2026-11-28T10:07:01Z' }]));
    const harness = pipeline(objects, SETTINGS);

    // Act
    const [first] = await runAll(harness, objects.refs);
    const [again] = await runAll(harness, objects.refs);

    // Assess
    expect(first?.status === 'processed' && first.alerts.map((a) => [a.key.ruleId, a.outcome])).toEqual([
      ['393ef120-63d1-11ef-8e38-f661ea17fbce', 'building-block'],
    ]);
    expect(again?.status === 'processed' && again.alerts.map((a) => a.outcome)).toEqual(['already-alerted']);
    expect(harness.publisher.published).toEqual([]);
    const findings = findingsAmong(harness.windows.states(), SETTINGS.rules);
    expect(findings.map((f) => [f.ruleId, f.buildingBlock])).toEqual([
      ['393ef120-63d1-11ef-8e38-f661ea17fbce', true],
    ]);
  });

  it('an alerting rule keeps alerting on its own while it feeds the campaign', async () => {
    // Prepare: the S3 rule alerts, the EC2 rule is a building block
    const settings = pipelineSettings({ rules: [...CAMPAIGN_RULES, CAMPAIGN], buildingBlocks: [EC2] });
    const objects = memoryObjects(
      objectsOf([
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:05:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:41:00Z' },
      ]),
    );
    const harness = pipeline(objects, settings);

    // Act
    await runAll(harness, objects.refs);

    // Assess
    expect(harness.publisher.published.map(({ finding }) => finding.presentation.title).sort()).toEqual([
      'Discovery campaign',
      'S3 bucket posture sweep',
    ]);
  });

  it('the alert lists every contributing finding in the email, the chat notification and the JSON document', async () => {
    // Prepare
    const objects = memoryObjects(
      objectsOf([
        { kind: 'ec2', arn: MALLORY, start: '2026-11-28T10:05:01Z' },
        { kind: 's3', arn: MALLORY, start: '2026-11-28T10:41:00Z' },
      ]),
    );
    const harness = pipeline(objects, SETTINGS);
    await runAll(harness, objects.refs);
    const [published] = harness.publisher.published;
    if (published === undefined) throw new Error('no campaign alert');

    // Act
    const rendered = renderAlert(published);

    // Assess
    const ec2 =
      'EC2 DescribeInstances sweep (ec2-multi-region-describe-instances): window 2026-11-28T10:05:00Z, 30 s: ' +
      '12 regions, 12 DescribeInstances calls';
    const s3 =
      'S3 bucket posture sweep (s3-rapid-bucket-posture): window 2026-11-28T10:41:00Z, 10 s: 20 buckets, ' +
      '20 bucket posture reads';
    expect(rendered.email).toContain(`CONTRIBUTING FINDINGS\n`);
    expect(rendered.email).toContain(`  - ${ec2}\n  - ${s3}\n`);
    expect(rendered.email).toContain('Findings:           2 (a finding counts once');
    expect(rendered.slack.content.description).toContain(`*Findings (2):*\n• ${ec2}\n• ${s3}`);
    expect(rendered.document.finding.contributingFindings?.map((f) => [f.rule, f.windowStart])).toEqual([
      [EC2, '2026-11-28T10:05:00.000Z'],
      [S3, '2026-11-28T10:41:00.000Z'],
    ]);
    expect(rendered.subject).toContain('Discovery campaign: 2 discovery rules');
  });

  it('the chat notification lists as many findings as fit, and says how many more there are', () => {
    // Prepare: a campaign of 70 findings, 64 of them listed on the window
    const contributing = Array.from({ length: 64 }, (_, i) => ({
      rule: S3,
      title: 'S3 bucket posture sweep',
      distinctNoun: 'buckets',
      eventNoun: 'bucket posture reads',
      windowStart: new Date(Date.parse('2026-11-28T10:00:00Z') + i * 10_000).toISOString(),
      windowSeconds: 10,
      distinctCount: 16,
      eventCount: 16,
    }));
    const base = harnessFinding();

    // Act
    const rendered = renderAlert({
      finding: { ...base, eventCount: 70, contributingFindings: contributing },
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(rendered.slack.content.description.length).toBeLessThanOrEqual(3000);
    expect(rendered.slack.content.description).toContain('• ... and 58 more finding(s)');
    expect(rendered.email).toContain('  - ... and 6 more finding(s)');
  });
});

/** A campaign finding as the pipeline computes it, for alert texts built around it. */
function harnessFinding() {
  const state = {
    ruleId: 'regionsweep-discovery-campaign',
    windowStart: Date.parse('2026-11-28T10:00:00Z'),
    arn: MALLORY,
    contributors: ['a', 'b'],
    distinctValues: [EC2, S3],
    eventIdHashes: ['a', 'b'],
    overflowEventCount: 0,
    failedCount: 0,
    firstEventTime: Date.parse('2026-11-28T10:05:01Z'),
    lastEventTime: Date.parse('2026-11-28T10:41:03Z'),
    context: {
      accountIds: [ACCOUNT],
      identityTypes: [],
      accessKeyIds: [],
      sourceIps: [],
      userAgents: [],
      sessionIssuers: [],
      sampleEventIds: [],
      findings: [],
    },
  };
  const campaign = SETTINGS.rules.find((rule) => rule.slug === 'discovery-campaign');
  const finding = campaign === undefined ? undefined : findingUnder(state, SETTINGS.rules);
  if (finding === undefined) throw new Error('the campaign state gives no finding');
  return finding;
}
