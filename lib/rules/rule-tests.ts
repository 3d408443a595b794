/**
 * Rule tests as data: CloudTrail events and the findings a rule must give for them, run through the same
 * `processLogObject` as the Lambda function and `scan`.
 *
 * A test file is JSON:
 *
 * ```json
 * {
 *   "rule": "ec2-multi-region-describe-instances",
 *   "description": "optional text",
 *   "template": { "eventVersion": "1.09", "eventSource": "ec2.amazonaws.com", "...": "a CloudTrail record" },
 *   "cases": [
 *     {
 *       "name": "fires at 10 regions",
 *       "description": "optional text",
 *       "windowMode": "hopping",
 *       "template": { "userIdentity": { "arn": null } },
 *       "events": [
 *         { "repeat": 10, "stepSeconds": 1, "vary": { "awsRegion": ["us-east-1", "us-east-2"] }, "eventTime": "2026-11-28T09:00:00Z" },
 *         { "duplicateOf": 3 }
 *       ],
 *       "expect": [
 *         { "windowStart": "2026-11-28T09:00:00Z", "arn": null, "by": ["198.51.100.7"], "distinctCount": 10, "eventCount": 10, "failedCount": 0 }
 *       ]
 *     }
 *   ]
 * }
 * ```
 *
 * - `rule`: the slug or id of the rule the cases test (a built-in rule, or one of a rule file's rules).
 * - `template`: the base record of every event. A case's `template` is merged over it (see merging).
 * - `windowMode`: runs the case with the rule in that mode (`tumbling` or `hopping`) instead of its own.
 * - `events`: one log object's records, in order. Each entry is merged over the case's template and may carry:
 *   - `repeat` (1-10000, default 1): the entry gives this many events, copies 0, 1, 2, ...;
 *   - `vary`: `{ "dotted.path": [values] }`: copy i takes value `i mod length` at that path;
 *   - `stepSeconds` (>= 0): copy i's `eventTime` is the entry's `eventTime` plus `floor(i × stepSeconds)`
 *     whole seconds (CloudTrail writes whole seconds; `0.5` gives two events a second);
 *   - `duplicateOf: n` (alone): the event at position n, again, verbatim: CloudTrail delivering it twice.
 *   In every string of an event, `{i}` becomes the copy number within its entry and `{n}` the event's
 *   position in the case (both from 0). An event without `eventID` gets `00000000-0000-4000-8000-` and its
 *   position + 1 in 12 digits, so events are distinct unless a case says otherwise.
 * - Merging: objects merge key by key, at any depth; arrays and other values replace; `null` removes the
 *   field (CloudTrail leaves absent fields out, and the rules treat a missing value and null alike).
 * - `expect`: every finding the case must give, and no other (order does not matter). A finding is named by
 *   `windowStart` (ISO-8601 UTC), `arn` (null: the group of events without one) and `by` (the values of the
 *   rule's further group-by fields, required exactly when it has some). `distinctCount` (distinct values of
 *   the rule's distinct field), `eventCount` (duplicate eventIDs once) and `failedCount` are checked when
 *   given. An empty list: the case must give no finding.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipelineSettings } from '../../lambda/config';
import {
  isWindowMode,
  type RuleDefinition,
  type WindowMode,
  windowModeMismatch,
  withOverrides,
} from '../../lambda/domain/detection/rule';
import { type Finding, findingUnder, type WindowState } from '../../lambda/domain/detection/window-state';
import { memoryPipeline } from '../../lambda/pipeline';
import type { LogObjectSource } from '../../lambda/ports';
import { processLogObject } from '../../lambda/process-log-object';
import { RuleTestFileError } from '../errors';
import { PACKAGE_ROOT } from '../package-root';

/** The folder of the test files shipped with the built-in rules: `rules/tests/<slug>.json`. */
export const SHIPPED_RULE_TESTS = join(PACKAGE_ROOT, 'rules', 'tests');

