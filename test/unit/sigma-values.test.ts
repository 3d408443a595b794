import { describe, expect, it } from 'vitest';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/detection/allowlist';
import { ObjectAggregator } from '../../lambda/domain/detection/object-aggregator';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions } from '../../lambda/domain/detection/rule-parser';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import { SigmaRuleError } from '../../lib/errors';
import { parseSigmaRules } from '../../lib/rules/sigma/sigma-rules';

const FILE = 'rules/values.yml';

/** A file with a DeleteTrail detection and a correlation whose `correlation:` section is `section`. */
function correlation(section: string): string {
  return [
    'title: trail deleted',
    'name: deleted',
    'logsource: {product: aws, service: cloudtrail}',
    'detection:',
    '    selection:',
    '        eventName: DeleteTrail',
    '    condition: selection',
    '---',
    'title: counted',
    'name: counted',
    'correlation:',
    ...section
      .trim()
      .split('\n')
      .map((line) => `    ${line}`),
  ].join('\n');
}

/** The correlation rule of `text`, read as the function reads it: through its JSON form. */
function correlationRule(text: string): RuleDefinition {
  const rules = parseRuleDefinitions(JSON.stringify(parseSigmaRules(text, FILE)), 'CUSTOM_RULES_JSON');
  const rule = rules.find((candidate) => candidate.slug === 'counted');
  if (rule === undefined) throw new Error('no correlation rule');
  return rule;
}

function deleteTrail(eventID: string, requestParameters: Record<string, unknown>): Record<string, unknown> {
  return {
    eventTime: '2026-11-28T09:00:01Z',
    eventName: 'DeleteTrail',
    eventID,
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::012345678901:user/a' },
    requestParameters,
  };
}

describe('a Sigma correlation counts and groups values of any scalar type, as their text', () => {
  it.each([
    { case: 'numbers', values: [5, 6, 5], expected: ['5', '6'] },
    { case: 'booleans', values: [true, false, true], expected: ['false', 'true'] },
    { case: 'arrays of numbers (each element)', values: [[1, 2], [2], [3]], expected: ['1', '2', '3'] },
  ])('value_count over $case', ({ values, expected }) => {
    // Prepare
    const rule = correlationRule(
      correlation(
        'type: value_count\nrules: [deleted]\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: {field: requestParameters.x, gte: 2}',
      ),
    );
    const aggregator = new ObjectAggregator(rule, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    const outcomes = values.map((x, index) => aggregator.add(deleteTrail(`e${index}`, { x })).kind);

    // Assess
    expect(outcomes).toEqual(values.map(() => 'counted'));
    expect(aggregator.contributions().map((group) => group.distinctValues)).toEqual([expected]);
  });

  it('group-by on a number field groups by its text', () => {
    // Prepare
    const rule = correlationRule(
      correlation(
        'type: event_count\nrules: [deleted]\ngroup-by: [userIdentity.arn, requestParameters.maxResults]\ntimespan: 5m\ncondition: {gte: 1}',
      ),
    );
    const aggregator = new ObjectAggregator(rule, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    const outcomes = [
      aggregator.add(deleteTrail('e1', { maxResults: 5 })).kind,
      aggregator.add(deleteTrail('e2', { maxResults: true })).kind,
    ];

    // Assess
    expect(outcomes).toEqual(['counted', 'counted']);
    expect(aggregator.contributions().map((group) => group.by)).toEqual([['5'], ['true']]);
  });

  it.each([
    {
      case: 'group-by',
      section: 'type: event_count\ngroup-by: [userIdentity.arn, requestParameters]\ncondition: {gte: 1}',
    },
    {
      case: 'value_count',
      section:
        'type: value_count\ngroup-by: [userIdentity.arn]\ncondition: {field: userIdentity.sessionContext, gte: 2}',
    },
  ])('a $case on a field CloudTrail writes as an object is refused when the file loads', ({ section }) => {
    // Act
    const load = () => parseSigmaRules(correlation(`${section}\nrules: [deleted]\ntimespan: 5m`), FILE);

    // Assess
    expect(load).toThrow(SigmaRuleError);
    expect(load).toThrow(/is an object in CloudTrail records/);
  });

  it('an object met at run time still makes the record invalid, with the field named', () => {
    // Prepare
    const rule = correlationRule(
      correlation(
        'type: value_count\nrules: [deleted]\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: {field: requestParameters.x, gte: 2}',
      ),
    );
    const aggregator = new ObjectAggregator(rule, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    const outcome = aggregator.add(deleteTrail('e1', { x: { y: 1 } }));

    // Assess
    expect(outcome).toEqual({ kind: 'invalid', reason: expect.stringContaining('requestParameters.x') });
  });
});
