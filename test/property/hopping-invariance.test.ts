import { expect, it } from 'vitest';
import type { DynamoDbStandInKind } from '../../lib/local/dynamodb-standin';
import { DEFAULT_REGIONS } from '../fixtures/events';
import { type CorpusPlan, hoppingCorpusPlanArb } from './corpus-arbitrary';
import {
  assertAlertCountsWithinModel,
  assertStoredCountsEqualModel,
  type CaseRun,
  caseArbitrary,
  describeOnEveryStandIn,
  itHoldsForEveryCase,
  itStoresTheModelCounts,
  nameOfFinding,
  type PipelineCase,
  PROPERTY_TIMEOUT_MS,
  type PropertyDraw,
  usePropertyRig,
  windowOfFinding,
} from './pipeline-rig';
import { groupName, overlapping } from './rule-model';

/**
 * Hopping cases: bursts around :00, :15, :30 and :45; a crash or a lost response at a window update, or at
 * one of the steps of an alert (the window's claim, a half-slot claim, marking a half-slot publishing, the
 * publish, recording its message id); Lambda's retries at once or after the leases ran out.
 */
const caseArb = caseArbitrary(hoppingCorpusPlanArb, [
  'after-claim',
  'after-half-slot-claim',
  'after-publish',
  'after-record-alert',
  'after-half-slot-mark',
]);

/**
 * Crashes that come after a window's publish and before its message id is recorded: the retry publishes
 * that same window again (SNS offers no exactly-once publish; alerts are at-least-once there). Half-slots
 * are marked before the publish, so a crash after a mark is not one of them.
 */
const CRASHES_AFTER_A_PUBLISH: ReadonlySet<string> = new Set(['after-publish']);

/**
 * Pairs of alerts of one group whose windows overlap (starts less than 30 s apart, the same window included).
 * After a crash that followed a publish, a repeat of one window is the documented at-least-once case and is
 * left out; two different overlapping windows always count.
 */
function overlappingAlertPairs(run: CaseRun, crashStep: string): string[] {
  const pairs: string[] = [];
  run.alerts.forEach((first, index) => {
    for (const second of run.alerts.slice(index + 1)) {
      const sameWindow = nameOfFinding(first) === nameOfFinding(second);
      if (sameWindow && CRASHES_AFTER_A_PUBLISH.has(crashStep)) continue;
      if (overlapping(windowOfFinding(first), windowOfFinding(second)))
        pairs.push(`${nameOfFinding(first)} and ${nameOfFinding(second)}`);
    }
  });
  return pairs;
}

/** Windows the model fires with no alert for themselves nor for an overlapping window of their group. */
function lostFiringWindows(run: CaseRun): string[] {
  const alerted = run.alerts.map(windowOfFinding);
  return run.model.firing
    .filter((group) => !alerted.some((window) => overlapping(window, group)))
    .map(groupName);
}

/** One caller, twelve regions within 05:00:00..05:00:06 of the case's hour: one firing window and its neighbour. */
const ONE_BURST: CorpusPlan = {
  events: DEFAULT_REGIONS.slice(0, 12).map((region, index) => ({
    identity: 0,
    account: 0 as const,
    region,
    offsetMs: 5 * 60_000 + index * 500,
    failed: false,
    kind: 'describe-instances' as const,
    copies: 'once' as const,
    part: 0 as const,
  })),
};

/**
 * Regression: every Publish stalls for a real second (a loaded machine), every object is delivered twice at
 * once, and no fault hits (the crash's occurrence is past the case's 24 window updates). The replays wait on
 * the live claim; on a clock that ran 200 times faster than real time its 120 s lease ran out during the
 * stalled publish, and a replay published the same window again.
 */
const STALLED_PUBLISH_CASE: PipelineCase = {
  plan: ONE_BURST,
  delivery: {
    order: Array.from({ length: 12 }, (_, object) => [object, object]).flat(),
    concurrency: 16,
    crash: { step: 'before-window-update', occurrence: 40, fault: 'crash' },
    retries: 'at-once',
    publishStallMs: 1_000,
  },
};

/**
 * The hopping-mode properties, on one DynamoDB stand-in, `numRuns` cases each from a fixed seed. Every
 * property draws the same cases, so each case is delivered once and checked by all four.
 */
function hoppingProperties(kind: DynamoDbStandInKind, draw: PropertyDraw): void {
  const block = usePropertyRig(kind, 'hopping');
  const { rig } = block;

  itHoldsForEveryCase(
    'every alert is of an aligned or offset window the model fires, its counts between the thresholds and the model',
    caseArb,
    block,
    draw,
    (run) => {
      assertAlertCountsWithinModel(run);
    },
  );

  itHoldsForEveryCase(
    'no two alerts of a group are for overlapping windows, but the repeat of a window whose publish a crash followed',
    caseArb,
    block,
    draw,
    (run, testCase) => {
      expect(overlappingAlertPairs(run, testCase.delivery.crash.step)).toEqual([]);
    },
  );

  it('a publish stalled by a loaded machine is not repeated by a replay waiting on its claim', {
    timeout: PROPERTY_TIMEOUT_MS,
  }, async () => {
    const run = await block.deliver(STALLED_PUBLISH_CASE);
    expect(run.model.firing.length).toBeGreaterThan(0);
    expect(run.alerts.length).toBeGreaterThan(0);
    expect(overlappingAlertPairs(run, STALLED_PUBLISH_CASE.delivery.crash.step)).toEqual([]);
    expect(lostFiringWindows(run)).toEqual([]);
    await assertStoredCountsEqualModel(rig(), run);
  });

  itHoldsForEveryCase(
    'no firing window is lost: each alerted or overlaps a window of its group that alerted',
    caseArb,
    block,
    draw,
    (run) => {
      expect(lostFiringWindows(run)).toEqual([]);
    },
  );

  itStoresTheModelCounts(
    'every object counts once in both its windows: stored counts equal the model for every aligned and offset window',
    caseArb,
    block,
    draw,
  );
}

describeOnEveryStandIn('hopping-window invariance', hoppingProperties, {
  dynalite: { numRuns: 20, seed: 20261129 },
  'dynamodb-local': { numRuns: 2, seed: 15 },
});
