import { type Document, isMap, parseAllDocuments, visit } from 'yaml';
import {
  CORRELATION_DISTINCT_FIELD,
  type FilterNode,
  IDENTITY_FIELD,
  MAX_CORRELATION_WINDOW_SECONDS,
  MAX_WINDOW_SECONDS,
  type RuleDefinition,
  type RulePresentation,
  TAG_PATTERN,
  validateRule,
} from '../../../lambda/domain/detection/rule';
import { isPresentationText, MAX_DESCRIPTION_LENGTH } from '../../../lambda/domain/detection/rule-parser';
import { ConfigError } from '../../../lambda/domain/errors';
import { SigmaRuleError } from '../../errors';
import { detectionFilter } from './sigma-detection';

/**
 * Sigma rules (specification 2.1.0: detection rules and correlation rules) as regionsweep rules. `text` is YAML,
 * one document or several (`---`); `file` names the file in every error.
 *
 * How they map (the README's "Sigma rules" section says the same for users):
 * - A detection rule (`logsource: {product: aws, service: cloudtrail}`, CloudTrail's own field names) that no
 *   correlation of the file refers to, or one referred to by a correlation with top-level `generate: true`, alerts once
 *   per matching event: its window groups by `userIdentity.arn` and `eventID` and fires at one event, so
 *   the window store's claim publishes once per `eventID` however often the event is delivered.
 * - A correlation rule (`event_count`, `value_count`) becomes a windowed rule over the detections it names
 *   (by `name` or `id`; several are linked with OR): `timespan` is the window (at most 30 minutes),
 *   `group-by` the grouping (it must name `userIdentity.arn`, which goes first), `gte: n` (or `gt: n - 1`)
 *   the threshold on events (`event_count`) or on distinct values of `condition.field` (`value_count`).
 *   Tumbling or hopping windows stay a setting of the engine (`--window-mode`), for correlations as for others.
 * - A `temporal` correlation becomes a correlation over findings (see correlation.ts): one identity with a
 *   finding of every detection it names within `timespan` (at most an hour), grouped by `userIdentity.arn`
 *   alone, with no condition. The detections it names become building blocks (each matching event a finding,
 *   kept and counted, never published) unless a correlation naming them says `generate: true`.
 * - `title` is the rule's name, `level` its severity (`low` when absent), `tags` its tags; `name` (else `id`)
 *   its slug, `id` (else `name`) its id.
 * Everything else the specification defines and regionsweep cannot run is refused with a SigmaRuleError
 * naming the construct: other log sources and taxonomies, the unsupported detection constructs (see
 * sigma-detection.ts), `temporal_ordered`, `value_sum`, `value_avg` and `value_percentile`,
 * conditions that need the count to stop growing (`lt`, `lte`, `eq`, `neq`, a range), `aliases`, chained
 * correlations, Sigma filters and rule collections (`action`).
 */
