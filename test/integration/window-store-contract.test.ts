import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_SHARD_CONTRIBUTORS,
  SPILL_SHARDS,
  shardOf,
} from '../../lambda/adapters/dynamodb/contributor-shards';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { suppressionItemKey } from '../../lambda/adapters/dynamodb/suppression-slots';
import { MAX_CONTRIBUTORS, windowItemKey } from '../../lambda/adapters/dynamodb/window-items';
import {
  CONTEXT_FIELDS,
  type ContextField,
  DEFAULT_STATE_LIMITS,
  eventCountOf,
  type GroupContext,
  type GroupContribution,
  type GroupKey,
  mergeContribution,
  type StateLimits,
  sampleOffers,
  sampleSlotOf,
  type WindowState,
} from '../../lambda/domain/detection/window-state';
import { WindowContentionError } from '../../lambda/domain/errors';
import type { StoredWindow, WindowStore } from '../../lambda/ports';
import { contributorIdOf } from '../../lambda/process-log-object';
import { forEachConcurrently } from '../../lib/concurrency';
import { propertyRuns } from '../support/property-seed';
import { describeEachStore, type StoreKind, useWindowStoreHarness } from './window-store-harness';

// Near the wall clock: DynamoDB Local deletes expired items, and expiresAt derives from the window end.
const WINDOW_START = Math.floor(Date.now() / 30_000) * 30_000;
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const RETENTION_SECONDS = 7 * 86_400;
const SMALL_LIMITS: StateLimits = {
  maxEventIds: 2,
  maxContextValues: 2,
  maxSampleEventIds: 1,
  maxFindingSummaries: 2,
  maxValueLength: 256,
  maxDistinctValues: 2,
  maxSuppressedWindows: 2,
};

interface ContributionInput extends Partial<Omit<GroupContribution, 'context'>> {
  readonly context?: Partial<Record<ContextField, readonly string[]>>;
}

/** A contribution to a fresh group (a new rule id per test keeps tests independent on one table). */
function contribution(key: GroupKey, input: ContributionInput = {}): GroupContribution {
  const { context, ...rest } = input;
  const emptyContext = Object.fromEntries(
    CONTEXT_FIELDS.map((field) => [field, []]),
  ) as unknown as GroupContext;
  return {
    distinctValues: ['us-east-1'],
    eventCount: 1,
    eventIdHashes: ['hash-1'],
    failedCount: 0,
    windowEnd: key.windowStart + 30_000,
    firstEventTime: WINDOW_START + 1_000,
    lastEventTime: WINDOW_START + 1_000,
    ...rest,
    ...key,
    context: { ...emptyContext, ...context },
  };
}

/**
 * Contributor ids of `count` CloudTrail objects of an organization trail: 1,000 accounts x 17 regions, as
 * contributorIdOf makes them (16 base64url characters of SHA-256 over bucket, key, ETag and size).
 */
function organizationObjects(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    contributorIdOf(
      {
        bucket: 'org-trail',
        key: `AWSLogs/o-example/${String(100_000_000_000 + (i % 1000))}/CloudTrail/region-${Math.floor(i / 1000) % 17}/2026/11/28/object-${i}.json.gz`,
      },
      { eTag: `"${i.toString(16).padStart(32, '0')}"`, size: 4_096 + i },
    ),
  );
}

function newKey(arn: string | null = ALICE): GroupKey {
  return { ruleId: `rule-${randomUUID()}`, windowStart: WINDOW_START, arn };
}

/** What both stores must agree on: the merged state, contributors in a canonical order. */
function comparable(state: WindowState): WindowState {
  const { ruleId, windowStart, arn, distinctValues, eventIdHashes, overflowEventCount, failedCount } = state;
  return {
    ruleId,
    windowStart,
    arn,
    contributors: [...state.contributors].sort(),
    distinctValues,
    eventIdHashes,
    overflowEventCount,
    failedCount,
    firstEventTime: state.firstEventTime,
    lastEventTime: state.lastEventTime,
    context: state.context,
  };
}

function fold(
  steps: readonly { contribution: GroupContribution; contributorId: string }[],
  limits: StateLimits,
): WindowState | undefined {
  let state: WindowState | undefined;
  for (const step of steps) {
    state = mergeContribution(state, step.contribution, step.contributorId, limits).state;
  }
  return state === undefined ? undefined : comparable(state);
}

