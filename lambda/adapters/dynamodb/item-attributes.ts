import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { WINDOW_TABLE_SCHEMA } from './window-table-schema';

/** One item of the window table, as DynamoDB sends and takes it. */
export type Item = Record<string, AttributeValue>;

/** The key attributes, and the TTL attribute every item carries. */
export const KEY_ATTRIBUTES = {
  pk: WINDOW_TABLE_SCHEMA.partitionKey.name,
  sk: WINDOW_TABLE_SCHEMA.sortKey.name,
  expiresAt: WINDOW_TABLE_SCHEMA.timeToLiveAttribute,
} as const;

/**
 * What a window item holds of its contributions. Besides these: one String Set per context list, named as
 * the field (`accountIds`, `sourceIps`, ...), and one String per filled sample slot (`sample0`, ...).
 */
export const WINDOW_ATTRIBUTES = {
  contributors: 'contributors',
  distinctValues: 'distinctValues',
  eventIdHashes: 'eventIdHashes',
  overflowEventCount: 'overflowEventCount',
  failedCount: 'failedCount',
  eventTimes: 'eventTimes',
} as const;

/** The alert bookkeeping a window item carries besides its contributions (alert-claims.ts). */
export const CLAIM_ATTRIBUTES = {
  claimToken: 'claimToken',
  leaseUntil: 'leaseUntil',
  messageId: 'messageId',
  alertedAt: 'alertedAt',
  suppressed: 'suppressed',
} as const;

/** A contributor shard item: the contributors spilled past a full window item, with their counters. */
export const SHARD_ATTRIBUTES = {
  contributors: WINDOW_ATTRIBUTES.contributors,
  overflowEventCount: WINDOW_ATTRIBUTES.overflowEventCount,
  failedCount: WINDOW_ATTRIBUTES.failedCount,
} as const;

/** A suppression item: the window holding the identity's suppression slot, and the windows denied since. */
export const SUPPRESSION_ATTRIBUTES = {
  lastAlertAt: 'lastAlertAt',
  lastWindow: 'lastWindow',
  carried: 'carried',
  suppressedWindows: 'suppressedWindows',
} as const;

/** A half-slot item (hopping mode): its owning window, that owner's lease, and its publishing mark. */
export const HALF_SLOT_ATTRIBUTES = {
  ownerWindowStart: 'ownerWindowStart',
  leaseUntil: CLAIM_ATTRIBUTES.leaseUntil,
  alerted: 'alerted',
} as const;

/** A String Set as a sorted array (an absent attribute is the empty set: DynamoDB stores no empty sets). */
export function stringsOf(item: Item, attribute: string): string[] {
  return [...(item[attribute]?.SS ?? [])].sort();
}

export function numberOf(item: Item, attribute: string, absent: number): number {
  const value = item[attribute]?.N;
  return value === undefined ? absent : Number(value);
}

export function num(value: number): AttributeValue {
  return { N: String(value) };
}

/** The TTL attribute's unit: epoch seconds, rounded up so an item never expires before its end. */
export function epochSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000);
}
