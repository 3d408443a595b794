import { describe, expect, it } from 'vitest';
import { matchesFilter, type RuleDefinition } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions } from '../../lambda/domain/detection/rule-parser';
import { parseSigmaRules } from '../../lib/rules/sigma/sigma-rules';

/** A detection rule on CloudTrail with `detection` (YAML, indented as under `detection:`). */
function sigma(detection: string): RuleDefinition {
  const text = [
    'title: test rule',
    'id: test-rule',
    'logsource:',
    '    product: aws',
    '    service: cloudtrail',
    'detection:',
    ...detection
      .trim()
      .split('\n')
      .map((line) => `    ${line}`),
  ].join('\n');
  const [rule] = parseSigmaRules(text, 'test.yml');
  if (rule === undefined) throw new Error('no rule');
  return rule;
}

/** Whether `rule` matches `record`, read as the function reads the rule: through its JSON form. */
function matches(rule: RuleDefinition, record: Record<string, unknown>): boolean {
  const [shipped] = parseRuleDefinitions(JSON.stringify(rule), 'CUSTOM_RULES_JSON');
  return matchesFilter(record, shipped as RuleDefinition);
}

const EVENT = {
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '203.0.113.9',
  userAgent: 'aws-cli/2.15.0 Python/3.11',
  readOnly: true,
  userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/recon/s' },
  requestParameters: { maxResults: 5, filterSet: null, path: 'C:\\Windows\\*', note: '' },
  resources: [{ ARN: 'arn:aws:s3:::a' }, { ARN: 'arn:aws:s3:::b' }],
};

