import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { WindowContentionError, WindowItemFullError } from '../domain/errors';
import {
  CONTEXT_FIELDS,
  type ContextField,
  contextBound,
  type GroupContribution,
  type GroupKey,
  groupValueId,
  type StateLimits,
  sampleOffers,
  utf8Length,
} from '../domain/window-state';
import type { AlertStatus, HalfSlotClaim, HalfSlotKey, StoredWindow, WindowStore } from '../ports';
import { WINDOW_TABLE_SCHEMA } from './window-table-schema';

/** Narrow client port: the store sends UpdateItem and GetItem only. */
export type WindowTableClient = Pick<DynamoDBClient, 'send'>;

export interface DynamoDbWindowStoreOptions {
  readonly client: WindowTableClient;
  readonly tableName: string;
  readonly limits: StateLimits;
  /** How long an item outlives its window (and its last write), via the table's TTL attribute. */
  readonly retentionSeconds: number;
  /** Contributors the window item holds before further ones spill to shard items (tests lower it). */
  readonly maxContributors?: number;
}

/**
 * Contributors kept on a window item. An ARN's events come from its own account's log files (regions x ~2
 * objects per 30 s window), so ordinary items hold tens and every contribution is one write. Past this
 * bound (an organization trail's null-ARN group, or one identity sweeping hundreds of accounts), further
 * contributors spill to the group's shard items: the window item stays small (16 KB of ids; DynamoDB bills
 * a write per KB of the item), and the bound is not one an organization can reach.
 */
export const MAX_CONTRIBUTORS = 1_000;

/**
 * Shard items per (rule, window, group), each holding up to MAX_SHARD_CONTRIBUTORS: 160,000 contributors
 * past the window item's own, against the 17,000 (34,000 at two objects per window) of an organization of
 * 1,000 accounts in 17 regions. A shard item holds 16-byte ids and two counters: 160 KB at most.
 */
export const SPILL_SHARDS = 16;
export const MAX_SHARD_CONTRIBUTORS = 10_000;

/**
 * A retry is planned from the item as it was when its condition failed, so the next failure needs yet
 * another successful write by someone else: one apply fails at most once per concurrent writer.
 */
const MAX_ATTEMPTS = 25;

type Item = Record<string, AttributeValue>;

const A = {
  pk: WINDOW_TABLE_SCHEMA.partitionKey.name,
  sk: WINDOW_TABLE_SCHEMA.sortKey.name,
  expiresAt: WINDOW_TABLE_SCHEMA.timeToLiveAttribute,
  contributors: 'contributors',
  distinctValues: 'distinctValues',
  eventIdHashes: 'eventIdHashes',
  overflowEventCount: 'overflowEventCount',
  failedCount: 'failedCount',
  eventTimes: 'eventTimes',
  claimToken: 'claimToken',
  leaseUntil: 'leaseUntil',
  messageId: 'messageId',
  alertedAt: 'alertedAt',
  suppressed: 'suppressed',
  lastAlertAt: 'lastAlertAt',
  lastWindow: 'lastWindow',
  carried: 'carried',
  suppressedWindows: 'suppressedWindows',
  ownerWindowStart: 'ownerWindowStart',
  alerted: 'alerted',
} as const;

/**
 * The key of one of a group's shard items: the window's partition key, `C#<SHA-256 of the group's sort key,
 * 22 characters>#<shard>`: fixed-width, so one group's shards are exactly the items under its prefix.
 */
function shardItemKey(key: GroupKey, shard: number): Item {
  return {
    [A.pk]: { S: windowPartitionKey(key) },
    [A.sk]: { S: `${shardPrefix(key)}${String(shard).padStart(2, '0')}` },
  };
}

function shardPrefix(key: GroupKey): string {
  return `C#${createHash('sha256').update(groupSortKey(key)).digest('base64url').slice(0, 22)}#`;
}

/** The shard a spilled contributor belongs to, fixed by its id (so its replays find it there). */
export function shardOf(contributorId: string): number {
  return createHash('sha256').update(contributorId).digest().readUInt32BE(0) % SPILL_SHARDS;
}

