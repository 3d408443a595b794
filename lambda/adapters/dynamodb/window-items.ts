import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import {
  CONTEXT_FIELDS,
  type ContextField,
  contextBound,
  type GroupContribution,
  type GroupKey,
  type StateLimits,
  sampleOffers,
} from '../../domain/detection/window-state';
import type { AlertStatus, StoredWindow } from '../../ports';
import { allOf, isConditionFailure, itemOf, setBelow } from './conditions';
import type { ContributorShards } from './contributor-shards';
import { describeGroup, groupSortKey, windowPartitionKey } from './group-keys';
import {
  CLAIM_ATTRIBUTES,
  epochSeconds,
  type Item,
  KEY_ATTRIBUTES,
  num,
  numberOf,
  stringsOf,
  WINDOW_ATTRIBUTES,
} from './item-attributes';
import { contentionError, MAX_CONDITION_ATTEMPTS, type WindowTable } from './window-table';

/**
 * Contributors kept on a window item. An ARN's events come from its own account's log files (regions x ~2
 * objects per 30 s window), so ordinary items hold tens and every contribution is one write. Past this
 * bound (an organization trail's null-ARN group, or one identity sweeping hundreds of accounts), further
 * contributors spill to the group's shard items: the window item stays small (16 KB of ids; DynamoDB bills
 * a write per KB of the item), and the bound is not one an organization can reach.
 */
export const MAX_CONTRIBUTORS = 1_000;

/** The key of a group's window item: `W#<ruleId>#<windowStart ISO>` / `A#<arn>` (`N#` for the null ARN). */
export function windowItemKey(key: GroupKey): Item {
  return {
    [KEY_ATTRIBUTES.pk]: { S: windowPartitionKey(key) },
    [KEY_ATTRIBUTES.sk]: { S: groupSortKey(key) },
  };
}

/** A bounded String Set on the window item and what one contribution adds to it. */
interface BoundedSet {
  readonly attribute: string;
  readonly values: readonly string[];
  readonly bound: number;
}

/**
 * How one UpdateItem merges a contribution: `openSets` take their values (each was below its bound when last
 * seen; the condition re-checks it).
 */
interface ApplyPlan {
  readonly openSets: readonly BoundedSet[];
}

/** The outcome of a contribution: the window's state after it, or as found when nothing was applied. */
export type Applied = { state: StoredWindow; applied: boolean };

/**
 * Window items: one per (rule, window, group), merged by conditional UpdateItem with the exact semantics of
 * `mergeContribution`, safe under concurrent writers and replays without transactions. A full item's
 * further contributors go to the group's contributor shards.
 */
export class WindowItems {
  /**
   * Window items this store saw full: a hint that lets a contribution go straight to the spill write, whose
   * condition re-checks it (items never shrink, so the hint never turns wrong). Bounded: cleared past 10,000.
   */
  private readonly fullItems = new Set<string>();

  constructor(
    private readonly table: WindowTable,
    private readonly shards: ContributorShards,
    private readonly settings: {
      readonly limits: StateLimits;
      readonly retentionSeconds: number;
      readonly maxContributors: number;
    },
  ) {}

