import { hash } from 'node:crypto';
import type { AllowlistPredicate } from './allowlist';
import {
  fieldValues,
  getField,
  groupValueOf,
  matchesFilter,
  type RuleDefinition,
  scalarText,
  windowStartOf,
  windowStartsOf,
} from './rule';
import {
  boundedDistinctValue,
  boundedText,
  CONTEXT_FIELDS,
  type ContextField,
  contextBound,
  type GroupContribution,
  groupValueId,
  type StateLimits,
  sampleSlotOf,
} from './window-state';

/** What happened to one parsed record. */
export type RecordOutcome =
  | { readonly kind: 'counted' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'filtered' }
  | { readonly kind: 'allowlisted' }
  | { readonly kind: 'invalid'; readonly reason: string };

const COUNTED: RecordOutcome = { kind: 'counted' };
const DUPLICATE: RecordOutcome = { kind: 'duplicate' };
const FILTERED: RecordOutcome = { kind: 'filtered' };
const ALLOWLISTED: RecordOutcome = { kind: 'allowlisted' };

/**
 * The event time in epoch ms, or undefined unless it is an ISO-8601 time that names a real instant: V8's
 * Date.parse would roll `2026-02-30` over to March and `T24:00:00` to the next day, into another window.
 */
export function parseEventTime(text: string): number | undefined {
  return cloudTrailTime(text) ?? parseIsoTime(text);
}

/**
 * The time CloudTrail writes (`2026-11-28T10:12:07Z`, years 1000 to 9999) read from its digits, as
 * parseIsoTime reads it; undefined for any other text (parseIsoTime decides it). Every matching record needs
 * its time, and the regular expression and Date.parse took a tenth of the rule's time per record.
 */
