import { ConfigError } from './errors';

/** One equality test on a dotted field path of a CloudTrail record; the record matches if any value equals. */
export interface FieldCondition {
  readonly field: string;
  readonly equals: readonly string[];
}

/**
 * A detection rule of the "one identity, many distinct values, short window" shape, as data.
 * Semantics follow Elastic's ES|QL: filter, `DATE_TRUNC(window, eventTime)`, `STATS count_distinct(distinctField),
 * count(*) BY window, groupBy` (a missing group value forms one null group), then both thresholds.
 */
export interface RuleDefinition {
  readonly id: string;
  readonly name: string;
  readonly severity: 'informational' | 'low' | 'medium' | 'high' | 'critical';
  /** Every condition must hold (AND); each condition holds if the field equals one of its values (OR). */
  readonly filter: readonly FieldCondition[];
  /** Tumbling window length; windows are aligned to the Unix epoch in UTC. */
  readonly windowSeconds: number;
  readonly groupBy: string;
  readonly distinctField: string;
  /** Fire when distinct values >= minDistinct ... */
  readonly minDistinct: number;
  /** ... AND events (duplicate eventIDs counted once) >= minEvents. */
  readonly minEvents: number;
  /** MITRE ATT&CK technique, for the alert text. */
  readonly technique: { readonly id: string; readonly name: string };
}

/** Elastic prebuilt rule 393ef120-63d1-11ef-8e38-f661ea17fbce, as Elastic defines it. */
export const EC2_MULTI_REGION_DESCRIBE_INSTANCES: RuleDefinition = {
  id: '393ef120-63d1-11ef-8e38-f661ea17fbce',
  name: 'AWS EC2 Multi-Region DescribeInstances API Calls',
  severity: 'low',
  // eventName first: the prefilter tests conditions in this order, and it is the rarer text of the two.
  filter: [
    { field: 'eventName', equals: ['DescribeInstances'] },
    { field: 'eventSource', equals: ['ec2.amazonaws.com'] },
  ],
  windowSeconds: 30,
  groupBy: 'userIdentity.arn',
  distinctField: 'awsRegion',
  minDistinct: 10,
  minEvents: 10,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
};

/** Upper bound on distinct values kept per group; a threshold above it could never fire. */
export const MAX_DISTINCT_TRACKED = 64;

/** Overrides a user may give on the command line or in the deployment. */
export interface RuleOverrides {
  readonly minDistinct?: number;
  readonly minEvents?: number;
  readonly windowSeconds?: number;
}

/** Returns `rule` with the overrides applied, after checking that the result can work. */
export function withOverrides(rule: RuleDefinition, overrides: RuleOverrides): RuleDefinition {
  const result = { ...rule, ...definedOnly(overrides) };
  validateRule(result);
  return result;
}

/** Throws ConfigError naming the first unusable setting of `rule`. */
export function validateRule(rule: RuleDefinition): void {
  requireInteger('windowSeconds', rule.windowSeconds, 1, 86_400);
  requireInteger('minDistinct', rule.minDistinct, 1, MAX_DISTINCT_TRACKED);
  requireInteger('minEvents', rule.minEvents, 1, Number.MAX_SAFE_INTEGER);
  if (rule.filter.length === 0 || rule.filter.some((c) => c.equals.length === 0)) {
    throw new ConfigError(
      `rule ${rule.id}: filter needs at least one condition, each with at least one value`,
    );
  }
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads a dotted path from a parsed record; undefined when any step is missing or not an object. */
export function getField(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** The exact filter of the rule: decided on the parsed record, never on raw text. */
export function matchesFilter(record: unknown, rule: RuleDefinition): boolean {
  return rule.filter.every((condition) => {
    const value = getField(record, condition.field);
    return typeof value === 'string' && condition.equals.includes(value);
  });
}

/**
 * Byte strings of which a record must contain at least one per condition to possibly match: each value as
 * the JSON string literal it appears as in CloudTrail (`"DescribeInstances"`). A cheap test before parsing;
 * the exact decision is always `matchesFilter` on the parsed record.
 */
export function prefilterNeedles(rule: RuleDefinition): Buffer[][] {
  return rule.filter.map((condition) => condition.equals.map((value) => Buffer.from(JSON.stringify(value))));
}

/** Start of the epoch-aligned UTC window holding `epochMs` (`DATE_TRUNC(windowSeconds, eventTime)`). */
export function windowStartOf(epochMs: number, windowSeconds: number): number {
  const size = windowSeconds * 1000;
  return Math.floor(epochMs / size) * size;
}
