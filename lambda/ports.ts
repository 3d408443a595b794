import type { AlertToPublish } from './domain/alerting/alert-to-publish';
import type { GroupContribution, GroupKey, WindowState } from './domain/detection/window-state';
import type { ObjectRef } from './domain/reading/object-key';

/** The value types the ports carry belong to the domain; adapters and entry points may take them from here. */
export type { AlertToPublish } from './domain/alerting/alert-to-publish';
export type { ObjectRef, Origin } from './domain/reading/object-key';

/**
 * What the store says of the object version it returned. Every path that names an object (an S3
 * notification with its version id, EventBridge, SQS, a backfill listing without one) reads the same version
 * with the same ETag and size, and an overwrite at the same key has its own: this is the object's identity.
 */
export interface ObjectVersion {
  /** The entity tag, without the quotes S3 puts around it in headers and listings. */
  readonly eTag: string;
  readonly size: number;
}

/** A log object's bytes as a stream (never buffered whole). */
export interface LogObjectBody extends AsyncIterable<Uint8Array> {
  /** The version read, as the store reported it; absent for a local file (its path alone names it). */
  readonly version?: ObjectVersion;
}

/** Opens a log object. */
export interface LogObjectSource {
  open(ref: ObjectRef): Promise<LogObjectBody>;
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
 * One half-window of one group, in hopping mode: windows start at every multiple of W/2 and each covers two
 * half-slots, so two overlapping windows share exactly one half-slot.
 */
export interface HalfSlotKey {
  readonly ruleId: string;
  readonly arn: string | null;
  /** Further group-by values, as on GroupKey. */
  readonly by?: readonly (string | null)[];
  /** Half-slot start, epoch ms, a multiple of W/2. */
  readonly slotStart: number;
  /** Half-slot end (exclusive), epoch ms: the item's expiry derives from it. */
  readonly slotEnd: number;
}

/** The outcome of claiming a half-slot for a window (owners are named by their window start). */
export type HalfSlotClaim =
  /** Now (or already) owned by this window; never alerted by another. */
  | { readonly kind: 'held' }
  /** Another window marked it before publishing: permanent. */
  | { readonly kind: 'alerted'; readonly ownerWindowStart: number }
  /** Another window holds it and its lease is live at `now`. */
  | { readonly kind: 'leased'; readonly ownerWindowStart: number; readonly leaseUntil: number };

/**
 * What an identity's suppression slot answers a window: allowed, with how many windows were suppressed since
 * the identity's previous alert, or not (this window is suppressed).
 */
export type SuppressionSlotReservation =
  | { readonly allowed: true; readonly suppressedWindows: number }
  | { readonly allowed: false };

/**
 * The window store: exact under at-least-once delivery, replays and concurrent writers.
 * Implemented in memory (scan, unit tests) and on DynamoDB (the pipeline); both pass one contract suite.
 * Two kinds of slot, always named in full: an identity's suppression slot (one alert per suppression
 * period) and a hopping window's half-slots (its two half-windows); the window state's sample slots are a
 * third, unrelated kind.
 */
export interface WindowStore {
  /**
   * Adds the contribution of object `contributorId` to its group, unless that object already contributed.
   * Returns the state after the write, or as found when nothing was applied. On DynamoDB, a window past the
   * contributors its item holds, and that already alerted or was suppressed, is returned without the counts
   * of its shard items (no decision reads them then; `get` always adds them).
   */
  apply(
    contribution: GroupContribution,
    contributorId: string,
    now: number,
  ): Promise<{ state: StoredWindow; applied: boolean }>;
  /** The window as stored now (a consistent read), or undefined when no object contributed to it. */
  get(key: GroupKey): Promise<StoredWindow | undefined>;
  /**
   * Takes the right to publish this window's alert until `leaseUntil`. False when alerted, suppressed or
   * leased by another claim. True again for the same token and lease (a request retried after its response
   * was lost): every conditional write of the store recognises its own earlier write as success.
   */
  claimAlert(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean>;
  /**
   * The fence before a publish (a consistent read): the lease of claim `claimToken` while that claim still
   * holds the window, undefined once another claim took it over or the window alerted or was suppressed.
   */
  heldClaim(key: GroupKey, claimToken: string): Promise<{ readonly leaseUntil: number } | undefined>;
  /**
   * Gives up a claim whose publish failed, so that the retry can claim again at once. No-op when the claim
   * is no longer this token's (taken over after the lease) or the window has alerted.
   */
  releaseClaim(key: GroupKey, claimToken: string): Promise<void>;
  /** Records the SNS message id once published (the window never alerts again). */
  recordAlert(key: GroupKey, messageId: string): Promise<void>;
  /** Marks the window as suppressed (counted into the identity's next alert instead). */
  recordSuppressed(key: GroupKey, claimToken: string): Promise<void>;
  /**
   * Per-identity suppression: allows one alert per `periodMs` per (rule, arn), the identity's suppression
   * slot. Idempotent per window: asking again for the window that holds the suppression slot is allowed again
   * (a crash between this and publish loses nothing).
   * When allowed, returns how many windows were suppressed since the identity's previous alert.
   */
  reserveAlertSlot(key: GroupKey, now: number, periodMs: number): Promise<SuppressionSlotReservation>;
  /**
   * Hopping mode: takes half-slot `key` for the window starting at `ownerWindowStart` until `leaseUntil`.
   * Held when the half-slot has no owner, is already this window's (alerted or not: the lease is extended),
   * or its owner's lease ended at or before `now` without an alert. Ownership is by window, not by claim
   * token: the window's own alert claim already admits one live claimant per window, so a retry of the window
   * re-takes its half-slots. Otherwise reports the blocking window.
   */
  claimHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    now: number,
    leaseUntil: number,
  ): Promise<HalfSlotClaim>;
  /**
   * Gives the half-slot back: no-op unless owned by this window and, unless `evenIfMarked`, not marked. Only
   * a window that is `covered` gives marked half-slots back: a neighbour marked one of its half-slots, which
   * proves this window never marked both, so never published.
   */
  releaseHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    options: { readonly evenIfMarked: boolean },
  ): Promise<void>;
  /**
   * Marks the half-slot as publishing by its owner, before the publish: no other window can ever hold it,
   * even after the lease (the publish may have reached SNS whatever its caller saw). True when it is (now or
   * already) marked by this window; false when another window holds it (it took the half-slot over after
   * this window's lease ended): it then stays with that window, and this one must not publish.
   */
  markHalfSlotAlerted(key: HalfSlotKey, ownerWindowStart: number): Promise<boolean>;
}

/** Publishes one alert; returns the message id the transport assigned. */
export interface AlertPublisher {
  publish(alert: AlertToPublish): Promise<string>;
}
