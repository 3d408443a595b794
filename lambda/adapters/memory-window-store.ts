import {
  type GroupContribution,
  type GroupKey,
  groupValueId,
  mergeContribution,
  type StateLimits,
  type WindowState,
} from '../domain/window-state';
import type { AlertStatus, StoredWindow, WindowStore } from '../ports';

interface Slot {
  lastAlertAt: number;
  lastWindow: string;
  /** Suppressed windows reported by the alert that took this slot (returned again on a retry). */
  carried: number;
  suppressed: Set<string>;
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
  private readonly slots = new Map<string, Slot>();

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
    if (alert.leaseUntil !== undefined && alert.leaseUntil > now) return false;
    entry.alert = { ...alert, leaseUntil, claimToken };
    return true;
  }

  async releaseClaim(key: GroupKey, claimToken: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry === undefined || entry.alert.claimToken !== claimToken || entry.alert.messageId !== undefined)
      return;
    const { leaseUntil: _lease, claimToken: _token, ...rest } = entry.alert;
    entry.alert = rest;
  }

  async recordAlert(key: GroupKey, _claimToken: string, messageId: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry !== undefined) entry.alert = { ...entry.alert, messageId };
  }

  async recordSuppressed(key: GroupKey, claimToken: string): Promise<void> {
    const entry = this.windows.get(windowId(key));
    if (entry !== undefined && entry.alert.claimToken === claimToken)
      entry.alert = { ...entry.alert, suppressed: true };
  }

  async reserveAlertSlot(
    key: GroupKey,
    now: number,
    periodMs: number,
  ): Promise<{ readonly allowed: true; readonly suppressedWindows: number } | { readonly allowed: false }> {
    const slotId = `${key.ruleId}\u0000${groupValueId({ arn: key.arn })}`;
    const window = windowId(key);
    const slot = this.slots.get(slotId);
    if (slot?.lastWindow === window) return { allowed: true, suppressedWindows: slot.carried };
    if (slot === undefined || slot.lastAlertAt <= now - periodMs) {
      const carried = slot?.suppressed.size ?? 0;
      this.slots.set(slotId, { lastAlertAt: now, lastWindow: window, carried, suppressed: new Set() });
      return { allowed: true, suppressedWindows: carried };
    }
    if (slot.suppressed.size < this.limits.maxSuppressedWindows) slot.suppressed.add(window);
    return { allowed: false };
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

function publicAlert(alert: AlertStatus & { claimToken?: string }): AlertStatus {
  const { claimToken: _ignored, ...rest } = alert;
  return rest;
}
