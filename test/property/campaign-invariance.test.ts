import { describe, expect } from 'vitest';
import { DISCOVERY_CAMPAIGN } from '../../lambda/domain/detection/built-in-rules';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import type { DynamoDbStandInKind } from '../../lib/local/dynamodb-standin';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { campaignCorpusPlanArb } from './corpus-arbitrary';
import {
  type CaseRun,
  caseArbitrary,
  itHoldsForEveryCase,
  nameOfFinding,
  usePropertyRig,
  windowOfPublish,
} from './pipeline-rig';
import { groupName } from './rule-model';

/**
 * The campaign properties: the EC2 corpora of the pipeline properties, where some identities also sweep
 * bucket policies, delivered by the real handler with the campaign and its four rules enabled and the EC2 and
 * S3 rules as building blocks (so the campaign is the only alert). The same redelivery, concurrency, crash or
 * lost response and retries as the EC2 properties.
 */
const caseArb = caseArbitrary(campaignCorpusPlanArb, ['after-claim', 'after-publish', 'after-record-alert']);

const RULE_ENV = {
  RULES: [...(DISCOVERY_CAMPAIGN.correlation?.rules ?? []), DISCOVERY_CAMPAIGN.slug].join(','),
  BUILDING_BLOCKS: 'ec2-multi-region-describe-instances,s3-rapid-bucket-posture',
};

const HOUR_MS = 3_600_000;
const S3_WINDOW_MS = 10_000;

/** One (identity, hour) of the campaign: the rules with findings in it and how many findings there are. */
interface CampaignGroup {
  readonly windowStart: number;
  readonly arn: string;
  readonly rules: ReadonlySet<string>;
  findings: number;
}

/**
 * The campaign restated over a case: per identity (ARN) and epoch-aligned hour, the findings whose window
 * starts in that hour: the EC2 model's firing windows, and the S3 posture rule's, restated here for the
 * corpus's bucket sweeps (successful GetBucketPolicy; per ARN and 10 s window, more than 15 distinct
 * buckets). The CLI and Service Quotas rules never fire on these corpora (at most three distinct call names,
 * no GetServiceQuota). A group fires with an EC2 finding and a finding of another rule.
 */
function campaignModel(run: CaseRun): CampaignGroup[] {
  const groups = new Map<string, CampaignGroup>();
  const add = (arn: string | null, windowStart: number, rule: string) => {
    if (arn === null) return;
    const hour = windowStart - (windowStart % HOUR_MS);
    const name = groupName({ windowStart: hour, arn });
    const group = groups.get(name) ?? { windowStart: hour, arn, rules: new Set<string>(), findings: 0 };
    (group.rules as Set<string>).add(rule);
    group.findings += 1;
    groups.set(name, group);
  };
  for (const window of run.model.firing) add(window.arn, window.windowStart, 'ec2');
  const buckets = new Map<string, { arn: string; windowStart: number; buckets: Set<string> }>();
  for (const record of run.objects.flatMap((object) => object.records)) {
    if (record.eventSource !== 's3.amazonaws.com' || record.eventName !== 'GetBucketPolicy') continue;
    const arn = (record.userIdentity as { arn: string }).arn;
    const time = Date.parse(String(record.eventTime));
    const windowStart = time - (time % S3_WINDOW_MS);
    const key = `${arn} ${windowStart}`;
    const entry = buckets.get(key) ?? { arn, windowStart, buckets: new Set<string>() };
    for (const resource of record.resources as { ARN: string }[]) entry.buckets.add(resource.ARN);
    buckets.set(key, entry);
  }
  for (const entry of buckets.values()) if (entry.buckets.size > 15) add(entry.arn, entry.windowStart, 's3');
  return [...groups.values()];
}

function firing(group: CampaignGroup): boolean {
  return group.rules.has('ec2') && group.rules.size >= 2;
}

function campaignProperties(kind: DynamoDbStandInKind, numRuns: number, seed: number): void {
  const block = usePropertyRig(kind, 'tumbling', RULE_ENV);
  const { rig } = block;
  const draw = { numRuns, seed };

  itHoldsForEveryCase(
    'exactly one campaign alert per identity and hour with an EC2 finding and another; no other alert; a crash after a publish may repeat that one',
    caseArb,
    block,
    draw,
    (run) => {
      const counts = new Map<string, number>();
      for (const alert of run.alerts) {
        expect(alert.finding.ruleId, nameOfFinding(alert)).toBe(DISCOVERY_CAMPAIGN.id);
        // The alert lists every finding the window held when it crossed (far fewer than the list's bound).
        const listed = alert.finding.contributingFindings ?? [];
        expect(listed.length, nameOfFinding(alert)).toBe(alert.finding.eventCount);
        expect(new Set(listed.map((f) => f.rule)), nameOfFinding(alert)).toEqual(
          new Set(['ec2-multi-region-describe-instances', 's3-rapid-bucket-posture']),
        );
        counts.set(nameOfFinding(alert), (counts.get(nameOfFinding(alert)) ?? 0) + 1);
      }
      const expected = new Map(
        campaignModel(run)
          .filter(firing)
          .map((group) => [groupName(group), 1]),
      );
      const duplicable = run.crashed?.action === 'Publish' ? windowOfPublish(run.crashed) : undefined;
      if (duplicable !== undefined && counts.get(duplicable) === 2) expected.set(duplicable, 2);
      expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(expected));
    },
  );

  itHoldsForEveryCase(
    "every finding counts once: each campaign window holds exactly its identity's findings of the hour",
    caseArb,
    block,
    draw,
    async (run) => {
      expect(run.failedInvocations, 'invocations failed after Lambda retries').toBe(0);
      for (const group of campaignModel(run)) {
        const state = await rig().store.get({ ruleId: DISCOVERY_CAMPAIGN.id, ...group });
        expect(state === undefined ? undefined : eventCountOf(state), groupName(group)).toBe(group.findings);
      }
    },
  );
}

describe('campaign invariance on dynalite: real handler, shuffled redelivery at concurrency 1..16, one crash or lost response, retries at once or late', () => {
  campaignProperties('dynalite', 10, 20261201);
});

describe.skipIf(!javaAvailable())(
  'campaign invariance on DynamoDB Local: real handler, shuffled redelivery at concurrency 1..16, one crash or lost response, retries at once or late',
  () => {
    campaignProperties('dynamodb-local', 2, 7);
  },
);
