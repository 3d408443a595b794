import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES, toRule } from '../../lambda/domain/built-in-rules';
import { ConfigError } from '../../lambda/domain/errors';
import { groupValueOf, matchesFilter, prefilterNeedles, type RuleDefinition } from '../../lambda/domain/rule';
import { parseRuleTestFile, shippedTestFile } from '../../lib/rules/rule-tests';

/** A user rule as a JSON file holds it, using every condition the language has. */
const USER_RULE = {
  id: 'cli-recon-from-ip',
  name: 'CLI reconnaissance from an IP address',
  filter: [
    { field: 'userAgent', as: 'userAgentName', equals: ['aws-cli'] },
    {
      field: ['userIdentity.userName', 'userIdentity.sessionContext.sessionIssuer.userName'],
      notEquals: ['ci'],
    },
    { field: 'sourceIPAddress', as: 'ip', present: true },
    { field: 'requestParameters', as: 'flattened', matches: '^\\{bucketName=' },
  ],
  windowSeconds: 10,
  groupBy: ['userIdentity.arn', 'sourceIPAddress'],
  groupAs: { sourceIPAddress: 'ip' },
  distinctField: 'eventName',
  minDistinct: 3,
  follows: { ruleId: 'upstream-1', version: 'v2', queryDate: '2026-07-20' },
};

function record(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    eventTime: '2026-11-28T09:00:00Z',
    eventName: 'GetBucketAcl',
    userAgent: '[aws-cli/2.15.30 md/command#s3api.get-bucket-acl]',
    sourceIPAddress: '2001:DB8::1',
    userIdentity: { arn: 'arn:aws:iam::111122223333:user/alice', userName: 'alice' },
    requestParameters: { bucketName: 'b', acl: '' },
    ...overrides,
  };
}

describe('conditions with views and fallback fields', () => {
  const rule = toRule(USER_RULE, 'rules.json[0]');

  it.each([
    { case: 'a record meeting every condition', overrides: {}, matches: true },
    { case: 'another AWS client', overrides: { userAgent: 'Boto3/1.34.0' }, matches: false },
    {
      case: 'a source that is not an IP address',
      overrides: { sourceIPAddress: 'AWS Internal' },
      matches: false,
    },
    {
      case: "the fallback field: the session issuer's user name",
      overrides: { userIdentity: { arn: 'x', sessionContext: { sessionIssuer: { userName: 'ci' } } } },
      matches: false,
    },
    {
      case: 'the first field wins over the fallback',
      overrides: {
        userIdentity: { arn: 'x', userName: 'alice', sessionContext: { sessionIssuer: { userName: 'ci' } } },
      },
      matches: true,
    },
    {
      case: 'neither field: null fails notEquals',
      overrides: { userIdentity: { arn: 'x' } },
      matches: false,
    },
    {
      case: 'an empty user name is no user name',
      overrides: { userIdentity: { arn: 'x', userName: '' } },
      matches: false,
    },
    {
      case: 'flattened text of other parameters',
      overrides: { requestParameters: { policy: 'p' } },
      matches: false,
    },
  ])('$case: matches is $matches', ({ overrides, matches }) => {
    // Act
    const result = matchesFilter(record(overrides), rule);

    // Assess
    expect(result).toBe(matches);
  });

  it.each([
    { case: 'an IPv6 spelling', address: '2001:DB8:0:0:0:0:0:1', group: '2001:db8::1' },
    { case: 'an IPv4-mapped address', address: '::ffff:192.0.2.1', group: '192.0.2.1' },
    { case: 'a service name (no source.ip)', address: 'access-analyzer.amazonaws.com', group: null },
    { case: 'an empty address', address: '', group: null },
  ])('groupAs ip: $case groups as $group', ({ address, group }) => {
    // Act
    const value = groupValueOf(record({ sourceIPAddress: address }), 'sourceIPAddress', rule);

    // Assess
    expect(value).toBe(group);
  });
});

