import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_RULES,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  S3_RAPID_BUCKET_POSTURE_API_CALLS,
} from '../../lambda/domain/detection/built-in-rules';
import { type RuleDefinition, withOverrides } from '../../lambda/domain/detection/rule';
import { RuleTestFileError } from '../../lib/errors';
import {
  checkExpectations,
  expandEvents,
  loadRuleTestFile,
  parseRuleTestFile,
  runRuleTestCase,
  runRuleTestFile,
  SHIPPED_RULE_TESTS,
  shippedTestFile,
} from '../../lib/rules/rule-tests';
import { DEFAULT_REGIONS } from '../fixtures/events';

const EC2 = EC2_MULTI_REGION_DESCRIBE_INSTANCES;
const ARN = 'arn:aws:iam::111122223333:user/recon';
const TEN_REGIONS = DEFAULT_REGIONS.slice(0, 10);
const TEMPLATE = {
  userIdentity: { type: 'IAMUser', arn: ARN, accountId: '111122223333' },
  eventTime: '2026-11-28T09:00:00Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: 'us-east-1',
};

/** A test file of one case over TEMPLATE, as JSON text. */
function oneCase(testCase: Record<string, unknown>, rule = EC2.slug): string {
  return JSON.stringify({ rule, template: TEMPLATE, cases: [{ name: 'the case', ...testCase }] });
}

const sweep = { repeat: 10, stepSeconds: 1, vary: { awsRegion: TEN_REGIONS } };

describe('expanding events', () => {
  it('merges entry fields over the template at any depth', () => {
    // Act
    const [event] = expandEvents(TEMPLATE, [{ userIdentity: { type: 'AssumedRole' } }], 'test');

    // Assess
    expect(event?.userIdentity).toEqual({ type: 'AssumedRole', arn: ARN, accountId: '111122223333' });
  });

  it('removes a field given as null', () => {
    // Act
    const [event] = expandEvents(TEMPLATE, [{ userIdentity: { arn: null } }], 'test');

    // Assess
    expect(event?.userIdentity).toEqual({ type: 'IAMUser', accountId: '111122223333' });
  });

  it('repeats an entry and cycles its vary values', () => {
    // Act
    const events = expandEvents(TEMPLATE, [{ repeat: 3, vary: { awsRegion: ['a-1', 'b-2'] } }], 'test');

    // Assess
    expect(events.map((event) => event.awsRegion)).toEqual(['a-1', 'b-2', 'a-1']);
  });

  it('sets a vary value at a dotted path', () => {
    // Act
    const [event] = expandEvents(TEMPLATE, [{ vary: { 'requestParameters.quotaCode': ['L-1'] } }], 'test');

    // Assess
    expect(event?.requestParameters).toEqual({ quotaCode: 'L-1' });
  });

  it('steps eventTime by whole seconds from the entry time', () => {
    // Act
    const events = expandEvents(
      TEMPLATE,
      [{ repeat: 4, stepSeconds: 0.5, eventTime: '2026-11-28T09:00:29Z' }],
      'test',
    );

    // Assess
    expect(events.map((event) => event.eventTime)).toEqual([
      '2026-11-28T09:00:29Z',
      '2026-11-28T09:00:29Z',
      '2026-11-28T09:00:30Z',
      '2026-11-28T09:00:30Z',
    ]);
  });

  it('replaces {i} with the copy number and {n} with the position in the case', () => {
    // Act
    const events = expandEvents(TEMPLATE, [{}, { repeat: 2, sourceIPAddress: 'copy {i} at {n}' }], 'test');

    // Assess
    expect(events.map((event) => event.sourceIPAddress)).toEqual([undefined, 'copy 0 at 1', 'copy 1 at 2']);
  });

  it('gives each event without an eventID its own', () => {
    // Act
    const events = expandEvents(TEMPLATE, [{ repeat: 3 }], 'test');

    // Assess
    expect(new Set(events.map((event) => event.eventID)).size).toBe(3);
  });

  it('repeats an earlier event verbatim for duplicateOf', () => {
    // Act
    const events = expandEvents(TEMPLATE, [{ repeat: 2, awsRegion: 'r-{i}' }, { duplicateOf: 1 }], 'test');

    // Assess
    expect(events[2]).toEqual(events[1]);
  });
});

