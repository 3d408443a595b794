import { ConfigError } from '../errors';
import {
  CORRELATION_DISTINCT_FIELD,
  type CorrelationSpec,
  type FieldCondition,
  type FilterNode,
  IDENTITY_FIELD,
  MAX_FILTER_DEPTH,
  type RuleDefinition,
  type RulePresentation,
  type UpstreamRule,
  validateRule,
} from './rule';
import { isValueMatch, type ValueMatch } from './value-match';
import type { ValueView } from './value-views';

/**
 * Parses user rule definitions from JSON text: one definition or an array of them. Every field is checked,
 * unknown fields are refused, and each definition is validated; errors name `source` and the rule.
 *
 * The format (see RuleDefinition and FieldCondition for the semantics):
 * - `id`, `name`, `filter`, `windowSeconds`, `distinctField`, `minDistinct`: required.
 * - `slug` (defaults to `id`), `severity` (`low`), `windowMode` (`tumbling`), `groupBy` (the identity alone;
 *   a string is one field; the first field is always `userIdentity.arn`), `minEvents` (1), `technique`,
 *   `presentation` (alerts then use the name and the distinct field), `tags` (strings shown in alerts).
 * - `groupAs`: `{ "<further groupBy field>": "<view>" }`, the view a group value is read through
 *   (`{ "sourceIPAddress": "ip" }`: spellings of one address are one group, a non-address a null group).
 * - `textValues`: true (Sigma rules): number and boolean group and distinct values count as their text.
 * - `follows`: `{ "ruleId", "version", "queryDate": "YYYY-MM-DD" }`, the upstream rule the rule follows.
 * - A condition: `field` (a dotted path, or an array of paths: the first that holds a value), optionally
 *   `as` (a view: `ip`, `userAgentName`, `flattened`), and tests that must all hold: `equals`, `notEquals`,
 *   `startsWith` (lists of strings, never empty ones), `matches` (a regular expression, unanchored unless
 *   it says so), `present` (true or false). `as: "userAgentName"` allows `equals`, `notEquals` and `present`
 *   with AWS client names (AWS_CLIENT_NAMES); `as: "ip"` compares addresses written as Elastic prints them
 *   (`2001:db8::1`, not `2001:DB8:0::1`).
 * - A filter entry may also be `{ "allOf": [...] }`, `{ "anyOf": [...] }` or `{ "not": {...} }` of entries,
 *   or a Sigma value test (see ValueMatch): `field` (one dotted path) and exactly one of `like` (Sigma values,
 *   with `cased`), `regex`, `cidr`, `exists` (true or false), `isNull` (true).
 * - `buildingBlock`: true keeps the rule's findings (stored, counted, shown by `scan`, fed to correlations)
 *   without publishing them.
 * - A correlation over findings has `correlation: { "rules": [slugs or ids], "requires": [...] }` instead of
 *   `filter` and `distinctField`: one identity with findings of at least `minDistinct` of those rules
 *   (every one of `requires` among them) within `windowSeconds` (up to an hour). Each rule it names must be
 *   enabled.
 */
export function parseRuleDefinitions(json: string, source: string): RuleDefinition[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`${source}: rule definitions are not JSON`, { cause: error });
  }
  return (Array.isArray(value) ? value : [value]).map((entry, index) => toRule(entry, `${source}[${index}]`));
}

const RULE_FIELDS = new Set([
  'groupAs',
  'follows',
  'id',
  'slug',
  'name',
  'severity',
  'filter',
  'windowSeconds',
  'windowMode',
  'groupBy',
  'distinctField',
  'minDistinct',
  'minEvents',
  'technique',
  'presentation',
  'tags',
  'textValues',
  'buildingBlock',
  'correlation',
]);
const CORRELATION_FIELDS = new Set(['rules', 'requires']);
const VALUE_MATCH_FIELDS = new Set(['field', 'like', 'cased', 'regex', 'cidr', 'exists', 'isNull']);
const CONDITION_FIELDS = new Set(['field', 'as', 'equals', 'notEquals', 'startsWith', 'matches', 'present']);
const FOLLOWS_FIELDS = new Set(['ruleId', 'version', 'queryDate']);