/** The shipped test file of a built-in rule. */
export function shippedTestFile(slug: string): string {
  return join(SHIPPED_RULE_TESTS, `${slug}.json`);
}

/** A finding a case expects. */
export interface ExpectedFinding {
  /** ISO-8601 UTC, normalised (`toISOString`). */
  readonly windowStart: string;
  readonly arn: string | null;
  /** Further group-by values; empty for rules grouped by identity alone. */
  readonly by: readonly (string | null)[];
  readonly distinctCount?: number;
  readonly eventCount?: number;
  readonly failedCount?: number;
}

export interface RuleTestCase {
  readonly name: string;
  readonly windowMode?: WindowMode;
  /** The expanded records of the case's one log object. */
  readonly events: readonly Record<string, unknown>[];
  readonly expect: readonly ExpectedFinding[];
}

export interface RuleTestFile {
  /** Where the file came from, as errors and reports name it. */
  readonly source: string;
  /** Slug or id of the rule under test. */
  readonly rule: string;
  readonly cases: readonly RuleTestCase[];
}

/** What happened to a case's events in the pipeline (context for a failing case). */
export interface CaseEventCounts {
  readonly total: number;
  readonly counted: number;
  readonly duplicate: number;
  readonly filteredOut: number;
  readonly invalid: number;
}

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** One readable line per difference between the expected and the actual findings; empty when passed. */
  readonly differences: readonly string[];
  readonly events: CaseEventCounts;
  /** Why records were skipped as invalid (up to three). */
  readonly invalidExamples: readonly string[];
}

/** Reads and parses a test file; errors name the file. */
export async function loadRuleTestFile(path: string): Promise<RuleTestFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RuleTestFileError(`${path}: cannot read the test file`, { cause: error });
  }
  return parseRuleTestFile(text, path);
}

const FILE_FIELDS = new Set(['rule', 'description', 'template', 'cases']);
const CASE_FIELDS = new Set(['name', 'description', 'windowMode', 'template', 'events', 'expect']);
const ENTRY_CONTROLS = new Set(['repeat', 'vary', 'stepSeconds', 'duplicateOf']);
const EXPECT_FIELDS = new Set(['windowStart', 'arn', 'by', 'distinctCount', 'eventCount', 'failedCount']);
const MAX_REPEAT = 10_000;
/** Distinct values named in an unexpected finding's line; the rest are counted. */
const SHOWN_VALUES = 5;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Parses and checks a test file's JSON text and expands every case's events; errors name `source` and the case. */
export function parseRuleTestFile(json: string, source: string): RuleTestFile {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new RuleTestFileError(`${source}: the test file is not JSON`, { cause: error });
  }
  const file = objectAt(value, source);
  refuseUnknown(file, FILE_FIELDS, source);
  const rule = file.rule;
  if (typeof rule !== 'string' || rule === '') {
    throw new RuleTestFileError(`${source}: rule must name the rule under test (its slug or id)`);
  }
  optionalString(file, 'description', source);
  const template = file.template === undefined ? {} : objectAt(file.template, `${source}: template`);
  const cases = file.cases;
  if (!Array.isArray(cases) || cases.length === 0) {
    throw new RuleTestFileError(`${source}: cases must be a non-empty array`);
  }
  const parsed = cases.map((entry, index) => parseCase(entry, template, `${source}: cases[${index}]`));
  const seen = new Set<string>();
  for (const testCase of parsed) {
    if (seen.has(testCase.name))
      throw new RuleTestFileError(`${source}: two cases are named "${testCase.name}"`);
    seen.add(testCase.name);
  }
  return { source, rule, cases: parsed };
}

