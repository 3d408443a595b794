/**
 * The rule as a plain in-memory computation over every record of a corpus: the oracle the property tests
 * hold the pipeline against. It shares no code with `lambda/` on purpose (a bug copied into the oracle
 * would pass), and restates the rule with its own constants: keep DescribeInstances calls to EC2 (failed
 * ones too), truncate eventTime to 30 s UTC windows aligned to the epoch, and per (window, ARN) count events
 * and distinct regions; a group fires at 10 regions and 10 events. A missing ARN is one null group,
 * and CloudTrail's at-least-once delivery is undone first: a repeated eventID is one event.
 * In hopping mode a window starts at every multiple of 15 s and lasts 30 s, so every event is in exactly
 * two windows: the ones starting at the last two multiples of 15 s at or before it.
 */

/** The thresholds and window of the Elastic rule, restated rather than imported. */
export const MODEL_RULE = {
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  windowMs: 30_000,
  /** Hopping mode: the step between window starts, half a window. */
  hopMs: 15_000,
  minRegions: 10,
  minEvents: 10,
} as const;

/** `tumbling`: epoch-aligned 30 s windows only (Elastic). `hopping`: a 30 s window every 15 s. */
export type ModelWindowMode = 'tumbling' | 'hopping';

/** One (window, ARN) group with at least one matching event. */
export interface ModelGroup {
  /**
   * Epoch ms, a multiple of 30 s (UTC windows aligned to the Unix epoch); in hopping mode a multiple of 15 s
   * (an odd multiple is an offset window).
   */
  readonly windowStart: number;
  /** `userIdentity.arn`; null is the one group of all events without one. */
  readonly arn: string | null;
  /** Distinct events (by eventID), failed calls included. */
  readonly eventCount: number;
  /** Distinct `awsRegion` values, sorted. */
  readonly regions: readonly string[];
}

export interface ModelOutcome {
  /** Every group with a matching event, ordered by window then ARN (null last). */
  readonly groups: readonly ModelGroup[];
  /** The groups at or over both thresholds: the alerts the rule raises, one per window and ARN. */
  readonly firing: readonly ModelGroup[];
}

/** `<windowStart ISO> <arn | (null)>`: how the property tests name a group in maps and messages. */
export function groupName(group: { readonly windowStart: number; readonly arn: string | null }): string {
  return `${new Date(group.windowStart).toISOString()} ${group.arn ?? '(null)'}`;
}

/** `aligned` for a window starting on a multiple of 30 s, `offset` for one starting 15 s past it. */
export function windowKind(windowStart: number): 'aligned' | 'offset' {
  return mod(windowStart, MODEL_RULE.windowMs) === 0 ? 'aligned' : 'offset';
}

/**
 * Two windows of the same group share time: their starts are less than a window apart (in hopping mode,
 * 15 s apart; a window also overlaps itself).
 */
export function overlapping(
  a: { readonly windowStart: number; readonly arn: string | null },
  b: { readonly windowStart: number; readonly arn: string | null },
): boolean {
  return a.arn === b.arn && Math.abs(a.windowStart - b.windowStart) < MODEL_RULE.windowMs;
}

/** Starts of the windows holding an event at `time`: one aligned window, or in hopping mode two of 15 s steps. */
export function windowsHolding(time: number, mode: ModelWindowMode): number[] {
  if (mode === 'tumbling') return [time - mod(time, MODEL_RULE.windowMs)];
  const latest = time - mod(time, MODEL_RULE.hopMs);
  return [latest - MODEL_RULE.hopMs, latest];
}

/**
 * Evaluates the rule over `records`: every record of every log object, duplicates included, in any order.
 * Records are expected to be well formed (string eventTime, awsRegion and eventID); the corpus arbitrary
 * only makes such records, so anything else is a mistake in the test and throws. In hopping mode, `groups`
 * and `firing` hold every window (aligned and offset) of every ARN.
 */
export function evaluateRule(
  records: Iterable<Readonly<Record<string, unknown>>>,
  mode: ModelWindowMode = 'tumbling',
): ModelOutcome {
  const seen = new Set<string>();
  const groups = new Map<
    string,
    { windowStart: number; arn: string | null; events: number; regions: Set<string> }
  >();
  for (const record of records) {
    if (record.eventSource !== MODEL_RULE.eventSource || record.eventName !== MODEL_RULE.eventName) continue;
    const eventId = stringField(record, 'eventID');
    if (seen.has(eventId)) continue;
    seen.add(eventId);
    const time = Date.parse(stringField(record, 'eventTime'));
    const arn = arnOf(record);
    for (const windowStart of windowsHolding(time, mode)) {
      const name = groupName({ windowStart, arn });
      const group = groups.get(name) ?? { windowStart, arn, events: 0, regions: new Set<string>() };
      group.events += 1;
      group.regions.add(stringField(record, 'awsRegion'));
      groups.set(name, group);
    }
  }
  const all = [...groups.values()]
    .map((g) => ({
      windowStart: g.windowStart,
      arn: g.arn,
      eventCount: g.events,
      regions: [...g.regions].sort(),
    }))
    .sort((a, b) => a.windowStart - b.windowStart || compareArns(a.arn, b.arn));
  return {
    groups: all,
    firing: all.filter(
      (g) => g.regions.length >= MODEL_RULE.minRegions && g.eventCount >= MODEL_RULE.minEvents,
    ),
  };
}

function arnOf(record: Readonly<Record<string, unknown>>): string | null {
  const identity = record.userIdentity;
  if (identity === null || typeof identity !== 'object') return null;
  const arn = (identity as Record<string, unknown>).arn;
  if (arn === undefined || arn === null) return null;
  if (typeof arn !== 'string')
    throw new TypeError(`model input: userIdentity.arn is not a string: ${String(arn)}`);
  return arn;
}

function stringField(record: Readonly<Record<string, unknown>>, name: string): string {
  const value = record[name];
  if (typeof value !== 'string')
    throw new TypeError(`model input: ${name} is not a string: ${String(value)}`);
  return value;
}

/** Modulo that stays non-negative for times before the epoch, as DATE_TRUNC does. */
function mod(value: number, size: number): number {
  return ((value % size) + size) % size;
}

function compareArns(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
