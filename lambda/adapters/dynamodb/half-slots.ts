import type { UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { HalfSlotClaim, HalfSlotKey } from '../../ports';
import { allOf, anyOf, isConditionFailure, itemOf } from './conditions';
import { describeGroup, groupSortKey } from './group-keys';
import {
  epochSeconds,
  HALF_SLOT_ATTRIBUTES,
  type Item,
  KEY_ATTRIBUTES,
  num,
  numberOf,
} from './item-attributes';
import { contentionError, MAX_CONDITION_ATTEMPTS, type WindowTable } from './window-table';

/**
 * The key of a group's hopping-mode half-slot item: `H#<ruleId>#<slotStart ISO>` / the group's sort key, as
 * on its window items.
 */
export function halfSlotItemKey(key: HalfSlotKey): Item {
  return {
    [KEY_ATTRIBUTES.pk]: { S: `H#${key.ruleId}#${new Date(key.slotStart).toISOString()}` },
    [KEY_ATTRIBUTES.sk]: { S: groupSortKey(key) },
  };
}

/**
 * Half-slot items (hopping mode), one per (rule, half-window, group): owned by at most one window at a time,
 * named by its window start, with that window's lease, and marked `alerted` once that window publishes.
 */
export class HalfSlots {
  constructor(
    private readonly table: WindowTable,
    private readonly retentionSeconds: number,
  ) {}

  /**
   * One conditional UpdateItem takes the half-slot, when any of: no owner, owned by this window (its
   * re-claim extends the lease and keeps an alerted mark), or the owner's lease ended at or before `now`
   * without an alert. The condition is evaluated atomically with the write, so of concurrent claimants at
   * most one window is owner. On a failed condition the blocker is the item as it was (ALL_OLD; a consistent
   * read where the stand-in returns none). Only that read can show a claimable half-slot (its owner released
   * it in between): then the claim is sent again, bounded.
   */
  async claim(
    key: HalfSlotKey,
    ownerWindowStart: number,
    now: number,
    leaseUntil: number,
  ): Promise<HalfSlotClaim> {
    const itemKey = halfSlotItemKey(key);
    const input: UpdateItemCommandInput = {
      TableName: this.table.tableName,
      Key: itemKey,
      UpdateExpression: 'SET #owner = :owner, #leaseUntil = :leaseUntil, #expiresAt = :expiresAt',
      ConditionExpression: anyOf({
        noOwner: 'attribute_not_exists(#owner)',
        ownedByThisWindow: '#owner = :owner',
        ownerLeaseEnded: '(#leaseUntil <= :now AND attribute_not_exists(#alerted))',
      }),
      ExpressionAttributeNames: {
        '#owner': HALF_SLOT_ATTRIBUTES.ownerWindowStart,
        '#leaseUntil': HALF_SLOT_ATTRIBUTES.leaseUntil,
        '#alerted': HALF_SLOT_ATTRIBUTES.alerted,
        '#expiresAt': KEY_ATTRIBUTES.expiresAt,
      },
      ExpressionAttributeValues: {
        ':owner': num(ownerWindowStart),
        ':now': num(now),
        ':leaseUntil': num(leaseUntil),
        // As window items: retention past the half-slot's end, or past this write when that is later.
        ':expiresAt': num(epochSeconds(Math.max(key.slotEnd, now)) + this.retentionSeconds),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    for (let attempt = 0; attempt < MAX_CONDITION_ATTEMPTS; attempt += 1) {
      try {
        await this.table.update(input);
        return { kind: 'held' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const blocker = halfSlotBlocker(itemOf(error) ?? (await this.table.read(itemKey)), now);
        if (blocker !== undefined) return blocker;
      }
    }
    throw contentionError(`half-slot item ${describeGroup({ ...key, windowStart: key.slotStart })}`);
  }

  /**
   * Removes owner and lease while this window owns the half-slot and (unless `evenIfMarked`) has not marked
   * it; otherwise changes nothing. A lost response is harmless: the retry finds it no longer this window's.
   */
  async release(
    key: HalfSlotKey,
    ownerWindowStart: number,
    options: { readonly evenIfMarked: boolean },
  ): Promise<void> {
    const conditions: Record<string, string> = { ownedByThisWindow: '#owner = :owner' };
    if (!options.evenIfMarked) conditions.notMarked = 'attribute_not_exists(#alerted)';
    await this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: halfSlotItemKey(key),
      UpdateExpression: 'REMOVE #owner, #leaseUntil, #alerted',
      ConditionExpression: allOf(conditions),
      ExpressionAttributeNames: {
        '#owner': HALF_SLOT_ATTRIBUTES.ownerWindowStart,
        '#leaseUntil': HALF_SLOT_ATTRIBUTES.leaseUntil,
        '#alerted': HALF_SLOT_ATTRIBUTES.alerted,
      },
      ExpressionAttributeValues: { ':owner': num(ownerWindowStart) },
    });
  }

  /**
   * Marks the half-slot as publishing while this window owns it: true when it is (now or already) marked by
   * this window, false when another window took it over (after this window's lease ended). The condition
   * holds again for a retry of an applied write, so a lost response needs nothing more.
   */
  markAlerted(key: HalfSlotKey, ownerWindowStart: number): Promise<boolean> {
    return this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: halfSlotItemKey(key),
      UpdateExpression: 'SET #alerted = :true',
      ConditionExpression: allOf({ ownedByThisWindow: '#owner = :owner' }),
      ExpressionAttributeNames: {
        '#owner': HALF_SLOT_ATTRIBUTES.ownerWindowStart,
        '#alerted': HALF_SLOT_ATTRIBUTES.alerted,
      },
      ExpressionAttributeValues: { ':owner': num(ownerWindowStart), ':true': { BOOL: true } },
    });
  }
}

/**
 * What keeps a window from a half-slot item as found, judged at `now`; undefined when nothing does (no item,
 * no owner, or an unalerted owner whose lease has ended). Only called for another window's item: a claim by
 * the owner itself always passes its condition.
 */
function halfSlotBlocker(item: Item | undefined, now: number): HalfSlotClaim | undefined {
  const owner = item?.[HALF_SLOT_ATTRIBUTES.ownerWindowStart]?.N;
  if (item === undefined || owner === undefined) return undefined;
  if (item[HALF_SLOT_ATTRIBUTES.alerted]?.BOOL === true) {
    return { kind: 'alerted', ownerWindowStart: Number(owner) };
  }
  const leaseUntil = numberOf(item, HALF_SLOT_ATTRIBUTES.leaseUntil, Number.NEGATIVE_INFINITY);
  if (leaseUntil > now) return { kind: 'leased', ownerWindowStart: Number(owner), leaseUntil };
  return undefined;
}