function contract(kind: StoreKind): void {
  const harness = useWindowStoreHarness(kind, RETENTION_SECONDS);

  describe('apply', () => {
    it('creates the group on its first contribution', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey(), { distinctValues: ['eu-west-1', 'us-east-1'], eventCount: 2 });
      // Act
      const result = await store.apply(added, 'object-1', WINDOW_START + 60_000);
      // Assess
      expect(result.applied).toBe(true);
      expect(comparable(result.state)).toEqual(
        comparable(mergeContribution(undefined, added, 'object-1', DEFAULT_STATE_LIMITS).state),
      );
    });

    it('get returns the stored window as apply last returned it, and nothing for an unknown window', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.apply(contribution(key), 'object-1', WINDOW_START);
      const { state } = await store.apply(
        contribution(key, { distinctValues: ['eu-west-1'] }),
        'object-2',
        WINDOW_START,
      );
      // Act
      const read = await store.get(key);
      const missing = await store.get({ ...key, windowStart: key.windowStart + 30_000 });
      // Assess
      expect(read === undefined ? undefined : comparable(read)).toEqual(comparable(state));
      expect(missing).toBeUndefined();
    });

    it('keeps the null-ARN group apart from ARN groups of the same window', async () => {
      // Prepare
      const store = harness.store();
      const withArn = newKey();
      const withoutArn = { ...withArn, arn: null };
      await store.apply(contribution(withArn), 'object-1', WINDOW_START);
      // Act
      const result = await store.apply(contribution(withoutArn), 'object-1', WINDOW_START);
      // Assess
      expect(result).toMatchObject({ applied: true, state: { arn: null, contributors: ['object-1'] } });
    });

    it.each([
      { case: 'a 2 KB ARN', group: (long: string) => ({ arn: long }) },
      { case: 'a 2 KB group-by value', group: (long: string) => ({ arn: ALICE, by: [long] }) },
    ])('stores $case, and keeps two that differ only at the end apart', async ({ group }) => {
      // Prepare: group ids far past DynamoDB's 1,024-byte sort key.
      const store = harness.store();
      const ruleId = `rule-${randomUUID()}`;
      const long = 'v'.repeat(2048);
      const keys = [`${long}1`, `${long}2`].map((value) => ({
        ruleId,
        windowStart: WINDOW_START,
        ...group(value),
      }));
      // Act
      for (const [i, key] of keys.entries()) {
        await store.apply(contribution(key, { distinctValues: [`region-${i}`] }), 'object-1', WINDOW_START);
      }
      // Assess
      const stored = await Promise.all(keys.map((key) => store.get(key)));
      expect(stored.map((state) => state?.distinctValues)).toEqual([['region-0'], ['region-1']]);
    });

    it('counts 3,000 contributors of one group once each, replays included, at the real bounds ' +
      '(1,000 on the window item, the rest spilled to its shards)', { timeout: 300_000 }, async () => {
      // Prepare: one object per (account, region), each with one service-caller event of its own. The group
      // alerts early, as an organization's null-ARN group does (a sweep of regions by services).
      const store = harness.store();
      const key = newKey(null);
      await store.apply(contribution(key), 'first-object', WINDOW_START);
      await store.claimAlert(key, 'token-1', WINDOW_START, WINDOW_START + 60_000);
      await store.recordAlert(key, 'message-1');
      const objects = organizationObjects(3_000).map((id, i) => ({
        id,
        contribution: contribution(key, {
          distinctValues: [`region-${i % 17}`],
          eventIdHashes: [`h${String(i).padStart(11, '0')}`],
          failedCount: i % 2,
        }),
      }));
      // Act
      await forEachConcurrently(objects, 16, async ({ id, contribution: c }) => {
        await store.apply(c, id, WINDOW_START);
      });
      const replayed = await Promise.all(
        objects
          .filter((_, i) => i % 97 === 0)
          .map(({ id, contribution: c }) => store.apply(c, id, WINDOW_START)),
      );
      // Assess
      const state = await store.get(key);
      expect(replayed.some(({ applied }) => applied)).toBe(false);
      expect(state && [eventCountOf(state), state.failedCount, state.distinctValues.length]).toEqual([
        3_001, 1_500, 18,
      ]);
    });

    // The organization at full size: 17,000 objects of 1,000 accounts in 17 regions in one null-ARN
    // group-window, nothing lowered. Minutes of writes on a stand-in, so `npm run test:scale` runs it (and
    // CI, through .ci/run) rather than `npm test`; DynamoDB Local and memory only (dynalite takes 7 minutes).
    it.runIf(process.env.REGIONSWEEP_SCALE === '1' && kind !== 'dynalite')(
      'an organization of 1,000 accounts x 17 regions: 17,000 objects in one null-ARN group-window, each counted once, none refused',
      { timeout: 1_200_000 },
      async () => {
        // Prepare
        const store = harness.store();
        const key = newKey(null);
        const objects = organizationObjects(17_000).map((id, i) => ({
          id,
          contribution: contribution(key, {
            distinctValues: [`region-${i % 17}`],
            eventIdHashes: [`h${String(i).padStart(11, '0')}`],
          }),
        }));
        // Act
        await forEachConcurrently(objects, 16, async ({ id, contribution: c }) => {
          await store.apply(c, id, WINDOW_START);
        });
        const replayed = await Promise.all(
          objects
            .filter((_, i) => i % 499 === 0)
            .map(({ id, contribution: c }) => store.apply(c, id, WINDOW_START)),
        );
        // Assess
        const state = await store.get(key);
        expect(replayed.some(({ applied }) => applied)).toBe(false);
        expect(state && [eventCountOf(state), state.distinctValues.length]).toEqual([17_000, 17]);
      },
    );

    it('ignores a replayed contributor and returns the state as found', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey());
      const first = await store.apply(added, 'object-1', WINDOW_START);
      // Act
      const replay = await store.apply({ ...added, eventCount: 50 }, 'object-1', WINDOW_START);
      // Assess
      expect(replay).toEqual({ applied: false, state: first.state });
    });

    it('merges two contributors: union of regions and context, summed counts, widest event-time span', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      const earlyLate = contribution(key, {
        distinctValues: ['us-east-1', 'us-west-2'],
        eventCount: 2,
        eventIdHashes: ['h-a', 'h-b'],
        failedCount: 1,
        firstEventTime: WINDOW_START + 5_000,
        lastEventTime: WINDOW_START + 25_000,
        context: { userAgents: ['aws-cli/2'], sourceIps: ['192.0.2.1'] },
      });
      const wider = contribution(key, {
        distinctValues: ['eu-central-1', 'us-east-1'],
        eventCount: 3,
        eventIdHashes: ['h-c', 'h-d', 'h-e'],
        failedCount: 2,
        firstEventTime: WINDOW_START + 1_000,
        lastEventTime: WINDOW_START + 29_000,
        context: { userAgents: ['boto3'], sourceIps: ['192.0.2.1'] },
      });
      await store.apply(earlyLate, 'object-1', WINDOW_START);
      // Act
      const { state } = await store.apply(wider, 'object-2', WINDOW_START);
      // Assess
      expect(comparable(state)).toMatchObject({
        contributors: ['object-1', 'object-2'],
        distinctValues: ['eu-central-1', 'us-east-1', 'us-west-2'],
        failedCount: 3,
        firstEventTime: WINDOW_START + 1_000,
        lastEventTime: WINDOW_START + 29_000,
        context: { userAgents: ['aws-cli/2', 'boto3'], sourceIps: ['192.0.2.1'] },
      });
      expect(eventCountOf(state)).toBe(5);
    });

    it('keeps the stored event-time span when a later contribution lies inside it', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.apply(
        contribution(key, { firstEventTime: WINDOW_START + 1_000, lastEventTime: WINDOW_START + 29_000 }),
        'object-1',
        WINDOW_START,
      );
      // Act
      const { state } = await store.apply(
        contribution(key, { firstEventTime: WINDOW_START + 9_000, lastEventTime: WINDOW_START + 19_000 }),
        'object-2',
        WINDOW_START,
      );
      // Assess
      expect([state.firstEventTime, state.lastEventTime]).toEqual([
        WINDOW_START + 1_000,
        WINDOW_START + 29_000,
      ]);
    });

    it('counts an event id delivered in two objects once', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.apply(contribution(key, { eventCount: 2, eventIdHashes: ['h-a', 'h-b'] }), 'object-1', 0);
      // Act
      const { state } = await store.apply(
        contribution(key, { eventCount: 2, eventIdHashes: ['h-b', 'h-c'] }),
        'object-2',
        0,
      );
      // Assess
      expect(eventCountOf(state)).toBe(3);
    });

    it('counts events without an id hash as overflow', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey(), { eventCount: 4, eventIdHashes: ['h-a'] });
      // Act
      const { state } = await store.apply(added, 'object-1', 0);
      // Assess
      expect(state.overflowEventCount).toBe(3);
    });

    it('accepts a contribution whose lists are all empty', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey(), { distinctValues: [], eventIdHashes: [], eventCount: 2 });
      // Act
      const { state } = await store.apply(added, 'object-1', 0);
      // Assess
      expect(comparable(state)).toEqual(
        comparable(mergeContribution(undefined, added, 'object-1', DEFAULT_STATE_LIMITS).state),
      );
    });

    it.each([
      {
        case: 'event id hashes',
        pick: (s: WindowState) => s.eventIdHashes,
        input: (v: string[]) => ({ eventIdHashes: v, eventCount: v.length }),
      },
      {
        case: 'distinct values',
        pick: (s: WindowState) => s.distinctValues,
        input: (v: string[]) => ({ distinctValues: v }),
      },
      {
        case: 'a context list',
        pick: (s: WindowState) => s.context.userAgents,
        input: (v: string[]) => ({ context: { userAgents: v } }),
      },
      {
        case: "a correlation's finding summaries",
        pick: (s: WindowState) => s.context.findings,
        input: (v: string[]) => ({ context: { findings: v } }),
      },
    ])(
      'stops growing $case once the bound is reached, keeping the contribution that crossed it',
      async ({ pick, input }) => {
        // Prepare
        const store = harness.store(SMALL_LIMITS);
        const key = newKey();
        await store.apply(contribution(key, input(['v-1', 'v-2', 'v-3'])), 'object-1', 0);
        // Act
        const { state } = await store.apply(contribution(key, input(['v-4'])), 'object-2', 0);
        // Assess
        expect(pick(state)).toEqual(['v-1', 'v-2', 'v-3']);
      },
    );

    it('keeps one sample event id per slot: the first to land in it, from any contribution', async () => {
      // Prepare
      const limits = { ...SMALL_LIMITS, maxSampleEventIds: 3 };
      const store = harness.store(limits);
      const key = newKey();
      const first = ['e-01', 'e-02', 'e-03', 'e-04'];
      const second = Array.from({ length: 12 }, (_, i) => `f-${i}`);
      await store.apply(contribution(key, { context: { sampleEventIds: first } }), 'object-1', 0);
      // Act
      const { state } = await store.apply(
        contribution(key, { context: { sampleEventIds: second } }),
        'object-2',
        0,
      );
      // Assess: the first contribution's offers stay; the second fills only the slots still empty.
      const kept = [...sampleOffers(first, limits)];
      const filled = [...sampleOffers(second, limits)].filter(
        ([slot]) => !kept.some(([taken]) => taken === slot),
      );
      expect(state.context.sampleEventIds).toEqual([...kept, ...filled].map(([, id]) => id).sort());
      expect(new Set(state.context.sampleEventIds.map((id) => sampleSlotOf(id, limits))).size).toBe(
        state.context.sampleEventIds.length,
      );
    });

    it('adds to a list below its bound while another list is full, as mergeContribution does', async () => {
      // Prepare
      const store = harness.store(SMALL_LIMITS);
      const key = newKey();
      const hashesFull = contribution(key, {
        eventCount: 3,
        eventIdHashes: ['h-a', 'h-b', 'h-c'],
        context: { userAgents: ['u-1'] },
      });
      const next = contribution(key, {
        eventCount: 2,
        eventIdHashes: ['h-d', 'h-e'],
        context: { userAgents: ['u-2'] },
      });
      const steps = [
        { contributorId: 'object-1', contribution: hashesFull },
        { contributorId: 'object-2', contribution: next },
      ];
      await store.apply(hashesFull, 'object-1', 0);
      // Act
      const { state } = await store.apply(next, 'object-2', 0);
      // Assess
      expect(comparable(state)).toEqual(fold(steps, SMALL_LIMITS));
    });

    it('applies 20 concurrent distinct contributors exactly once each', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      const steps = Array.from({ length: 20 }, (_, i) => ({
        contributorId: `object-${i}`,
        contribution: contribution(key, {
          distinctValues: [`region-${i % 12}`],
          eventCount: 3,
          eventIdHashes: [`h-${i}`, `h-${i + 1}`],
          failedCount: i % 2,
          firstEventTime: WINDOW_START + 1_000 * ((i * 7) % 20),
          lastEventTime: WINDOW_START + 1_000 * ((i * 7) % 20) + 3_000,
          context: { userAgents: [`agent-${i % 5}`] },
        }),
      }));
      // Act
      await Promise.all(
        steps.map((step) => store.apply(step.contribution, step.contributorId, WINDOW_START)),
      );
      // Assess: a replay returns the state as found, after all twenty writes.
      const { state } = await store.apply(contribution(key), 'object-0', 0);
      expect(comparable(state)).toEqual(fold(steps, DEFAULT_STATE_LIMITS));
    });

    it('applies 20 concurrent deliveries of one contributor once', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey(), { eventCount: 2, eventIdHashes: ['h-a'], failedCount: 1 });
      // Act
      const results = await Promise.all(Array.from({ length: 20 }, () => store.apply(added, 'object-1', 0)));
      // Assess
      expect(results.filter((result) => result.applied)).toHaveLength(1);
    });

    it('leaves one concurrent contributor applied once in the state', async () => {
      // Prepare
      const store = harness.store();
      const added = contribution(newKey(), { eventCount: 2, eventIdHashes: ['h-a'], failedCount: 1 });
      // Act
      const results = await Promise.all(Array.from({ length: 20 }, () => store.apply(added, 'object-1', 0)));
      // Assess
      const last = results.map((result) => comparable(result.state));
      expect(new Set(last.map((state) => JSON.stringify(state))).size).toBe(1);
      expect(last[0]).toEqual(
        comparable(mergeContribution(undefined, added, 'object-1', DEFAULT_STATE_LIMITS).state),
      );
    });

    it('bounds a set under concurrent writers as mergeContribution does in any order', async () => {
      // Prepare
      const store = harness.store({ ...SMALL_LIMITS, maxEventIds: 5 });
      const key = newKey();
      const adds = Array.from({ length: 20 }, (_, i) =>
        contribution(key, { eventCount: 2, eventIdHashes: [`h-${i}-a`, `h-${i}-b`] }),
      );
      // Act
      await Promise.all(adds.map((added, i) => store.apply(added, `object-${i}`, 0)));
      // Assess: a replay returns the state as found, after all twenty writes.
      const { state } = await store.apply(contribution(key), 'object-0', 0);
      expect({ kept: state.eventIdHashes.length, events: eventCountOf(state) }).toEqual({
        kept: 6,
        events: 40,
      });
    });

    it('ends in the state of folding mergeContribution, for any sequence of contributions', async () => {
      const region = fc.constantFrom('us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1');
      const hash = fc.constantFrom('h-1', 'h-2', 'h-3', 'h-4', 'h-5');
      const text = fc.constantFrom('a', 'b', 'c', '');
      const step = fc.record({
        contributorId: fc.constantFrom('object-1', 'object-2', 'object-3', 'object-4'),
        distinctValues: fc.uniqueArray(region, { maxLength: 3 }),
        eventIdHashes: fc.uniqueArray(hash, { maxLength: 3 }),
        extraEvents: fc.nat(2),
        failedCount: fc.nat(2),
        first: fc.nat(29_000),
        length: fc.nat(1_000),
        userAgents: fc.uniqueArray(text, { maxLength: 3 }),
        sampleEventIds: fc.uniqueArray(text, { maxLength: 2 }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 6 }),
          fc.boolean(),
          async (drawn, nullArn) => {
            // Prepare
            const store = harness.store(SMALL_LIMITS);
            const key = newKey(nullArn ? null : ALICE);
            const steps = drawn.map((s) => ({
              contributorId: s.contributorId,
              contribution: contribution(key, {
                distinctValues: s.distinctValues,
                eventIdHashes: s.eventIdHashes,
                eventCount: s.eventIdHashes.length + s.extraEvents,
                failedCount: s.failedCount,
                // Contributions carry whole seconds (the aggregator's precision, CloudTrail's too).
                firstEventTime: WINDOW_START + 1_000 * Math.floor(s.first / 1_000),
                lastEventTime: WINDOW_START + 1_000 * Math.floor((s.first + s.length) / 1_000),
                context: { userAgents: s.userAgents, sampleEventIds: s.sampleEventIds },
              }),
            }));
            // Act
            let last: StoredWindow | undefined;
            for (const { contribution: added, contributorId } of steps) {
              last = (await store.apply(added, contributorId, WINDOW_START)).state;
            }
            // Assess
            expect(last === undefined ? undefined : comparable(last)).toEqual(fold(steps, SMALL_LIMITS));
          },
        ),
        { numRuns: propertyRuns(25) },
      );
    });
  });

  describe('claimAlert', () => {
    async function storeWithWindow(): Promise<{ store: WindowStore; key: GroupKey }> {
      const store = harness.store();
      const key = newKey();
      await store.apply(contribution(key), 'object-1', WINDOW_START);
      return { store, key };
    }

    it('the same claim sent again (its response lost, the request retried) is won again', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      const leaseUntil = WINDOW_START + 60_000;
      await store.claimAlert(key, 'first', WINDOW_START, leaseUntil);
      // Act
      const retried = await store.claimAlert(key, 'first', WINDOW_START, leaseUntil);
      const other = await store.claimAlert(key, 'second', WINDOW_START, leaseUntil);
      // Assess
      expect([retried, other]).toEqual([true, false]);
    });

    it("heldClaim gives the holder's lease, and nothing to another token or after the alert", async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      const leaseUntil = WINDOW_START + 60_000;
      await store.claimAlert(key, 'first', WINDOW_START, leaseUntil);
      // Act
      const held = [await store.heldClaim(key, 'first'), await store.heldClaim(key, 'second')];
      await store.recordAlert(key, 'message-1');
      const afterAlert = await store.heldClaim(key, 'first');
      // Assess
      expect([...held, afterAlert]).toEqual([{ leaseUntil }, undefined, undefined]);
    });

    it('heldClaim gives nothing to a holder whose claim was taken over after its lease', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'stalled', WINDOW_START, WINDOW_START + 60_000);
      await store.claimAlert(key, 'replay', WINDOW_START + 60_000, WINDOW_START + 120_000);
      // Act
      const held = await store.heldClaim(key, 'stalled');
      // Assess
      expect(held).toBeUndefined();
    });

    it('a released claim can be taken again at once; another token cannot release it', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      const leaseUntil = WINDOW_START + 60_000;
      await store.claimAlert(key, 'first', WINDOW_START, leaseUntil);
      // Act
      await store.releaseClaim(key, 'someone-else');
      const whileHeld = await store.claimAlert(key, 'second', WINDOW_START, leaseUntil);
      await store.releaseClaim(key, 'first');
      const afterRelease = await store.claimAlert(key, 'second', WINDOW_START, leaseUntil);
      // Assess
      expect([whileHeld, afterRelease]).toEqual([false, true]);
    });

    it('releasing after the alert was recorded changes nothing', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'first', WINDOW_START, WINDOW_START + 60_000);
      await store.recordAlert(key, 'message-1');
      // Act
      await store.releaseClaim(key, 'first');
      const claimed = await store.claimAlert(key, 'second', WINDOW_START + 120_000, WINDOW_START + 180_000);
      // Assess
      expect(claimed).toBe(false);
      expect((await store.get(key))?.alert.messageId).toBe('message-1');
    });

    it('lets exactly one of ten concurrent claims win', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      // Act
      const won = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.claimAlert(key, `token-${i}`, 1_000, 61_000)),
      );
      // Assess
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    it.each([
      { case: 'before the lease ends', now: 60_999, expected: false },
      { case: 'when the lease ends', now: 61_000, expected: true },
      { case: 'after the lease ended', now: 90_000, expected: true },
    ])('re-claim $case: $expected', async ({ now, expected }) => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'token-1', 1_000, 61_000);
      // Act
      const won = await store.claimAlert(key, 'token-2', now, now + 60_000);
      // Assess
      expect(won).toBe(expected);
    });

    it.each([
      {
        case: 'recordAlert',
        record: (s: WindowStore, k: GroupKey) => s.recordAlert(k, 'message-1'),
      },
      { case: 'recordSuppressed', record: (s: WindowStore, k: GroupKey) => s.recordSuppressed(k, 'token-1') },
    ])('refuses any claim after $case, even past the lease', async ({ record }) => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'token-1', 1_000, 61_000);
      await record(store, key);
      // Act
      const won = await store.claimAlert(key, 'token-2', 120_000, 180_000);
      // Assess
      expect(won).toBe(false);
    });

    it('ignores recordSuppressed from a holder whose claim was taken over', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'token-1', 1_000, 61_000);
      await store.claimAlert(key, 'token-2', 61_000, 121_000);
      await store.recordSuppressed(key, 'token-1');
      // Act
      const won = await store.claimAlert(key, 'token-3', 121_000, 181_000);
      // Assess
      expect(won).toBe(true);
    });

    it('refuses a claim on a window that holds no contribution', async () => {
      // Prepare
      const store = harness.store();
      // Act
      const won = await store.claimAlert(newKey(), 'token-1', 1_000, 61_000);
      // Assess
      expect(won).toBe(false);
    });

    it('reports the recorded alert on the next apply', async () => {
      // Prepare
      const { store, key } = await storeWithWindow();
      await store.claimAlert(key, 'token-1', 1_000, 61_000);
      await store.recordAlert(key, 'message-1');
      // Act
      const { state } = await store.apply(contribution(key), 'object-2', WINDOW_START);
      // Assess
      expect(state.alert).toEqual({ messageId: 'message-1', leaseUntil: 61_000 });
    });
  });

  describe('reserveAlertSlot', () => {
    const PERIOD = 3_600_000;
    const windowOf = (key: GroupKey, index: number): GroupKey => ({
      ...key,
      windowStart: WINDOW_START + index * 30_000,
    });

    it('allows the first alert of an identity with nothing suppressed', async () => {
      // Prepare
      const store = harness.store();
      // Act
      const slot = await store.reserveAlertSlot(newKey(), 1_000, PERIOD);
      // Assess
      expect(slot).toEqual({ allowed: true, suppressedWindows: 0 });
    });

    it('denies another window of the identity within the period', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      // Act
      const slot = await store.reserveAlertSlot(windowOf(key, 1), 2_000, PERIOD);
      // Assess
      expect(slot).toEqual({ allowed: false });
    });

    it('keeps identities apart: the null-ARN group has its own slot', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(key, 1_000, PERIOD);
      // Act
      const slot = await store.reserveAlertSlot({ ...windowOf(key, 1), arn: null }, 2_000, PERIOD);
      // Assess
      expect(slot).toEqual({ allowed: true, suppressedWindows: 0 });
    });

    it('allows the slot holder again on retry, with the count it carried', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 1), 2_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 2), 1_000 + PERIOD, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 3), 2_000 + PERIOD, PERIOD);
      // Act
      const retry = await store.reserveAlertSlot(windowOf(key, 2), 3_000 + PERIOD, PERIOD);
      // Assess
      expect(retry).toEqual({ allowed: true, suppressedWindows: 1 });
    });

    it('allows the next alert after the period, carrying each denied window once', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 1), 2_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 1), 2_500, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 2), 3_000, PERIOD);
      // Act
      const slot = await store.reserveAlertSlot(windowOf(key, 3), 1_000 + PERIOD, PERIOD);
      // Assess
      expect(slot).toEqual({ allowed: true, suppressedWindows: 2 });
    });

    it('counts suppressed windows up to the bound, and still suppresses past it', async () => {
      // Prepare: a bound of 2 suppressed windows
      const store = harness.store(SMALL_LIMITS);
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      // Act
      const denied = [];
      for (let i = 1; i <= 4; i++)
        denied.push(await store.reserveAlertSlot(windowOf(key, i), 1_000 + i, PERIOD));
      const next = await store.reserveAlertSlot(windowOf(key, 5), 1_000 + PERIOD, PERIOD);
      // Assess
      expect(denied.every((slot) => !slot.allowed)).toBe(true);
      expect(next).toEqual({ allowed: true, suppressedWindows: 2 });
    });

    it('starts a fresh count after carrying one', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 1), 2_000, PERIOD);
      await store.reserveAlertSlot(windowOf(key, 2), 1_000 + PERIOD, PERIOD);
      // Act
      const slot = await store.reserveAlertSlot(windowOf(key, 3), 1_000 + 2 * PERIOD, PERIOD);
      // Assess
      expect(slot).toEqual({ allowed: true, suppressedWindows: 0 });
    });

    it('gives the slot to one of ten concurrent windows and counts the other nine', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      const slots = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.reserveAlertSlot(windowOf(key, i), 1_000, PERIOD)),
      );
      // Act
      const next = await store.reserveAlertSlot(windowOf(key, 10), 1_000 + PERIOD, PERIOD);
      // Assess
      expect({ allowed: slots.filter((slot) => slot.allowed).length, next }).toEqual({
        allowed: 1,
        next: { allowed: true, suppressedWindows: 9 },
      });
    });
    it('counts every denied window exactly once across takes racing with denials', async () => {
      // Prepare: deniers still see the first alert within its period, takers see it expired.
      const store = harness.store();
      const key = newKey();
      await store.reserveAlertSlot(windowOf(key, 0), 1_000, PERIOD);
      const racing = Array.from({ length: 20 }, (_, i) =>
        store.reserveAlertSlot(windowOf(key, i + 1), i % 2 === 0 ? PERIOD : 1_000 + PERIOD, PERIOD),
      );
      const taken = (await Promise.all(racing)).filter((slot) => slot.allowed);
      // Act
      const next = await store.reserveAlertSlot(windowOf(key, 21), 1_000 + 3 * PERIOD, PERIOD);
      // Assess: 20 windows raced, one took the slot, so 19 were denied and each is carried once.
      const carried = [...taken, next].reduce(
        (sum, slot) => sum + (slot.allowed ? slot.suppressedWindows : 0),
        0,
      );
      expect({ taken: taken.length, carried }).toEqual({ taken: 1, carried: 19 });
    });
  });

  describe.skipIf(kind === 'memory')('DynamoDB items', () => {
    it('one request per contribution once the sample event ids are full', async () => {
      // Prepare: every contribution brings more event ids than the default five samples.
      const { store, requests } = harness.countingStore();
      const key = newKey();
      const ids = (i: number) => Array.from({ length: 8 }, (_, j) => `event-${i}-${j}`);
      // Act
      for (let i = 0; i < 4; i += 1) {
        await store.apply(
          contribution(key, { context: { sampleEventIds: ids(i) } }),
          `object-${i}`,
          WINDOW_START,
        );
      }
      // Assess
      expect(requests()).toBe(4);
    });

    it('one request per contribution, whatever order the event times arrive in', async () => {
      // Prepare: later windows first, then earlier and wider ones (each would widen a first/last span)
      const { store, requests } = harness.countingStore();
      const key = newKey();
      const times = [
        [20_000, 25_000],
        [5_000, 9_000],
        [1_000, 29_000],
        [10_000, 12_000],
      ];
      // Act
      for (const [i, [first = 0, last = 0]] of times.entries()) {
        await store.apply(
          contribution(key, { firstEventTime: WINDOW_START + first, lastEventTime: WINDOW_START + last }),
          `object-${i}`,
          WINDOW_START,
        );
      }
      const state = await store.get(key);
      // Assess
      expect(requests()).toBe(times.length + 1);
      expect([state?.firstEventTime, state?.lastEventTime]).toEqual([
        WINDOW_START + 1_000,
        WINDOW_START + 29_000,
      ]);
    });

    it.each([
      {
        case: 'processing time when later than the events',
        now: WINDOW_START + 600_000,
        dominant: WINDOW_START + 600_000,
      },
      {
        case: 'the window end when later than processing time',
        now: WINDOW_START - 3_600_000,
        dominant: WINDOW_START + 30_000,
      },
    ])('sets expiresAt to retention past $case', async ({ now, dominant }) => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      // Act
      await store.apply(contribution(key, { lastEventTime: WINDOW_START + 20_000 }), 'object-1', now);
      // Assess
      const item = await harness.rawItem(windowItemKey(key));
      expect(item?.expiresAt).toEqual({ N: String(Math.ceil(dominant / 1000) + RETENTION_SECONDS) });
    });

    it('sets expiresAt on the suppression item to retention past the period', async () => {
      // Prepare
      const store = harness.store();
      const key = newKey();
      // Act
      await store.reserveAlertSlot(key, 1_000_000, 60_000);
      // Assess
      const item = await harness.rawItem(suppressionItemKey(key));
      expect(item?.expiresAt).toEqual({ N: String(1_060 + RETENTION_SECONDS) });
    });

    it('spills contributors past the window item to shard items, each counted once, replays included', async () => {
      // Prepare: a window item that holds three contributors (lowered here to reach the shards in a few
      // writes; the unlowered bound is proved by the 17,000-contributor test).
      const store = harness.store(DEFAULT_STATE_LIMITS, { maxContributors: 3 });
      const key = newKey(null);
      const ids = Array.from({ length: 40 }, (_, i) => `object-${i}`);
      const each = (id: string) =>
        contribution(key, {
          eventIdHashes: [`hash-${id}`],
          failedCount: 1,
          distinctValues: [`r-${id.length}`],
        });
      // Act
      const first = [];
      for (const id of ids) first.push((await store.apply(each(id), id, 0)).applied);
      const replays = [];
      for (const id of ids) replays.push((await store.apply(each(id), id, 0)).applied);
      // Assess
      const state = await store.get(key);
      expect([first.every(Boolean), replays.some(Boolean)]).toEqual([true, false]);
      expect(state && [eventCountOf(state), state.failedCount, state.distinctValues]).toEqual([
        40,
        40,
        ['r-8', 'r-9'],
      ]);
    });

    it.each([
      { case: 'the window item (sets)', expression: /^ADD #eventTimes/ },
      {
        case: 'its shard item (contributor and counters)',
        expression: /^ADD #contributors :contributorSet, #overflowEventCount/,
      },
    ])(
      'a spilled write to $case applied, its response lost and sent again: counted once',
      async ({ expression }) => {
        // Prepare
        let resent = 0;
        const store = harness.store(DEFAULT_STATE_LIMITS, {
          maxContributors: 3,
          resendWhen: (input) => {
            const match = expression.test(input.UpdateExpression ?? '');
            if (match) resent += 1;
            return match;
          },
        });
        const key = newKey(null);
        const ids = Array.from({ length: 8 }, (_, i) => `object-${i}`);
        // Act
        const applied = [];
        for (const id of ids) {
          const each = contribution(key, { failedCount: 1, eventIdHashes: [id] });
          applied.push((await store.apply(each, id, 0)).applied);
        }
        // Assess: the five spilled contributions each met the lost response, and count once.
        const state = await store.get(key);
        expect(resent).toBe(5);
        expect(state && [eventCountOf(state), state.failedCount]).toEqual([8, 8]);
      },
    );

    it.each([
      { case: 'apply', act: (s: WindowStore) => s.apply(contribution(newKey()), 'object-1', 0) },
      { case: 'claimAlert', act: (s: WindowStore) => s.claimAlert(newKey(), 'token-1', 0, 1) },
      { case: 'recordAlert', act: (s: WindowStore) => s.recordAlert(newKey(), 'message-1') },
      { case: 'recordSuppressed', act: (s: WindowStore) => s.recordSuppressed(newKey(), 'token-1') },
      { case: 'reserveAlertSlot', act: (s: WindowStore) => s.reserveAlertSlot(newKey(), 0, 1) },
    ])('propagates an error other than a failed condition from $case', async ({ act }) => {
      // Prepare
      const store = harness.store(DEFAULT_STATE_LIMITS, { tableName: 'no-such-table' });
      // Act
      const outcome = act(store);
      // Assess
      await expect(outcome).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });
}

describeEachStore('window store contract', contract);

describe('DynamoDbWindowStore failure injection', () => {
  const key = { ruleId: 'rule-1', windowStart: WINDOW_START, arn: ALICE };
  // Mocks this one client instance only: the stand-in suites in this file use real clients.
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const dynamo = mockClient(client);
  const store = new DynamoDbWindowStore({
    client,
    tableName: 'windows',
    limits: DEFAULT_STATE_LIMITS,
    retentionSeconds: RETENTION_SECONDS,
  });

  afterAll(() => {
    dynamo.restore();
  });

  it('propagates throttling from the write instead of treating it as a failed condition', async () => {
    // Prepare
    dynamo.reset();
    dynamo
      .on(UpdateItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    // Act
    const outcome = store.apply(contribution(key), 'object-1', 0);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
  });

  it.each([
    { case: 'in the old image returned with the failure (DynamoDB)', oldImage: true },
    { case: 'by a consistent read where no old image comes back (dynalite)', oldImage: false },
  ])('recognises its own claim, applied before its response was lost, $case', async ({ oldImage }) => {
    // Prepare: the first attempt's reply is a 500 after the write; the SDK's retry fails its condition.
    dynamo.reset();
    const own = { claimToken: { S: 'token-1' }, leaseUntil: { N: '61000' } };
    dynamo.on(UpdateItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        ...(oldImage ? { Item: own } : {}),
      }),
    );
    dynamo.on(GetItemCommand).resolves({ Item: own });
    // Act
    const won = await store.claimAlert(key, 'token-1', 1_000, 61_000);
    const lost = await store.claimAlert(key, 'token-2', 1_000, 61_000);
    // Assess
    expect([won, lost]).toEqual([true, false]);
  });

  it('gives up with WindowContentionError when every condition is lost to another writer', async () => {
    // Prepare
    dynamo.reset();
    dynamo.on(UpdateItemCommand).callsFake(() => {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { contributors: { SS: [`other-${randomUUID()}`] } },
      });
    });
    // Act
    const outcome = store.apply(contribution(key), 'object-1', 0);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(WindowContentionError);
  });
});

describe('contributor capacity of one (rule, window, group) on DynamoDB', () => {
  it('an organization of 1,000 accounts x 17 regions, two objects each per window, leaves every shard far below its bound', () => {
    // Prepare: 34,000 object ids (every account and region delivering two objects in the window), those past
    // the window item's own 1,000 spread over the shards by the store's own routing. Writing them all to a
    // stand-in takes minutes; the 3,000-contributor contract test writes the same path for real.
    const ids = organizationObjects(34_000).slice(MAX_CONTRIBUTORS);
    // Act
    const perShard = new Array<number>(SPILL_SHARDS).fill(0);
    for (const id of ids) perShard[shardOf(id)] = (perShard[shardOf(id)] ?? 0) + 1;
    // Assess
    expect(Math.max(...perShard)).toBeLessThan(MAX_SHARD_CONTRIBUTORS / 4);
  });
});
