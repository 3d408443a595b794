import {
  type GroupContribution,
  type GroupKey,
  groupValueId,
  mergeContribution,
  type StateLimits,
  type WindowState,
} from '../domain/detection/window-state';
import type {
  AlertStatus,
  HalfSlotClaim,
  HalfSlotKey,
  StoredWindow,
  SuppressionSlotReservation,
  WindowStore,
} from '../ports';

/** A (rule, identity)'s suppression slot: its holding window, when that alerted, the windows denied since. */
interface SuppressionSlot {
  lastAlertAt: number;
  lastWindow: string;
  /** Suppressed windows reported by the alert that took this slot (returned again on a retry). */
  carried: number;
  suppressed: Set<string>;
}

/** A hopping-mode half-slot, owned by a window named by its start (a released half-slot has no entry). */
interface HalfSlot {
  owner: number;
  leaseUntil: number;
  alerted?: true;
}

/**
 * The window store in process memory: `scan` and unit tests. Same contract as the DynamoDB store (one suite
 * runs against both); single-threaded JavaScript makes every method atomic.
 */
export class MemoryWindowStore implements WindowStore {
  private readonly windows = new Map<
    string,
    { state: WindowState; alert: AlertStatus & { claimToken?: string } }
  >();
  private readonly suppressionSlots = new Map<string, SuppressionSlot>();
  private readonly halfSlots = new Map<string, HalfSlot>();

  constructor(private readonly limits: StateLimits) {}

  async apply(
    contribution: GroupContribution,
    contributorId: string,
  ): Promise<{ state: StoredWindow; applied: boolean }> {
    const id = windowId(contribution);
    const entry = this.windows.get(id);
    const { state, applied } = mergeContribution(entry?.state, contribution, contributorId, this.limits);
    const alert = entry?.alert ?? {};
    if (applied) this.windows.set(id, { state, alert });
    return { state: { ...state, alert: publicAlert(alert) }, applied };
  }

  async claimAlert(key: GroupKey, claimToken: string, now: number, leaseUntil: number): Promise<boolean> {
    const entry = this.windows.get(windowId(key));
    if (entry === undefined) return false;
    const { alert } = entry;
    if (alert.messageId !== undefined || alert.suppressed === true) return false;
    // The same claim again (a retried request) is won again, as on DynamoDB.
    if (alert.claimToken === claimToken && alert.leaseUntil === leaseUntil) return true;
    if (alert.leaseUntil !== undefined && alert.leaseUntil > now) return false;
    entry.alert = { ...alert, leaseUntil, claimToken };
    return true;
  }

  async heldClaim(key: GroupKey, claimToken: string): Promise<{ readonly leaseUntil: number } | undefined> {
    const alert = this.windows.get(windowId(key))?.alert;
    if (alert === undefined || alert.messageId !== undefined || alert.suppressed === true) return undefined;
    if (alert.claimToken !== claimToken || alert.leaseUntil === undefined) return undefined;
    return { leaseUntil: alert.leaseUntil };
  }

  async releaseClaim(key: GroupKey, claimToken: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry === undefined || entry.alert.claimToken !== claimToken || entry.alert.messageId !== undefined)
      return;
    const { leaseUntil: _lease, claimToken: _token, ...rest } = entry.alert;
    entry.alert = rest;
  }

  async recordAlert(key: GroupKey, messageId: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry !== undefined) entry.alert = { ...entry.alert, messageId };
  }

  async recordSuppressed(key: GroupKey, claimToken: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry !== undefined && entry.alert.claimToken === claimToken)
      entry.alert = { ...entry.alert, suppressed: true };
  }

  async reserveAlertSlot(key: GroupKey, now: number, periodMs: number): Promise<SuppressionSlotReservation> {
    const id = suppressionSlotId(key);
    const window = windowId(key);
    const held = this.suppressionSlots.get(id);
    if (held?.lastWindow === window) return { allowed: true, suppressedWindows: held.carried };
    if (held === undefined || held.lastAlertAt <= now - periodMs) {
      const carried = held?.suppressed.size ?? 0;
      this.suppressionSlots.set(id, { lastAlertAt: now, lastWindow: window, carried, suppressed: new Set() });
      return { allowed: true, suppressedWindows: carried };
    }
    if (held.suppressed.size < this.limits.maxSuppressedWindows) held.suppressed.add(window);
    return { allowed: false };
  }

  async claimHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    now: number,
    leaseUntil: number,
  ): Promise<HalfSlotClaim> {
    const id = halfSlotId(key);
    const halfSlot = this.halfSlots.get(id);
    if (halfSlot !== undefined && halfSlot.owner !== ownerWindowStart) {
      if (halfSlot.alerted === true) return { kind: 'alerted', ownerWindowStart: halfSlot.owner };
      if (halfSlot.leaseUntil > now)
        return { kind: 'leased', ownerWindowStart: halfSlot.owner, leaseUntil: halfSlot.leaseUntil };
    }
    // The owner's re-claim extends its lease and keeps its alerted mark; a takeover (only ever of an
    // unalerted half-slot) or a first claim starts a fresh entry.
    if (halfSlot?.owner === ownerWindowStart) halfSlot.leaseUntil = leaseUntil;
    else this.halfSlots.set(id, { owner: ownerWindowStart, leaseUntil });
    return { kind: 'held' };
  }

  async releaseHalfSlot(
    key: HalfSlotKey,
    ownerWindowStart: number,
    options: { readonly evenIfMarked: boolean },
  ): Promise<void> {
    const halfSlot = this.halfSlots.get(halfSlotId(key));
    if (halfSlot === undefined || halfSlot.owner !== ownerWindowStart) return;
    if (halfSlot.alerted === true && !options.evenIfMarked) return;
    this.halfSlots.delete(halfSlotId(key));
  }

  async markHalfSlotAlerted(key: HalfSlotKey, ownerWindowStart: number): Promise<boolean> {
    const halfSlot = this.halfSlots.get(halfSlotId(key));
    if (halfSlot === undefined || halfSlot.owner !== ownerWindowStart) return false;
    halfSlot.alerted = true;
    return true;
  }

  async get(key: GroupKey): Promise<StoredWindow | undefined> {
    const entry = this.windows.get(windowId(key));
    return entry === undefined ? undefined : { ...entry.state, alert: publicAlert(entry.alert) };
  }

  /** Every group's state: `scan` turns these into findings once all files are read. */
  states(): WindowState[] {
    return [...this.windows.values()].map((entry) => entry.state);
  }
}

function windowId(key: GroupKey): string {
  return `${key.ruleId}\u0000${key.windowStart}\u0000${groupValueId(key)}`;
}

/** Suppression is per identity: further group values (a source IP) share the identity's slot. */
function suppressionSlotId(key: GroupKey): string {
  return `${key.ruleId}\u0000${groupValueId({ arn: key.arn })}`;
}

function halfSlotId(key: HalfSlotKey): string {
  return `${key.ruleId}\u0000${key.slotStart}\u0000${groupValueId(key)}`;
}

function publicAlert(alert: AlertStatus & { claimToken?: string }): AlertStatus {
  const { claimToken: _ignored, ...rest } = alert;
  return rest;
}
