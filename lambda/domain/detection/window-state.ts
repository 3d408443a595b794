import { createHash } from 'node:crypto';
import { fnv1a } from '../fnv1a';
import { decodeFindingSummaries, type FindingSummary } from './finding-summary';
import { type RuleDefinition, type RulePresentation, windowKindOf } from './rule';

/**
 * Context lists an analyst needs, kept per group (each bounded; see StateLimits). `findings` is filled on a
 * correlation's windows only: the summaries of its contributing findings (see finding-summary.ts).
 */
export const CONTEXT_FIELDS = [
  'accountIds',
  'identityTypes',
  'accessKeyIds',
  'sourceIps',
  'userAgents',
  'sessionIssuers',
  'sampleEventIds',
  'findings',
] as const;
export type ContextField = (typeof CONTEXT_FIELDS)[number];
export type GroupContext = Readonly<Record<ContextField, readonly string[]>>;

/** Bounds that keep one group's state small whatever the traffic (DynamoDB items must stay far below 400 KB). */
export interface StateLimits {
  /** Event-id hashes kept for cross-object de-duplication; past it, counts add up per object. */
  readonly maxEventIds: number;
  /** Values kept per context list (user agents, source IPs, ...). */
  readonly maxContextValues: number;
  /** Sample event ids kept. */
  readonly maxSampleEventIds: number;
  /**
   * Finding summaries a correlation window lists (about 110 bytes each). Past it, findings still count; the
   * alert says how many it does not list.
   */
  readonly maxFindingSummaries: number;
  /**
   * Longest value read from a log that is kept, in UTF-8 bytes (context values, distinct values): longer
   * values are cut and marked with an ellipsis (see boundedText, boundedDistinctValue), so that no log
   * content can grow a stored item past its budget.
   */
  readonly maxValueLength: number;
  /** Distinct values of the rule's distinct field kept (the threshold can never exceed it). */
  readonly maxDistinctValues: number;
  /**
   * Suppressed windows remembered per identity until its next alert (about 63 bytes each in DynamoDB). Past
   * it, windows are still suppressed but no longer counted: the next alert reports at least this many.
   */
  readonly maxSuppressedWindows: number;
}

export const DEFAULT_STATE_LIMITS: StateLimits = {
  maxEventIds: 1000,
  maxContextValues: 20,
  maxSampleEventIds: 5,
  maxFindingSummaries: 64,
  maxValueLength: 256,
  maxDistinctValues: 64,
  maxSuppressedWindows: 1000,
};

/** Identifies one tumbling window of one group of one rule. */
export interface GroupKey {
  readonly ruleId: string;
  /** Window start, epoch milliseconds, aligned to the rule's window length. */
  readonly windowStart: number;
  /** The identity (`userIdentity.arn`, every rule's first group-by field); null is the one group of events that have none. */
  readonly arn: string | null;
  /**
   * Values of the rule's further group-by fields, in the rule's order (the S3 posture rule groups by ARN and
   * source IP); absent for rules grouped by identity alone. A missing value is null, as in ES|QL `BY`.
   */
  readonly by?: readonly (string | null)[];
}

/** The group part of a key (identity and further group values) as one unambiguous string. */
export function groupValueId(key: Pick<GroupKey, 'arn' | 'by'>): string {
  if (key.by === undefined || key.by.length === 0) return key.arn === null ? 'N#' : `A#${key.arn}`;
  return `G#${JSON.stringify([key.arn, ...key.by])}`;
}

/** What one log object adds to one group: the result of reading that object, before any merge. */
export interface GroupContribution extends GroupKey {
  /** End of the window (exclusive), epoch ms: stores keep state at least until then plus their retention. */
  readonly windowEnd: number;
  /** Distinct values of the distinct field (regions), sorted. */
  readonly distinctValues: readonly string[];
  /** Events in this object, duplicate eventIDs counted once. */
  readonly eventCount: number;
  /** Hashes of at most `maxEventIds` of those events' eventIDs, for de-duplication across objects. */
  readonly eventIdHashes: readonly string[];
  /** Events that carried an errorCode (failed calls count toward the rule; this is context). */
  readonly failedCount: number;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
  readonly context: GroupContext;
}

/** Merged state of one group: what the window store holds, in memory or in DynamoDB. */
export interface WindowState extends GroupKey {
  readonly contributors: readonly string[];
  readonly distinctValues: readonly string[];
  readonly eventIdHashes: readonly string[];
  /** Events counted without an id hash (past the hash bound, or with no eventID). */
  readonly overflowEventCount: number;
  readonly failedCount: number;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
  readonly context: GroupContext;
}