describe('invalid test files', () => {
  it.each([
    { case: 'not JSON', text: '{', message: 'not JSON' },
    { case: 'no rule', text: JSON.stringify({ cases: [] }), message: 'rule must name' },
    {
      case: 'no cases',
      text: JSON.stringify({ rule: 'x', cases: [] }),
      message: 'cases must be a non-empty',
    },
    {
      case: 'an unknown file field',
      text: JSON.stringify({ rule: 'x', cases: [{}], extra: 1 }),
      message: 'extra',
    },
    {
      case: 'a case without a name',
      text: JSON.stringify({ rule: 'x', cases: [{}] }),
      message: 'cases[0]: name',
    },
    {
      case: 'two cases with one name',
      text: JSON.stringify({
        rule: 'x',
        cases: [
          { name: 'a', events: [{}], expect: [] },
          { name: 'a', events: [{}], expect: [] },
        ],
      }),
      message: 'two cases are named "a"',
    },
    {
      case: 'an unknown case field',
      text: oneCase({ events: [{}], expect: [], expected: [] }),
      message: 'expected',
    },
    { case: 'no events', text: oneCase({ events: [], expect: [] }), message: '("the case"): events' },
    { case: 'no expect', text: oneCase({ events: [{}] }), message: '("the case"): expect must be' },
    {
      case: 'a bad window mode',
      text: oneCase({ windowMode: 'sliding', events: [{}], expect: [] }),
      message: 'windowMode',
    },
    {
      case: 'repeat 0',
      text: oneCase({ events: [{ repeat: 0 }], expect: [] }),
      message: 'events[0]: repeat',
    },
    {
      case: 'an empty vary list',
      text: oneCase({ events: [{ vary: { awsRegion: [] } }], expect: [] }),
      message: 'vary',
    },
    {
      case: 'a step without a usable eventTime',
      text: oneCase({ events: [{ stepSeconds: 1, eventTime: 'yesterday' }], expect: [] }),
      message: 'events[0]: stepSeconds needs an eventTime',
    },
    {
      case: 'duplicateOf a later event',
      text: oneCase({ events: [{}, { duplicateOf: 1 }], expect: [] }),
      message: 'events[1]: duplicateOf',
    },
    {
      case: 'duplicateOf with other fields',
      text: oneCase({ events: [{}, { duplicateOf: 0, awsRegion: 'x' }], expect: [] }),
      message: 'duplicateOf stands alone',
    },
    {
      case: 'a windowStart that is not UTC ISO-8601',
      text: oneCase({ events: [{}], expect: [{ windowStart: '2026-11-28 09:00', arn: ARN }] }),
      message: 'expect[0]: windowStart',
    },
    {
      case: 'an expectation without arn',
      text: oneCase({ events: [{}], expect: [{ windowStart: '2026-11-28T09:00:00Z' }] }),
      message: 'expect[0]: arn',
    },
    {
      case: 'a negative count',
      text: oneCase({
        events: [{}],
        expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN, eventCount: -1 }],
      }),
      message: 'expect[0]: eventCount',
    },
    {
      case: 'one finding expected twice',
      text: oneCase({
        events: [{}],
        expect: [
          { windowStart: '2026-11-28T09:00:00Z', arn: ARN },
          { windowStart: '2026-11-28T09:00:00.000Z', arn: ARN },
        ],
      }),
      message: 'twice',
    },
  ])('$case is refused with a named error', ({ text, message }) => {
    // Act
    const parse = () => parseRuleTestFile(text, 'my-tests.json');

    // Assess
    expect(parse).toThrow(RuleTestFileError);
    expect(parse).toThrow(message);
    expect(parse).toThrow('my-tests.json');
  });

  it('refuses an expectation without the by values of a rule that groups by more than identity', () => {
    // Prepare
    const file = parseRuleTestFile(
      oneCase(
        { events: [{}], expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN }] },
        's3-rapid-bucket-posture',
      ),
      'my-tests.json',
    );
    const [testCase] = file.cases;
    if (testCase === undefined) throw new Error('no case parsed');

    // Act
    const check = () => checkExpectations(S3_RAPID_BUCKET_POSTURE_API_CALLS, testCase, file.source);

    // Assess
    expect(check).toThrow(/my-tests\.json: case "the case".*sourceIPAddress/);
  });
});