function parseCase(value: unknown, fileTemplate: Record<string, unknown>, at: string): RuleTestCase {
  const record = objectAt(value, at);
  const name = record.name;
  if (typeof name !== 'string' || name.trim() === '')
    throw new RuleTestFileError(`${at}: name must be a non-empty string`);
  const where = `${at} ("${name}")`;
  refuseUnknown(record, CASE_FIELDS, where);
  optionalString(record, 'description', where);
  const windowMode = record.windowMode;
  if (windowMode !== undefined && !isWindowMode(windowMode)) {
    throw new RuleTestFileError(`${where}: windowMode ${windowModeMismatch(windowMode)}`);
  }
  const template =
    record.template === undefined
      ? fileTemplate
      : mergeOver(fileTemplate, objectAt(record.template, `${where}: template`));
  if (!Array.isArray(record.events) || record.events.length === 0) {
    throw new RuleTestFileError(`${where}: events must be a non-empty array`);
  }
  if (!Array.isArray(record.expect)) {
    throw new RuleTestFileError(`${where}: expect must be an array of findings ([] for none)`);
  }
  const expect = record.expect.map((entry, index) => parseExpected(entry, `${where}: expect[${index}]`));
  const keys = new Set<string>();
  for (const expected of expect) {
    const key = keyOf(expected);
    if (keys.has(key)) throw new RuleTestFileError(`${where}: expects ${describeKey(expected)} twice`);
    keys.add(key);
  }
  return {
    name,
    ...(windowMode === undefined ? {} : { windowMode }),
    events: expandEvents(template, record.events, where),
    expect,
  };
}

/**
 * Expands a case's event entries over its template, in order (see the file format above): merge, `vary`,
 * `{i}`/`{n}`, `stepSeconds`, then a default `eventID`; `duplicateOf` repeats an earlier event verbatim.
 */
export function expandEvents(
  template: Record<string, unknown>,
  entries: readonly unknown[],
  where: string,
): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  entries.forEach((entry, index) => {
    const at = `${where}: events[${index}]`;
    const record = objectAt(entry, at);
    if (record.duplicateOf !== undefined) {
      const position = record.duplicateOf;
      if (Object.keys(record).length !== 1) throw new RuleTestFileError(`${at}: duplicateOf stands alone`);
      const original = Number.isInteger(position) ? events[position as number] : undefined;
      if (original === undefined) {
        throw new RuleTestFileError(
          `${at}: duplicateOf must be the position of an earlier event (from 0, ${events.length} so far)`,
        );
      }
      events.push(structuredClone(original));
      return;
    }
    const repeat = record.repeat ?? 1;
    if (!Number.isInteger(repeat) || (repeat as number) < 1 || (repeat as number) > MAX_REPEAT) {
      throw new RuleTestFileError(`${at}: repeat must be a whole number from 1 to ${MAX_REPEAT}`);
    }
    const step = record.stepSeconds;
    if (step !== undefined && (typeof step !== 'number' || !Number.isFinite(step) || step < 0)) {
      throw new RuleTestFileError(`${at}: stepSeconds must be a number >= 0`);
    }
    const vary = Object.entries(record.vary === undefined ? {} : objectAt(record.vary, `${at}: vary`));
    for (const [path, values] of vary) {
      if (!Array.isArray(values) || values.length === 0 || path === '') {
        throw new RuleTestFileError(`${at}: vary maps a dotted field path to a non-empty array of values`);
      }
    }
    const fields = Object.fromEntries(Object.entries(record).filter(([key]) => !ENTRY_CONTROLS.has(key)));
    const base = mergeOver(template, fields);
    for (let copy = 0; copy < (repeat as number); copy += 1) {
      let event = structuredClone(base);
      for (const [path, values] of vary as [string, unknown[]][]) {
        setPath(event, path, values[copy % values.length]);
      }
      event = substitute(event, copy, events.length) as Record<string, unknown>;
      if (step !== undefined) event.eventTime = shiftedTime(event.eventTime, Math.floor(copy * step), at);
      event.eventID ??= `00000000-0000-4000-8000-${String(events.length + 1).padStart(12, '0')}`;
      events.push(event);
    }
  });
  return events;
}