/** Distinct events of a group: one per kept id hash, plus those counted past the bound. */
export function eventCountOf(state: Pick<WindowState, 'eventIdHashes' | 'overflowEventCount'>): number {
  return state.eventIdHashes.length + state.overflowEventCount;
}

/**
 * Adds `contribution` from the object `contributorId` to `state`.
 * Invariant (idempotency on replay): an object that already contributed changes nothing.
 * A bounded list takes the whole contribution while it is below its bound, and nothing once it has reached
 * it, so a list never holds more than bound + one contribution's worth. The DynamoDB store applies the same
 * rule with conditions on `size()`, so both stores agree for any order of objects below the bounds.
 */
export function mergeContribution(
  state: WindowState | undefined,
  contribution: GroupContribution,
  contributorId: string,
  limits: StateLimits,
): { state: WindowState; applied: boolean } {
  const base = state ?? emptyState(contribution);
  if (base.contributors.includes(contributorId)) return { state: base, applied: false };
  const hashesOpen = base.eventIdHashes.length < limits.maxEventIds;
  const keptHashes = hashesOpen ? contribution.eventIdHashes.length : 0;
  const context = Object.fromEntries(
    CONTEXT_FIELDS.map((field) => [
      field,
      field === 'sampleEventIds'
        ? mergeSamples(base.context.sampleEventIds, contribution.context.sampleEventIds, limits)
        : unionBelow(base.context[field], contribution.context[field], contextBound(field, limits)),
    ]),
  ) as Record<ContextField, string[]>;
  return {
    applied: true,
    state: {
      ruleId: base.ruleId,
      windowStart: base.windowStart,
      arn: base.arn,
      ...(base.by === undefined ? {} : { by: base.by }),
      contributors: [...base.contributors, contributorId],
      distinctValues: unionBelow(base.distinctValues, contribution.distinctValues, limits.maxDistinctValues),
      eventIdHashes: hashesOpen ? union(base.eventIdHashes, contribution.eventIdHashes) : base.eventIdHashes,
      overflowEventCount: base.overflowEventCount + contribution.eventCount - keptHashes,
      failedCount: base.failedCount + contribution.failedCount,
      firstEventTime: Math.min(base.firstEventTime, contribution.firstEventTime),
      lastEventTime: Math.max(base.lastEventTime, contribution.lastEventTime),
      context,
    },
  };
}

/** The bound of one context list. */
export function contextBound(field: ContextField, limits: StateLimits): number {
  if (field === 'sampleEventIds') return limits.maxSampleEventIds;
  if (field === 'findings') return limits.maxFindingSummaries;
  return limits.maxContextValues;
}

function emptyState(key: GroupKey): WindowState {
  const context = Object.fromEntries(CONTEXT_FIELDS.map((f) => [f, []])) as unknown as GroupContext;
  return {
    ruleId: key.ruleId,
    windowStart: key.windowStart,
    arn: key.arn,
    ...(key.by === undefined ? {} : { by: key.by }),
    contributors: [],
    distinctValues: [],
    eventIdHashes: [],
    overflowEventCount: 0,
    failedCount: 0,
    firstEventTime: Number.POSITIVE_INFINITY,
    lastEventTime: Number.NEGATIVE_INFINITY,
    context,
  };
}

/**
 * Sample event ids fill fixed slots: an id belongs to slot `sampleSlotOf(id)`, and each slot keeps the first
 * id that lands in it. The DynamoDB store sets each slot with `if_not_exists`, without the condition a
 * bounded union needs, so that windows of more than a handful of events never cost a refused conditional
 * write, while samples still come from several objects.
 */
function mergeSamples(current: readonly string[], added: readonly string[], limits: StateLimits): string[] {
  const taken = new Set(current.map((id) => sampleSlotOf(id, limits)));
  const merged = [...current];
  for (const [slot, id] of sampleOffers(added, limits)) if (!taken.has(slot)) merged.push(id);
  return merged.sort();
}

/** The slot of an event id among `maxSampleEventIds` (FNV-1a of its UTF-16 units). */
export function sampleSlotOf(eventId: string, limits: StateLimits): number {
  return fnv1a(eventId) % limits.maxSampleEventIds;
}

