import type { GroupContribution, GroupKey, StateLimits } from '../../domain/detection/window-state';
import type {
  HalfSlotClaim,
  HalfSlotKey,
  StoredWindow,
  SuppressionSlotReservation,
  WindowStore,
} from '../../ports';
import { AlertClaims } from './alert-claims';
import { ContributorShards } from './contributor-shards';
import { HalfSlots } from './half-slots';
import { SuppressionSlots } from './suppression-slots';
import { MAX_CONTRIBUTORS, WindowItems } from './window-items';
import { WindowTable, type WindowTableClient } from './window-table';

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
 * The window store on DynamoDB, one table for every kind of item, each kind in its own module: window items
 * (window-items.ts) with their contributor shards (contributor-shards.ts), the alert claim on the window item
 * (alert-claims.ts), per-identity suppression slots (suppression-slots.ts) and hopping-mode half-slots
 * (half-slots.ts). Every write is one conditional UpdateItem: safe under concurrent writers and replays
 * without transactions. The table's layout: window-table-schema.ts.
 */
export class DynamoDbWindowStore implements WindowStore {
  private readonly windows: WindowItems;
  private readonly claims: AlertClaims;
  private readonly suppression: SuppressionSlots;
  private readonly halfSlots: HalfSlots;

  constructor(options: DynamoDbWindowStoreOptions) {
    const table = new WindowTable(options.client, options.tableName);
    const { limits, retentionSeconds } = options;
    this.windows = new WindowItems(table, new ContributorShards(table, retentionSeconds), {
      limits,
      retentionSeconds,
      maxContributors: options.maxContributors ?? MAX_CONTRIBUTORS,
    });
    this.claims = new AlertClaims(table);
    this.suppression = new SuppressionSlots(table, { limits, retentionSeconds });
    this.halfSlots = new HalfSlots(table, retentionSeconds);
  }

  apply(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
  ): Promise<{ state: StoredWindow; applied: boolean }> {
    return this.windows.apply(contribution, contributorId, now);
  }

  get(key: GroupKey): Promise<StoredWindow | undefined> {
    return this.windows.get(key);
  }

  claimAlert(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean> {
    return this.claims.claim(key, claimToken, now, leaseUntil);
  }

  heldClaim(key: GroupKey, claimToken: string): Promise<{ readonly leaseUntil: number } | undefined> {
    return this.claims.held(key, claimToken);
  }

  releaseClaim(key: GroupKey, claimToken: string): Promise<void> {
    return this.claims.release(key, claimToken);
  }

  recordAlert(key: GroupKey, messageId: string): Promise<void> {
    return this.claims.recordAlert(key, messageId);
  }

  recordSuppressed(key: GroupKey, claimToken: string): Promise<void> {
    return this.claims.recordSuppressed(key, claimToken);
  }

  reserveAlertSlot(key: GroupKey, now: number, periodMs: number): Promise<SuppressionSlotReservation> {
    return this.suppression.reserve(key, now, periodMs);
  }

  claimHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    now: number,
    leaseUntil: number,
  ): Promise<HalfSlotClaim> {
    return this.halfSlots.claim(key, ownerWindowStart, now, leaseUntil);
  }

  releaseHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    options: { readonly evenIfMarked: boolean },
  ): Promise<void> {
    return this.halfSlots.release(key, ownerWindowStart, options);
  }

  markHalfSlotAlerted(key: HalfSlotKey, ownerWindowStart: number): Promise<boolean> {
    return this.halfSlots.markAlerted(key, ownerWindowStart);
  }
}
