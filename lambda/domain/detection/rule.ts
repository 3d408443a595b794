import { definedOnly } from '../defined-only';
import { ConfigError } from '../errors';
import {
  compileRe2,
  compileValueMatch,
  isValueMatch,
  type LikePiece,
  likePieces,
  type ValueMatch,
  validateValueMatch,
  valuesAlong,
} from './value-match';
import { AWS_CLIENT_NAMES, canonicalIp, VALUE_VIEWS, type ValueView, viewValue } from './value-views';

/**
 * One test on a dotted field path of a CloudTrail record. Semantics follow ES|QL, where a missing value is
 * null and null satisfies no comparison: every string test needs the field to hold exactly one string
 * (an array of several values, like ES|QL's multi-values, satisfies none). All tests given must hold.
 * An empty string is a missing value, as Elastic's pipeline drops empty values before any rule sees them.
 */
export interface FieldCondition {
  /**
   * A dotted path, or several: the first that holds a value is the field's value (Elastic's `user.name` is
   * `userIdentity.userName`, else `userIdentity.sessionContext.sessionIssuer.userName`).
   */
  readonly field: string | readonly string[];
  /**
   * Test the value through a view, as Elastic derives it (see value-views.ts): `ip` (the address, or no
   * value when the text is not an IP address: `source.ip`), `userAgentName` (the AWS client an agent names:
   * `user_agent.name`), `flattened` (an object as text: `aws.cloudtrail.request_parameters`).
   */
  readonly as?: ValueView;
  /** The value equals one of these. */
  readonly equals?: readonly string[];
  /** The value equals none of these (a missing value fails, as `field != "x"` does in ES|QL). */
  readonly notEquals?: readonly string[];
  /** The value starts with one of these (ES|QL `starts_with`, `LIKE "x*"`). */
  readonly startsWith?: readonly string[];
  /**
   * The value matches this regular expression, unanchored unless it says so. RE2 syntax (no lookaround, no
   * backreferences), run by a linear-time engine: a log value can never make a pattern backtrack.
   */
  readonly matches?: string;
  /** true: the field holds a value (`IS NOT NULL`); false: it holds none (`IS NULL`). */
  readonly present?: boolean;
}

/**
 * A rule's filter as a boolean expression: a leaf tests one field (FieldCondition with ES|QL's semantics,
 * ValueMatch with Sigma's), `allOf` holds when every child does, `anyOf` when one does, `not` when its child
 * does not. A Sigma condition (`selection and not 1 of filter*`) becomes one of these.
 */
export type FilterNode =
  | FieldCondition
  | ValueMatch
  | { readonly allOf: readonly FilterNode[] }
  | { readonly anyOf: readonly FilterNode[] }
  | { readonly not: FilterNode };

/** Deepest nesting of allOf, anyOf and not a filter may have (a rule's own text: far above any real rule). */
export const MAX_FILTER_DEPTH = 32;

/** `tumbling`: epoch-aligned windows (Elastic parity). `hopping`: also windows offset by half a window. */
export type WindowMode = 'tumbling' | 'hopping';

export function isWindowMode(value: unknown): value is WindowMode {
  return value === 'tumbling' || value === 'hopping';
}

/** Why `value` is no window mode, in the words every place that takes one uses (after naming itself). */
export function windowModeMismatch(value: unknown): string {
  return `must be tumbling or hopping, got ${JSON.stringify(value)}`;
}

/**
 * How alerts and `scan` name what a rule found. Written by whoever writes the rule (checked as plain short text
 * when a definition is parsed) and still neutralised wherever it is shown.
 */
export interface RulePresentation {
  /** Names the finding: `EC2 DescribeInstances sweep`. */
  readonly title: string;
  /** What the distinct values are, plural: `regions`. */
  readonly distinctNoun: string;
  /** What the counted events are, plural: `DescribeInstances calls`. */
  readonly eventNoun: string;
  /**
   * True for a rule that alerts once per matching event (a Sigma detection rule, grouped by eventID): alerts
   * tell of the one event and its time, not of a burst in a window.
   */
  readonly perEvent?: true;
  /** What the rule detects, in its author's words (Sigma's `description`): shown in the email and chat. */
  readonly description?: string;
}