/** What one contribution offers each slot: the smallest of its ids that land there. */
export function sampleOffers(values: readonly string[], limits: StateLimits): Map<number, string> {
  const offers = new Map<number, string>();
  for (const id of [...values].sort()) {
    const slot = sampleSlotOf(id, limits);
    if (!offers.has(slot)) offers.set(slot, id);
  }
  return offers;
}

function unionBelow(current: readonly string[], added: readonly string[], bound: number): string[] {
  return current.length < bound ? union(current, added) : [...current];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** A group that crossed both thresholds: what `scan` prints and what an alert says. */
export interface Finding {
  readonly ruleId: string;
  readonly ruleName: string;
  /** How alerts name the finding: the rule's own words, or defaults from its name and distinct field. */
  readonly presentation: RulePresentation;
  readonly severity: RuleDefinition['severity'];
  /** The rule's tags (a Sigma rule's `tags`), when it has any. */
  readonly tags?: readonly string[];
  readonly arn: string | null;
  /** Values of the rule's further group-by fields (the S3 posture rule's source IP), by field name. */
  readonly groupedBy: Readonly<Record<string, string | null>>;
  /** ISO-8601 UTC with `Z`. */
  readonly windowStart: string;
  readonly windowSeconds: number;
  /** `aligned` (epoch-aligned, as Elastic's) or `offset` by half a window (hopping mode). */
  readonly window: 'aligned' | 'offset';
  /** The field whose distinct values the rule counts (`awsRegion` for the EC2 rule). */
  readonly distinctField: string;
  readonly distinctCount: number;
  readonly eventCount: number;
  readonly distinctValues: readonly string[];
  readonly failedCount: number;
  readonly firstEventTime: string;
  readonly lastEventTime: string;
  readonly accountIds: readonly string[];
  readonly identityTypes: readonly string[];
  readonly accessKeyIds: readonly string[];
  readonly sourceIps: readonly string[];
  readonly userAgents: readonly string[];
  readonly sessionIssuers: readonly string[];
  readonly sampleEventIds: readonly string[];
  /** Set on a building block's finding: kept and shown, never published. */
  readonly buildingBlock?: true;
  /**
   * A correlation's finding: the findings it counted, oldest window first (at most the bounded list; its
   * `eventCount` is how many there are in all).
   */
  readonly contributingFindings?: readonly ContributingFinding[];
}

/** One finding a correlation counted, named as its rule's alerts name it. */
export interface ContributingFinding extends FindingSummary {
  /** The rule's title (its slug when the rule is no longer enabled). */
  readonly title: string;
  readonly distinctNoun: string;
  readonly eventNoun: string;
}

/**
 * True when the group crossed both of the rule's thresholds (and, for a correlation, holds a finding of
 * every rule it requires). Counts and distinct values only grow, so once true it stays true.
 */
export function crossesThresholds(state: WindowState, rule: RuleDefinition): boolean {
  return (
    state.distinctValues.length >= rule.minDistinct &&
    eventCountOf(state) >= rule.minEvents &&
    (rule.correlation?.requires ?? []).every((slug) => state.distinctValues.includes(slug))
  );
}

/**
 * The finding for `state`, or undefined while it is below either threshold. `rules` (the enabled rules)
 * name a correlation's contributing findings.
 */
export function findingOf(
  state: WindowState,
  rule: RuleDefinition,
  rules: readonly RuleDefinition[] = [],
): Finding | undefined {
  if (!crossesThresholds(state, rule)) return undefined;
  const sorted = (values: readonly string[]) => [...values].sort();
  return {
    ruleId: rule.id,
    ruleName: rule.name,
    presentation: presentationOf(rule),
    severity: rule.severity,
    ...(rule.tags === undefined || rule.tags.length === 0 ? {} : { tags: rule.tags }),
    arn: state.arn,
    groupedBy: Object.fromEntries(
      rule.groupBy.slice(1).map((field, index) => [field, state.by?.[index] ?? null]),
    ),
    windowStart: new Date(state.windowStart).toISOString(),
    windowSeconds: rule.windowSeconds,
    window: windowKindOf(state.windowStart, rule.windowSeconds),
    distinctField: rule.distinctField,
    distinctCount: state.distinctValues.length,
    eventCount: eventCountOf(state),
    distinctValues: sorted(state.distinctValues),
    failedCount: state.failedCount,
    firstEventTime: new Date(state.firstEventTime).toISOString(),
    lastEventTime: new Date(state.lastEventTime).toISOString(),
    accountIds: sorted(state.context.accountIds),
    identityTypes: sorted(state.context.identityTypes),
    accessKeyIds: sorted(state.context.accessKeyIds),
    sourceIps: sorted(state.context.sourceIps),
    userAgents: sorted(state.context.userAgents),
    sessionIssuers: sorted(state.context.sessionIssuers),
    sampleEventIds: sorted(state.context.sampleEventIds),
    ...(rule.buildingBlock === true ? { buildingBlock: true as const } : {}),
    ...(rule.correlation === undefined
      ? {}
      : { contributingFindings: contributingFindingsOf(state.context.findings, rules) }),
  };
}

function contributingFindingsOf(
  texts: readonly string[],
  rules: readonly RuleDefinition[],
): ContributingFinding[] {
  return decodeFindingSummaries(texts).map((summary) => {
    const rule = rules.find((candidate) => candidate.slug === summary.rule);
    const words =
      rule === undefined
        ? { title: summary.rule, distinctNoun: 'distinct values', eventNoun: 'events' }
        : presentationOf(rule);
    return { ...summary, ...words };
  });
}

/**
 * The rule's presentation, or for a rule without one: its name as title, `distinct <field> values` and
 * `matching events`.
 */
export function presentationOf(rule: RuleDefinition): RulePresentation {
  return (
    rule.presentation ?? {
      title: rule.name,
      distinctNoun: `distinct ${rule.distinctField} values`,
      eventNoun: 'matching events',
    }
  );
}

/** The finding for `state` under whichever of `rules` it belongs to; undefined below thresholds or for an unknown rule. */
export function findingUnder(state: WindowState, rules: readonly RuleDefinition[]): Finding | undefined {
  const rule = rules.find((candidate) => candidate.id === state.ruleId);
  return rule === undefined ? undefined : findingOf(state, rule, rules);
}

/** The findings among `states` (windows crossing their rule's thresholds), newest window first. */
export function findingsAmong(states: readonly WindowState[], rules: readonly RuleDefinition[]): Finding[] {
  return states.flatMap((state) => findingUnder(state, rules) ?? []).sort(compareFindings);
}

/** Order of findings everywhere: newest window first, then ARN (null last), as the ES|QL rule sorts. */
export function compareFindings(a: Finding, b: Finding): number {
  if (a.windowStart !== b.windowStart) return a.windowStart < b.windowStart ? 1 : -1;
  if (a.arn === b.arn) return a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0;
  if (a.arn === null) return 1;
  if (b.arn === null) return -1;
  return a.arn < b.arn ? -1 : 1;
}

/** The UTF-8 size of `value` (a lone surrogate counts as the 3 bytes of its replacement character). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (const char of value) bytes += utf8Size(char.codePointAt(0) ?? 0);
  return bytes;
}

function utf8Size(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}

/** The longest prefix of `value` of at most `maxBytes` UTF-8 bytes, never splitting a character. */
function prefixOfBytes(value: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    bytes += utf8Size(char.codePointAt(0) ?? 0);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return value.slice(0, end);
}

const ELLIPSIS = '\u2026';

/**
 * True when `value` has at most `maxBytes` UTF-8 bytes whatever its characters: each UTF-16 unit takes at most
 * three (a surrogate pair, two units, takes four). Spares counting the bytes of the many short values.
 */
function fitsSurely(value: string, maxBytes: number): boolean {
  return value.length * 3 <= maxBytes;
}

/** `value` when it fits in `maxBytes` UTF-8 bytes; otherwise cut to fit, ending in an ellipsis. */
export function boundedText(value: string, maxBytes: number): string {
  if (fitsSurely(value, maxBytes) || utf8Length(value) <= maxBytes) return value;
  return `${prefixOfBytes(value, maxBytes - utf8Length(ELLIPSIS))}${ELLIPSIS}`;
}

/**
 * A distinct value as stored and counted: itself when it fits in `maxBytes` UTF-8 bytes; otherwise its
 * start, an ellipsis and 96 bits of SHA-256 of the whole value, in `maxBytes`. Two long values stay two
 * distinct values (a cut alone would merge values that share a prefix), and the alert still shows most of
 * each.
 */
export function boundedDistinctValue(value: string, maxBytes: number): string {
  if (fitsSurely(value, maxBytes) || utf8Length(value) <= maxBytes) return value;
  const tail = `${ELLIPSIS}#${createHash('sha256').update(value).digest('base64url').slice(0, 16)}`;
  return `${prefixOfBytes(value, maxBytes - utf8Length(tail))}${tail}`;
}