describe('rule definitions with views, fallbacks and follows', () => {
  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case parses back unchanged from JSON (rules travel to the function as JSON)',
    ({ rule }) => {
      // Act
      const parsed = toRule(JSON.parse(JSON.stringify(rule)), 'built-in');

      // Assess
      expect(parsed).toEqual(rule);
    },
  );

  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case names the Elastic rule, version and query date it follows',
    ({ rule }) => {
      // Assess
      expect(rule.follows).toMatchObject({ ruleId: rule.id, version: expect.stringMatching(/14cf530f0d/) });
      expect(rule.follows?.queryDate).toMatch(/^20\d\d-\d\d-\d\d$/);
    },
  );

  it.each([
    {
      case: 'an unknown view',
      change: { filter: [{ field: 'x', as: 'lowercase', equals: ['a'] }] },
      error: /as must be one of/,
    },
    {
      case: 'a user-agent name that is not an AWS client',
      change: { filter: [{ field: 'userAgent', as: 'userAgentName', equals: ['Chrome'] }] },
      error: /AWS client names only/,
    },
    {
      case: 'a prefix test on a user-agent name',
      change: { filter: [{ field: 'userAgent', as: 'userAgentName', startsWith: ['aws'] }] },
      error: /equals, notEquals and present only/,
    },
    {
      case: 'an address spelled otherwise than Elastic prints it',
      change: { filter: [{ field: 'sourceIPAddress', as: 'ip', equals: ['2001:DB8::1'] }] },
      error: /2001:DB8::1 -> 2001:db8::1/,
    },
    {
      case: 'an empty list of fields',
      change: { filter: [{ field: [], present: true }] },
      error: /one or more distinct/,
    },
    {
      case: 'a field named twice',
      change: { filter: [{ field: ['a', 'a'], present: true }] },
      error: /one or more distinct/,
    },
    {
      case: 'an empty string value',
      change: { filter: [{ field: 'errorCode', equals: [''] }] },
      error: /empty string is a missing value/,
    },
    {
      case: 'groupAs on a field the rule does not group by',
      change: { groupAs: { awsRegion: 'ip' } },
      error: /not a further groupBy field/,
    },
    {
      case: 'groupAs with an unknown view',
      change: { groupAs: { sourceIPAddress: 'cidr' } },
      error: /as must be one of/,
    },
    {
      case: 'an unknown field in follows',
      change: { follows: { ruleId: 'x', version: 'y', queryDate: '2026-07-20', url: 'z' } },
      error: /unknown field\(s\) url/,
    },
    {
      case: 'a query date that is not a date',
      change: { follows: { ruleId: 'x', version: 'y', queryDate: 'July' } },
      error: /queryDate must be a date/,
    },
    {
      case: 'an unknown field in a condition',
      change: { filter: [{ field: 'x', contains: ['a'] }] },
      error: /unknown field/,
    },
    {
      case: "a window longer than 30 minutes (an organization's contributors and the event-time set outgrow their bounds)",
      change: { windowSeconds: 1_801 },
      error: /windowSeconds must be .*1800/,
    },
  ])('refuses $case', ({ change, error }) => {
    // Act
    const parse = () => toRule({ ...USER_RULE, ...change }, 'rules.json[0]');

    // Assess
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(error);
  });
});

describe('prefilter needles of the new conditions', () => {
  const text = (groups: Buffer[][]) => groups.map((group) => group.map(String));
  const base = BUILT_IN_RULES[0] as RuleDefinition;

  it('a user-agent name gives the name anywhere in the record, without the opening quote', () => {
    // Act
    const needles = prefilterNeedles({
      ...base,
      filter: [{ field: 'userAgent', as: 'userAgentName', equals: ['aws-cli', 'Boto3'] }],
    });

    // Assess
    expect(text(needles)).toEqual([['aws-cli', 'Boto3', '\\u']]);
  });

  it('an address or flattened text gives no needle: neither is spelled one way in the record', () => {
    // Act
    const needles = prefilterNeedles({
      ...base,
      filter: [
        { field: 'sourceIPAddress', as: 'ip', equals: ['2001:db8::1'] },
        { field: 'requestParameters', as: 'flattened', matches: '^\\{a=' },
      ],
    });

    // Assess
    expect(needles).toEqual([]);
  });

  it('fallback fields keep the needles of their values', () => {
    // Act
    const needles = prefilterNeedles({ ...base, filter: [{ field: ['a', 'b'], equals: ['alice'] }] });

    // Assess
    expect(text(needles)).toEqual([['"alice"', '\\u']]);
  });

  /** The prefilter must never drop a record the rule matches: every shipped case's matching events hold a needle of each group. */
  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case: every matching event of its shipped cases holds a needle of every group',
    ({ rule }) => {
      // Prepare
      const file = parseRuleTestFile(readFileSync(shippedTestFile(rule.slug), 'utf8'), rule.slug);
      const matching = file.cases
        .flatMap((testCase) => testCase.events)
        .filter((event) => matchesFilter(event, rule));
      const groups = prefilterNeedles(rule).map((group) => group.map(String));

      // Act
      const missed = matching.filter((event) => {
        const json = JSON.stringify(event);
        return groups.some((group) => !group.some((needle) => json.includes(needle)));
      });

      // Assess
      expect(matching.length).toBeGreaterThan(0);
      expect(missed).toEqual([]);
    },
  );
});