/** Checks one parsed definition (from JSON or a TypeScript module) and returns it as a RuleDefinition. */
export function toRule(value: unknown, source: string): RuleDefinition {
  const record = objectAt(value, source);
  refuseUnknown(record, RULE_FIELDS, source);
  const id = stringAt(record, 'id', source);
  const where = `${source} (${id})`;
  const groupBy = record.groupBy ?? [IDENTITY_FIELD];
  const severity = record.severity ?? 'low';
  if (
    typeof severity !== 'string' ||
    !['informational', 'low', 'medium', 'high', 'critical'].includes(severity)
  ) {
    throw new ConfigError(`${where}: severity must be informational, low, medium, high or critical`);
  }
  const correlation =
    record.correlation === undefined ? undefined : toCorrelation(record.correlation, `${where}.correlation`);
  const filter = record.filter ?? (correlation === undefined ? undefined : []);
  if (!Array.isArray(filter)) throw new ConfigError(`${where}: filter must be an array of conditions`);
  const buildingBlock = record.buildingBlock;
  if (buildingBlock !== undefined && typeof buildingBlock !== 'boolean') {
    throw new ConfigError(`${where}: buildingBlock must be true or false`);
  }
  const rule: RuleDefinition = {
    id,
    slug: record.slug === undefined ? id : stringAt(record, 'slug', where),
    name: stringAt(record, 'name', where),
    severity: severity as RuleDefinition['severity'],
    filter: filter.map((node, index) => toFilterNode(node, `${where}.filter[${index}]`, 1)),
    windowSeconds: numberAt(record, 'windowSeconds', where),
    windowMode: (record.windowMode ?? 'tumbling') as RuleDefinition['windowMode'],
    groupBy: typeof groupBy === 'string' ? [groupBy] : stringListAt({ groupBy }, 'groupBy', where),
    distinctField:
      correlation !== undefined && record.distinctField === undefined
        ? CORRELATION_DISTINCT_FIELD
        : stringAt(record, 'distinctField', where),
    minDistinct: numberAt(record, 'minDistinct', where),
    minEvents: record.minEvents === undefined ? 1 : numberAt(record, 'minEvents', where),
    ...(record.technique === undefined
      ? {}
      : { technique: toTechnique(record.technique, `${where}.technique`) }),
    ...(record.tags === undefined ? {} : { tags: stringListAt(record, 'tags', where) }),
    ...(record.presentation === undefined
      ? {}
      : { presentation: toPresentation(record.presentation, `${where}.presentation`) }),
    ...(record.groupAs === undefined ? {} : { groupAs: toGroupAs(record.groupAs, `${where}.groupAs`) }),
    ...(record.follows === undefined ? {} : { follows: toFollows(record.follows, `${where}.follows`) }),
    ...(record.textValues === undefined ? {} : { textValues: trueAt(record, 'textValues', where) }),
    ...(buildingBlock === true ? { buildingBlock } : {}),
    ...(correlation === undefined ? {} : { correlation }),
  };
  validateRule(rule);
  return rule;
}

function toTechnique(value: unknown, source: string): { id: string; name: string } {
  const record = objectAt(value, source);
  refuseUnknown(record, new Set(['id', 'name']), source);
  return { id: stringAt(record, 'id', source), name: stringAt(record, 'name', source) };
}

/** One filter entry: allOf, anyOf, not, a Sigma value test, or a FieldCondition. */
function toFilterNode(value: unknown, source: string, depth: number): FilterNode {
  const record = objectAt(value, source);
  if (depth > MAX_FILTER_DEPTH) {
    throw new ConfigError(`${source}: the filter nests allOf, anyOf and not deeper than ${MAX_FILTER_DEPTH}`);
  }
  for (const key of ['allOf', 'anyOf', 'not'] as const) {
    if (!(key in record)) continue;
    refuseUnknown(record, new Set([key]), source);
    if (key === 'not') return { not: toFilterNode(record.not, `${source}.not`, depth + 1) };
    const children = record[key];
    if (!Array.isArray(children))
      throw new ConfigError(`${source}: ${key} must be an array of filter entries`);
    const nodes = children.map((child, index) =>
      toFilterNode(child, `${source}.${key}[${index}]`, depth + 1),
    );
    return key === 'allOf' ? { allOf: nodes } : { anyOf: nodes };
  }
  return isValueMatch(record) ? toValueMatch(record, source) : toCondition(record, source);
}

function toValueMatch(record: Record<string, unknown>, source: string): ValueMatch {
  refuseUnknown(record, VALUE_MATCH_FIELDS, source);
  for (const key of ['cased', 'exists', 'isNull'] as const) {
    if (record[key] !== undefined && typeof record[key] !== 'boolean') {
      throw new ConfigError(`${source}: ${key} must be true or false`);
    }
  }
  return {
    field: stringAt(record, 'field', source),
    ...(record.like === undefined ? {} : { like: stringListAt(record, 'like', source) }),
    ...(record.cased === undefined ? {} : { cased: record.cased as boolean }),
    ...(record.regex === undefined ? {} : { regex: stringAt(record, 'regex', source) }),
    ...(record.cidr === undefined ? {} : { cidr: stringListAt(record, 'cidr', source) }),
    ...(record.exists === undefined ? {} : { exists: record.exists as boolean }),
    ...(record.isNull === undefined ? {} : { isNull: record.isNull as true }),
  };
}

function toCondition(record: Record<string, unknown>, source: string): FieldCondition {
  refuseUnknown(record, CONDITION_FIELDS, source);
  const present = record.present;
  if (present !== undefined && typeof present !== 'boolean') {
    throw new ConfigError(`${source}: present must be true or false`);
  }
  return {
    field: Array.isArray(record.field)
      ? stringListAt(record, 'field', source)
      : stringAt(record, 'field', source),
    ...(record.as === undefined ? {} : { as: stringAt(record, 'as', source) as ValueView }),
    ...(record.equals === undefined ? {} : { equals: stringListAt(record, 'equals', source) }),
    ...(record.notEquals === undefined ? {} : { notEquals: stringListAt(record, 'notEquals', source) }),
    ...(record.startsWith === undefined ? {} : { startsWith: stringListAt(record, 'startsWith', source) }),
    ...(record.matches === undefined ? {} : { matches: stringAt(record, 'matches', source) }),
    ...(present === undefined ? {} : { present }),
  };
}

