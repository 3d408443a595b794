/**
 * The window table's key schema, defined once: the CDK stack, the DynamoDB store and `regionsweep local`
 * all read it from here.
 * Items: `pk = W#<ruleId>#<windowStart ISO>`, `sk = A#<arn>` (or `N#` for the null-ARN group, or
 * `G#<JSON of identity and further group values>` for multi-field groups): one per (rule, window, group).
 * Suppression items: `pk = S#<ruleId>`, `sk` the identity's `A#`/`N#` key.
 * Half-slot items (hopping mode): `pk = H#<ruleId>#<slotStart ISO>`, `sk` as on window items: one per
 * (rule, half-window, group), owned by at most one window (`ownerWindowStart`, with `leaseUntil`) and marked
 * `alerted` once that window published.
 * Every item carries `expiresAt` (epoch seconds): retention past its window, slot or period end.
 */
export const WINDOW_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
} as const;
