import { describe, expect, it } from 'vitest';
import {
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  parseRuleDefinitions,
} from '../../lambda/domain/built-in-rules';
import { ConfigError } from '../../lambda/domain/errors';
import { matchesFilter, type RuleDefinition } from '../../lambda/domain/rule';

/** A user rule whose only condition is `matches` on the user agent. */
function userAgentRule(pattern: string): RuleDefinition {
  return {
    ...EC2_MULTI_REGION_DESCRIBE_INSTANCES,
    id: 'agent-pattern',
    slug: 'agent-pattern',
    filter: [{ field: 'userAgent', matches: pattern }],
  };
}

describe('matches runs on a linear-time engine (RE2)', () => {
  it.each([
    { case: '10 KB of a then !', userAgent: `${'a'.repeat(10_240)}!`, matches: false },
    { case: '10 KB of a', userAgent: 'a'.repeat(10_240), matches: true },
  ])('^(a+)+$ on $case gives its answer (no catastrophic backtracking)', ({ userAgent, matches }) => {
    // Prepare
    const rule = userAgentRule('^(a+)+$');

    // Act
    const matched = matchesFilter({ userAgent }, rule);

    // Assess
    expect(matched).toBe(matches);
  });

  it.each([
    {
      case: 'an unanchored pattern finds its text anywhere',
      pattern: 'boto',
      userAgent: 'x Boto boto3/1',
      hit: true,
    },
    { case: 'an anchored pattern needs the start', pattern: '^boto', userAgent: 'x boto3/1', hit: false },
    {
      case: 'a class and a repeat',
      pattern: '^aws-cli/2\\.[0-9]+',
      userAgent: 'aws-cli/2.15.0 Python',
      hit: true,
    },
    { case: 'non-ASCII, by code point', pattern: '^caf.$', userAgent: 'café', hit: true },
    { case: 'a Unicode class', pattern: '^\\p{L}+$', userAgent: 'Ωmega', hit: true },
  ])('$case', ({ pattern, userAgent, hit }) => {
    // Act
    const matched = matchesFilter({ userAgent }, userAgentRule(pattern));

    // Assess
    expect(matched).toBe(hit);
  });

  it.each([
    { case: 'a lookahead', pattern: '^(?!AWSService)' },
    { case: 'a lookbehind', pattern: '(?<=role/)x' },
    { case: 'a backreference', pattern: '^(a)\\1$' },
    { case: 'a malformed pattern', pattern: '(a' },
  ])('a rule file with $case is refused when loaded, naming the pattern and RE2', ({ pattern }) => {
    // Prepare
    const json = JSON.stringify({
      id: 'mine',
      name: 'Mine',
      filter: [{ field: 'userAgent', matches: pattern }],
      windowSeconds: 10,
      distinctField: 'eventName',
      minDistinct: 2,
    });

    // Act
    const load = () => parseRuleDefinitions(json, 'mine.json');

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`matches ${JSON.stringify(pattern)} is not a regular expression RE2 accepts`);
  });
});