/**
 * A detection rule of the "one identity, many distinct values, short window" shape, as data.
 * Semantics follow Elastic's ES|QL: filter, `DATE_TRUNC(window, eventTime)`, `STATS count_distinct(distinctField),
 * count(*) BY window, groupBy...` (a missing group value forms one null group), then both thresholds.
 */
export interface RuleDefinition {
  /** Stable identifier, part of every stored key (Elastic's rule_id for the built-in rules). */
  readonly id: string;
  /** Short name used to select the rule (`--rules`, the `rules` context key). */
  readonly slug: string;
  readonly name: string;
  readonly severity: 'informational' | 'low' | 'medium' | 'high' | 'critical';
  /** Every node must hold (AND). */
  readonly filter: readonly FilterNode[];
  /** Window length; windows are aligned to the Unix epoch in UTC. */
  readonly windowSeconds: number;
  readonly windowMode: WindowMode;
  /** Group-by fields; the first is always `userIdentity.arn` (the identity the alert is about). */
  readonly groupBy: readonly string[];
  /** The field whose distinct values are counted; every value of an array counts (ES|QL multi-values). */
  readonly distinctField: string;
  /** Fire when distinct values >= minDistinct ... */
  readonly minDistinct: number;
  /** ... AND events (duplicate eventIDs counted once) >= minEvents. */
  readonly minEvents: number;
  /** MITRE ATT&CK technique, as `regionsweep rules` shows it. */
  readonly technique?: { readonly id: string; readonly name: string };
  /** Tags of the rule (Sigma's `tags`, such as `attack.discovery` or `attack.t1580`), shown in its alerts. */
  readonly tags?: readonly string[];
  /** Words for alerts; without it, alerts use the rule's name and the distinct field (see presentationOf). */
  readonly presentation?: RulePresentation;
  /**
   * Views for further group-by fields: `{ "sourceIPAddress": "ip" }` groups equivalent spellings of one
   * address together (Elastic groups by `source.ip`, an IP field); a value the view rejects is a null group.
   */
  readonly groupAs?: Readonly<Record<string, ValueView>>;
  /**
   * Group values and distinct values that are numbers or booleans count as their text (`5`, `true`), as Sigma
   * compares values; without it (Elastic's rules, whose fields are keywords) such a record is invalid. An
   * object or array group value, or an object distinct value, is invalid either way.
   */
  readonly textValues?: true;
  /** The upstream rule this one follows, as shown by `regionsweep rules`. */
  readonly follows?: UpstreamRule;
  /**
   * A building block: its findings are kept (on the window item), counted and shown by `scan`, and may feed
   * a correlation, but are never published.
   */
  readonly buildingBlock?: boolean;
  /**
   * Present on a correlation over findings: the rule counts the findings of other rules instead of events.
   * Its group is the identity, its distinct field the contributing rule (CORRELATION_DISTINCT_FIELD), its
   * filter empty; see correlation.ts.
   */
  readonly correlation?: CorrelationSpec;
}

/** "One identity with findings of at least `minDistinct` of these rules within `windowSeconds`." */
export interface CorrelationSpec {
  /** The rules whose findings count, by slug (ids are resolved to slugs when rules are selected). */
  readonly rules: readonly string[];
  /** Rules that must each have a finding among them (the campaign needs the EC2 sweep), by slug. */
  readonly requires?: readonly string[];
}

/** The distinct field of a correlation: the slug of the rule each counted finding belongs to. */
export const CORRELATION_DISTINCT_FIELD = 'rule';

/** True for a correlation over findings (no filter: it reads no event). */
export function isCorrelation(rule: RuleDefinition): boolean {
  return rule.correlation !== undefined;
}

