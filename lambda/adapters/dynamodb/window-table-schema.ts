/**
 * The window table's key schema, defined once: the CDK stack, the DynamoDB store and `regionsweep local`
 * all read it from here.
 * Window items: `pk = W#<ruleId>#<windowStart ISO>`, `sk = A#<arn>` (or `N#` for the null-ARN group, or
 * `G#<JSON of identity and further group values>` for multi-field groups): one per (rule, window, group),
 * carrying its alert claim too.
 * A group id longer than 512 bytes is `X#<SHA-256 of it>` instead (DynamoDB caps a sort key at 1,024 bytes).
 * Contributor shard items: `pk` as on window items, `sk = C#<hash of the group's sort key>#<shard>`: the
 * contributors (with their event and failed-call counts) of a window whose item holds its 1,000.
 * Suppression items (an identity's suppression slot): `pk = S#<ruleId>`, `sk` the identity's `A#`/`N#` key.
 * Half-slot items (hopping mode): `pk = H#<ruleId>#<slotStart ISO>`, `sk` as on window items: one per
 * (rule, half-window, group), owned by at most one window (`ownerWindowStart`, with `leaseUntil`) and marked
 * `alerted` once that window published.
 * Every item carries `expiresAt` (epoch seconds): retention past its window, half-slot or suppression period.
 */
export const WINDOW_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
} as const;
