import { createHash } from 'node:crypto';
import type { GroupContribution, GroupKey } from '../../domain/detection/window-state';
import { WindowItemFullError } from '../../domain/errors';
import { allOf, setBelow } from './conditions';
import { describeGroup, groupSortKey, windowPartitionKey } from './group-keys';
import {
  epochSeconds,
  type Item,
  KEY_ATTRIBUTES,
  num,
  numberOf,
  SHARD_ATTRIBUTES,
  stringsOf,
} from './item-attributes';
import type { WindowTable } from './window-table';

/**
 * Shard items per (rule, window, group), each holding up to MAX_SHARD_CONTRIBUTORS: 160,000 contributors
 * past the window item's own, against the 17,000 (34,000 at two objects per window) of an organization of
 * 1,000 accounts in 17 regions. A shard item holds 16-byte ids and two counters: 160 KB at most.
 */
export const SPILL_SHARDS = 16;
export const MAX_SHARD_CONTRIBUTORS = 10_000;

/**
 * The key of one of a group's shard items: the window's partition key, `C#<SHA-256 of the group's sort key,
 * 22 characters>#<shard>`: fixed-width, so one group's shards are exactly the items under its prefix.
 */
function shardItemKey(key: GroupKey, shard: number): Item {
  return {
    [KEY_ATTRIBUTES.pk]: { S: windowPartitionKey(key) },
    [KEY_ATTRIBUTES.sk]: { S: `${shardPrefix(key)}${String(shard).padStart(2, '0')}` },
  };
}

function shardPrefix(key: GroupKey): string {
  return `C#${createHash('sha256').update(groupSortKey(key)).digest('base64url').slice(0, 22)}#`;
}

/** The shard a spilled contributor belongs to, fixed by its id (so its replays find it there). */
export function shardOf(contributorId: string): number {
  return createHash('sha256').update(contributorId).digest().readUInt32BE(0) % SPILL_SHARDS;
}

/**
 * The contributor shard items of full window items: the contributors past a window item's bound, each with
 * the counters its contribution adds (events the window item holds no id hash for, failed calls).
 */
export class ContributorShards {
  constructor(
    private readonly table: WindowTable,
    private readonly retentionSeconds: number,
  ) {}

  /**
   * Adds the contributor and its counters to its shard item, on condition that the shard does not hold it
   * and has room; `countedOnWindow` of its events are counted on the window item already (their id hash is
   * there). True when added, false when the shard already held the contributor (a replay); a full shard
   * throws WindowItemFullError (permanent: the same object would meet the same full item).
   */
  async add(
    contribution: GroupContribution,
    contributorId: string,
    countedOnWindow: number,
    now: number,
  ): Promise<boolean> {
    const shardKey = shardItemKey(contribution, shardOf(contributorId));
    const added = await this.table.conditionalUpdate({
      TableName: this.table.tableName,
      Key: shardKey,
      UpdateExpression:
        'ADD #contributors :contributorSet, #overflowEventCount :overflow, #failedCount :failedCount ' +
        'SET #expiresAt = :expiresAt',
      ConditionExpression: allOf({
        contributorIsNew: 'NOT contains(#contributors, :contributor)',
        shardHasRoom: setBelow('#contributors', ':maxShard'),
      }),
      ExpressionAttributeNames: {
        '#contributors': SHARD_ATTRIBUTES.contributors,
        '#overflowEventCount': SHARD_ATTRIBUTES.overflowEventCount,
        '#failedCount': SHARD_ATTRIBUTES.failedCount,
        '#expiresAt': KEY_ATTRIBUTES.expiresAt,
      },
      ExpressionAttributeValues: {
        ':contributorSet': { SS: [contributorId] },
        ':contributor': { S: contributorId },
        ':overflow': num(contribution.eventCount - countedOnWindow),
        ':failedCount': num(contribution.failedCount),
        ':maxShard': num(MAX_SHARD_CONTRIBUTORS),
        ':expiresAt': num(epochSeconds(Math.max(contribution.windowEnd, now)) + this.retentionSeconds),
      },
    });
    if (!added) {
      const shard = await this.table.read(shardKey);
      const contributors = stringsOf(shard ?? {}, SHARD_ATTRIBUTES.contributors);
      if (!contributors.includes(contributorId)) {
        throw new WindowItemFullError(
          `window ${describeGroup(contribution)}: shard item holds ${contributors.length} contributors`,
        );
      }
    }
    return added;
  }

  /** The counters of all the group's shard items, summed: a consistent Query, counters only. */
  async counters(key: GroupKey): Promise<{ overflowEventCount: number; failedCount: number }> {
    const shards = await this.table.queryAll({
      TableName: this.table.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: {
        '#pk': KEY_ATTRIBUTES.pk,
        '#sk': KEY_ATTRIBUTES.sk,
        '#overflow': SHARD_ATTRIBUTES.overflowEventCount,
        '#failed': SHARD_ATTRIBUTES.failedCount,
      },
      ExpressionAttributeValues: {
        ':pk': { S: windowPartitionKey(key) },
        ':prefix': { S: shardPrefix(key) },
      },
      ProjectionExpression: '#overflow, #failed',
      ConsistentRead: true,
    });
    let overflowEventCount = 0;
    let failedCount = 0;
    for (const shard of shards) {
      overflowEventCount += numberOf(shard, SHARD_ATTRIBUTES.overflowEventCount, 0);
      failedCount += numberOf(shard, SHARD_ATTRIBUTES.failedCount, 0);
    }
    return { overflowEventCount, failedCount };
  }
}