  /**
   * Steps:
   * 1. Write optimistically: add to every bounded set, under conditions (contributor new, item has room, each
   *    set below its bound). One write: the event-time span is a Number Set of whole-second times to which
   *    every contribution ADDs its first and last (min and max are taken on read), so no order of arrival
   *    needs a second write.
   * 2. On a failed condition, read the item as it was (ALL_OLD, or a consistent GetItem where the stand-in
   *    returns no item). Contributor present: nothing to do (a replay, or this very write retried by the SDK
   *    after its response was lost). Item full: spill (applySpilled).
   * 3. Otherwise a set reached its bound: plan the write without the full sets and retry. Sets only fill, so
   *    a plan stays right while its conditions hold, and a failed condition means another writer made
   *    progress. This second write happens only once a set of the item is full: 20 values of a context list
   *    (user agents, source IPs, ...), 64 distinct values or 1,000 event ids. Sample event ids take no
   *    condition (the first contribution's are kept), so an ordinary window never needs it.
   * Routing is exact under replays: a contributor on the item stays there, and an item once full stays full
   * (contributors are never removed), so every replay of a contributor reaches the item it was counted on.
   */
  async apply(contribution: GroupContribution, contributorId: string, now: number): Promise<Applied> {
    const sets = boundedSets(contribution, this.settings.limits);
    if (this.fullItems.has(describeGroup(contribution))) {
      return this.applySpilled(contribution, contributorId, now, sets, undefined);
    }
    let plan: ApplyPlan = { openSets: sets };
    for (let attempt = 0; attempt < MAX_CONDITION_ATTEMPTS; attempt += 1) {
      try {
        const after = await this.table.update(this.mergeInput(contribution, contributorId, now, plan));
        return { applied: true, state: toStoredWindow(contribution, after ?? {}) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const found = itemOf(error) ?? (await this.table.read(windowItemKey(contribution)));
        if (found !== undefined) {
          const contributors = stringsOf(found, WINDOW_ATTRIBUTES.contributors);
          if (contributors.includes(contributorId)) {
            return { applied: false, state: await this.stateOf(contribution, found) };
          }
          if (contributors.length >= this.settings.maxContributors) {
            if (this.fullItems.size >= 10_000) this.fullItems.clear();
            this.fullItems.add(describeGroup(contribution));
            return this.applySpilled(contribution, contributorId, now, sets, found);
          }
        }
        plan = planFrom(sets, found);
      }
    }
    throw contentionError(`window item ${describeGroup(contribution)}`);
  }

  /**
   * A contribution to a window whose item is full (`seen`, as found), in two writes:
   * 1. The sets go to the window item (idempotent unions, bounded as in apply), on condition that the item
   *    is full and does not hold this contributor.
   * 2. The contributor and its counters go to its shard item, on condition that the shard does not hold it.
   *    Events whose id hash the window item now holds are counted there; the others (past the hash bound)
   *    add to the shard's overflow count.
   * A crash between 1 and 2 leaves only sets written, which the retry writes again unchanged; a replay of
   * an applied contribution finds its contributor in the shard (2 refused): nothing is counted twice. A
   * contributor found on the window item itself (`seen` undefined: sent on the full-item hint) is a replay.
   */
  private async applySpilled(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
    sets: readonly BoundedSet[],
    seen: Item | undefined,
  ): Promise<Applied> {
    let plan = planFrom(sets, seen);
    let window: Item | undefined;
    for (let attempt = 0; window === undefined && attempt < MAX_CONDITION_ATTEMPTS; attempt += 1) {
      try {
        window =
          (await this.table.update(this.mergeInput(contribution, contributorId, now, plan, 'spill'))) ?? {};
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const found = itemOf(error) ?? (await this.table.read(windowItemKey(contribution)));
        if (found !== undefined && stringsOf(found, WINDOW_ATTRIBUTES.contributors).includes(contributorId)) {
          return { applied: false, state: await this.stateOf(contribution, found) };
        }
        plan = planFrom(sets, found);
      }
    }
    if (window === undefined) throw contentionError(`window item ${describeGroup(contribution)}`);
    const held = new Set(stringsOf(window, WINDOW_ATTRIBUTES.eventIdHashes));
    const counted = contribution.eventIdHashes.filter((hash) => held.has(hash)).length;
    const applied = await this.shards.add(contribution, contributorId, counted, now);
    // Once the window alerted (or was suppressed) no decision reads its counts: the shards' are left out.
    const decided =
      window[CLAIM_ATTRIBUTES.messageId] !== undefined || window[CLAIM_ATTRIBUTES.suppressed] !== undefined;
    return {
      applied,
      state: decided ? toStoredWindow(contribution, window) : await this.stateOf(contribution, window),
    };
  }

  /** The window as stored now (a consistent read), with its shards' counters; undefined when absent. */
  async get(key: GroupKey): Promise<StoredWindow | undefined> {
    const item = await this.table.read(windowItemKey(key));
    return item === undefined ? undefined : this.stateOf(key, item);
  }

  /** The window's state from its item: with the shards' counters added once the item is full. */
  private async stateOf(key: GroupKey, item: Item): Promise<StoredWindow> {
    const state = toStoredWindow(key, item);
    if (state.contributors.length < this.settings.maxContributors) return state;
    const spilled = await this.shards.counters(key);
    return {
      ...state,
      overflowEventCount: state.overflowEventCount + spilled.overflowEventCount,
      failedCount: state.failedCount + spilled.failedCount,
    };
  }

  /**
   * The window item's UpdateItem for a contribution: in `main` mode it adds the contributor and the counters
   * under the contributor-is-new and item-has-room conditions; in `spill` mode (the item is full) it adds
   * the sets only, on condition that the item is full and does not hold the contributor (the routing rule
   * of apply, checked by the write itself).
   */
  private mergeInput(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
    plan: ApplyPlan,
    mode: 'main' | 'spill' = 'main',
  ): UpdateItemCommandInput {
    let names: Record<string, string> = {
      '#contributors': WINDOW_ATTRIBUTES.contributors,
      '#failedCount': WINDOW_ATTRIBUTES.failedCount,
      '#overflowEventCount': WINDOW_ATTRIBUTES.overflowEventCount,
      '#eventTimes': WINDOW_ATTRIBUTES.eventTimes,
      '#expiresAt': KEY_ATTRIBUTES.expiresAt,
    };
    const hashesKept = plan.openSets.some((set) => set.attribute === WINDOW_ATTRIBUTES.eventIdHashes)
      ? contribution.eventIdHashes.length
      : 0;
    let values: Item = {
      ':contributorSet': { SS: [contributorId] },
      ':contributor': { S: contributorId },
      ':maxContributors': num(this.settings.maxContributors),
      ':failedCount': num(contribution.failedCount),
      // mergeContribution: events past the hash bound (or without a kept hash) are counted here.
      ':overflow': num(contribution.eventCount - hashesKept),
      // Whole seconds (CloudTrail's own precision): at most one value per second of the window.
      ':eventTimes': {
        NS: [
          ...new Set([wholeSecond(contribution.firstEventTime), wholeSecond(contribution.lastEventTime)]),
        ].map(String),
      },
      ':expiresAt': num(epochSeconds(Math.max(contribution.windowEnd, now)) + this.settings.retentionSeconds),
    };
    const conditions: Record<string, string> = {
      contributorIsNew: 'NOT contains(#contributors, :contributor)',
      itemHasRoom: setBelow('#contributors', ':maxContributors'),
    };
    const adds = [
      '#contributors :contributorSet',
      '#failedCount :failedCount',
      '#overflowEventCount :overflow',
      '#eventTimes :eventTimes',
    ];
    if (mode === 'spill') {
      // The contributor and its counters go to its shard item (applySpilled); the item must be full.
      conditions.itemHasRoom = 'size(#contributors) >= :maxContributors';
      adds.splice(0, adds.length, '#eventTimes :eventTimes');
      names = {
        '#contributors': WINDOW_ATTRIBUTES.contributors,
        '#eventTimes': WINDOW_ATTRIBUTES.eventTimes,
        '#expiresAt': KEY_ATTRIBUTES.expiresAt,
      };
      values = {
        ':contributor': values[':contributor'] as AttributeValue,
        ':maxContributors': values[':maxContributors'] as AttributeValue,
        ':eventTimes': values[':eventTimes'] as AttributeValue,
        ':expiresAt': values[':expiresAt'] as AttributeValue,
      };
    }
    // Sample slots take no condition (see mergeContribution): a window with more than a handful of events
    // never costs a refused write.
    const sets = ['#expiresAt = :expiresAt'];
    for (const [sampleSlot, id] of sampleOffers(contribution.context.sampleEventIds, this.settings.limits)) {
      names[`#sample${sampleSlot}`] = sampleSlotAttribute(sampleSlot);
      values[`:sample${sampleSlot}`] = { S: id };
      sets.push(`#sample${sampleSlot} = if_not_exists(#sample${sampleSlot}, :sample${sampleSlot})`);
    }
    plan.openSets.forEach((set, index) => {
      names[`#set${index}`] = set.attribute;
      values[`:set${index}`] = { SS: set.values.slice() };
      values[`:bound${index}`] = num(set.bound);
      adds.push(`#set${index} :set${index}`);
      conditions[`${set.attribute}BelowBound`] = setBelow(`#set${index}`, `:bound${index}`);
    });
    return {
      TableName: this.table.tableName,
      Key: windowItemKey(contribution),
      UpdateExpression: `ADD ${adds.join(', ')} SET ${sets.join(', ')}`,
      ConditionExpression: allOf(conditions),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
  }
}

/** The bounded sets a contribution adds to; empty lists are left out (DynamoDB rejects empty sets). */
function boundedSets(contribution: GroupContribution, limits: StateLimits): BoundedSet[] {
  const all: BoundedSet[] = [
    {
      attribute: WINDOW_ATTRIBUTES.distinctValues,
      values: contribution.distinctValues,
      bound: limits.maxDistinctValues,
    },
    {
      attribute: WINDOW_ATTRIBUTES.eventIdHashes,
      values: contribution.eventIdHashes,
      bound: limits.maxEventIds,
    },
    ...CONTEXT_FIELDS.filter((field) => field !== 'sampleEventIds').map((field) => ({
      attribute: field,
      values: contribution.context[field],
      bound: contextBound(field, limits),
    })),
  ];
  // String Sets reject duplicate members in one request.
  return all
    .filter((set) => set.values.length > 0)
    .map((set) => ({ ...set, values: [...new Set(set.values)] }));
}

/** The exact plan for the item as seen (`undefined`: no item, so every set is open). */
function planFrom(sets: readonly BoundedSet[], seen: Item | undefined): ApplyPlan {
  if (seen === undefined) return { openSets: sets };
  return { openSets: sets.filter((set) => stringsOf(seen, set.attribute).length < set.bound) };
}

/** The window's state as its item holds it (without the counters of its contributor shards). */
function toStoredWindow(key: GroupKey, item: Item): StoredWindow {
  const context = Object.fromEntries(
    CONTEXT_FIELDS.map((field) => [
      field,
      field === 'sampleEventIds' ? sampleEventIdsOf(item) : stringsOf(item, field),
    ]),
  ) as Record<ContextField, string[]>;
  const eventTimes = (item[WINDOW_ATTRIBUTES.eventTimes]?.NS ?? []).map(Number);
  const alert: { -readonly [K in keyof AlertStatus]: AlertStatus[K] } = {};
  const messageId = item[CLAIM_ATTRIBUTES.messageId]?.S;
  const leaseUntil = item[CLAIM_ATTRIBUTES.leaseUntil]?.N;
  if (messageId !== undefined) alert.messageId = messageId;
  if (leaseUntil !== undefined) alert.leaseUntil = Number(leaseUntil);
  if (item[CLAIM_ATTRIBUTES.suppressed]?.BOOL === true) alert.suppressed = true;
  return {
    ruleId: key.ruleId,
    windowStart: key.windowStart,
    arn: key.arn,
    ...(key.by === undefined ? {} : { by: key.by }),
    contributors: stringsOf(item, WINDOW_ATTRIBUTES.contributors),
    distinctValues: stringsOf(item, WINDOW_ATTRIBUTES.distinctValues),
    eventIdHashes: stringsOf(item, WINDOW_ATTRIBUTES.eventIdHashes),
    overflowEventCount: numberOf(item, WINDOW_ATTRIBUTES.overflowEventCount, 0),
    failedCount: numberOf(item, WINDOW_ATTRIBUTES.failedCount, 0),
    firstEventTime: Math.min(...eventTimes),
    lastEventTime: Math.max(...eventTimes),
    context,
    alert,
  };
}

/** The attribute of one sample slot (`sample0`, `sample1`, ...: see sampleSlotOf). */
function sampleSlotAttribute(sampleSlot: number): string {
  return `sample${sampleSlot}`;
}

/** The sample event ids: the id in every filled sample slot. */
function sampleEventIdsOf(item: Item): string[] {
  return Object.entries(item)
    .filter(([name]) => /^sample\d+$/.test(name))
    .flatMap(([, value]) => (value.S === undefined ? [] : [value.S]))
    .sort();
}

function wholeSecond(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}