export function parseSigmaRules(text: string, file: string): RuleDefinition[] {
  const documents = readDocuments(text, file);
  const detections: SigmaDetection[] = [];
  const correlations: SigmaCorrelation[] = [];
  documents.forEach((document, index) => {
    const at = `document ${index + 1}`;
    refuseCollections(document, file, at);
    if ('correlation' in document) correlations.push(readCorrelation(document, file, at));
    else if ('detection' in document) detections.push(readDetection(document, file, at));
    else
      throw new SigmaRuleError(
        file,
        'document',
        `${at} is neither a detection rule (detection) nor a correlation rule (correlation)`,
      );
  });
  if (documents.length === 0) throw new SigmaRuleError(file, 'document', 'the file holds no Sigma rule');
  refuseDuplicates([...detections, ...correlations], file);

  // Referred to by an event_count or value_count correlation: counted only inside it. Referred to by a temporal
  // correlation (a correlation over findings): a building block, whose findings the correlation counts. Either
  // way, a detection alerts on its own when some correlation naming it says generate: true.
  const referred = new Set<SigmaDetection>();
  const blocks = new Set<SigmaDetection>();
  const generated = new Set<SigmaDetection>();
  const correlationRules = correlations.map((correlation) => {
    const sources = correlation.rules.map((reference) => {
      const detection = detections.find((rule) => rule.meta.name === reference || rule.meta.id === reference);
      if (detection !== undefined) {
        referred.add(detection);
        if (correlation.type === 'temporal') blocks.add(detection);
        if (correlation.generate) generated.add(detection);
        return detection;
      }
      if (correlations.some((other) => other.meta.name === reference || other.meta.id === reference)) {
        throw new SigmaRuleError(
          file,
          'correlation chaining',
          `${correlation.at} refers to the correlation ${reference}: correlations of correlations are not supported`,
        );
      }
      throw new SigmaRuleError(
        file,
        'correlation rules',
        `${correlation.at} refers to ${reference}, which is the name or id of no detection rule in this file`,
      );
    });
    return correlation.type === 'temporal'
      ? temporalRule(correlation, sources, file)
      : correlationRule(correlation, sources, file);
  });
  const eventRules = detections
    .filter((detection) => !referred.has(detection) || generated.has(detection) || blocks.has(detection))
    .map((detection) => {
      const rule = eventRule(detection, file);
      return blocks.has(detection) && !generated.has(detection) ? { ...rule, buildingBlock: true } : rule;
    });
  return [...eventRules, ...correlationRules];
}

/** The metadata every Sigma rule may carry that regionsweep uses. */
interface SigmaMeta {
  readonly title: string;
  readonly id?: string;
  readonly name?: string;
  readonly level?: RuleDefinition['severity'];
  readonly tags?: readonly string[];
  readonly description?: string;
}

interface SigmaDetection {
  readonly at: string;
  readonly meta: SigmaMeta;
  readonly filter: FilterNode;
}

interface SigmaCorrelation {
  readonly at: string;
  readonly meta: SigmaMeta;
  readonly type: 'event_count' | 'value_count' | 'temporal';
  readonly rules: readonly string[];
  readonly groupBy: readonly string[];
  readonly windowSeconds: number;
  /** event_count, value_count: the count to reach; temporal: how many rules it names (each must match). */
  readonly threshold: number;
  readonly field?: string;
  readonly generate: boolean;
}

function readDocuments(text: string, file: string): Record<string, unknown>[] {
  const documents = parseAllDocuments(text, { schema: 'core', uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(documents)) return [];
  return documents.flatMap((document, index) => {
    const [error] = document.errors;
    if (error !== undefined) {
      throw new SigmaRuleError(file, 'YAML', `document ${index + 1} is not valid YAML: ${error.message}`);
    }
    keepNumbersAsWritten(document);
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return [];
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new SigmaRuleError(file, 'document', `document ${index + 1} is not a map`);
    }
    return [value as Record<string, unknown>];
  });
}

/**
 * Turns each unquoted number under `detection` back into the text written in the rule, which is what Sigma
 * compares: `recipientAccountId: 012345678901` must match "012345678901", not the 12345678901 YAML reads
 * (nor 1.50 as 1.5, 0x17 as 23, an integer above 2^53 rounded). A record's number is compared as its text too.
 */