/** Which version of an upstream (Elastic) rule a rule follows. */
export interface UpstreamRule {
  /** The upstream rule's id. */
  readonly ruleId: string;
  /** Which definition: Elastic's TOML has no version number, so the repository commit it was taken at. */
  readonly version: string;
  /** The date of the query (the TOML's `updated_date`), YYYY-MM-DD. */
  readonly queryDate: string;
}

/** Every rule groups by identity first: allowlists, suppression and the alert are about an identity. */
export const IDENTITY_FIELD = 'userIdentity.arn';

/** Upper bound on distinct values kept per group; a threshold above it could never fire. */
export const MAX_DISTINCT_TRACKED = 64;

/**
 * The longest window a rule may have: 30 minutes. Two bounds of a window's state follow from it. An
 * organization trail of 1,000 accounts in 17 regions delivers about one object per account and region every
 * five minutes, so a window of W seconds has about 17,000 x (W / 300 + 1) contributing objects: 119,000 at
 * 1,800 s, within the 161,000 the DynamoDB store holds per group (its window item and shard items), where an
 * hour (221,000) would not be. And the event-time set keeps at most one value per second of the window:
 * 1,800 numbers stay far below DynamoDB's 400 KB item limit, which a day of seconds (86,400) passes.
 */
export const MAX_WINDOW_SECONDS = 1_800;

/**
 * The longest window of a correlation over findings: one hour. Neither bound above applies to it: its
 * contributors are findings, not objects (at most one per window of each referenced rule and group: 360 for
 * a 10 s rule in an hour, within the window item's own MAX_CONTRIBUTORS, with the shards behind it), and its
 * event-time set holds the whole-second first and last event times of those findings, at most 3,600 numbers
 * (about 40 KB) in an hour.
 */
export const MAX_CORRELATION_WINDOW_SECONDS = 3_600;

/** Overrides a user may give on the command line or in the deployment. */
export interface RuleOverrides {
  readonly minDistinct?: number;
  readonly minEvents?: number;
  readonly windowSeconds?: number;
  readonly windowMode?: WindowMode;
}

