import type { Finding, GroupContribution, GroupKey, WindowState } from './domain/window-state';

/** One S3 object (or local file) to process. `versionId` is part of its identity when the bucket has one. */
export interface ObjectRef {
  /** Empty for a local file (`scan`): `key` is then the file's path. */
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** Size from the notification, when known: 0 means an empty object, skipped without a read. */
  readonly size?: number;
}

/** Opens a log object as a stream of bytes (never buffered whole). */
export interface LogObjectSource {
  open(ref: ObjectRef): Promise<AsyncIterable<Uint8Array>>;
}

/** Alert bookkeeping carried on a window item. */
export interface AlertStatus {
  /** Set once SNS accepted the alert: the window never alerts again. */
  readonly messageId?: string;
  /** Epoch ms until which the current claim holds; after it, anyone may claim again. */
  readonly leaseUntil?: number;
  /** Set when per-identity suppression swallowed this window's alert. */
  readonly suppressed?: boolean;
}

export interface StoredWindow extends WindowState {
  readonly alert: AlertStatus;
}

/**
 * The window store: exact under at-least-once delivery, replays and concurrent writers.
 * Implemented in memory (scan, unit tests) and on DynamoDB (the pipeline); both pass one contract suite.
 */
export interface WindowStore {
  /**
   * Adds the contribution of object `contributorId` to its group, unless that object already contributed.
   * Returns the state after the write, or as found when nothing was applied.
   */
  apply(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
  ): Promise<{ state: StoredWindow; applied: boolean }>;
  /** The window as stored now (a consistent read), or undefined when no object contributed to it. */
  get(key: GroupKey): Promise<StoredWindow | undefined>;
  /** Takes the right to publish this window's alert until `leaseUntil`. False when alerted, suppressed or leased. */
  claimAlert(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean>;
  /**
   * Gives up a claim whose publish failed, so that the retry can claim again at once. No-op when the claim
   * is no longer this token's (taken over after the lease) or the window has alerted.
   */
  releaseClaim(key: GroupKey, claimToken: string): Promise<void>;
  /** Records the SNS message id once published (the window never alerts again). */
  recordAlert(key: GroupKey, claimToken: string, messageId: string): Promise<void>;
  /** Marks the window as suppressed (counted into the identity's next alert instead). */
  recordSuppressed(key: GroupKey, claimToken: string): Promise<void>;
  /**
   * Per-identity suppression: allows one alert per `periodMs` per (rule, arn). Idempotent per window: asking
   * again for the window that holds the slot is allowed again (a crash between this and publish loses nothing).
   * When allowed, returns how many windows were suppressed since the identity's previous alert.
   */
  reserveAlertSlot(
    key: GroupKey,
    now: number,
    periodMs: number,
  ): Promise<{ readonly allowed: true; readonly suppressedWindows: number } | { readonly allowed: false }>;
}

/** Where an alert came from: live delivery or a replay of history. */
export type Origin = 'live' | 'backfill';

export interface AlertToPublish {
  readonly finding: Finding;
  readonly origin: Origin;
  /** Windows of the same identity suppressed since its previous alert (0 without suppression). */
  readonly suppressedWindows: number;
}

/** Publishes one alert; returns the message id the transport assigned. */
export interface AlertPublisher {
  publish(alert: AlertToPublish): Promise<string>;
}