function parseExpected(value: unknown, at: string): ExpectedFinding {
  const record = objectAt(value, at);
  refuseUnknown(record, EXPECT_FIELDS, at);
  const { windowStart, arn, by } = record;
  if (
    typeof windowStart !== 'string' ||
    !ISO_UTC.test(windowStart) ||
    Number.isNaN(Date.parse(windowStart))
  ) {
    throw new RuleTestFileError(`${at}: windowStart must be an ISO-8601 UTC time like 2026-11-28T09:00:00Z`);
  }
  if (arn !== null && (typeof arn !== 'string' || arn === '')) {
    throw new RuleTestFileError(`${at}: arn must be the identity ARN, or null for events without one`);
  }
  if (by !== undefined && (!Array.isArray(by) || by.some((v) => v !== null && typeof v !== 'string'))) {
    throw new RuleTestFileError(`${at}: by must be an array of group values (strings or null)`);
  }
  const counts: Partial<Record<'distinctCount' | 'eventCount' | 'failedCount', number>> = {};
  for (const field of ['distinctCount', 'eventCount', 'failedCount'] as const) {
    const count = record[field];
    if (count === undefined) continue;
    if (!Number.isInteger(count) || (count as number) < 0) {
      throw new RuleTestFileError(`${at}: ${field} must be a whole number >= 0`);
    }
    counts[field] = count as number;
  }
  return {
    windowStart: new Date(windowStart).toISOString(),
    arn: arn as string | null,
    by: (by ?? []) as (string | null)[],
    ...counts,
  };
}

/**
 * Finds the rule a test file names among `rules` (by slug or id). Throws RuleTestFileError when it is not
 * there, naming the rules that are.
 */
export function ruleUnderTest(file: RuleTestFile, rules: readonly RuleDefinition[]): RuleDefinition {
  const rule = rules.find((candidate) => candidate.slug === file.rule || candidate.id === file.rule);
  if (rule === undefined) {
    const known = rules.map((candidate) => candidate.slug).join(', ');
    throw new RuleTestFileError(`${file.source}: tests rule "${file.rule}", which is not among: ${known}`);
  }
  return rule;
}

/**
 * Throws RuleTestFileError unless every expectation of the case gives one `by` value per further group-by
 * field of `rule` (none for a rule grouped by identity alone): a finding's name depends on the rule.
 */
export function checkExpectations(rule: RuleDefinition, testCase: RuleTestCase, source: string): void {
  const further = rule.groupBy.slice(1);
  for (const expected of testCase.expect) {
    if (expected.by.length !== further.length) {
      const fields = further.length === 0 ? 'none: the rule groups by identity alone' : further.join(', ');
      throw new RuleTestFileError(
        `${source}: case "${testCase.name}": ${describeKey(expected)} must give one by value per further ` +
          `group-by field of ${rule.slug} (${fields})`,
      );
    }
  }
}

/** Runs every case of `file` against `rule`, in order, after checking every case's expectations fit the rule. */
export async function runRuleTestFile(file: RuleTestFile, rule: RuleDefinition): Promise<CaseResult[]> {
  for (const testCase of file.cases) checkExpectations(rule, testCase, file.source);
  const results: CaseResult[] = [];
  for (const testCase of file.cases) results.push(await runRuleTestCase(rule, testCase, file.source));
  return results;
}

/** What a case observed of one finding: the shape expectations are written in. */
interface ObservedFinding {
  readonly windowStart: string;
  readonly arn: string | null;
  readonly by: readonly (string | null)[];
  readonly distinctCount: number;
  readonly distinctValues: readonly string[];
  readonly eventCount: number;
  readonly failedCount: number;
}

/**
 * The one place a Finding becomes the expectation shape. A Finding's `distinctCount`/`distinctValues` hold the
 * rule's distinct field whatever it is; the further group values live on the window state only.
 */