function cloudTrailTime(text: string): number | undefined {
  if (
    text.length !== 20 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    text.charCodeAt(10) !== LETTER_T ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    text.charCodeAt(19) !== LETTER_Z
  ) {
    return undefined;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

const DASH = 0x2d;
const COLON = 0x3a;
const LETTER_T = 0x54;
const LETTER_Z = 0x5a;
const DIGIT_0 = 0x30;

/** The number written by `length` ASCII digits from `from`; -1 when any of them is not a digit. */
function digits(text: string, from: number, length: number): number {
  let value = 0;
  for (let at = from; at < from + length; at++) {
    const digit = text.charCodeAt(at) - DIGIT_0;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** Any ISO-8601 time the rule accepts (fractions, offsets), checked for a real calendar instant. */
export function parseIsoTime(text: string): number | undefined {
  const parts = ISO_TIME.exec(text);
  if (parts === null) return undefined;
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/** The facts of one matching record that its groups keep. */
interface MatchedEvent {
  readonly time: number;
  readonly eventId: string | undefined;
  readonly distinct: readonly string[];
  readonly failed: boolean;
  readonly context: Readonly<Record<ContextField, string | undefined>>;
}

interface GroupAccumulator {
  readonly id: string;
  readonly windowStart: number;
  readonly arn: string | null;
  readonly by: readonly (string | null)[];
  readonly distinctValues: Set<string>;
  readonly eventIds: Set<string>;
  eventsWithoutId: number;
  failedCount: number;
  firstEventTime: number;
  lastEventTime: number;
  readonly context: Record<ContextField, Set<string>>;
  /** Sample slots already holding an id (see sampleSlotOf): one sample per slot, the first seen. */
  readonly sampleSlots: Set<number>;
}

/**
 * Aggregates the matching records of ONE log object per (window, group value). Pure: no I/O.
 * Duplicate eventIDs inside the object count once. Memory: one entry per distinct matching eventID.
 */
export class ObjectAggregator {
  private readonly groups: GroupAccumulator[] = [];
  /**
   * The groups by window start, then by group value: the ARN itself for a rule grouped by it alone, else
   * groupValueId. No key string is built per record.
   */
  private readonly groupIndex = new Map<number, Map<string | null, GroupAccumulator>>();

  constructor(
    private readonly rule: RuleDefinition,
    private readonly isAllowlisted: AllowlistPredicate,
    private readonly limits: StateLimits,
  ) {}

  /** Applies the exact rule to one parsed record and counts it when it matches. */
  add(record: unknown): RecordOutcome {
    if (!matchesFilter(record, this.rule)) return FILTERED;
    const eventTime = getField(record, 'eventTime');
    const time = typeof eventTime === 'string' ? parseEventTime(eventTime) : undefined;
    if (time === undefined) {
      return { kind: 'invalid', reason: `eventTime is not an ISO-8601 time: ${describe(eventTime)}` };
    }
    const groupValues: (string | null)[] = [];
    for (const field of this.rule.groupBy) {
      const value = groupValueOf(record, field, this.rule);
      if (value === undefined) {
        return {
          kind: 'invalid',
          reason: `${field} is not a ${this.expectedValue()}: ${describe(getField(record, field))}`,
        };
      }
      groupValues.push(value);
    }
    let distinct = fieldValues(record, this.rule.distinctField);
    if (distinct.some((value) => typeof value !== 'string')) {
      // Off the common path: only a record whose distinct value is not a string gets here.
      const texts = distinct.map((value) =>
        typeof value === 'string' ? value : this.rule.textValues === true ? scalarText(value) : undefined,
      );
      const bad = texts.indexOf(undefined);
      if (bad !== -1) {
        return {
          kind: 'invalid',
          reason: `${this.rule.distinctField} is not a ${this.expectedValue()}: ${describe(distinct[bad])}`,
        };
      }
      distinct = texts as string[];
    }
    const [arn = null, ...by] = groupValues;
    const userAgent = optionalString(record, 'userAgent');
    const accountId =
      optionalString(record, 'userIdentity.accountId') ?? optionalString(record, 'recipientAccountId');
    const identityType = optionalString(record, 'userIdentity.type');
    if (this.isAllowlisted({ arn, userAgent, accountId, identityType })) return ALLOWLISTED;

    const eventId = optionalString(record, 'eventID');
    const event: MatchedEvent = {
      time,
      eventId,
      distinct: distinct as string[],
      // Elastic's event.outcome: a failure when errorCode or errorMessage holds a value.
      failed: fieldValues(record, 'errorCode').length > 0 || fieldValues(record, 'errorMessage').length > 0,
      context: {
        accountIds: accountId,
        identityTypes: identityType,
        accessKeyIds: optionalString(record, 'userIdentity.accessKeyId'),
        sourceIps: optionalString(record, 'sourceIPAddress'),
        userAgents: userAgent,
        sessionIssuers: optionalString(record, 'userIdentity.sessionContext.sessionIssuer.arn'),
        sampleEventIds: eventId,
        // Events carry no findings: only a correlation's windows list them.
        findings: undefined,
      },
    };
    if (this.rule.windowMode === 'tumbling') {
      // One window (the common case, without building the list below).
      const group = this.groupFor(windowStartOf(time, this.rule.windowSeconds), arn, by);
      if (eventId !== undefined && group.eventIds.has(eventId)) return DUPLICATE;
      this.count(group, event);
      return COUNTED;
    }
    // In hopping mode the event counts in two overlapping windows: each counts it once.
    const groups = windowStartsOf(time, this.rule).map((start) => this.groupFor(start, arn, by));
    if (eventId !== undefined && groups.every((group) => group.eventIds.has(eventId))) return DUPLICATE;
    for (const group of groups) this.count(group, event);
    return COUNTED;
  }

  /** What a group or distinct value must be, for the reason of an invalid record. */
  private expectedValue(): string {
    return this.rule.textValues === true ? 'string, number or boolean' : 'string';
  }

  private count(group: GroupAccumulator, event: MatchedEvent): void {
    if (event.eventId !== undefined) {
      if (group.eventIds.has(event.eventId)) return;
      group.eventIds.add(event.eventId);
    } else {
      group.eventsWithoutId += 1;
    }
    for (const value of event.distinct) {
      if (group.distinctValues.size >= this.limits.maxDistinctValues) break;
      group.distinctValues.add(boundedDistinctValue(value, this.limits.maxValueLength));
    }
    if (event.failed) group.failedCount += 1;
    // First/last are kept in whole seconds, CloudTrail's own precision (and what the window item stores).
    const second = Math.floor(event.time / 1000) * 1000;
    group.firstEventTime = Math.min(group.firstEventTime, second);
    group.lastEventTime = Math.max(group.lastEventTime, second);
    for (const field of CONTEXT_FIELDS) this.addContext(group, field, event.context[field]);
  }

  /** One contribution per group seen, in a stable order (window, then group value). */
  contributions(): GroupContribution[] {
    return [...this.groups]
      .sort(
        (a, b) => a.windowStart - b.windowStart || compareNullable(a.arn, b.arn) || compareIds(a.id, b.id),
      )
      .map((group) => {
        const ids = [...group.eventIds];
        return {
          ruleId: this.rule.id,
          windowStart: group.windowStart,
          windowEnd: group.windowStart + this.rule.windowSeconds * 1000,
          arn: group.arn,
          ...(group.by.length === 0 ? {} : { by: group.by }),
          distinctValues: [...group.distinctValues].sort(),
          eventCount: ids.length + group.eventsWithoutId,
          eventIdHashes: [...new Set(ids.slice(0, this.limits.maxEventIds).map(hashEventId))].sort(),
          failedCount: group.failedCount,
          firstEventTime: group.firstEventTime,
          lastEventTime: group.lastEventTime,
          context: Object.fromEntries(CONTEXT_FIELDS.map((f) => [f, [...group.context[f]].sort()])) as Record<
            ContextField,
            string[]
          >,
        };
      });
  }

  private groupFor(
    windowStart: number,
    arn: string | null,
    by: readonly (string | null)[],
  ): GroupAccumulator {
    let window = this.groupIndex.get(windowStart);
    if (window === undefined) {
      window = new Map();
      this.groupIndex.set(windowStart, window);
    }
    const key = by.length === 0 ? arn : groupValueId({ arn, by });
    let group = window.get(key);
    if (group === undefined) {
      group = {
        id: `${windowStart}\u0000${groupValueId({ arn, by })}`,
        windowStart,
        arn,
        by,
        distinctValues: new Set(),
        eventIds: new Set(),
        eventsWithoutId: 0,
        failedCount: 0,
        firstEventTime: Number.POSITIVE_INFINITY,
        lastEventTime: Number.NEGATIVE_INFINITY,
        context: Object.fromEntries(CONTEXT_FIELDS.map((f) => [f, new Set<string>()])) as Record<
          ContextField,
          Set<string>
        >,
        sampleSlots: new Set(),
      };
      window.set(key, group);
      this.groups.push(group);
    }
    return group;
  }

  private addContext(group: GroupAccumulator, field: ContextField, value: string | undefined): void {
    if (value === undefined || value === '') return;
    const values = group.context[field];
    if (values.size >= contextBound(field, this.limits)) return;
    const kept = boundedText(value, this.limits.maxValueLength);
    if (field === 'sampleEventIds') {
      // Samples fill the slots the window item keeps them in, so an object offers one id per slot.
      const slot = sampleSlotOf(kept, this.limits);
      if (group.sampleSlots.has(slot)) return;
      group.sampleSlots.add(slot);
    }
    values.add(kept);
  }
}

/**
 * A short, fixed-size stand-in for an eventID (72 bits of SHA-256, base64url): enough to de-duplicate the
 * events of one group (collision odds ~1e-16 at 1,000 ids) at 12 bytes each in the window item.
 */
export function hashEventId(eventId: string): string {
  // crypto.hash (Node 20.12+, 22): a third of createHash's cost for one short input, paid once per counted event.
  return hash('sha256', eventId, 'base64url').slice(0, 12);
}

function optionalString(record: unknown, path: string): string | undefined {
  const value = getField(record, path);
  return typeof value === 'string' ? value : undefined;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
