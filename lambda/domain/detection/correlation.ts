import { createHash } from 'node:crypto';
import { ConfigError } from '../errors';
import { encodeFindingSummary } from './finding-summary';
import { isCorrelation, type RuleDefinition, windowStartsOf } from './rule';
import {
  CONTEXT_FIELDS,
  type ContextField,
  eventCountOf,
  type GroupContribution,
  type GroupKey,
  groupValueId,
  type WindowState,
} from './window-state';

/**
 * Correlation over findings. A finding is a (rule, window, group) whose state crosses both thresholds; a
 * correlation is a windowed rule whose "events" are findings: grouped by identity, counting distinct
 * contributing rules. A finding reaches a correlation as one contribution to the correlation's window,
 * written by the same store `apply` as an object's, with the finding's id as contributor: the store's
 * per-contributor de-duplication makes each finding count exactly once, however often its window is
 * replayed or re-crosses. The correlation's window follows from the finding's window start (event time), so
 * every replay reaches the same window.
 */

/**
 * Checks every enabled correlation against the enabled rules and names its rules by slug: each rule it names
 * (by slug or id) must be enabled, and be no correlation itself. `catalogue` tells an unknown name from a
 * rule that is known but not enabled. Throws ConfigError naming the correlation and the rule.
 */
export function resolveCorrelations(
  enabled: readonly RuleDefinition[],
  catalogue: readonly RuleDefinition[],
): RuleDefinition[] {
  const byName = (rules: readonly RuleDefinition[], name: string) =>
    rules.find((rule) => rule.slug === name || rule.id === name);
  return enabled.map((rule) => {
    const spec = rule.correlation;
    if (spec === undefined) return rule;
    const slugOf = (name: string): string => {
      const target = byName(enabled, name);
      if (target === undefined) {
        const known = byName(catalogue, name) !== undefined;
        throw new ConfigError(
          known
            ? `correlation ${rule.slug}: rule ${name} is not enabled; enable it too (it may be a building block)`
            : `correlation ${rule.slug}: names no known rule ${JSON.stringify(name)}`,
        );
      }
      if (isCorrelation(target)) {
        throw new ConfigError(
          `correlation ${rule.slug}: ${name} is a correlation; correlations count rules' findings only`,
        );
      }
      return target.slug;
    };
    return {
      ...rule,
      correlation: {
        rules: spec.rules.map(slugOf),
        ...(spec.requires === undefined ? {} : { requires: spec.requires.map(slugOf) }),
      },
    };
  });
}

/** The enabled correlations that count the findings of `rule`. */
export function correlationsOver(rules: readonly RuleDefinition[], rule: RuleDefinition): RuleDefinition[] {
  return rules.filter((candidate) => candidate.correlation?.rules.includes(rule.slug) === true);
}

/**
 * A finding's identity as a correlation contributor: 96 bits of SHA-256 over its rule, window start and
 * group, 16 characters like an object's (see contributorIdOf). The same finding always has the same id.
 */
export function findingIdOf(key: GroupKey): string {
  return createHash('sha256')
    .update(`${key.ruleId}\u0000${key.windowStart}\u0000${groupValueId(key)}`)
    .digest('base64url')
    .slice(0, 16);
}

/**
 * What the finding `state` of `rule` adds to `correlation`: one contribution per correlation window holding
 * the finding's window start (two in hopping mode), grouped by the finding's identity. The finding counts as
 * one event (its id stands in for an event-id hash), its rule's slug is the distinct value, its context
 * lists (accounts, source IPs, user agents, ...) are the correlation's, and its summary joins the
 * correlation's `findings` list.
 */
export function findingContributions(
  state: WindowState,
  rule: RuleDefinition,
  correlation: RuleDefinition,
): GroupContribution[] {
  const findingId = findingIdOf(state);
  const summary = encodeFindingSummary({
    rule: rule.slug,
    windowStart: state.windowStart,
    windowSeconds: rule.windowSeconds,
    distinctCount: state.distinctValues.length,
    eventCount: eventCountOf(state),
  });
  const context = Object.fromEntries(
    CONTEXT_FIELDS.map((field) => [field, field === 'findings' ? [summary] : [...state.context[field]]]),
  ) as Record<ContextField, string[]>;
  return windowStartsOf(state.windowStart, correlation).map((windowStart) => ({
    ruleId: correlation.id,
    windowStart,
    windowEnd: windowStart + correlation.windowSeconds * 1000,
    arn: state.arn,
    distinctValues: [rule.slug],
    eventCount: 1,
    eventIdHashes: [findingId],
    failedCount: 0,
    firstEventTime: state.firstEventTime,
    lastEventTime: state.lastEventTime,
    context,
  }));
}
