import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { halfSlotItemKey } from '../../lambda/adapters/dynamodb/half-slots';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import { WindowContentionError } from '../../lambda/domain/errors';
import type { HalfSlotKey, WindowStore } from '../../lambda/ports';
import { describeEachStore, type StoreKind, useWindowStoreHarness } from './window-store-harness';

/** How every path but a covered window gives a slot back: a marked slot stays marked. */
const UNMARKED = { evenIfMarked: false } as const;
const HALF_WINDOW = 15_000;
// Near the wall clock: DynamoDB Local deletes expired items, and expiresAt derives from the slot end.
const SLOT_START = Math.floor(Date.now() / HALF_WINDOW) * HALF_WINDOW;
/** The two windows that share the half-slot at SLOT_START: it is the second half of one, the first of the other. */
const EARLIER = SLOT_START - HALF_WINDOW;
const LATER = SLOT_START;
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const RETENTION_SECONDS = 7 * 86_400;
/** EARLIER's first claim: made at CLAIMED_AT, its lease runs until LEASE_END. */
const CLAIMED_AT = 1_000;
const LEASE_END = 61_000;

/** A half-slot of a fresh group (a new rule id per test keeps tests independent on one table). */
function newSlot(group: Pick<HalfSlotKey, 'arn' | 'by'> = { arn: ALICE }): HalfSlotKey {
  return {
    ruleId: `rule-${randomUUID()}`,
    ...group,
    slotStart: SLOT_START,
    slotEnd: SLOT_START + HALF_WINDOW,
  };
}