/** The key of a group's window item: `W#<ruleId>#<windowStart ISO>` / `A#<arn>` (`N#` for the null ARN). */
export function windowItemKey(key: GroupKey): Item {
  return { [A.pk]: { S: windowPartitionKey(key) }, [A.sk]: { S: groupSortKey(key) } };
}

/** The key of a (rule, identity)'s suppression item: `S#<ruleId>` / `A#<arn>` (`N#` for the null ARN). */
export function suppressionItemKey(key: GroupKey): Item {
  // Suppression is per identity: further group values (a source IP) do not open another slot.
  return { [A.pk]: { S: `S#${key.ruleId}` }, [A.sk]: { S: groupSortKey({ arn: key.arn }) } };
}

/**
 * The key of a group's hopping-mode half-slot item: `H#<ruleId>#<slotStart ISO>` / the group's sort key, as
 * on its window items.
 */
export function halfSlotItemKey(key: HalfSlotKey): Item {
  return {
    [A.pk]: { S: `H#${key.ruleId}#${new Date(key.slotStart).toISOString()}` },
    [A.sk]: { S: groupSortKey(key) },
  };
}

function windowPartitionKey(key: GroupKey): string {
  return `W#${key.ruleId}#${new Date(key.windowStart).toISOString()}`;
}

/**
 * Longest group id kept readable in a sort key, in UTF-8 bytes: DynamoDB caps a sort key at 1,024 bytes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys),
 * and shard keys prefix it.
 */
const MAX_READABLE_GROUP_BYTES = 512;

/**
 * `A#<arn>` (`N#` for the null ARN), or `G#<JSON of identity and further group values>` for multi-field
 * groups; a longer id than MAX_READABLE_GROUP_BYTES (an ARN or group-by value a log or rule made long) is
 * `X#<SHA-256 of the id>`, so every key stays within DynamoDB's bound whatever the log holds. The alert
 * takes the group's values from the contribution, never from the key.
 */
