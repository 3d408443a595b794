import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_RULES,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
} from '../../lambda/domain/detection/built-in-rules';
import { PRESENTATION_LIMITS, toRule } from '../../lambda/domain/detection/rule-parser';
import {
  CONTEXT_FIELDS,
  findingOf,
  presentationOf,
  type WindowState,
} from '../../lambda/domain/detection/window-state';
import { ConfigError } from '../../lambda/domain/errors';

/** A user rule as a JSON file holds it, without presentation. */
const USER_RULE = {
  id: 'user-rule',
  name: 'Many KMS keys described',
  filter: [{ field: 'eventName', equals: ['DescribeKey'] }],
  windowSeconds: 60,
  distinctField: 'requestParameters.keyId',
  minDistinct: 5,
};

const PRESENTATION = { title: 'KMS key sweep', distinctNoun: 'keys', eventNoun: 'DescribeKey calls' };

describe('rule presentation', () => {
  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case has a presentation that parses back unchanged',
    ({ rule }) => {
      // Act
      const parsed = toRule(JSON.parse(JSON.stringify(rule)), 'built-in');

      // Assess
      expect(parsed.presentation).toEqual(rule.presentation);
    },
  );

  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case has its own presentation',
    ({ rule }) => {
      // Act
      const presentation = rule.presentation;

      // Assess
      expect(presentation).toBeDefined();
    },
  );

  it('a user rule keeps the presentation it gives', () => {
    // Act
    const rule = toRule({ ...USER_RULE, presentation: PRESENTATION }, 'rules.json[0]');

    // Assess
    expect(presentationOf(rule)).toEqual(PRESENTATION);
  });

  it('a user rule without presentation is titled by its name and counts its distinct field', () => {
    // Act
    const rule = toRule(USER_RULE, 'rules.json[0]');

    // Assess
    expect(presentationOf(rule)).toEqual({
      title: 'Many KMS keys described',
      distinctNoun: 'distinct requestParameters.keyId values',
      eventNoun: 'matching events',
    });
  });

  it.each([
    { case: 'not an object', presentation: 'EC2 sweep' },
    { case: 'a missing field', presentation: { title: 'KMS key sweep', distinctNoun: 'keys' } },
    { case: 'an unknown field', presentation: { ...PRESENTATION, emoji: 'x' } },
    { case: 'an empty title', presentation: { ...PRESENTATION, title: '' } },
    { case: 'a number as noun', presentation: { ...PRESENTATION, distinctNoun: 5 } },
    {
      case: 'a title over its limit',
      presentation: { ...PRESENTATION, title: 'a'.repeat(PRESENTATION_LIMITS.title + 1) },
    },
    {
      case: 'a distinct noun over its limit',
      presentation: { ...PRESENTATION, distinctNoun: 'b'.repeat(PRESENTATION_LIMITS.distinctNoun + 1) },
    },
    {
      case: 'an event noun over its limit',
      presentation: { ...PRESENTATION, eventNoun: 'c'.repeat(PRESENTATION_LIMITS.eventNoun + 1) },
    },
    { case: 'a Slack mention', presentation: { ...PRESENTATION, title: '<!channel> sweep' } },
    { case: 'markdown', presentation: { ...PRESENTATION, distinctNoun: '*keys*' } },
    { case: 'a line break', presentation: { ...PRESENTATION, eventNoun: 'calls\nSeverity: none' } },
    { case: 'a bidi override', presentation: { ...PRESENTATION, title: 'KMS \u202esweep' } },
    { case: 'non-ASCII', presentation: { ...PRESENTATION, title: 'KMS-Schl\u00fcssel' } },
    { case: 'a leading space', presentation: { ...PRESENTATION, title: ' KMS key sweep' } },
    { case: 'a trailing space', presentation: { ...PRESENTATION, distinctNoun: 'keys ' } },
    { case: 'a double space', presentation: { ...PRESENTATION, eventNoun: 'DescribeKey  calls' } },
  ])('refuses $case', ({ presentation }) => {
    // Act
    const parse = () => toRule({ ...USER_RULE, presentation }, 'rules.json[0]');

    // Assess
    expect(parse).toThrow(ConfigError);
  });

  it('names the rule and the field in the error', () => {
    // Act
    const parse = () =>
      toRule({ ...USER_RULE, presentation: { ...PRESENTATION, title: '<b>' } }, 'rules.json[0]');

    // Assess
    expect(parse).toThrow(/rules\.json\[0\] \(user-rule\)\.presentation: title must be plain text/);
  });

  it('accepts the punctuation the built-in rules use', () => {
    // Act
    const rule = toRule(
      {
        ...USER_RULE,
        presentation: { ...PRESENTATION, eventNoun: "Describe/Get calls (CLI, v2.1): owner's #1 + more" },
      },
      'rules.json[0]',
    );

    // Assess
    expect(rule.presentation?.eventNoun).toBe("Describe/Get calls (CLI, v2.1): owner's #1 + more");
  });

  it('the EC2 rule reads as it always has', () => {
    // Act
    const presentation = presentationOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES);

    // Assess
    expect(presentation).toEqual({
      title: 'EC2 DescribeInstances sweep',
      distinctNoun: 'regions',
      eventNoun: 'DescribeInstances calls',
    });
  });

  it('a finding of a rule without presentation carries the defaults', () => {
    // Prepare
    const rule = toRule(USER_RULE, 'rules.json[0]');
    const state: WindowState = {
      ruleId: rule.id,
      windowStart: Date.parse('2026-11-28T10:00:00Z'),
      arn: 'arn:aws:iam::111122223333:user/alice',
      contributors: ['object-1'],
      distinctValues: ['k1', 'k2', 'k3', 'k4', 'k5'],
      eventIdHashes: ['h1', 'h2', 'h3', 'h4', 'h5'],
      overflowEventCount: 0,
      failedCount: 0,
      firstEventTime: Date.parse('2026-11-28T10:00:01Z'),
      lastEventTime: Date.parse('2026-11-28T10:00:09Z'),
      context: Object.fromEntries(
        CONTEXT_FIELDS.map((field) => [field, []]),
      ) as unknown as WindowState['context'],
    };

    // Act
    const finding = findingOf(state, rule);

    // Assess
    expect(finding?.presentation).toEqual(presentationOf(rule));
  });
});