function keepNumbersAsWritten(document: Document.Parsed): void {
  const contents = document.contents;
  if (!isMap(contents)) return;
  const detection = contents.get('detection', true);
  if (detection === undefined || detection === null || typeof detection !== 'object') return;
  visit(detection, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
}

function refuseCollections(document: Record<string, unknown>, file: string, at: string): void {
  if ('action' in document) {
    throw new SigmaRuleError(
      file,
      'action',
      `${at}: rule collections (action: ${String(document.action)}) are not supported; write each rule whole`,
    );
  }
  if ('filter' in document) {
    throw new SigmaRuleError(
      file,
      'Sigma filter',
      `${at}: Sigma filters (meta filter rules) are not supported; use the allowlist or not in the condition`,
    );
  }
  if ('correlation' in document && 'detection' in document) {
    throw new SigmaRuleError(file, 'document', `${at} holds both detection and correlation`);
  }
}

const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
/** What an id or name must be to serve as a rule id or slug (see validateRule). */
const RULE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function readMeta(document: Record<string, unknown>, file: string, at: string): SigmaMeta {
  const title = document.title;
  if (typeof title !== 'string' || title.trim() === '' || title.length > 256) {
    throw new SigmaRuleError(file, 'title', `${at}: title must be text of 1 to 256 characters`);
  }
  const where = `${at} (${title})`;
  const key = (name: 'id' | 'name'): string | undefined => {
    const value = document[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !RULE_KEY.test(value)) {
      throw new SigmaRuleError(
        file,
        name,
        `${where}: ${name} must be 1-64 letters, digits, '.', '_' or '-' (it names the rule in regionsweep), got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  const level = document.level;
  if (level !== undefined && !LEVELS.includes(level as (typeof LEVELS)[number])) {
    throw new SigmaRuleError(
      file,
      'level',
      `${where}: level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  const tags = document.tags;
  if (
    tags !== undefined &&
    (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || !TAG_PATTERN.test(tag)))
  ) {
    throw new SigmaRuleError(
      file,
      'tags',
      `${where}: tags must be a list of namespaced lower-case tags (attack.t1580), got ${JSON.stringify(tags)}`,
    );
  }
  const taxonomy = document.taxonomy;
  if (taxonomy !== undefined && taxonomy !== 'sigma') {
    throw new SigmaRuleError(
      file,
      'taxonomy',
      `${where}: taxonomy ${JSON.stringify(taxonomy)} is not supported; field names are CloudTrail's own (taxonomy sigma)`,
    );
  }
  if (document.status === 'unsupported') {
    throw new SigmaRuleError(
      file,
      'status unsupported',
      `${where}: the rule says it cannot be used in its current state`,
    );
  }
  const id = key('id');
  const name = key('name');
  const description = document.description;
  if (description !== undefined && typeof description !== 'string') {
    throw new SigmaRuleError(file, 'description', `${where}: description must be text`);
  }
  const said = description === undefined ? '' : shortDescription(description);
  return {
    title: title.trim(),
    ...(id === undefined ? {} : { id }),
    ...(name === undefined ? {} : { name }),
    ...(level === undefined ? {} : { level: level as RuleDefinition['severity'] }),
    ...(tags === undefined ? {} : { tags: tags as string[] }),
    ...(said === '' ? {} : { description: said }),
  };
}

/**
 * The description as alerts show it: one line (YAML block text has line breaks), cut at a word to
 * MAX_DESCRIPTION_LENGTH with `...`: it travels with the rule in the function's 4 KB environment.
 */
function shortDescription(description: string): string {
  const line = description.replace(/\s+/g, ' ').trim();
  if (line.length <= MAX_DESCRIPTION_LENGTH) return line;
  const cut = line.slice(0, MAX_DESCRIPTION_LENGTH - 3);
  const space = cut.lastIndexOf(' ');
  return `${space > MAX_DESCRIPTION_LENGTH / 2 ? cut.slice(0, space) : cut}...`;
}

function readDetection(document: Record<string, unknown>, file: string, at: string): SigmaDetection {
  const meta = readMeta(document, file, at);
  const where = `${at} (${meta.title})`;
  const logsource = document.logsource;
  if (logsource === null || typeof logsource !== 'object' || Array.isArray(logsource)) {
    throw new SigmaRuleError(
      file,
      'logsource',
      `${where}: logsource must be {product: aws, service: cloudtrail}`,
    );
  }
  const { product, service, category } = logsource as Record<string, unknown>;
  if (product !== 'aws' || service !== 'cloudtrail' || category !== undefined) {
    throw new SigmaRuleError(
      file,
      'logsource',
      `${where}: logsource ${JSON.stringify(logsource)} is not supported; regionsweep reads AWS CloudTrail (product: aws, service: cloudtrail, no category)`,
    );
  }
  return { at: where, meta, filter: detectionFilter(document.detection, file, where) };
}

const CORRELATION_FIELDS = new Set(['type', 'rules', 'group-by', 'timespan', 'condition', 'aliases']);
const REFUSED_TYPES: Readonly<Record<string, string>> = {
  temporal_ordered: 'it needs the rules to match in order, which the window counts do not record',
  value_sum: 'it sums a numeric field, which the window counts do not keep',
  value_avg: 'it averages a numeric field, which the window counts do not keep',
  value_percentile: 'it needs every value of the field, which the window counts do not keep',
};
const TIMESPAN = /^([1-9]\d{0,6})([smhd])$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

function readCorrelation(document: Record<string, unknown>, file: string, at: string): SigmaCorrelation {
  const meta = readMeta(document, file, at);
  const where = `${at} (${meta.title})`;
  const correlation = document.correlation;
  if (correlation === null || typeof correlation !== 'object' || Array.isArray(correlation)) {
    throw new SigmaRuleError(file, 'correlation', `${where}: correlation must be a map`);
  }
  const section = correlation as Record<string, unknown>;
  if ('generate' in section) {
    // The correlation rules schema puts generate at the top of the rule, beside level; inside correlation it
    // would be ignored by other Sigma tools, so it is refused rather than read one way here and another there.
    throw new SigmaRuleError(
      file,
      'correlation generate',
      `${where}: generate belongs at the top level of the correlation rule (beside level and correlation), not inside correlation`,
    );
  }
  const unknown = Object.keys(section).filter((key) => !CORRELATION_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new SigmaRuleError(
      file,
      `correlation ${unknown[0]}`,
      `${where}: correlation ${unknown.join(', ')} is not part of the correlation specification`,
    );
  }
  if (section.aliases !== undefined) {
    throw new SigmaRuleError(
      file,
      'correlation aliases',
      `${where}: aliases are not supported; the rules must share their group-by field names`,
    );
  }
  const type = section.type;
  if (typeof type === 'string' && REFUSED_TYPES[type] !== undefined) {
    throw new SigmaRuleError(
      file,
      `correlation type ${type}`,
      `${where}: ${type} is not supported: ${REFUSED_TYPES[type]}`,
    );
  }
  if (type !== 'event_count' && type !== 'value_count' && type !== 'temporal') {
    throw new SigmaRuleError(
      file,
      'correlation type',
      `${where}: type must be event_count, value_count or temporal, got ${JSON.stringify(type)}`,
    );
  }
  const rules = section.rules;
  if (!Array.isArray(rules) || rules.length === 0 || rules.some((rule) => typeof rule !== 'string')) {
    throw new SigmaRuleError(
      file,
      'correlation rules',
      `${where}: rules must list the name or id of one or more detection rules`,
    );
  }
  const groupBy = section['group-by'];
  if (
    !Array.isArray(groupBy) ||
    groupBy.some((field) => typeof field !== 'string' || field === '') ||
    new Set(groupBy).size !== groupBy.length
  ) {
    throw new SigmaRuleError(
      file,
      'correlation group-by',
      `${where}: group-by must list distinct field names`,
    );
  }
  refuseObjectFields(groupBy as string[], 'correlation group-by', 'group by', file, where);
  if (!groupBy.includes(IDENTITY_FIELD)) {
    throw new SigmaRuleError(
      file,
      'correlation group-by',
      `${where}: group-by must name ${IDENTITY_FIELD} (allowlists, suppression and alerts are about an identity), got ${JSON.stringify(groupBy)}`,
    );
  }
  const generate = document.generate ?? false;
  if (typeof generate !== 'boolean') {
    throw new SigmaRuleError(
      file,
      'generate',
      `${where}: generate must be true or false, got ${JSON.stringify(generate)}`,
    );
  }
  const common = {
    at: where,
    meta,
    rules: rules as string[],
    groupBy: [IDENTITY_FIELD, ...(groupBy as string[]).filter((field) => field !== IDENTITY_FIELD)],
    generate,
  };
  if (type === 'temporal') {
    const windowSeconds = temporalWindow(section, groupBy as string[], file, where);
    return { ...common, type, windowSeconds, threshold: new Set(common.rules).size };
  }
  return {
    ...common,
    type,
    windowSeconds: timespanSeconds(section.timespan, MAX_WINDOW_SECONDS, file, where),
    ...correlationCondition(type, section.condition, file, where),
  };
}

/**
 * A temporal correlation is a correlation over findings: one identity with a finding of every rule it names
 * within the timespan (up to an hour, the longest correlation window). It groups by the identity alone and
 * takes no condition (every rule must match).
 */
function temporalWindow(
  section: Record<string, unknown>,
  groupBy: readonly string[],
  file: string,
  where: string,
): number {
  if (groupBy.length !== 1) {
    throw new SigmaRuleError(
      file,
      'correlation group-by',
      `${where}: a temporal correlation groups by ${IDENTITY_FIELD} alone (its findings are an identity's), got ${JSON.stringify(groupBy)}`,
    );
  }
  if (section.condition !== undefined) {
    throw new SigmaRuleError(
      file,
      'correlation condition',
      `${where}: a temporal correlation takes no condition: every rule it names must match within the timespan`,
    );
  }
  return timespanSeconds(section.timespan, MAX_CORRELATION_WINDOW_SECONDS, file, where);
}

function timespanSeconds(timespan: unknown, maxSeconds: number, file: string, where: string): number {
  const parts = typeof timespan === 'string' ? TIMESPAN.exec(timespan) : null;
  if (parts === null) {
    throw new SigmaRuleError(
      file,
      'correlation timespan',
      `${where}: timespan must be a number and s, m, h or d (30s, 5m), got ${JSON.stringify(timespan)}`,
    );
  }
  const seconds = Number(parts[1]) * (UNIT_SECONDS[parts[2] as string] as number);
  if (seconds > maxSeconds) {
    throw new SigmaRuleError(
      file,
      'correlation timespan',
      `${where}: timespan ${String(timespan)} is longer than the engine's longest window, ${maxSeconds / 60} minutes (${maxSeconds} s)`,
    );
  }
  return seconds;
}

/** Bounds a count can only pass once it has stopped growing: refused, since a window alerts while events stream in. */
const UPPER_BOUNDS = ['lt', 'lte', 'eq', 'neq'] as const;

function correlationCondition(
  type: 'event_count' | 'value_count',
  condition: unknown,
  file: string,
  where: string,
): { threshold: number; field?: string } {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) {
    throw new SigmaRuleError(
      file,
      'correlation condition',
      `${where}: condition must be a map such as {gte: 10}`,
    );
  }
  const entries = condition as Record<string, unknown>;
  const bounds = UPPER_BOUNDS.filter((bound) => bound in entries);
  if (bounds.length > 0) {
    const isRange = 'gt' in entries || 'gte' in entries;
    throw new SigmaRuleError(
      file,
      isRange ? `correlation condition range (${bounds.join(', ')})` : `correlation condition ${bounds[0]}`,
      `${where}: ${isRange ? 'a range with an upper bound' : bounds.join(', ')} is not supported: a window alerts as soon as its count reaches the threshold, while events still stream in, so only gte and gt can be decided`,
    );
  }
  const unknown = Object.keys(entries).filter((key) => !['gte', 'gt', 'field'].includes(key));
  if (unknown.length > 0) {
    throw new SigmaRuleError(
      file,
      `correlation condition ${unknown[0]}`,
      `${where}: condition ${unknown.join(', ')} is not part of the correlation specification`,
    );
  }
  const lower = (['gte', 'gt'] as const).filter((bound) => bound in entries);
  if (lower.length !== 1) {
    throw new SigmaRuleError(
      file,
      'correlation condition',
      `${where}: condition needs exactly one of gte and gt`,
    );
  }
  const bound = lower[0] as 'gte' | 'gt';
  const value = entries[bound];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new SigmaRuleError(
      file,
      'correlation condition',
      `${where}: ${bound} must be a whole number, got ${JSON.stringify(value)}`,
    );
  }
  const threshold = bound === 'gt' ? value + 1 : value;
  const field = entries.field;
  if (type === 'event_count') {
    if (field !== undefined)
      throw new SigmaRuleError(
        file,
        'correlation condition field',
        `${where}: event_count counts events and takes no field`,
      );
    return { threshold };
  }
  if (Array.isArray(field)) {
    throw new SigmaRuleError(
      file,
      'correlation condition field list',
      `${where}: value_count over several fields is not supported; count one field`,
    );
  }
  if (typeof field !== 'string' || field === '') {
    throw new SigmaRuleError(
      file,
      'correlation condition field',
      `${where}: value_count needs condition.field, the field whose distinct values are counted`,
    );
  }
  refuseObjectFields([field], 'correlation condition field', 'count the values of', file, where);
  return { threshold, field };
}

/**
 * The fields CloudTrail writes as objects (or lists of objects), per its record contents:
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 * A window groups and counts text (numbers and booleans as their text), so these are refused when the file
 * loads rather than making every matching record invalid at run time.
 */
const OBJECT_FIELDS = new Set([
  'userIdentity',
  'userIdentity.sessionContext',
  'userIdentity.sessionContext.attributes',
  'userIdentity.sessionContext.sessionIssuer',
  'userIdentity.sessionContext.webIdFederationData',
  'userIdentity.onBehalfOf',
  'userIdentity.inScopeOf',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'resources',
  'serviceEventDetails',
  'tlsDetails',
  'addendum',
  'edgeDeviceDetails',
  'insightDetails',
]);

function refuseObjectFields(
  fields: readonly string[],
  construct: string,
  verb: string,
  file: string,
  where: string,
): void {
  const object = fields.find((field) => OBJECT_FIELDS.has(field));
  if (object !== undefined) {
    throw new SigmaRuleError(
      file,
      construct,
      `${where}: ${object} is an object in CloudTrail records, and a window can only ${verb} text, numbers and booleans; name a field inside it`,
    );
  }
}

function refuseDuplicates(rules: readonly { at: string; meta: SigmaMeta }[], file: string): void {
  const seen = new Map<string, string>();
  for (const { at, meta } of rules) {
    for (const key of new Set([meta.id, meta.name])) {
      if (key === undefined) continue;
      const other = seen.get(key);
      if (other !== undefined)
        throw new SigmaRuleError(file, 'id', `${at} and ${other} share the id or name ${key}`);
      seen.set(key, at);
    }
  }
}

/** The id and slug of a rule: Sigma's id and name, each standing in for the other when one is missing. */
function ruleKeys(meta: SigmaMeta, at: string, file: string): { id: string; slug: string } {
  const id = meta.id ?? meta.name;
  const slug = meta.name ?? meta.id;
  if (id === undefined || slug === undefined) {
    throw new SigmaRuleError(
      file,
      'id',
      `${at}: a rule that alerts needs an id or a name (its windows and alerts are keyed by it)`,
    );
  }
  return { id, slug };
}

/**
 * Window of a rule that alerts per event: one second (any length gives one group per `eventID`; the
 * shortest keeps each window item small). The engine's hopping mode leaves it tumbling (pipelineSettings).
 */
const EVENT_RULE_WINDOW_SECONDS = 1;

/** A detection rule alerting once per matching event (per `eventID`): grouped by identity and event id, threshold 1. */
function eventRule(detection: SigmaDetection, file: string): RuleDefinition {
  return checked(
    {
      ...ruleKeys(detection.meta, detection.at, file),
      ...common(detection.meta),
      presentation: { ...presentation(detection.meta, 'event'), perEvent: true },
      filter: [detection.filter],
      windowSeconds: EVENT_RULE_WINDOW_SECONDS,
      windowMode: 'tumbling',
      groupBy: [IDENTITY_FIELD, 'eventID'],
      // Every CloudTrail event has an eventName: one distinct value, and the alert shows it.
      distinctField: 'eventName',
      minDistinct: 1,
      minEvents: 1,
      textValues: true,
    },
    file,
    detection.at,
  );
}

function correlationRule(
  correlation: SigmaCorrelation,
  sources: readonly SigmaDetection[],
  file: string,
): RuleDefinition {
  const filters = sources.map((source) => source.filter);
  const valueCount = correlation.type === 'value_count';
  return checked(
    {
      ...ruleKeys(correlation.meta, correlation.at, file),
      ...common(correlation.meta),
      presentation: presentation(
        correlation.meta,
        valueCount ? valuesNoun(correlation.field as string) : 'event names',
      ),
      filter: [filters.length === 1 ? (filters[0] as FilterNode) : { anyOf: filters }],
      windowSeconds: correlation.windowSeconds,
      windowMode: 'tumbling',
      groupBy: correlation.groupBy,
      // event_count: every CloudTrail event has an eventName, so the distinct threshold of 1 always holds.
      distinctField: valueCount ? (correlation.field as string) : 'eventName',
      minDistinct: valueCount ? correlation.threshold : 1,
      minEvents: valueCount ? 1 : correlation.threshold,
      // Sigma counts and groups values of any type: a number or boolean counts as its text.
      textValues: true,
    },
    file,
    correlation.at,
  );
}

/**
 * A temporal correlation as a correlation over findings: its rules are the detections it names (building
 * blocks, each finding one matching event), all required, grouped by identity within the timespan.
 */
function temporalRule(
  correlation: SigmaCorrelation,
  sources: readonly SigmaDetection[],
  file: string,
): RuleDefinition {
  const slugs = [...new Set(sources.map((source) => ruleKeys(source.meta, source.at, file).slug))];
  return checked(
    {
      ...ruleKeys(correlation.meta, correlation.at, file),
      ...common(correlation.meta),
      presentation: presentation(correlation.meta, 'rules'),
      filter: [],
      windowSeconds: correlation.windowSeconds,
      windowMode: 'tumbling',
      groupBy: [IDENTITY_FIELD],
      distinctField: CORRELATION_DISTINCT_FIELD,
      minDistinct: slugs.length,
      minEvents: 1,
      correlation: { rules: slugs, requires: slugs },
    },
    file,
    correlation.at,
  );
}

function common(meta: SigmaMeta): Pick<RuleDefinition, 'name' | 'severity' | 'tags'> {
  return {
    name: meta.title,
    severity: meta.level ?? 'low',
    ...(meta.tags === undefined ? {} : { tags: meta.tags }),
  };
}

/**
 * The words alerts use for a Sigma rule: its title as plain words of at most 48 characters (the subject's room;
 * the whole title stays the rule's name, shown in the email and the machine document), and nouns for what it
 * counts: `event` for a rule alerting per event (`Title: 1 event by role/x`), `event names` for an event_count,
 * `<field> values` (or `distinct values`) for a value_count; and the rule's description.
 */
function presentation(meta: SigmaMeta, distinctNoun: string): RulePresentation {
  return {
    title: plainTitle(meta.title),
    distinctNoun,
    eventNoun: 'matching events',
    ...(meta.description === undefined ? {} : { description: meta.description }),
  };
}

function plainTitle(title: string): string {
  const words = title
    .replace(/[^A-Za-z0-9\-/(),.:'+# ]/g, ' ')
    .replace(/^[^A-Za-z0-9]+/, '')
    .split(' ')
    .filter((word) => word !== '');
  let text = '';
  for (const word of words) {
    const next = text === '' ? word : `${text} ${word}`;
    if (!isPresentationText('title', next)) break;
    text = next;
  }
  return text === '' ? 'Sigma rule' : text;
}

function valuesNoun(field: string): string {
  const noun = `${field} values`;
  return isPresentationText('distinctNoun', noun) ? noun : 'distinct values';
}

/** validateRule's refusal (a threshold the engine cannot count to, ...), naming the file and the rule. */
function checked(rule: RuleDefinition, file: string, at: string): RuleDefinition {
  try {
    validateRule(rule);
  } catch (error) {
    if (error instanceof ConfigError) throw new SigmaRuleError(file, 'rule', `${at}: ${error.message}`);
    throw error;
  }
  return rule;
}