function observedOf(state: WindowState, finding: Finding): ObservedFinding {
  return {
    windowStart: finding.windowStart,
    arn: finding.arn,
    by: state.by ?? [],
    distinctCount: finding.distinctCount,
    distinctValues: finding.distinctValues,
    eventCount: finding.eventCount,
    failedCount: finding.failedCount,
  };
}

/**
 * Runs one case:
 * 1. Apply the case's window mode to the rule, and check that each expectation names the rule's group-by.
 * 2. Put the events in one in-memory log object and run `processLogObject` over it with only this rule
 *    enabled, an empty allowlist and a MemoryWindowStore, as `scan` does (no alerts: findings are read back).
 * 3. Compare the findings with `expect` as sets of (windowStart, arn, by), then the counts each expectation gives.
 */
export async function runRuleTestCase(
  rule: RuleDefinition,
  testCase: RuleTestCase,
  source = 'rule test',
): Promise<CaseResult> {
  checkExpectations(rule, testCase, source);
  const effective =
    testCase.windowMode === undefined ? rule : withOverrides(rule, { windowMode: testCase.windowMode });

  const settings = { ...pipelineSettings({}), rules: [effective] };
  const body = Buffer.from(JSON.stringify({ Records: testCase.events }));
  const objects: LogObjectSource = {
    async open() {
      return (async function* () {
        yield body;
      })();
    },
  };
  const pipeline = memoryPipeline(settings, objects);
  const outcome = await processLogObject(
    pipeline.deps,
    { bucket: '', key: 'rule-test-case.json', size: body.length },
    { origin: 'live', keyMode: 'lenient' },
  );
  const total = testCase.events.length;
  if (outcome.status !== 'processed') {
    const reason = outcome.status === 'poison' ? outcome.error.message : `skipped (${outcome.reason})`;
    return {
      name: testCase.name,
      passed: false,
      differences: [`the pipeline refused the case's log object: ${reason}`],
      events: { total, counted: 0, duplicate: 0, filteredOut: 0, invalid: 0 },
      invalidExamples: [],
    };
  }

  const states = new Map(pipeline.states().map((state) => [stateKey(state), state]));
  const observed = new Map<string, ObservedFinding>();
  for (const state of states.values()) {
    const finding = findingUnder(state, [effective]);
    if (finding !== undefined) {
      const found = observedOf(state, finding);
      observed.set(keyOf(found), found);
    }
  }
  const differences = compareWithExpected(testCase.expect, observed, states, effective);
  const counted = outcome.matchingEvents;
  const duplicate = outcome.duplicateEvents;
  const invalid = outcome.invalidRecords;
  return {
    name: testCase.name,
    passed: differences.length === 0,
    differences,
    events: { total, counted, duplicate, invalid, filteredOut: total - counted - duplicate - invalid },
    invalidExamples: outcome.invalidExamples,
  };
}

function compareWithExpected(
  expected: readonly ExpectedFinding[],
  observed: ReadonlyMap<string, ObservedFinding>,
  states: ReadonlyMap<string, WindowState>,
  rule: RuleDefinition,
): string[] {
  const differences: string[] = [];
  const expectedKeys = new Set(expected.map(keyOf));
  for (const wanted of expected) {
    const key = keyOf(wanted);
    const found = observed.get(key);
    if (found === undefined) {
      differences.push(`missing finding ${describeKey(wanted)}: ${whyNoFinding(states.get(key), rule)}`);
      continue;
    }
    for (const field of ['distinctCount', 'eventCount', 'failedCount'] as const) {
      const want = wanted[field];
      if (want !== undefined && want !== found[field]) {
        differences.push(`${describeKey(wanted)}: ${field} expected ${want}, got ${found[field]}`);
      }
    }
  }
  for (const [key, found] of observed) {
    if (!expectedKeys.has(key)) {
      const shown = found.distinctValues.slice(0, SHOWN_VALUES).join(', ');
      const more =
        found.distinctValues.length > SHOWN_VALUES
          ? `, +${found.distinctValues.length - SHOWN_VALUES} more`
          : '';
      differences.push(
        `unexpected finding ${describeKey(found)}: ${found.distinctCount} distinct ${rule.distinctField} ` +
          `(${shown}${more}), ${found.eventCount} events`,
      );
    }
  }
  return differences;
}