describe('running a case', () => {
  async function run(testCase: Record<string, unknown>, rule: RuleDefinition = EC2) {
    const [parsed] = parseRuleTestFile(oneCase(testCase), 'my-tests.json').cases;
    if (parsed === undefined) throw new Error('no case parsed');
    return runRuleTestCase(rule, parsed, 'my-tests.json');
  }

  it('passes when the findings are exactly those expected', async () => {
    // Act
    const result = await run({
      events: [sweep],
      expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN, distinctCount: 10, eventCount: 10 }],
    });

    // Assess
    expect(result).toMatchObject({ passed: true, differences: [] });
  });

  it('reports a missing finding with how far its group got', async () => {
    // Act
    const result = await run({
      events: [{ ...sweep, repeat: 9 }],
      expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN }],
    });

    // Assess
    expect(result.passed).toBe(false);
    expect(result.differences).toEqual([
      `missing finding [window 2026-11-28T09:00:00Z, arn ${ARN}]: the group reached 9 distinct awsRegion ` +
        '(fires at 10) and 9 events (fires at 10)',
    ]);
  });

  it('reports an unexpected finding with its counts', async () => {
    // Act
    const result = await run({ events: [sweep], expect: [] });

    // Assess
    expect(result.differences).toEqual([
      `unexpected finding [window 2026-11-28T09:00:00Z, arn ${ARN}]: 10 distinct awsRegion ` +
        '(ca-central-1, eu-central-1, eu-north-1, eu-west-1, eu-west-2, +5 more), 10 events',
    ]);
  });

  it('reports a count that differs from the one expected', async () => {
    // Act
    const result = await run({
      events: [sweep, { duplicateOf: 0 }],
      expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN, eventCount: 11 }],
    });

    // Assess
    expect(result.differences).toEqual([
      `[window 2026-11-28T09:00:00Z, arn ${ARN}]: eventCount expected 11, got 10`,
    ]);
  });

  it('counts what became of the events', async () => {
    // Act
    const result = await run({
      events: [sweep, { duplicateOf: 0 }, { eventName: 'RunInstances' }],
      expect: [],
    });

    // Assess
    expect(result.events).toEqual({ total: 12, counted: 10, duplicate: 1, filteredOut: 1, invalid: 0 });
  });

  it('runs the case in the window mode it names', async () => {
    // Act
    const result = await run({
      windowMode: 'hopping',
      events: [{ ...sweep, eventTime: '2026-11-28T09:00:25Z' }],
      expect: [{ windowStart: '2026-11-28T09:00:15Z', arn: ARN }],
    });

    // Assess
    expect(result.differences).toEqual([]);
  });
});

describe('the shipped cases guard the built-in rules', () => {
  const mutants = BUILT_IN_RULES.flatMap((rule) => [
    {
      case: `${rule.slug} with minDistinct one lower`,
      rule: withOverrides(rule, { minDistinct: rule.minDistinct - 1 }),
    },
    {
      case: `${rule.slug} with minDistinct one higher`,
      rule: withOverrides(rule, { minDistinct: rule.minDistinct + 1 }),
    },
    {
      case: `${rule.slug} with a window twice as long`,
      rule: withOverrides(rule, { windowSeconds: rule.windowSeconds * 2 }),
    },
  ]);

  it.each(mutants)('$case fails a shipped case', async ({ rule }) => {
    // Prepare
    const file = await loadRuleTestFile(shippedTestFile(rule.slug));

    // Act
    const results = await runRuleTestFile(file, rule);

    // Assess
    expect(results.some((result) => !result.passed)).toBe(true);
  });

  it('every shipped file is named after the rule it tests', async () => {
    // Prepare
    const names = (await readdir(SHIPPED_RULE_TESTS)).filter((name) => name.endsWith('.json'));

    // Act
    const files = await Promise.all(names.map((name) => loadRuleTestFile(join(SHIPPED_RULE_TESTS, name))));

    // Assess
    expect(files.map((file) => `${file.rule}.json`).sort()).toEqual(names.sort());
  });
});