export function groupSortKey(key: Pick<GroupKey, 'arn' | 'by'>): string {
  const id = groupValueId(key);
  if (utf8Length(id) <= MAX_READABLE_GROUP_BYTES) return id;
  return `X#${createHash('sha256').update(id).digest('base64url')}`;
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

/**
 * The window store on DynamoDB: one item per (rule, window, ARN), merged by conditional UpdateItem with the
 * exact semantics of `mergeContribution`, safe under concurrent writers and replays without transactions.
 */
export class DynamoDbWindowStore implements WindowStore {
  private readonly client: WindowTableClient;
  private readonly tableName: string;
  private readonly limits: StateLimits;
  private readonly retentionSeconds: number;
  private readonly maxContributors: number;
  /**
   * Window items this store saw full: a hint that lets a contribution go straight to the spill write, whose
   * condition re-checks it (items never shrink, so the hint never turns wrong). Bounded: cleared past 10,000.
   */
  private readonly fullItems = new Set<string>();

  constructor(options: DynamoDbWindowStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.limits = options.limits;
    this.retentionSeconds = options.retentionSeconds;
    this.maxContributors = options.maxContributors ?? MAX_CONTRIBUTORS;
  }

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
  async apply(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
  ): Promise<{ state: StoredWindow; applied: boolean }> {
    const sets = boundedSets(contribution, this.limits);
    if (this.fullItems.has(describeKey(contribution))) {
      return this.applySpilled(contribution, contributorId, now, sets, undefined);
    }
    let plan: ApplyPlan = { openSets: sets };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      try {
        const output = await this.client.send(
          new UpdateItemCommand(this.mergeInput(contribution, contributorId, now, plan)),
        );
        return { applied: true, state: toStoredWindow(contribution, output.Attributes ?? {}) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const found = itemOf(error) ?? (await this.read(windowItemKey(contribution)));
        if (found !== undefined) {
          const contributors = stringsOf(found, A.contributors);
          if (contributors.includes(contributorId)) {
            return { applied: false, state: await this.stateOf(contribution, found) };
          }
          if (contributors.length >= this.maxContributors) {
            if (this.fullItems.size >= 10_000) this.fullItems.clear();
            this.fullItems.add(describeKey(contribution));
            return this.applySpilled(contribution, contributorId, now, sets, found);
          }
        }
        plan = planFrom(sets, found);
      }
    }
    throw new WindowContentionError(
      `window item ${describeKey(contribution)}: condition lost ${MAX_ATTEMPTS} times to concurrent writers`,
    );
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
  ): Promise<{ state: StoredWindow; applied: boolean }> {
    let plan = planFrom(sets, seen);
    let window: Item | undefined;
    for (let attempt = 0; window === undefined && attempt < MAX_ATTEMPTS; attempt += 1) {
      try {
        const output = await this.client.send(
          new UpdateItemCommand(this.mergeInput(contribution, contributorId, now, plan, 'spill')),
        );
        window = output.Attributes ?? {};
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const found = itemOf(error) ?? (await this.read(windowItemKey(contribution)));
        if (found !== undefined && stringsOf(found, A.contributors).includes(contributorId)) {
          return { applied: false, state: await this.stateOf(contribution, found) };
        }
        plan = planFrom(sets, found);
      }
    }
    if (window === undefined) {
      throw new WindowContentionError(
        `window item ${describeKey(contribution)}: condition lost ${MAX_ATTEMPTS} times to concurrent writers`,
      );
    }
    const held = new Set(stringsOf(window, A.eventIdHashes));
    const counted = contribution.eventIdHashes.filter((hash) => held.has(hash)).length;
    const shardKey = shardItemKey(contribution, shardOf(contributorId));
    const applied = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: shardKey,
      UpdateExpression:
        'ADD #contributors :contributorSet, #overflowEventCount :overflow, #failedCount :failedCount ' +
        'SET #expiresAt = :expiresAt',
      ConditionExpression: joinConditions({
        contributorIsNew: 'NOT contains(#contributors, :contributor)',
        shardHasRoom: '(attribute_not_exists(#contributors) OR size(#contributors) < :maxShard)',
      }),
      ExpressionAttributeNames: {
        '#contributors': A.contributors,
        '#overflowEventCount': A.overflowEventCount,
        '#failedCount': A.failedCount,
        '#expiresAt': A.expiresAt,
      },
      ExpressionAttributeValues: {
        ':contributorSet': { SS: [contributorId] },
        ':contributor': { S: contributorId },
        ':overflow': num(contribution.eventCount - counted),
        ':failedCount': num(contribution.failedCount),
        ':maxShard': num(MAX_SHARD_CONTRIBUTORS),
        ':expiresAt': num(epochSeconds(Math.max(contribution.windowEnd, now)) + this.retentionSeconds),
      },
    });
    if (!applied) {
      const shard = await this.read(shardKey);
      const contributors = stringsOf(shard ?? {}, A.contributors);
      if (!contributors.includes(contributorId)) {
        throw new WindowItemFullError(
          `window ${describeKey(contribution)}: shard item holds ${contributors.length} contributors`,
        );
      }
    }
    // Once the window alerted (or was suppressed) no decision reads its counts: the shards' are left out.
    const decided = window[A.messageId] !== undefined || window[A.suppressed] !== undefined;
    return {
      applied,
      state: decided ? toStoredWindow(contribution, window) : await this.stateOf(contribution, window),
    };
  }

  /**
   * Wins only on an existing item with no message id, not suppressed, and no lease running at `now`.
   * Idempotent under a lost response: when the write is applied but its reply is lost (a 5xx or a time-out)
   * and the SDK sends it again, the retry fails its condition on the lease the first attempt wrote. The item
   * as it was then (ALL_OLD; a consistent read where the stand-in returns none, as dynalite does) holds this
   * claim's own token: the claim is won. Tokens are unique per attempt, so no other claimant can match.
   */
  async claimAlert(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean> {
    const itemKey = windowItemKey(key);
    const conditions = {
      itemExists: `attribute_exists(#pk)`,
      notAlerted: `attribute_not_exists(#messageId)`,
      notSuppressed: `attribute_not_exists(#suppressed)`,
      noLiveLease: `(attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now)`,
    };
    return this.conditionalUpdate(
      {
        TableName: this.tableName,
        Key: itemKey,
        UpdateExpression: 'SET #claimToken = :token, #leaseUntil = :leaseUntil',
        ConditionExpression: joinConditions(conditions),
        ExpressionAttributeNames: {
          '#pk': A.pk,
          '#messageId': A.messageId,
          '#suppressed': A.suppressed,
          '#leaseUntil': A.leaseUntil,
          '#claimToken': A.claimToken,
        },
        ExpressionAttributeValues: {
          ':now': num(now),
          ':leaseUntil': num(leaseUntil),
          ':token': { S: claimToken },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      (old) => isOwnClaim(old, claimToken, leaseUntil),
    );
  }

  /**
   * The fence before a publish: a consistent read of the claim. Only the lease of this token, on a window
   * that has neither alerted nor been suppressed, is returned.
   */
  async heldClaim(key: GroupKey, claimToken: string): Promise<{ readonly leaseUntil: number } | undefined> {
    const item = await this.read(windowItemKey(key));
    if (item === undefined || item[A.messageId] !== undefined || item[A.suppressed] !== undefined) {
      return undefined;
    }
    const leaseUntil = item[A.leaseUntil]?.N;
    if (item[A.claimToken]?.S !== claimToken || leaseUntil === undefined) return undefined;
    return { leaseUntil: Number(leaseUntil) };
  }

  /** Removes this token's claim (and its lease) unless the window alerted or another claim took over. */
  async releaseClaim(key: GroupKey, claimToken: string): Promise<void> {
    const conditions = {
      heldByThisToken: '#claimToken = :token',
      notAlerted: 'attribute_not_exists(#messageId)',
    };
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'REMOVE #claimToken, #leaseUntil',
      ConditionExpression: joinConditions(conditions),
      ExpressionAttributeNames: {
        '#claimToken': A.claimToken,
        '#leaseUntil': A.leaseUntil,
        '#messageId': A.messageId,
      },
      ExpressionAttributeValues: { ':token': { S: claimToken } },
    });
  }

  /**
   * Records the message id whatever the claim token now is: SNS has accepted the alert, and recording that
   * fact is what stops any further claim. Refusing it because another invocation took over an expired lease
   * would only leave the window open to one more duplicate alert. An item gone (TTL) is left gone.
   */
  async recordAlert(key: GroupKey, _claimToken: string, messageId: string): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'SET #messageId = :messageId, #alertedAt = :alertedAt',
      ConditionExpression: joinConditions({ itemExists: 'attribute_exists(#pk)' }),
      ExpressionAttributeNames: { '#pk': A.pk, '#messageId': A.messageId, '#alertedAt': A.alertedAt },
      // Informational wall-clock time of the write; no decision reads it.
      ExpressionAttributeValues: { ':messageId': { S: messageId }, ':alertedAt': num(Date.now()) },
    });
  }

  /** Marks the window suppressed only while `claimToken` still holds the claim; a stale holder changes nothing. */
  async recordSuppressed(key: GroupKey, claimToken: string): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'SET #suppressed = :true',
      ConditionExpression: joinConditions({ claimHeld: '#claimToken = :token' }),
      ExpressionAttributeNames: { '#suppressed': A.suppressed, '#claimToken': A.claimToken },
      ExpressionAttributeValues: { ':true': { BOOL: true }, ':token': { S: claimToken } },
    });
  }

  /**
   * Steps:
   * 1. Read the suppression item (consistent).
   * 2. It names this window: allowed again, with the count recorded when the slot was taken (retry).
   * 3. Absent, or its alert is at least `periodMs` old: take the slot, carrying the size of the suppressed set
   *    and removing it, on condition that the item is still exactly as read (same holder, same alert time,
   *    same set size). The set only grows between takes and every take changes the holder, so an unchanged
   *    holder and size mean the set removed is the set counted: no denied window is lost or counted twice.
   * 4. Otherwise add this window to the suppressed set on condition that the slot is still held, by another
   *    window, within the period (adding to a set is idempotent on retry).
   * A failed condition means a concurrent change: read again (bounded).
   */
  async reserveAlertSlot(
    key: GroupKey,
    now: number,
    periodMs: number,
  ): Promise<{ readonly allowed: true; readonly suppressedWindows: number } | { readonly allowed: false }> {
    const itemKey = suppressionItemKey(key);
    const thisWindow = windowPartitionKey(key);
    // The item outlives the period it enforces; each write extends it.
    const expiresAt = num(epochSeconds(now + periodMs) + this.retentionSeconds);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const slot = await this.read(itemKey);
      const holder = slot?.[A.lastWindow]?.S;
      const lastAlertAt = slot?.[A.lastAlertAt]?.N;
      if (slot === undefined || holder === undefined || lastAlertAt === undefined) {
        if (await this.takeSlot(itemKey, thisWindow, now, expiresAt, undefined)) {
          return { allowed: true, suppressedWindows: 0 };
        }
        continue;
      }
      if (holder === thisWindow) return { allowed: true, suppressedWindows: numberOf(slot, A.carried, 0) };
      if (Number(lastAlertAt) <= now - periodMs) {
        const suppressed = stringsOf(slot, A.suppressedWindows).length;
        if (await this.takeSlot(itemKey, thisWindow, now, expiresAt, { holder, lastAlertAt, suppressed })) {
          return { allowed: true, suppressedWindows: suppressed };
        }
        continue;
      }
      if (stringsOf(slot, A.suppressedWindows).length >= this.limits.maxSuppressedWindows)
        return { allowed: false };
      const denied = await this.conditionalUpdate({
        TableName: this.tableName,
        Key: itemKey,
        UpdateExpression: 'ADD #suppressedWindows :thisWindowSet SET #expiresAt = :expiresAt',
        ConditionExpression: joinConditions({
          heldByAnother: '#lastWindow <> :thisWindow',
          withinPeriod: '#lastAlertAt > :cutoff',
        }),
        ExpressionAttributeNames: {
          '#suppressedWindows': A.suppressedWindows,
          '#expiresAt': A.expiresAt,
          '#lastWindow': A.lastWindow,
          '#lastAlertAt': A.lastAlertAt,
        },
        ExpressionAttributeValues: {
          ':expiresAt': expiresAt,
          ':thisWindowSet': { SS: [thisWindow] },
          ':thisWindow': { S: thisWindow },
          ':cutoff': num(now - periodMs),
        },
      });
      if (denied) return { allowed: false };
    }
    throw new WindowContentionError(
      `suppression item ${describeKey(key)}: condition lost ${MAX_ATTEMPTS} times to concurrent writers`,
    );
  }

  /**
   * One conditional UpdateItem takes the slot, when any of: no owner, owned by this window (its re-claim
   * extends the lease and keeps an alerted mark), or the owner's lease ended at or before `now` without an
   * alert. The condition is evaluated atomically with the write, so of concurrent claimants at most one
   * window is owner. On a failed condition the blocker is the item as it was (ALL_OLD; a consistent read
   * where the stand-in returns none). Only that read can show a claimable slot (its owner released it in
   * between): then the claim is sent again, bounded.
   */
  async claimHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    now: number,
    leaseUntil: number,
  ): Promise<HalfSlotClaim> {
    const itemKey = halfSlotItemKey(key);
    const conditions = {
      noOwner: 'attribute_not_exists(#owner)',
      ownedByThisWindow: '#owner = :owner',
      ownerLeaseEnded: '(#leaseUntil <= :now AND attribute_not_exists(#alerted))',
    };
    const input: UpdateItemCommandInput = {
      TableName: this.tableName,
      Key: itemKey,
      UpdateExpression: 'SET #owner = :owner, #leaseUntil = :leaseUntil, #expiresAt = :expiresAt',
      ConditionExpression: anyOfConditions(conditions),
      ExpressionAttributeNames: {
        '#owner': A.ownerWindowStart,
        '#leaseUntil': A.leaseUntil,
        '#alerted': A.alerted,
        '#expiresAt': A.expiresAt,
      },
      ExpressionAttributeValues: {
        ':owner': num(ownerWindowStart),
        ':now': num(now),
        ':leaseUntil': num(leaseUntil),
        // As window items: retention past the slot's end, or past this write when that is later.
        ':expiresAt': num(epochSeconds(Math.max(key.slotEnd, now)) + this.retentionSeconds),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      try {
        await this.client.send(new UpdateItemCommand(input));
        return { kind: 'held' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const blocker = halfSlotBlocker(itemOf(error) ?? (await this.read(itemKey)), now);
        if (blocker !== undefined) return blocker;
      }
    }
    throw new WindowContentionError(
      `half-slot item ${describeHalfSlot(key)}: condition lost ${MAX_ATTEMPTS} times to concurrent writers`,
    );
  }

  /**
   * Removes owner and lease while this window owns the slot and (unless `evenIfMarked`) has not marked it;
   * otherwise changes nothing. A lost response is harmless: the retry finds the slot no longer this window's.
   */
  async releaseHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    options: { readonly evenIfMarked: boolean },
  ): Promise<void> {
    const conditions: Record<string, string> = { ownedByThisWindow: '#owner = :owner' };
    if (!options.evenIfMarked) conditions.notMarked = 'attribute_not_exists(#alerted)';
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: halfSlotItemKey(key),
      UpdateExpression: 'REMOVE #owner, #leaseUntil, #alerted',
      ConditionExpression: joinConditions(conditions),
      ExpressionAttributeNames: {
        '#owner': A.ownerWindowStart,
        '#leaseUntil': A.leaseUntil,
        '#alerted': A.alerted,
      },
      ExpressionAttributeValues: { ':owner': num(ownerWindowStart) },
    });
  }

  /**
   * Marks the slot as publishing while this window owns it: true when it is (now or already) marked by this
   * window, false when another window took it over (after this window's lease ended). The condition holds
   * again for a retry of an applied write, so a lost response needs nothing more.
   */
  async markHalfSlotAlerted(key: HalfSlotKey, ownerWindowStart: number): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: halfSlotItemKey(key),
      UpdateExpression: 'SET #alerted = :true',
      ConditionExpression: joinConditions({ ownedByThisWindow: '#owner = :owner' }),
      ExpressionAttributeNames: { '#owner': A.ownerWindowStart, '#alerted': A.alerted },
      ExpressionAttributeValues: { ':owner': num(ownerWindowStart), ':true': { BOOL: true } },
    });
  }

  /**
   * Takes the slot for `thisWindow`, carrying the suppressed count seen, on condition that the item is still
   * as seen (`seen` undefined: still absent). True when taken.
   */
  private takeSlot(
    itemKey: Item,
    thisWindow: string,
    now: number,
    expiresAt: AttributeValue,
    seen: { holder: string; lastAlertAt: string; suppressed: number } | undefined,
  ): Promise<boolean> {
    const names: Record<string, string> = {
      '#lastAlertAt': A.lastAlertAt,
      '#lastWindow': A.lastWindow,
      '#carried': A.carried,
      '#suppressedWindows': A.suppressedWindows,
      '#expiresAt': A.expiresAt,
    };
    const values: Item = {
      ':now': num(now),
      ':thisWindow': { S: thisWindow },
      ':carried': num(seen?.suppressed ?? 0),
      ':expiresAt': expiresAt,
    };
    let conditions: Record<string, string>;
    if (seen === undefined) {
      names['#pk'] = A.pk;
      conditions = { itemAbsent: 'attribute_not_exists(#pk)' };
    } else {
      values[':seenHolder'] = { S: seen.holder };
      values[':seenAt'] = { N: seen.lastAlertAt };
      conditions = {
        sameHolder: '#lastWindow = :seenHolder',
        sameAlertTime: '#lastAlertAt = :seenAt',
        sameSuppressed: 'attribute_not_exists(#suppressedWindows)',
      };
      if (seen.suppressed > 0) {
        values[':seenSize'] = num(seen.suppressed);
        conditions.sameSuppressed = 'size(#suppressedWindows) = :seenSize';
      }
    }
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: itemKey,
      UpdateExpression:
        'SET #lastAlertAt = :now, #lastWindow = :thisWindow, #carried = :carried, #expiresAt = :expiresAt ' +
        'REMOVE #suppressedWindows',
      ConditionExpression: joinConditions(conditions),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /**
   * Sends a conditional UpdateItem: true when written, false when its condition failed; all else throws.
   * `isOwnWrite`, given the item as it was when the condition failed (ALL_OLD, or a consistent read where
   * the stand-in returns none), recognises this very write applied by an earlier attempt whose response was
   * lost: that counts as written.
   */
  private async conditionalUpdate(
    input: UpdateItemCommandInput,
    isOwnWrite?: (old: Item | undefined) => boolean,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand(input));
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (isOwnWrite === undefined) return false;
      return isOwnWrite(itemOf(error) ?? (input.Key === undefined ? undefined : await this.read(input.Key)));
    }
  }

  async get(key: GroupKey): Promise<StoredWindow | undefined> {
    const item = await this.read(windowItemKey(key));
    return item === undefined ? undefined : this.stateOf(key, item);
  }

  /**
   * The window's state from its item: with the shards' counters added once the item is full (a Query of
   * the group's shard items, counters only).
   */
  private async stateOf(key: GroupKey, item: Item): Promise<StoredWindow> {
    const state = toStoredWindow(key, item);
    if (state.contributors.length < this.maxContributors) return state;
    let overflow = 0;
    let failed = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: {
            '#pk': A.pk,
            '#sk': A.sk,
            '#overflow': A.overflowEventCount,
            '#failed': A.failedCount,
          },
          ExpressionAttributeValues: {
            ':pk': { S: windowPartitionKey(key) },
            ':prefix': { S: shardPrefix(key) },
          },
          ProjectionExpression: '#overflow, #failed',
          ConsistentRead: true,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const shard of page.Items ?? []) {
        overflow += numberOf(shard, A.overflowEventCount, 0);
        failed += numberOf(shard, A.failedCount, 0);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return {
      ...state,
      overflowEventCount: state.overflowEventCount + overflow,
      failedCount: state.failedCount + failed,
    };
  }

  private async read(key: Item): Promise<Item | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return output.Item;
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
      '#contributors': A.contributors,
      '#failedCount': A.failedCount,
      '#overflowEventCount': A.overflowEventCount,
      '#eventTimes': A.eventTimes,
      '#expiresAt': A.expiresAt,
    };
    const hashesKept = plan.openSets.some((set) => set.attribute === A.eventIdHashes)
      ? contribution.eventIdHashes.length
      : 0;
    let values: Item = {
      ':contributorSet': { SS: [contributorId] },
      ':contributor': { S: contributorId },
      ':maxContributors': num(this.maxContributors),
      ':failedCount': num(contribution.failedCount),
      // mergeContribution: events past the hash bound (or without a kept hash) are counted here.
      ':overflow': num(contribution.eventCount - hashesKept),
      // Whole seconds (CloudTrail's own precision): at most one value per second of the window.
      ':eventTimes': {
        NS: [
          ...new Set([wholeSecond(contribution.firstEventTime), wholeSecond(contribution.lastEventTime)]),
        ].map(String),
      },
      ':expiresAt': num(epochSeconds(Math.max(contribution.windowEnd, now)) + this.retentionSeconds),
    };
    const conditions: Record<string, string> = {
      contributorIsNew: 'NOT contains(#contributors, :contributor)',
      itemHasRoom: '(attribute_not_exists(#contributors) OR size(#contributors) < :maxContributors)',
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
      names = { '#contributors': A.contributors, '#eventTimes': A.eventTimes, '#expiresAt': A.expiresAt };
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
    for (const [slot, id] of sampleOffers(contribution.context.sampleEventIds, this.limits)) {
      names[`#sample${slot}`] = sampleAttribute(slot);
      values[`:sample${slot}`] = { S: id };
      sets.push(`#sample${slot} = if_not_exists(#sample${slot}, :sample${slot})`);
    }
    plan.openSets.forEach((set, index) => {
      names[`#set${index}`] = set.attribute;
      values[`:set${index}`] = { SS: set.values.slice() };
      values[`:bound${index}`] = num(set.bound);
      adds.push(`#set${index} :set${index}`);
      conditions[`${set.attribute}BelowBound`] =
        `(attribute_not_exists(#set${index}) OR size(#set${index}) < :bound${index})`;
    });
    return {
      TableName: this.tableName,
      Key: windowItemKey(contribution),
      UpdateExpression: `ADD ${adds.join(', ')} SET ${sets.join(', ')}`,
      ConditionExpression: joinConditions(conditions),
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
    { attribute: A.distinctValues, values: contribution.distinctValues, bound: limits.maxDistinctValues },
    { attribute: A.eventIdHashes, values: contribution.eventIdHashes, bound: limits.maxEventIds },
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

function toStoredWindow(key: GroupKey, item: Item): StoredWindow {
  const context = Object.fromEntries(
    CONTEXT_FIELDS.map((field) => [
      field,
      field === 'sampleEventIds' ? samplesOfItem(item) : stringsOf(item, field),
    ]),
  ) as Record<ContextField, string[]>;
  const eventTimes = (item[A.eventTimes]?.NS ?? []).map(Number);
  const alert: { -readonly [K in keyof AlertStatus]: AlertStatus[K] } = {};
  const messageId = item[A.messageId]?.S;
  const leaseUntil = item[A.leaseUntil]?.N;
  if (messageId !== undefined) alert.messageId = messageId;
  if (leaseUntil !== undefined) alert.leaseUntil = Number(leaseUntil);
  if (item[A.suppressed]?.BOOL === true) alert.suppressed = true;
  return {
    ruleId: key.ruleId,
    windowStart: key.windowStart,
    arn: key.arn,
    ...(key.by === undefined ? {} : { by: key.by }),
    contributors: stringsOf(item, A.contributors),
    distinctValues: stringsOf(item, A.distinctValues),
    eventIdHashes: stringsOf(item, A.eventIdHashes),
    overflowEventCount: numberOf(item, A.overflowEventCount, 0),
    failedCount: numberOf(item, A.failedCount, 0),
    firstEventTime: Math.min(...eventTimes),
    lastEventTime: Math.max(...eventTimes),
    context,
    alert,
  };
}

/** A String Set as a sorted array (an absent attribute is the empty set: DynamoDB stores no empty sets). */
/** The attribute of one sample slot (`sample0`, `sample1`, ...). */
function sampleAttribute(slot: number): string {
  return `sample${slot}`;
}

/** The ids of every filled sample slot. */
function samplesOfItem(item: Item): string[] {
  return Object.entries(item)
    .filter(([name]) => /^sample\d+$/.test(name))
    .flatMap(([, value]) => (value.S === undefined ? [] : [value.S]))
    .sort();
}

function stringsOf(item: Item, attribute: string): string[] {
  return [...(item[attribute]?.SS ?? [])].sort();
}

function numberOf(item: Item, attribute: string, absent: number): number {
  const value = item[attribute]?.N;
  return value === undefined ? absent : Number(value);
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function wholeSecond(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}

function epochSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000);
}

function joinConditions(conditions: Record<string, string>): string {
  return Object.values(conditions).join(' AND ');
}

/** A condition that holds when any of `conditions` holds. */
function anyOfConditions(conditions: Record<string, string>): string {
  return Object.values(conditions).join(' OR ');
}

/**
 * What keeps a window from a half-slot item as found, judged at `now`; undefined when nothing does (no item,
 * no owner, or an unalerted owner whose lease has ended). Only called for another window's item: a claim by
 * the owner itself always passes its condition.
 */
function halfSlotBlocker(item: Item | undefined, now: number): HalfSlotClaim | undefined {
  const owner = item?.[A.ownerWindowStart]?.N;
  if (item === undefined || owner === undefined) return undefined;
  if (item[A.alerted]?.BOOL === true) return { kind: 'alerted', ownerWindowStart: Number(owner) };
  const leaseUntil = numberOf(item, A.leaseUntil, Number.NEGATIVE_INFINITY);
  if (leaseUntil > now) return { kind: 'leased', ownerWindowStart: Number(owner), leaseUntil };
  return undefined;
}

/** True when `item` holds the claim `claimToken` wrote (the same token and lease), not yet alerted. */
function isOwnClaim(item: Item | undefined, claimToken: string, leaseUntil: number): boolean {
  return (
    item?.[A.claimToken]?.S === claimToken &&
    item[A.leaseUntil]?.N === String(leaseUntil) &&
    item[A.messageId] === undefined &&
    item[A.suppressed] === undefined
  );
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/** The item as it was when the condition failed; absent when the item did not exist or the server omits it. */
function itemOf(error: unknown): Item | undefined {
  return error instanceof ConditionalCheckFailedException ? error.Item : undefined;
}

function describeHalfSlot(key: HalfSlotKey): string {
  return describeKey({ ...key, windowStart: key.slotStart });
}

function describeKey(key: GroupKey): string {
  const further = (key.by ?? []).map((value) => ` ${value ?? '(none)'}`).join('');
  return `${key.ruleId} ${new Date(key.windowStart).toISOString()} ${key.arn ?? '(no ARN)'}${further}`;
}
