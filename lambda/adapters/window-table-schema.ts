/**
 * The window table's key schema, defined once: the CDK stack, the DynamoDB store and `regionsweep local`
 * all read it from here.
 * Items: `pk = W#<ruleId>#<windowStart ISO>`, `sk = A#<arn>` (or `N#` for the null-ARN group): one per
 * (rule, window, ARN). Suppression items: `pk = S#<ruleId>`, `sk` as above.
 */
export const WINDOW_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
} as const;