/** Returns `rule` with the overrides applied, after checking that the result can work. */
export function withOverrides(rule: RuleDefinition, overrides: RuleOverrides): RuleDefinition {
  const result = { ...rule, ...definedOnly(overrides) };
  validateRule(result);
  return result;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Sigma's tag syntax (its rule schema): namespaced, lower case. Tags are shown in alerts as written. */
export const TAG_PATTERN = /^[a-z0-9_-]+\.[a-z0-9._-]+$/;
const MAX_TAGS = 16;

/** Throws ConfigError naming the first unusable setting of `rule`. */
export function validateRule(rule: RuleDefinition): void {
  const where = `rule ${rule.id}`;
  if (!NAME_PATTERN.test(rule.id) || !NAME_PATTERN.test(rule.slug)) {
    throw new ConfigError(
      `${where}: id and slug must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(rule.id)} / ${JSON.stringify(rule.slug)}`,
    );
  }
  if (rule.correlation !== undefined) {
    validateCorrelation(where, rule, rule.correlation);
  } else {
    requireInteger(`${where}: windowSeconds`, rule.windowSeconds, 1, MAX_WINDOW_SECONDS);
    if (rule.filter.length === 0) throw new ConfigError(`${where}: filter needs at least one condition`);
  }
  requireInteger(`${where}: minDistinct`, rule.minDistinct, 1, MAX_DISTINCT_TRACKED);
  requireInteger(`${where}: minEvents`, rule.minEvents, 1, Number.MAX_SAFE_INTEGER);
  if (!isWindowMode(rule.windowMode)) {
    throw new ConfigError(`${where}: windowMode ${windowModeMismatch(rule.windowMode)}`);
  }
  if (rule.groupBy[0] !== IDENTITY_FIELD || new Set(rule.groupBy).size !== rule.groupBy.length) {
    throw new ConfigError(`${where}: groupBy must start with ${IDENTITY_FIELD} and name each field once`);
  }
  for (const node of rule.filter) validateNode(where, node, 1);
  for (const [field, view] of Object.entries(rule.groupAs ?? {})) {
    if (!rule.groupBy.slice(1).includes(field)) {
      throw new ConfigError(`${where}: groupAs names ${field}, which is not a further groupBy field`);
    }
    requireView(`${where}: groupAs.${field}`, view);
  }
  const tags = rule.tags ?? [];
  if (tags.length > MAX_TAGS || tags.some((tag) => tag.length > 64 || !TAG_PATTERN.test(tag))) {
    throw new ConfigError(
      `${where}: tags must be at most ${MAX_TAGS} namespaced lower-case tags of at most 64 characters (attack.t1580), got ${JSON.stringify(tags).slice(0, 200)}`,
    );
  }
  if (rule.follows !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(rule.follows.queryDate)) {
    throw new ConfigError(`${where}: follows.queryDate must be a date like 2026-07-20`);
  }
}

/**
 * A correlation counts findings by identity: no filter and no further group, the contributing rule as its
 * distinct field, at least one rule named once each, and a threshold its rules can reach.
 */
function validateCorrelation(where: string, rule: RuleDefinition, spec: CorrelationSpec): void {
  requireInteger(`${where}: windowSeconds`, rule.windowSeconds, 1, MAX_CORRELATION_WINDOW_SECONDS);
  if (rule.filter.length > 0)
    throw new ConfigError(`${where}: a correlation counts findings: it has no filter`);
  if (rule.groupBy.length !== 1 || rule.groupAs !== undefined) {
    throw new ConfigError(`${where}: a correlation groups by ${IDENTITY_FIELD} alone`);
  }
  if (rule.distinctField !== CORRELATION_DISTINCT_FIELD) {
    throw new ConfigError(`${where}: a correlation counts distinct ${CORRELATION_DISTINCT_FIELD} values`);
  }
  if (rule.buildingBlock === true)
    throw new ConfigError(`${where}: a correlation cannot be a building block`);
  const requires = spec.requires ?? [];
  if (spec.rules.length === 0 || new Set(spec.rules).size !== spec.rules.length) {
    throw new ConfigError(`${where}: correlation.rules must name at least one rule, each once`);
  }
  if (spec.rules.length > MAX_DISTINCT_TRACKED) {
    throw new ConfigError(`${where}: correlation.rules names more than ${MAX_DISTINCT_TRACKED} rules`);
  }
  const outside = requires.filter((name) => !spec.rules.includes(name));
  if (outside.length > 0 || new Set(requires).size !== requires.length) {
    throw new ConfigError(
      `${where}: correlation.requires must name rules of correlation.rules once each, got ${JSON.stringify(requires)}`,
    );
  }
  if (rule.minDistinct > spec.rules.length) {
    throw new ConfigError(
      `${where}: minDistinct ${rule.minDistinct} can never be reached by the ${spec.rules.length} rule(s) it correlates`,
    );
  }
}

function requireView(at: string, view: unknown): void {
  if (!VALUE_VIEWS.includes(view as ValueView)) {
    throw new ConfigError(`${at}: as must be one of ${VALUE_VIEWS.join(', ')}, got ${JSON.stringify(view)}`);
  }
}

function validateNode(where: string, node: FilterNode, depth: number): void {
  if (depth > MAX_FILTER_DEPTH) {
    throw new ConfigError(`${where}: the filter nests allOf, anyOf and not deeper than ${MAX_FILTER_DEPTH}`);
  }
  if ('not' in node) {
    validateNode(where, node.not, depth + 1);
    return;
  }
  if ('allOf' in node || 'anyOf' in node) {
    const children = 'allOf' in node ? node.allOf : node.anyOf;
    if (children.length === 0) throw new ConfigError(`${where}: allOf and anyOf need at least one node`);
    for (const child of children) validateNode(where, child, depth + 1);
    return;
  }
  if (isValueMatch(node)) {
    if (typeof node.field !== 'string' || node.field === '' || node.field.split('.').includes('')) {
      throw new ConfigError(`${where}: a condition's field must name a dotted path`);
    }
    validateValueMatch(`${where}: condition on ${node.field}`, node);
    return;
  }
  validateCondition(where, node);
}

function validateCondition(where: string, condition: FieldCondition): void {
  const paths = fieldPaths(condition.field);
  const at = `${where}: condition on ${paths.join(' else ')}`;
  if (paths.length === 0 || paths.some((path) => path === '') || new Set(paths).size !== paths.length) {
    throw new ConfigError(`${where}: a condition's field must name one or more distinct dotted paths`);
  }
  const lists = [condition.equals, condition.notEquals, condition.startsWith];
  if (lists.some((list) => list !== undefined && list.length === 0)) {
    throw new ConfigError(`${at}: a value list is empty`);
  }
  if (lists.some((list) => list?.includes(''))) {
    throw new ConfigError(`${at}: an empty string is a missing value; test it with present: false`);
  }
  if (condition.as !== undefined) validateView(at, condition);
  const stringTests =
    lists.filter((list) => list !== undefined).length + (condition.matches === undefined ? 0 : 1);
  if (stringTests === 0 && condition.present === undefined) throw new ConfigError(`${at}: has no test`);
  if (condition.present === false && stringTests > 0) {
    throw new ConfigError(`${at}: present: false cannot be combined with a value test`);
  }
  if (condition.matches !== undefined) compileRe2(at, 'matches', condition.matches);
}

/** A view limits what may be tested, so that every test it allows gives Elastic's answer. */
function validateView(at: string, condition: FieldCondition): void {
  requireView(at, condition.as);
  const compared = [...(condition.equals ?? []), ...(condition.notEquals ?? [])];
  if (condition.as === 'userAgentName') {
    if (condition.startsWith !== undefined || condition.matches !== undefined) {
      throw new ConfigError(`${at}: as userAgentName allows equals, notEquals and present only`);
    }
    const unknown = compared.filter((name) => !AWS_CLIENT_NAMES.includes(name));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${at}: as userAgentName compares AWS client names only (${AWS_CLIENT_NAMES.join(', ')}), got ${unknown.join(', ')}`,
      );
    }
  }
  if (condition.as === 'ip') {
    const spelled = compared.filter((address) => canonicalIp(address) !== address);
    if (spelled.length > 0) {
      throw new ConfigError(
        `${at}: as ip compares addresses as Elastic prints them (${spelled.map((a) => `${a} -> ${canonicalIp(a) ?? 'not an IP address'}`).join(', ')})`,
      );
    }
  }
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * The steps of each dotted path, split once: rules name a handful of paths and read them on every record.
 * Bounded by the paths the loaded rules and the reader name (never by record content).
 */
const pathSteps = new Map<string, readonly string[]>();

function stepsOf(path: string): readonly string[] {
  let steps = pathSteps.get(path);
  if (steps === undefined) {
    steps = path.split('.');
    pathSteps.set(path, steps);
  }
  return steps;
}

/** Reads a dotted path from a parsed record; undefined when any step is missing or not an object. */
export function getField(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const step of stepsOf(path)) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/**
 * Every value at a dotted path, arrays flattened at each step (`resources.ARN` gives each resource's ARN),
 * nulls and empty strings left out: ES|QL's multi-value view of a field, after Elastic's pipeline dropped
 * empty values.
 */
export function fieldValues(record: unknown, path: string): unknown[] {
  const steps = stepsOf(path);
  // Most paths of most records hold one value and no array: followed without building lists, until an
  // array turns up (then the general walk takes over from that step, with the same answer).
  let value: unknown = record;
  for (let index = 0; index < steps.length; index++) {
    if (Array.isArray(value)) return valuesAlong([value], steps, index).filter((v) => v !== null && v !== '');
    if (value === null || typeof value !== 'object') return [];
    const child = (value as Record<string, unknown>)[steps[index] as string];
    if (child === undefined || child === null) return [];
    value = child;
  }
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== '');
  return value === '' ? [] : [value];
}

function fieldPaths(field: string | readonly string[]): readonly string[] {
  return typeof field === 'string' ? [field] : field;
}

/**
 * The values a condition tests: those of its first path that holds any (see fieldValues), each through the
 * condition's view, values the view rejects left out. `flattened` reads the whole value at the path.
 */
export function conditionValues(
  record: unknown,
  field: string | readonly string[],
  view: ValueView | undefined,
): unknown[] {
  for (const path of fieldPaths(field)) {
    if (view === 'flattened') {
      const text = viewValue(view, getField(record, path));
      if (text !== undefined) return [text];
      continue;
    }
    const values = fieldValues(record, path);
    if (values.length === 0) continue;
    if (view === undefined) return values;
    return values.flatMap((value) => viewValue(view, value) ?? []);
  }
  return [];
}

/**
 * The group value of `field` in `record` for `rule`: the string (through the rule's `groupAs` view for the
 * field), null when there is none (one null group, as ES|QL's `BY` makes), or undefined when the field holds
 * something other than a string (the record is invalid).
 */
export function groupValueOf(
  record: unknown,
  field: string,
  rule: RuleDefinition,
): string | null | undefined {
  const value = getField(record, field);
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') return rule.textValues === true ? scalarText(value) : undefined;
  const view = rule.groupAs?.[field];
  return view === undefined ? value : (viewValue(view, value) ?? null);
}

/** A number or boolean as its text (a textValues rule's group or distinct value); undefined for anything else. */
export function scalarText(value: unknown): string | undefined {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

type RecordTest = (record: unknown) => boolean;
const compiledFilters = new WeakMap<RuleDefinition, RecordTest>();

/** The exact filter of the rule: decided on the parsed record, never on raw text. */
export function matchesFilter(record: unknown, rule: RuleDefinition): boolean {
  let test = compiledFilters.get(rule);
  if (test === undefined) {
    const tests = rule.filter.map(compileNode);
    test = (candidate) => tests.every((t) => t(candidate));
    compiledFilters.set(rule, test);
  }
  return test(record);
}

function compileNode(node: FilterNode): RecordTest {
  if ('not' in node) {
    const test = compileNode(node.not);
    return (record) => !test(record);
  }
  if ('allOf' in node) {
    const tests = node.allOf.map(compileNode);
    return (record) => tests.every((test) => test(record));
  }
  if ('anyOf' in node) {
    const tests = node.anyOf.map(compileNode);
    return (record) => tests.some((test) => test(record));
  }
  return isValueMatch(node) ? compileValueMatch(node) : compileCondition(node);
}

function compileCondition(condition: FieldCondition): RecordTest {
  const { field, as, equals, notEquals, startsWith, matches, present } = condition;
  const pattern = matches === undefined ? undefined : compileRe2(`condition on ${field}`, 'matches', matches);
  const hasStringTest = equals ?? notEquals ?? startsWith ?? pattern;
  return (record) => {
    const values = conditionValues(record, field, as);
    if (present === false) return values.length === 0;
    if (present === true && values.length === 0) return false;
    if (hasStringTest === undefined) return true;
    const [value] = values;
    if (values.length !== 1 || typeof value !== 'string') return false;
    return (
      (equals === undefined || equals.includes(value)) &&
      (notEquals === undefined || !notEquals.includes(value)) &&
      (startsWith === undefined || startsWith.some((prefix) => value.startsWith(prefix))) &&
      (pattern === undefined || pattern.matcher(value).find())
    );
  };
}

/**
 * Byte strings a record must contain to possibly match, as the reader's prefilter: for each inner array, at
 * least one of its needles. A cheap test before parsing that never rejects a record `JSON.parse` and the
 * exact rule would match; the decision is always `matchesFilter` on the parsed record.
 *
 * JSON may spell any character of a string as a `\uXXXX` escape (`"\u0044escribeInstances"` is
 * `DescribeInstances`, RFC 8259 section 7), and `"`, `\` and `/` also as `\"`, `\\` and `\/`. So each needle
 * is a value as the JSON text it appears as when written without escapes (`"DescribeInstances"`, or
 * `"Describe` for a prefix), cut before the first character that has a short escape (`"aws-cli` for the
 * prefix `aws-cli/`); and every group also holds `\u`, the start of a unicode escape. A record without any
 * `\u` spells each character but those as itself (non-ASCII as its UTF-8 bytes), so it contains the needle
 * of every value it holds; a record with one is parsed. A condition where some value would give no needle
 * gives no group. With several rules, a record must contain a needle of some rule: one group holding each
 * rule's first group. A rule without needles turns the prefilter off (every record is parsed).
 */
export function prefilterNeedles(rules: RuleDefinition | readonly RuleDefinition[]): Buffer[][] {
  const list = Array.isArray(rules) ? (rules as readonly RuleDefinition[]) : [rules as RuleDefinition];
  const perRule = list.map(ruleNeedles);
  if (perRule.some((groups) => groups.length === 0)) return [];
  const groups = perRule.length === 1 ? (perRule[0] ?? []) : [perRule.flatMap((g) => g[0] ?? [])];
  // Searched last: most records hold a needle of the first group or neither.
  return groups.map((group) => [...group, UNICODE_ESCAPE]);
}

/** The start of a `\uXXXX` escape: any character of a string may be spelled so. */
const UNICODE_ESCAPE = Buffer.from('\\u');

function ruleNeedles(rule: RuleDefinition): Buffer[][] {
  return nodeNeedles({ allOf: rule.filter }).map((texts) =>
    [...new Set(texts)].map((text) => Buffer.from(text, 'utf8')),
  );
}

/**
 * Needle groups of a filter node: every record the node matches holds a needle of each group. `allOf` gives
 * its children's groups, in order; `anyOf` one group joining the first group of each child (none when some
 * child has none); `not` none, since a record may match it by lacking text.
 */
function nodeNeedles(node: FilterNode): string[][] {
  if ('not' in node) return [];
  if ('allOf' in node) return node.allOf.flatMap(nodeNeedles);
  if ('anyOf' in node) {
    const firsts = node.anyOf.map((child) => nodeNeedles(child)[0]);
    return firsts.every((group) => group !== undefined) ? [firsts.flat()] : [];
  }
  const texts = isValueMatch(node) ? valueMatchNeedles(node) : conditionNeedles(node);
  return texts === undefined || texts.some((text) => text === undefined) ? [] : [texts as string[]];
}

function conditionNeedles(condition: FieldCondition): (string | undefined)[] | undefined {
  return condition.as === undefined
    ? (condition.equals?.map((value) => needleText(value, true)) ??
        condition.startsWith?.map((prefix) => needleText(prefix, false)))
    : viewNeedles(condition);
}

/**
 * Needles of a Sigma value test: only `like` with `cased` gives any. A case-insensitive value may be written
 * in any mix of cases (and Unicode folds more letters than ASCII: `K` is also the Kelvin sign), so it gives no
 * text every match holds; nor do `regex`, `cidr`, `exists` and `isNull`.
 */
function valueMatchNeedles(match: ValueMatch): (string | undefined)[] | undefined {
  if (match.like === undefined || match.cased !== true) return undefined;
  return match.like.map((value) => likeNeedle(likePieces(value)));
}

/**
 * Characters of the text of a JSON number or boolean (`1e+21`, `-0.5`, `Infinity` for `1e999`, `true`). Such
 * values are matched as that text but written unquoted, and a number in many spellings (`1e1` is `10`).
 */
const SCALAR_TEXT = /^[0-9.+\-eEInfityNaruls]*$/;

/**
 * The text a record surely holds when a string value matches the cased Sigma value `pieces`: the opening
 * quote and the leading literal (as needleText cuts it) when the value starts with one; otherwise the longest
 * run of plain characters of its literals, unquoted. Undefined when the value could match a number's or a
 * boolean's text (every literal character could be one of theirs), or no character is plain.
 */
function likeNeedle(pieces: readonly LikePiece[]): string | undefined {
  const literals = pieces.flatMap((piece) => ('literal' in piece ? [piece.literal] : []));
  if (literals.every((literal) => SCALAR_TEXT.test(literal))) return undefined;
  const [first] = pieces;
  if (first !== undefined && 'literal' in first) return needleText(first.literal, pieces.length === 1);
  let longest = '';
  for (const literal of literals) {
    let run = '';
    for (const character of [...Array.from(literal), '"']) {
      if (LITERAL_CHARACTER.test(character)) {
        run += character;
        continue;
      }
      if (Array.from(run).length > Array.from(longest).length) longest = run;
      run = '';
    }
  }
  return longest === '' ? undefined : longest;
}

/**
 * Needles of a condition read through a view. `userAgentName` equal to an AWS client's name: the agent holds
 * the name, anywhere (the pattern is not anchored), so the needle is the name without the opening quote.
 * The other views give no needle: an address has many spellings, and flattened text is not in the record.
 */
function viewNeedles(condition: FieldCondition): (string | undefined)[] | undefined {
  if (condition.as !== 'userAgentName') return undefined;
  return condition.equals?.map((name) => needleText(name, false)?.slice(1));
}

/**
 * Characters written as themselves by every JSON writer that uses no `\u` escape: all but the quote,
 * backslash and `/` (which have short escapes), controls (which must be escaped) and lone surrogates
 * (which UTF-8 cannot hold).
 */
const LITERAL_CHARACTER = /^[^\p{Cc}"\\/\p{Cs}]$/u;

/**
 * The JSON text a string value (`whole`) or a string starting with `value` surely contains when written
 * without `\u` escapes: the opening quote, the value's characters up to the first without a single spelling,
 * and the closing quote when the whole value is plain. Undefined when not even one character is plain.
 */
function needleText(value: string, whole: boolean): string | undefined {
  const characters = Array.from(value);
  let plain = 0;
  while (plain < characters.length && LITERAL_CHARACTER.test(characters[plain] ?? '')) plain += 1;
  if (plain === 0) return undefined;
  const text = characters.slice(0, plain).join('');
  return plain === characters.length && whole ? `"${text}"` : `"${text}`;
}

/** Start of the epoch-aligned UTC window holding `epochMs` (`DATE_TRUNC(windowSeconds, eventTime)`). */
export function windowStartOf(epochMs: number, windowSeconds: number): number {
  const size = windowSeconds * 1000;
  return Math.floor(epochMs / size) * size;
}

/**
 * Starts of the windows an event at `epochMs` counts in: its aligned window, and in hopping mode also the
 * window offset by half a window that holds it. Any burst that fits in half a window lies whole in one of them.
 */
export function windowStartsOf(
  epochMs: number,
  rule: Pick<RuleDefinition, 'windowSeconds' | 'windowMode'>,
): number[] {
  const aligned = windowStartOf(epochMs, rule.windowSeconds);
  if (rule.windowMode === 'tumbling') return [aligned];
  const half = rule.windowSeconds * 500;
  return [aligned, windowStartOf(epochMs - half, rule.windowSeconds) + half];
}

/** `aligned` for an epoch-aligned window, `offset` for a hopping window shifted by half its length. */
export function windowKindOf(windowStart: number, windowSeconds: number): 'aligned' | 'offset' {
  return windowStart % (windowSeconds * 1000) === 0 ? 'aligned' : 'offset';
}