function whyNoFinding(state: WindowState | undefined, rule: RuleDefinition): string {
  if (state === undefined) return 'no event was counted in this group';
  const events = state.eventIdHashes.length + state.overflowEventCount;
  return (
    `the group reached ${state.distinctValues.length} distinct ${rule.distinctField} (fires at ${rule.minDistinct}) ` +
    `and ${events} events (fires at ${rule.minEvents})`
  );
}

function stateKey(state: WindowState): string {
  return keyOf({
    windowStart: new Date(state.windowStart).toISOString(),
    arn: state.arn,
    by: state.by ?? [],
  });
}

function keyOf(finding: Pick<ExpectedFinding, 'windowStart' | 'arn' | 'by'>): string {
  return JSON.stringify([finding.windowStart, finding.arn, finding.by]);
}

function describeKey(finding: Pick<ExpectedFinding, 'windowStart' | 'arn' | 'by'>): string {
  const by = finding.by.length === 0 ? '' : `, by ${JSON.stringify(finding.by)}`;
  const arn = finding.arn === null ? '(no ARN)' : finding.arn;
  return `[window ${finding.windowStart.replace('.000Z', 'Z')}, arn ${arn}${by}]`;
}

/** `overlay` merged over `base` (see the format: objects merge, other values replace, null removes). */
function mergeOver(base: unknown, overlay: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = isPlainObject(base) ? structuredClone(base) : {};
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete result[key];
    else if (isPlainObject(value)) result[key] = mergeOver(result[key], value);
    else result[key] = structuredClone(value);
  }
  return result;
}

function setPath(record: Record<string, unknown>, path: string, value: unknown): void {
  const steps = path.split('.');
  const last = steps.pop() ?? path;
  let current = record;
  for (const step of steps) {
    const next = current[step];
    if (!isPlainObject(next)) current[step] = {};
    current = current[step] as Record<string, unknown>;
  }
  if (value === null) delete current[last];
  else current[last] = structuredClone(value);
}

function substitute(value: unknown, copy: number, position: number): unknown {
  if (typeof value === 'string')
    return value.replaceAll('{i}', String(copy)).replaceAll('{n}', String(position));
  if (Array.isArray(value)) return value.map((item) => substitute(item, copy, position));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, copy, position)]),
    );
  }
  return value;
}

function shiftedTime(eventTime: unknown, seconds: number, at: string): string {
  if (typeof eventTime !== 'string' || !ISO_UTC.test(eventTime)) {
    throw new RuleTestFileError(`${at}: stepSeconds needs an eventTime like 2026-11-28T09:00:00Z`);
  }
  // CloudTrail writes whole seconds: keep that form unless the given time had a fraction.
  const shifted = new Date(Date.parse(eventTime) + seconds * 1000).toISOString();
  return eventTime.includes('.') ? shifted : shifted.replace('.000Z', 'Z');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objectAt(value: unknown, at: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new RuleTestFileError(`${at}: must be an object`);
  return value;
}

function optionalString(record: Record<string, unknown>, name: string, at: string): void {
  if (record[name] !== undefined && typeof record[name] !== 'string') {
    throw new RuleTestFileError(`${at}: ${name} must be a string`);
  }
}

function refuseUnknown(record: Record<string, unknown>, known: ReadonlySet<string>, at: string): void {
  const unknown = Object.keys(record).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new RuleTestFileError(`${at}: unknown field(s) ${unknown.join(', ')}`);
}