/** Group-by field to view; each view is checked by validateRule. */
function toGroupAs(value: unknown, source: string): Record<string, ValueView> {
  const record = objectAt(value, source);
  return Object.fromEntries(
    Object.keys(record).map((field) => [field, stringAt(record, field, source) as ValueView]),
  );
}

function toCorrelation(value: unknown, source: string): CorrelationSpec {
  const record = objectAt(value, source);
  refuseUnknown(record, CORRELATION_FIELDS, source);
  return {
    rules: stringListAt(record, 'rules', source),
    ...(record.requires === undefined ? {} : { requires: stringListAt(record, 'requires', source) }),
  };
}

function toFollows(value: unknown, source: string): UpstreamRule {
  const record = objectAt(value, source);
  refuseUnknown(record, FOLLOWS_FIELDS, source);
  return {
    ruleId: stringAt(record, 'ruleId', source),
    version: stringAt(record, 'version', source),
    queryDate: stringAt(record, 'queryDate', source),
  };
}

const PRESENTATION_FIELDS = new Set(['title', 'distinctNoun', 'eventNoun', 'perEvent', 'description']);
/** The presentation's words, each within a limit of its own. */
type PresentationWords = 'title' | 'distinctNoun' | 'eventNoun';
/**
 * Longest description: it travels with the rule in the function's environment (4 KB for all variables
 * together), and alerts show it neutralised, so any text is allowed.
 */
export const MAX_DESCRIPTION_LENGTH = 300;

/** Longest text of each presentation field: they go into a subject of fewer than 100 characters. */
export const PRESENTATION_LIMITS: Readonly<Record<PresentationWords, number>> = {
  title: 48,
  distinctNoun: 32,
  eventNoun: 64,
};

/**
 * Plain words: ASCII letters and digits, single spaces and a little punctuation (`- / ( ) , . : ' + #`),
 * starting with a letter or digit and not ending in a space. Alerts neutralise it anyway; this keeps a rule
 * author from writing markup or line breaks that would only show up escaped.
 */
const PLAIN_TEXT = /^[A-Za-z0-9](?:[A-Za-z0-9\-/(),.:'+#]| (?! )(?!$))*$/;

/** True when `text` may stand as the presentation's `name` (plain words within its limit). */
export function isPresentationText(name: PresentationWords, text: string): boolean {
  return text.length <= PRESENTATION_LIMITS[name] && PLAIN_TEXT.test(text);
}

function toPresentation(value: unknown, source: string): RulePresentation {
  const record = objectAt(value, source);
  refuseUnknown(record, PRESENTATION_FIELDS, source);
  const text = (name: PresentationWords): string => {
    const entry = stringAt(record, name, source);
    const max = PRESENTATION_LIMITS[name];
    if (!isPresentationText(name, entry)) {
      throw new ConfigError(
        `${source}: ${name} must be plain text of at most ${max} characters (letters, digits, single spaces and - / ( ) , . : ' + #), got ${JSON.stringify(entry.slice(0, max + 8))}`,
      );
    }
    return entry;
  };
  if (record.perEvent !== undefined && record.perEvent !== true) {
    throw new ConfigError(`${source}.perEvent must be true when given`);
  }
  const description = record.description === undefined ? undefined : stringAt(record, 'description', source);
  if (description !== undefined && (description === '' || description.length > MAX_DESCRIPTION_LENGTH)) {
    throw new ConfigError(`${source}.description must be text of 1 to ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  return {
    title: text('title'),
    distinctNoun: text('distinctNoun'),
    eventNoun: text('eventNoun'),
    ...(record.perEvent === true ? { perEvent: true } : {}),
    ...(description === undefined ? {} : { description }),
  };
}

function objectAt(value: unknown, source: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source}: must be an object`);
  }
  return value as Record<string, unknown>;
}

function refuseUnknown(record: Record<string, unknown>, known: ReadonlySet<string>, source: string): void {
  const unknown = Object.keys(record).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new ConfigError(`${source}: unknown field(s) ${unknown.join(', ')}`);
}

function trueAt(record: Record<string, unknown>, name: string, source: string): true {
  if (record[name] !== true) throw new ConfigError(`${source}.${name} must be true when given`);
  return true;
}

function stringAt(record: Record<string, unknown>, name: string, source: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`${source}: ${name} must be a non-empty string`);
  return value;
}

function numberAt(record: Record<string, unknown>, name: string, source: string): number {
  const value = record[name];
  if (typeof value !== 'number') throw new ConfigError(`${source}: ${name} must be a number`);
  return value;
}

function stringListAt(record: Record<string, unknown>, name: string, source: string): string[] {
  const value = record[name];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new ConfigError(`${source}: ${name} must be an array of strings`);
  }
  return value as string[];
}
