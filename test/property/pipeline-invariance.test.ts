import { expect } from 'vitest';
import type { DynamoDbStandInKind } from '../../lib/local/dynamodb-standin';
import { corpusPlanArb } from './corpus-arbitrary';
import {
  assertAlertCountsWithinModel,
  type CaseRun,
  caseArbitrary,
  describeOnEveryStandIn,
  itHoldsForEveryCase,
  itStoresTheModelCounts,
  nameOfFinding,
  type PropertyDraw,
  usePropertyRig,
  windowOfPublish,
} from './pipeline-rig';
import { groupName } from './rule-model';

/**
 * Tumbling cases: bursts around :00 and :30; a crash or a lost response at a window update, after a claim or
 * after recording the message id, or a crash after a publish; Lambda's retries at once or after the lease.
 */
const caseArb = caseArbitrary(corpusPlanArb, ['after-claim', 'after-publish', 'after-record-alert']);

/**
 * Messages per window: exactly one for every window the model fires and none for any other, except that a
 * crash after a Publish that SNS accepted may add one more for that window (SNS publish is not
 * exactly-once; the retry publishes again).
 */
function assertOneMessagePerFiringWindow(run: CaseRun): void {
  const counts = new Map<string, number>();
  for (const alert of run.alerts)
    counts.set(nameOfFinding(alert), (counts.get(nameOfFinding(alert)) ?? 0) + 1);
  const expected = new Map(run.model.firing.map((group) => [groupName(group), 1]));
  const duplicable = run.crashed?.action === 'Publish' ? windowOfPublish(run.crashed) : undefined;
  if (duplicable !== undefined && counts.get(duplicable) === 2) expected.set(duplicable, 2);
  expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(expected));
}

/**
 * The properties, on one DynamoDB stand-in, `numRuns` cases each from a fixed seed (a failure names a case
 * that replays). Every property draws the same cases from the seed, so each case is delivered once and its
 * outcome checked by all three; a shrunk case is new and runs afresh.
 */
function pipelineProperties(kind: DynamoDbStandInKind, draw: PropertyDraw): void {
  const block = usePropertyRig(kind, 'tumbling');

  itHoldsForEveryCase(
    'one message per window the model fires and none for any other; a crash after a publish may repeat that one',
    caseArb,
    block,
    draw,
    (run) => {
      assertOneMessagePerFiringWindow(run);
    },
  );

  itHoldsForEveryCase(
    'alert counts lie between the thresholds and the model counts of their window',
    caseArb,
    block,
    draw,
    (run) => {
      assertAlertCountsWithinModel(run);
    },
  );

  itStoresTheModelCounts(
    'every object counts once: stored counts equal the model for every group, and no other group is stored',
    caseArb,
    block,
    draw,
  );
}

describeOnEveryStandIn('pipeline invariance', pipelineProperties, {
  dynalite: { numRuns: 15, seed: 20261128 },
  'dynamodb-local': { numRuns: 2, seed: 6 },
});
