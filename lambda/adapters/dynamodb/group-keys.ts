import { createHash } from 'node:crypto';
import { type GroupKey, groupValueId, utf8Length } from '../../domain/detection/window-state';

/**
 * The key parts every item kind builds on: a window's partition key and a group's sort key (window, shard
 * and half-slot items are keyed by the group; suppression items by the identity alone).
 */

/**
 * Longest group id kept readable in a sort key, in UTF-8 bytes: DynamoDB caps a sort key at 1,024 bytes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys),
 * and shard keys prefix it.
 */
const MAX_READABLE_GROUP_BYTES = 512;

/** `W#<ruleId>#<windowStart ISO>`: the partition of a window's item and of its contributor shard items. */
export function windowPartitionKey(key: GroupKey): string {
  return `W#${key.ruleId}#${new Date(key.windowStart).toISOString()}`;
}

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

/** A group's window as error messages name it: rule, window start, identity and further group values. */
export function describeGroup(key: GroupKey): string {
  const further = (key.by ?? []).map((value) => ` ${value ?? '(none)'}`).join('');
  return `${key.ruleId} ${new Date(key.windowStart).toISOString()} ${key.arn ?? '(no ARN)'}${further}`;
}