describe('Sigma detection constructs match as the specification says', () => {
  it.each([
    {
      case: 'a map: every field test holds',
      detection: 'sel:\n    eventSource: ec2.amazonaws.com\n    eventName: DescribeInstances\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'a map: one field test failing fails it',
      detection: 'sel:\n    eventSource: ec2.amazonaws.com\n    eventName: RunInstances\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 'a list of maps: one map holding is enough',
      detection: 'sel:\n    - eventName: RunInstances\n    - awsRegion: eu-west-1\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'a value list: one value matching is enough',
      detection: 'sel:\n    eventName:\n        - RunInstances\n        - DescribeInstances\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'a value list with wildcards: one value matches the whole value',
      detection: "sel:\n    eventName:\n        - 'Run*'\n        - '?escribeInstances'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'a value list with wildcards: a value matching only a part matches none',
      detection: "sel:\n    eventName:\n        - 'Run*'\n        - 'escribe*'\ncondition: sel",
      event: EVENT,
      expected: false,
    },
    {
      case: 'plain values are case-insensitive',
      detection: 'sel:\n    eventName: describeinstances\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'cased compares case-sensitively',
      detection: 'sel:\n    eventName|cased: describeinstances\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 'cased matches the exact spelling',
      detection: 'sel:\n    eventName|cased: DescribeInstances\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'a plain value matches the whole value, not a part',
      detection: 'sel:\n    eventName: Describe\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 'the * wildcard in a plain value',
      detection: "sel:\n    eventName: 'describe*'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'the ? wildcard stands for exactly one character',
      detection: "sel:\n    awsRegion: 'eu-west-?'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'the ? wildcard does not stand for two',
      detection: "sel:\n    awsRegion: 'eu-wes?'\ncondition: sel",
      event: EVENT,
      expected: false,
    },
    {
      case: 'an escaped star is a plain star (three backslashes: a backslash, then a plain star)',
      detection: "sel:\n    requestParameters.path: 'C:\\Windows\\\\\\*'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'an escaped star is no wildcard',
      detection: "sel:\n    requestParameters.path: 'C:\\Windows\\\\\\*'\ncondition: sel",
      event: { ...EVENT, requestParameters: { path: 'C:\\Windows\\x' } },
      expected: false,
    },
    {
      case: 'a backslash before a wildcard, itself escaped, leaves the wildcard a wildcard',
      detection: "sel:\n    requestParameters.path: 'C:\\Windows\\\\*'\ncondition: sel",
      event: { ...EVENT, requestParameters: { path: 'C:\\Windows\\x' } },
      expected: true,
    },
    {
      case: 'an escaped star does not match other text',
      detection: "sel:\n    requestParameters.path: 'C:\\Win\\*'\ncondition: sel",
      event: EVENT,
      expected: false,
    },
    {
      case: 'contains',
      detection: 'sel:\n    userAgent|contains: PYTHON/3\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'startswith',
      detection: 'sel:\n    userAgent|startswith: AWS-CLI/\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'startswith does not match in the middle',
      detection: 'sel:\n    userAgent|startswith: python\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 'endswith',
      detection: 'sel:\n    userAgent|endswith: /3.11\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'endswith after a value ending in a plain backslash keeps the backslash plain',
      detection: "sel:\n    requestParameters.path|startswith: 'C:\\'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'contains|all: every value is in the field',
      detection: 'sel:\n    userAgent|contains|all:\n        - aws-cli\n        - python\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'contains|all: one value missing fails',
      detection: 'sel:\n    userAgent|contains|all:\n        - aws-cli\n        - boto3\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 're, unanchored and case-sensitive',
      detection: "sel:\n    userAgent|re: 'cli/2\\.\\d+'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 're is case-sensitive',
      detection: "sel:\n    userAgent|re: 'CLI/2'\ncondition: sel",
      event: EVENT,
      expected: false,
    },
    {
      case: 're|i is case-insensitive',
      detection: "sel:\n    userAgent|re|i: '^AWS-CLI/2'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'cidr, IPv4',
      detection: 'sel:\n    sourceIPAddress|cidr: 203.0.113.0/24\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'cidr, IPv4, outside the network',
      detection: 'sel:\n    sourceIPAddress|cidr: 198.51.100.0/24\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: 'cidr, IPv6, any spelling of an address inside',
      detection: "sel:\n    sourceIPAddress|cidr: '2001:db8::/32'\ncondition: sel",
      event: { ...EVENT, sourceIPAddress: '2001:DB8:0:0:0:0:0:1' },
      expected: true,
    },
    {
      case: 'cidr, IPv6, outside the network',
      detection: "sel:\n    sourceIPAddress|cidr: '2001:db8::/32'\ncondition: sel",
      event: { ...EVENT, sourceIPAddress: '2001:db9::1' },
      expected: false,
    },
    {
      case: 'cidr on a value that is no IP address',
      detection: 'sel:\n    sourceIPAddress|cidr: 0.0.0.0/0\ncondition: sel',
      event: { ...EVENT, sourceIPAddress: 'ec2.amazonaws.com' },
      expected: false,
    },
    {
      case: 'exists: true on a present field',
      detection: 'sel:\n    requestParameters.maxResults|exists: true\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'exists: true on a field holding null (presence, not value)',
      detection: 'sel:\n    requestParameters.filterSet|exists: true\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'exists: false on an absent field',
      detection: 'sel:\n    errorCode|exists: false\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'null matches an absent field',
      detection: 'sel:\n    errorCode: null\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'null matches a field holding null',
      detection: 'sel:\n    requestParameters.filterSet: null\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'null does not match an empty string',
      detection: 'sel:\n    requestParameters.note: null\ncondition: sel',
      event: EVENT,
      expected: false,
    },
    {
      case: "'' matches an empty string",
      detection: "sel:\n    requestParameters.note: ''\ncondition: sel",
      event: EVENT,
      expected: true,
    },
    {
      case: 'a number value matches a number field',
      detection: 'sel:\n    requestParameters.maxResults: 5\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'a boolean value matches a boolean field',
      detection: 'sel:\n    readOnly: true\ncondition: sel',
      event: EVENT,
      expected: true,
    },
    {
      case: 'an array field: one element matching is enough',
      detection: "sel:\n    resources.ARN: 'arn:aws:s3:::b'\ncondition: sel",
      event: EVENT,
      expected: true,
    },
  ])('$case', ({ detection, event, expected }) => {
    // Act
    const result = matches(sigma(detection), event);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('Sigma conditions combine search identifiers', () => {
  const searches = [
    'sel_ec2:',
    '    eventSource: ec2.amazonaws.com',
    'sel_describe:',
    '    eventName: Describe*',
    'filter_region:',
    '    awsRegion: eu-west-1',
    '_private:',
    '    eventName: RunInstances',
  ].join('\n');

  it.each([
    { case: 'and', condition: 'sel_ec2 and sel_describe', expected: true },
    { case: 'or', condition: 'sel_ec2 or _private', expected: true },
    { case: 'not', condition: 'sel_ec2 and not filter_region', expected: false },
    { case: 'and binds tighter than or', condition: '_private and sel_ec2 or sel_describe', expected: true },
    { case: 'parentheses', condition: '_private and (sel_ec2 or sel_describe)', expected: false },
    { case: 'not binds tighter than and', condition: 'not _private and sel_ec2', expected: true },
    { case: '1 of a pattern', condition: '1 of sel_*', expected: true },
    { case: 'all of a pattern', condition: 'all of sel_* and not 1 of filter_*', expected: false },
    { case: 'all of them leaves out identifiers starting with _', condition: 'all of them', expected: true },
    { case: '1 of them', condition: '1 of them', expected: true },
    { case: 'a pattern may name _ identifiers', condition: 'all of _priv*', expected: false },
    { case: 'keywords in upper case', condition: 'sel_ec2 AND NOT _private', expected: true },
    {
      case: 'a list of conditions is linked with or',
      condition: '\n    - _private\n    - sel_ec2',
      expected: true,
    },
  ])('$case: $condition', ({ condition, expected }) => {
    // Prepare
    const rule = sigma(`${searches}\ncondition: ${condition}`);

    // Act
    const result = matches(rule, EVENT);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('an unquoted number in a detection is matched as the text written in the rule', () => {
  it.each([
    {
      case: 'a leading zero (an account id)',
      value: '012345678901',
      field: '012345678901',
      other: '12345678901',
    },
    { case: 'a trailing zero', value: '1.50', field: '1.50', other: '1.5' },
    { case: 'hexadecimal', value: '0x17', field: '0x17', other: '23' },
    { case: 'an exponent', value: '1e3', field: '1e3', other: '1000' },
    {
      case: 'an integer above 2^53',
      value: '9007199254740993',
      field: '9007199254740993',
      other: '9007199254740992',
    },
  ])('$case: $value matches "$field", not "$other"', ({ value, field, other }) => {
    // Prepare
    const rule = sigma(`sel:\n    recipientAccountId: ${value}\ncondition: sel`);

    // Act
    const written = matches(rule, { ...EVENT, recipientAccountId: field });
    const parsed = matches(rule, { ...EVENT, recipientAccountId: other });

    // Assess
    expect([written, parsed]).toEqual([true, false]);
  });

  it('under not, a rule with a leading-zero account id does not fire on that account', () => {
    // Prepare
    const rule = sigma('sel:\n    recipientAccountId: 012345678901\ncondition: not sel');

    // Act
    const result = matches(rule, { ...EVENT, recipientAccountId: '012345678901' });

    // Assess
    expect(result).toBe(false);
  });

  it('a plain number still matches the number in the record', () => {
    // Prepare
    const rule = sigma('sel:\n    requestParameters.maxResults: 5\ncondition: sel');

    // Act
    const result = matches(rule, EVENT);

    // Assess
    expect(result).toBe(true);
  });
});
