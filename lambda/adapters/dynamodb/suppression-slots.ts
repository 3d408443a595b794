import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { GroupKey, StateLimits } from '../../domain/detection/window-state';
import type { SuppressionSlotReservation } from '../../ports';
import { allOf } from './conditions';
import { describeGroup, groupSortKey, windowPartitionKey } from './group-keys';
import {
  epochSeconds,
  type Item,
  KEY_ATTRIBUTES,
  num,
  numberOf,
  SUPPRESSION_ATTRIBUTES,
  stringsOf,
} from './item-attributes';
import { contentionError, MAX_CONDITION_ATTEMPTS, type WindowTable } from './window-table';

/** The key of a (rule, identity)'s suppression item: `S#<ruleId>` / `A#<arn>` (`N#` for the null ARN). */
export function suppressionItemKey(key: GroupKey): Item {
  // Suppression is per identity: further group values (a source IP) do not open another suppression slot.
  return {
    [KEY_ATTRIBUTES.pk]: { S: `S#${key.ruleId}` },
    [KEY_ATTRIBUTES.sk]: { S: groupSortKey({ arn: key.arn }) },
  };
}

/** The suppression slot as read: its holder, when that window alerted, how many windows were denied since. */
interface SeenSuppressionSlot {
  readonly holder: string;
  readonly lastAlertAt: string;
  readonly suppressed: number;
}

/**
 * Suppression slots, one item per (rule, identity): the identity's one alert per suppression period. The
 * window that takes the slot alerts (`lastWindow`, at `lastAlertAt`); the windows denied within the period
 * are remembered (`suppressedWindows`, bounded) and reported by the next window to take it (`carried`).
 */
export class SuppressionSlots {
  constructor(
    private readonly table: WindowTable,
    private readonly settings: { readonly limits: StateLimits; readonly retentionSeconds: number },
  ) {}

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
  async reserve(key: GroupKey, now: number, periodMs: number): Promise<SuppressionSlotReservation> {
    const itemKey = suppressionItemKey(key);
    const thisWindow = windowPartitionKey(key);
    // The item outlives the period it enforces; each write extends it.
    const expiresAt = num(epochSeconds(now + periodMs) + this.settings.retentionSeconds);
    for (let attempt = 0; attempt < MAX_CONDITION_ATTEMPTS; attempt += 1) {
      const item = await this.table.read(itemKey);
      const holder = item?.[SUPPRESSION_ATTRIBUTES.lastWindow]?.S;
      const lastAlertAt = item?.[SUPPRESSION_ATTRIBUTES.lastAlertAt]?.N;
      if (item === undefined || holder === undefined || lastAlertAt === undefined) {
        if (await this.take(itemKey, thisWindow, now, expiresAt, undefined)) {
          return { allowed: true, suppressedWindows: 0 };
        }
        continue;
      }
      if (holder === thisWindow) {
        return { allowed: true, suppressedWindows: numberOf(item, SUPPRESSION_ATTRIBUTES.carried, 0) };
      }
      const suppressed = stringsOf(item, SUPPRESSION_ATTRIBUTES.suppressedWindows).length;
      if (Number(lastAlertAt) <= now - periodMs) {
        if (await this.take(itemKey, thisWindow, now, expiresAt, { holder, lastAlertAt, suppressed })) {
          return { allowed: true, suppressedWindows: suppressed };
        }
        continue;
      }
      if (suppressed >= this.settings.limits.maxSuppressedWindows) return { allowed: false };
      if (await this.deny(itemKey, thisWindow, now, periodMs, expiresAt)) return { allowed: false };
    }
    throw contentionError(`suppression item ${describeGroup(key)}`);
  }

  /**
   * Takes the slot for `thisWindow`, carrying the suppressed count seen, on condition that the item is still
   * as seen (`seen` undefined: still absent). True when taken.
   */
  private take(
    itemKey: Item,
    thisWindow: string,
    now: number,
    expiresAt: AttributeValue,
    seen: SeenSuppressionSlot | undefined,
  ): Promise<boolean> {
    const names: Record<string, string> = {
      '#lastAlertAt': SUPPRESSION_ATTRIBUTES.lastAlertAt,
      '#lastWindow': SUPPRESSION_ATTRIBUTES.lastWindow,
      '#carried': SUPPRESSION_ATTRIBUTES.carried,
      '#suppressedWindows': SUPPRESSION_ATTRIBUTES.suppressedWindows,
      '#expiresAt': KEY_ATTRIBUTES.expiresAt,
    };
    const values: Item = {
      ':now': num(now),
      ':thisWindow': { S: thisWindow },
      ':carried': num(seen?.suppressed ?? 0),
      ':expiresAt': expiresAt,
    };
    let conditions: Record<string, string>;
    if (seen === undefined) {
      names['#pk'] = KEY_ATTRIBUTES.pk;
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
    return this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: itemKey,
      UpdateExpression:
        'SET #lastAlertAt = :now, #lastWindow = :thisWindow, #carried = :carried, #expiresAt = :expiresAt ' +
        'REMOVE #suppressedWindows',
      ConditionExpression: allOf(conditions),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /**
   * Adds `thisWindow` to the windows the slot's holder suppresses, on condition that another window still
   * holds the slot within the period. True when added.
   */
  private deny(
    itemKey: Item,
    thisWindow: string,
    now: number,
    periodMs: number,
    expiresAt: AttributeValue,
  ): Promise<boolean> {
    return this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: itemKey,
      UpdateExpression: 'ADD #suppressedWindows :thisWindowSet SET #expiresAt = :expiresAt',
      ConditionExpression: allOf({
        heldByAnother: '#lastWindow <> :thisWindow',
        withinPeriod: '#lastAlertAt > :cutoff',
      }),
      ExpressionAttributeNames: {
        '#suppressedWindows': SUPPRESSION_ATTRIBUTES.suppressedWindows,
        '#expiresAt': KEY_ATTRIBUTES.expiresAt,
        '#lastWindow': SUPPRESSION_ATTRIBUTES.lastWindow,
        '#lastAlertAt': SUPPRESSION_ATTRIBUTES.lastAlertAt,
      },
      ExpressionAttributeValues: {
        ':expiresAt': expiresAt,
        ':thisWindowSet': { SS: [thisWindow] },
        ':thisWindow': { S: thisWindow },
        ':cutoff': num(now - periodMs),
      },
    });
  }
}
