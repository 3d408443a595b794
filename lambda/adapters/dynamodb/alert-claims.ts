import type { GroupKey } from '../../domain/detection/window-state';
import { allOf } from './conditions';
import { CLAIM_ATTRIBUTES, type Item, KEY_ATTRIBUTES, num } from './item-attributes';
import { windowItemKey } from './window-items';
import type { WindowTable } from './window-table';

/**
 * Alert claims, on the window item itself: the claim (token and lease) that gives one invocation the right
 * to publish, then the window's outcome (the SNS message id, or suppressed).
 */
export class AlertClaims {
  constructor(private readonly table: WindowTable) {}

  /**
   * Wins only on an existing item with no message id, not suppressed, and no lease running at `now`.
   * Idempotent under a lost response: when the write is applied but its reply is lost (a 5xx or a time-out)
   * and the SDK sends it again, the retry fails its condition on the lease the first attempt wrote. The item
   * as it was then (ALL_OLD; a consistent read where the stand-in returns none, as dynalite does) holds this
   * claim's own token: the claim is won. Tokens are unique per attempt, so no other claimant can match.
   */
  claim(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean> {
    return this.table.conditionalUpdate(
      {
        TableName: this.table.tableName,
        Key: windowItemKey(key),
        UpdateExpression: 'SET #claimToken = :token, #leaseUntil = :leaseUntil',
        ConditionExpression: allOf({
          itemExists: `attribute_exists(#pk)`,
          notAlerted: `attribute_not_exists(#messageId)`,
          notSuppressed: `attribute_not_exists(#suppressed)`,
          noLiveLease: `(attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now)`,
        }),
        ExpressionAttributeNames: {
          '#pk': KEY_ATTRIBUTES.pk,
          '#messageId': CLAIM_ATTRIBUTES.messageId,
          '#suppressed': CLAIM_ATTRIBUTES.suppressed,
          '#leaseUntil': CLAIM_ATTRIBUTES.leaseUntil,
          '#claimToken': CLAIM_ATTRIBUTES.claimToken,
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
  async held(key: GroupKey, claimToken: string): Promise<{ readonly leaseUntil: number } | undefined> {
    const item = await this.table.read(windowItemKey(key));
    if (
      item === undefined ||
      item[CLAIM_ATTRIBUTES.messageId] !== undefined ||
      item[CLAIM_ATTRIBUTES.suppressed] !== undefined
    ) {
      return undefined;
    }
    const leaseUntil = item[CLAIM_ATTRIBUTES.leaseUntil]?.N;
    if (item[CLAIM_ATTRIBUTES.claimToken]?.S !== claimToken || leaseUntil === undefined) return undefined;
    return { leaseUntil: Number(leaseUntil) };
  }

  /** Removes this token's claim (and its lease) unless the window alerted or another claim took over. */
  async release(key: GroupKey, claimToken: string): Promise<void> {
    await this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'REMOVE #claimToken, #leaseUntil',
      ConditionExpression: allOf({
        heldByThisToken: '#claimToken = :token',
        notAlerted: 'attribute_not_exists(#messageId)',
      }),
      ExpressionAttributeNames: {
        '#claimToken': CLAIM_ATTRIBUTES.claimToken,
        '#leaseUntil': CLAIM_ATTRIBUTES.leaseUntil,
        '#messageId': CLAIM_ATTRIBUTES.messageId,
      },
      ExpressionAttributeValues: { ':token': { S: claimToken } },
    });
  }

  /**
   * Records the message id whatever the claim token now is: SNS has accepted the alert, and recording that
   * fact is what stops any further claim. Refusing it because another invocation took over an expired lease
   * would only leave the window open to one more duplicate alert. An item gone (TTL) is left gone.
   */
  async recordAlert(key: GroupKey, messageId: string): Promise<void> {
    await this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'SET #messageId = :messageId, #alertedAt = :alertedAt',
      ConditionExpression: allOf({ itemExists: 'attribute_exists(#pk)' }),
      ExpressionAttributeNames: {
        '#pk': KEY_ATTRIBUTES.pk,
        '#messageId': CLAIM_ATTRIBUTES.messageId,
        '#alertedAt': CLAIM_ATTRIBUTES.alertedAt,
      },
      // Informational wall-clock time of the write; no decision reads it.
      ExpressionAttributeValues: { ':messageId': { S: messageId }, ':alertedAt': num(Date.now()) },
    });
  }

  /** Marks the window suppressed only while `claimToken` still holds the claim; a stale holder changes nothing. */
  async recordSuppressed(key: GroupKey, claimToken: string): Promise<void> {
    await this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: windowItemKey(key),
      UpdateExpression: 'SET #suppressed = :true',
      ConditionExpression: allOf({ claimHeld: '#claimToken = :token' }),
      ExpressionAttributeNames: {
        '#suppressed': CLAIM_ATTRIBUTES.suppressed,
        '#claimToken': CLAIM_ATTRIBUTES.claimToken,
      },
      ExpressionAttributeValues: { ':true': { BOOL: true }, ':token': { S: claimToken } },
    });
  }
}

/** True when `item` holds the claim `claimToken` wrote (the same token and lease), not yet alerted. */
function isOwnClaim(item: Item | undefined, claimToken: string, leaseUntil: number): boolean {
  return (
    item?.[CLAIM_ATTRIBUTES.claimToken]?.S === claimToken &&
    item[CLAIM_ATTRIBUTES.leaseUntil]?.N === String(leaseUntil) &&
    item[CLAIM_ATTRIBUTES.messageId] === undefined &&
    item[CLAIM_ATTRIBUTES.suppressed] === undefined
  );
}