function halfSlotContract(kind: StoreKind): void {
  const harness = useWindowStoreHarness(kind, RETENTION_SECONDS);

  /** A store in which EARLIER holds a fresh slot from CLAIMED_AT until LEASE_END. */
  async function slotHeldByEarlier(): Promise<{ store: WindowStore; key: HalfSlotKey }> {
    const store = harness.store();
    const key = newSlot();
    await store.claimHalfSlot(key, EARLIER, CLAIMED_AT, LEASE_END);
    return { store, key };
  }

  describe('claimHalfSlot', () => {
    it('holds a slot on its first claim', async () => {
      // Prepare
      const store = harness.store();
      // Act
      const claim = await store.claimHalfSlot(newSlot(), EARLIER, CLAIMED_AT, LEASE_END);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it.each([
      { case: 'within its lease', now: 2_000 },
      { case: 'when its lease ends', now: LEASE_END },
      { case: 'after its lease ended', now: 90_000 },
    ])('holds it again for the owning window $case', async ({ now }) => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      // Act
      const claim = await store.claimHalfSlot(key, EARLIER, now, now + 60_000);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it.each([
      {
        case: 'leased, before the lease ends',
        now: LEASE_END - 1,
        expected: { kind: 'leased', ownerWindowStart: EARLIER, leaseUntil: LEASE_END },
      },
      { case: 'held, when the lease ends', now: LEASE_END, expected: { kind: 'held' } },
      { case: 'held, after the lease ended', now: 90_000, expected: { kind: 'held' } },
    ])('answers another window $case', async ({ now, expected }) => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      // Act
      const claim = await store.claimHalfSlot(key, LATER, now, now + 60_000);
      // Assess
      expect(claim).toEqual(expected);
    });

    it("extends the owner's lease when the owner claims again", async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.claimHalfSlot(key, EARLIER, 50_000, 110_000);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 90_000, 150_000);
      // Assess
      expect(claim).toEqual({ kind: 'leased', ownerWindowStart: EARLIER, leaseUntil: 110_000 });
    });

    it('hands the slot to the window that took it over, not back to the previous owner', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.claimHalfSlot(key, LATER, LEASE_END, 121_000);
      // Act
      const claim = await store.claimHalfSlot(key, EARLIER, 90_000, 150_000);
      // Assess
      expect(claim).toEqual({ kind: 'leased', ownerWindowStart: LATER, leaseUntil: 121_000 });
    });

    it.each([
      { case: 'while its lease runs', now: 2_000 },
      { case: 'after its lease ended', now: 10 * LEASE_END },
    ])('answers another window alerted, naming the owner, $case', async ({ now }) => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, now, now + 60_000);
      // Assess
      expect(claim).toEqual({ kind: 'alerted', ownerWindowStart: EARLIER });
    });

    it('holds an alerted slot again for its owner after its lease ended', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      // Act
      const claim = await store.claimHalfSlot(key, EARLIER, 10 * LEASE_END, 11 * LEASE_END);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it('keeps the alerted mark when the owner claims again', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      await store.claimHalfSlot(key, EARLIER, 10 * LEASE_END, 11 * LEASE_END);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 20 * LEASE_END, 21 * LEASE_END);
      // Assess
      expect(claim).toEqual({ kind: 'alerted', ownerWindowStart: EARLIER });
    });

    it('gives the slot to exactly one of ten concurrent windows; the others see that one', async () => {
      // Prepare: distinct owners (only two windows share a real slot; the store must not rely on it)
      const store = harness.store();
      const key = newSlot();
      // Act
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.claimHalfSlot(key, EARLIER + i * HALF_WINDOW, CLAIMED_AT, LEASE_END),
        ),
      );
      // Assess
      const leasedBy = claims.flatMap((claim) => (claim.kind === 'leased' ? [claim.ownerWindowStart] : []));
      expect({
        held: claims.filter((claim) => claim.kind === 'held').length,
        leased: leasedBy.length,
        owners: new Set(leasedBy).size,
      }).toEqual({ held: 1, leased: 9, owners: 1 });
    });

    it.each([
      { case: 'the null-ARN group from the ARN group', first: { arn: ALICE }, second: { arn: null } },
      {
        case: 'groups that differ in a further group-by value',
        first: { arn: ALICE, by: ['192.0.2.1'] },
        second: { arn: ALICE, by: ['192.0.2.2'] },
      },
      {
        case: 'a missing further value from identity-only grouping',
        first: { arn: ALICE },
        second: { arn: ALICE, by: [null] },
      },
      {
        case: 'null-ARN groups that differ in a further value',
        first: { arn: null, by: ['192.0.2.1'] },
        second: { arn: null, by: [null] },
      },
    ])('keeps $case apart', async ({ first, second }) => {
      // Prepare
      const store = harness.store();
      const firstKey = newSlot(first);
      const secondKey = {
        ...firstKey,
        arn: second.arn,
        ...(second.by === undefined ? {} : { by: second.by }),
      };
      await store.claimHalfSlot(firstKey, EARLIER, CLAIMED_AT, LEASE_END);
      // Act
      const claim = await store.claimHalfSlot(secondKey, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it('keeps the slots of one group apart', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      const nextSlot = { ...key, slotStart: key.slotEnd, slotEnd: key.slotEnd + HALF_WINDOW };
      // Act
      const claim = await store.claimHalfSlot(nextSlot, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });
  });

  describe('releaseHalfSlot', () => {
    it('lets another window take the slot at once, within the released lease', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.releaseHalfSlot(key, EARLIER, UNMARKED);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it('changes nothing when a window that does not own the slot releases it', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.releaseHalfSlot(key, LATER, UNMARKED);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'leased', ownerWindowStart: EARLIER, leaseUntil: LEASE_END });
    });

    it('changes nothing once the slot is marked', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      await store.releaseHalfSlot(key, EARLIER, UNMARKED);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'alerted', ownerWindowStart: EARLIER });
    });

    it('gives a marked slot back when asked to even if marked (a covered window)', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      await store.releaseHalfSlot(key, EARLIER, { evenIfMarked: true });
      // Act
      const claim = await store.claimHalfSlot(key, LATER, 2_000, 62_000);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });

    it('changes nothing on a slot never claimed', async () => {
      // Prepare
      const store = harness.store();
      const key = newSlot();
      await store.releaseHalfSlot(key, EARLIER, UNMARKED);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, CLAIMED_AT, LEASE_END);
      // Assess
      expect(claim).toEqual({ kind: 'held' });
    });
  });

  describe('markHalfSlotAlerted', () => {
    it('reports the slot marked, and marked again when the request is repeated (a lost response)', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      // Act
      const marks = [
        await store.markHalfSlotAlerted(key, EARLIER),
        await store.markHalfSlotAlerted(key, EARLIER),
      ];
      // Assess
      expect(marks).toEqual([true, true]);
    });

    it('marks nothing and says so when the slot was taken over by another window', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.claimHalfSlot(key, LATER, LEASE_END, 121_000);
      // Act
      const marked = await store.markHalfSlotAlerted(key, EARLIER);
      // Assess
      expect(marked).toBe(false);
      expect(await store.claimHalfSlot(key, EARLIER, 90_000, 150_000)).toEqual({
        kind: 'leased',
        ownerWindowStart: LATER,
        leaseUntil: 121_000,
      });
    });

    it('marks nothing and says so on a slot its window released', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.releaseHalfSlot(key, EARLIER, UNMARKED);
      // Act
      const marked = await store.markHalfSlotAlerted(key, EARLIER);
      // Assess
      expect(marked).toBe(false);
      expect(await store.claimHalfSlot(key, LATER, 2_000, 62_000)).toEqual({ kind: 'held' });
    });

    it('a marked slot is never taken over, even long after its lease', async () => {
      // Prepare
      const { store, key } = await slotHeldByEarlier();
      await store.markHalfSlotAlerted(key, EARLIER);
      // Act
      const claim = await store.claimHalfSlot(key, LATER, LEASE_END + 86_400_000, LEASE_END + 86_460_000);
      // Assess
      expect(claim).toEqual({ kind: 'alerted', ownerWindowStart: EARLIER });
    });
  });

  describe.skipIf(kind === 'memory')('DynamoDB half-slot items', () => {
    it.each([
      {
        case: 'the slot end when later than processing time',
        now: CLAIMED_AT,
        dominant: SLOT_START + HALF_WINDOW,
      },
      {
        case: 'processing time when later than the slot end',
        now: SLOT_START + 600_000,
        dominant: SLOT_START + 600_000,
      },
    ])('sets expiresAt to retention past $case', async ({ now, dominant }) => {
      // Prepare
      const store = harness.store();
      const key = newSlot();
      // Act
      await store.claimHalfSlot(key, EARLIER, now, now + 60_000);
      // Assess
      const item = await harness.rawItem(halfSlotItemKey(key));
      expect(item?.expiresAt).toEqual({ N: String(Math.ceil(dominant / 1000) + RETENTION_SECONDS) });
    });

    it('sends one request for each of an uncontended claim, release and mark', async () => {
      // Prepare
      const { store, requests } = harness.countingStore();
      const key = newSlot();
      // Act
      await store.claimHalfSlot(key, EARLIER, CLAIMED_AT, LEASE_END);
      await store.markHalfSlotAlerted(key, EARLIER);
      await store.releaseHalfSlot(key, EARLIER, UNMARKED);
      // Assess
      expect(requests()).toBe(3);
    });

    it.each([
      { case: 'claimHalfSlot', act: (s: WindowStore) => s.claimHalfSlot(newSlot(), EARLIER, 0, 1) },
      { case: 'releaseHalfSlot', act: (s: WindowStore) => s.releaseHalfSlot(newSlot(), EARLIER, UNMARKED) },
      { case: 'markHalfSlotAlerted', act: (s: WindowStore) => s.markHalfSlotAlerted(newSlot(), EARLIER) },
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

describeEachStore('half-slot contract', halfSlotContract);

describe('DynamoDbWindowStore half-slot failure injection', () => {
  const key = newSlot();
  const owned = (owner: number) => ({
    ownerWindowStart: { N: String(owner) },
    leaseUntil: { N: String(LEASE_END) },
  });
  // Mocks this one client instance only: the stand-in suites in this file use real clients.
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const dynamo = mockClient(client);
  const store = new DynamoDbWindowStore({
    client,
    tableName: 'windows',
    limits: DEFAULT_STATE_LIMITS,
    retentionSeconds: RETENTION_SECONDS,
  });
  const conditionFailed = (item?: ReturnType<typeof owned>) =>
    new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      ...(item === undefined ? {} : { Item: item }),
    });

  afterAll(() => {
    dynamo.restore();
  });

  it('reports the blocker from the failed condition without reading the item', async () => {
    // Prepare
    dynamo.reset();
    dynamo.on(UpdateItemCommand).rejects(conditionFailed(owned(EARLIER)));
    // Act
    const claim = await store.claimHalfSlot(key, LATER, CLAIMED_AT, LEASE_END);
    // Assess
    expect({ claim, reads: dynamo.commandCalls(GetItemCommand).length }).toEqual({
      claim: { kind: 'leased', ownerWindowStart: EARLIER, leaseUntil: LEASE_END },
      reads: 0,
    });
  });

  it('claims again when the blocker released the slot before the fallback read', async () => {
    // Prepare: the stand-in returns no item with the failed condition; the read finds the slot released.
    dynamo.reset();
    dynamo.on(UpdateItemCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamo.on(GetItemCommand).resolves({ Item: {} });
    // Act
    const claim = await store.claimHalfSlot(key, LATER, CLAIMED_AT, LEASE_END);
    // Assess
    expect({ claim, writes: dynamo.commandCalls(UpdateItemCommand).length }).toEqual({
      claim: { kind: 'held' },
      writes: 2,
    });
  });

  it('gives up with WindowContentionError when every fallback read finds the slot claimable', async () => {
    // Prepare
    dynamo.reset();
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());
    dynamo.on(GetItemCommand).resolves({});
    // Act
    const outcome = store.claimHalfSlot(key, LATER, CLAIMED_AT, LEASE_END);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(WindowContentionError);
  });
});
