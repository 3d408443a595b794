import { describe, expect, it } from 'vitest';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { prefilterNeedles, type RuleDefinition } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions } from '../../lambda/domain/detection/rule-parser';
import { SigmaRuleError } from '../../lib/errors';
import { parseSigmaRules } from '../../lib/rules/sigma/sigma-rules';

const FILE = 'rules/mine.yml';

const DETECTION = `title: EC2 describe call
id: 11111111-2222-4333-8444-555555555555
name: ec2_describe
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: ec2.amazonaws.com
        eventName|startswith: Describe
    condition: selection
level: medium
tags:
    - attack.discovery
`;

/** A file holding DETECTION and a correlation over it whose `correlation:` section is `section`. */
function withCorrelation(section: string, head = 'title: sweep\nid: sweep-rule\nlevel: high\n'): string {
  return `${DETECTION}---\n${head}correlation:\n${section
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;
}

const VALUE_COUNT = `type: value_count
rules:
    - ec2_describe
group-by:
    - userIdentity.arn
timespan: 30s
condition:
    field: awsRegion
    gte: 10`;

const TEMPORAL = `type: temporal
rules:
    - ec2_describe
group-by:
    - userIdentity.arn
timespan: 1h`;

describe('Sigma rules become windowed rules', () => {
  it('a detection rule alone alerts once per event: grouped by identity and eventID, at one event', () => {
    // Act
    const [rule] = parseSigmaRules(DETECTION, FILE);

    // Assess
    expect(rule).toMatchObject({
      id: '11111111-2222-4333-8444-555555555555',
      slug: 'ec2_describe',
      name: 'EC2 describe call',
      severity: 'medium',
      tags: ['attack.discovery'],
      groupBy: ['userIdentity.arn', 'eventID'],
      minDistinct: 1,
      minEvents: 1,
    });
  });

  it('value_count: timespan is the window, group-by the grouping, gte the distinct threshold', () => {
    // Act
    const rules = parseSigmaRules(withCorrelation(VALUE_COUNT), FILE);

    // Assess: the referred detection does not alert on its own (Sigma's generate defaults to false)
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      id: 'sweep-rule',
      slug: 'sweep-rule',
      name: 'sweep',
      severity: 'high',
      windowSeconds: 30,
      windowMode: 'tumbling',
      groupBy: ['userIdentity.arn'],
      distinctField: 'awsRegion',
      minDistinct: 10,
      minEvents: 1,
    });
  });

  it('event_count with gt: the event threshold is one more, the grouping puts the identity first', () => {
    // Prepare
    const section =
      'type: event_count\nrules:\n    - ec2_describe\ngroup-by:\n    - sourceIPAddress\n    - userIdentity.arn\ntimespan: 5m\ncondition:\n    gt: 99';

    // Act
    const [rule] = parseSigmaRules(withCorrelation(section), FILE);

    // Assess
    expect(rule).toMatchObject({
      windowSeconds: 300,
      groupBy: ['userIdentity.arn', 'sourceIPAddress'],
      minEvents: 100,
      minDistinct: 1,
    });
  });

  it('a correlation referring to a rule by id, with generate: true, keeps the detection rule alerting too', () => {
    // Prepare: generate sits at the top of the correlation rule, beside level (the correlation rules schema)
    const section = VALUE_COUNT.replace('- ec2_describe', '- 11111111-2222-4333-8444-555555555555');
    const head = 'title: sweep\nid: sweep-rule\nlevel: high\ngenerate: true\n';

    // Act
    const rules = parseSigmaRules(withCorrelation(section, head), FILE);

    // Assess
    expect(rules.map((rule) => rule.slug)).toEqual(['ec2_describe', 'sweep-rule']);
  });

  it('a detection rule two correlations name alerts on its own when one of them says generate: true', () => {
    // Prepare
    const second = `---\ntitle: also\nid: also\ncorrelation:\n    type: event_count\n    rules: [ec2_describe]\n    group-by: [userIdentity.arn]\n    timespan: 1m\n    condition: {gte: 3}\ngenerate: true\n`;

    // Act
    const rules = parseSigmaRules(`${withCorrelation(VALUE_COUNT)}${second}`, FILE);

    // Assess
    expect(rules.map((rule) => rule.slug)).toEqual(['ec2_describe', 'sweep-rule', 'also']);
  });

  it('a correlation over two detection rules counts the events of either', () => {
    // Prepare
    const second = DETECTION.replace('11111111-2222-4333-8444-555555555555', 'second-id').replace(
      'name: ec2_describe',
      'name: ec2_run',
    );
    const text = `${DETECTION}---\n${second}---\ntitle: both\nid: both\ncorrelation:\n    type: event_count\n    rules: [ec2_describe, ec2_run]\n    group-by: [userIdentity.arn]\n    timespan: 1m\n    condition: {gte: 3}\n`;

    // Act
    const [rule] = parseSigmaRules(text, FILE);

    // Assess
    expect(rule?.filter).toEqual([{ anyOf: [expect.anything(), expect.anything()] }]);
  });

  it('alerts read the title as plain words within the subject room; the whole title stays the name', () => {
    // Prepare
    const title =
      '*Suspicious* <EC2> enumeration: DescribeInstances_from an unknown network — seen in the wild';

    // Act
    const [rule] = parseSigmaRules(DETECTION.replace('title: EC2 describe call', `title: '${title}'`), FILE);

    // Assess
    expect(rule?.name).toBe(title);
    expect(rule?.presentation).toEqual({
      title: 'Suspicious EC2 enumeration: DescribeInstances',
      distinctNoun: 'event',
      eventNoun: 'matching events',
      perEvent: true,
    });
  });

  it("every rule survives the function's own parser unchanged (the rules travel to it as JSON)", () => {
    // Prepare
    const rules = [
      ...parseSigmaRules(DETECTION, FILE),
      ...parseSigmaRules(withCorrelation(VALUE_COUNT), FILE),
    ];

    // Act
    const shipped = parseRuleDefinitions(JSON.stringify(rules), 'CUSTOM_RULES_JSON');

    // Assess
    expect(shipped).toEqual(rules);
  });
});

describe('the prefilter of a Sigma rule stays exact', () => {
  it('a cased rule gets the needles of the built-in rule it restates', () => {
    // Prepare
    const text = withCorrelation(VALUE_COUNT).replace(
      'eventSource: ec2.amazonaws.com\n        eventName|startswith: Describe',
      'eventName|cased: DescribeInstances\n        eventSource|cased: ec2.amazonaws.com',
    );
    const [rule] = parseSigmaRules(text, FILE);

    // Act
    const needles = prefilterNeedles(rule as RuleDefinition).map((group) => group.map(String));

    // Assess
    expect(needles).toEqual(
      prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES).map((group) => group.map(String)),
    );
  });

  it.each([
    { case: 'case-insensitive values', detection: 'eventName: DescribeInstances' },
    {
      case: 'a cased value that could be the text of a number',
      detection: "requestParameters.maxResults|cased: '5*'",
    },
    { case: 'a regular expression', detection: "eventName|re: '^Describe'" },
    {
      case: 'a negated selection',
      detection: 'eventName|cased: DescribeInstances',
      condition: 'not selection',
    },
  ])('$case give no needle: every record is parsed and decided by the rule', ({ detection, condition }) => {
    // Prepare
    const text = DETECTION.replace(
      'eventSource: ec2.amazonaws.com\n        eventName|startswith: Describe',
      detection,
    ).replace('condition: selection', `condition: ${condition ?? 'selection'}`);
    const [rule] = parseSigmaRules(text, FILE);

    // Act
    const needles = prefilterNeedles(rule as RuleDefinition);

    // Assess
    expect(needles).toEqual([]);
  });

  it.each([
    { case: 'startswith', detection: 'eventName|cased|startswith: Describe', needle: '"Describe' },
    {
      case: 'endswith: the literal, unquoted',
      detection: 'eventName|cased|endswith: Instances',
      needle: 'Instances',
    },
    {
      case: 'contains: the longest plain run',
      detection: "userAgent|cased|contains: 'aws-cli/2'",
      needle: 'aws-cli',
    },
    {
      case: 'a wildcard inside: the text before it',
      detection: "eventName|cased: 'Describe*s'",
      needle: '"Describe',
    },
  ])('a cased $case gives the text every match holds', ({ detection, needle }) => {
    // Prepare
    const text = DETECTION.replace(
      'eventSource: ec2.amazonaws.com\n        eventName|startswith: Describe',
      detection,
    );
    const [rule] = parseSigmaRules(text, FILE);

    // Act
    const needles = prefilterNeedles(rule as RuleDefinition).map((group) => group.map(String));

    // Assess
    expect(needles).toEqual([[needle, '\\u']]);
  });
});

/** DETECTION with its selection replaced by `selection` (YAML under `selection:`, 8 spaces in). */
function withSelection(selection: string, condition = 'selection'): string {
  return DETECTION.replace(
    '        eventSource: ec2.amazonaws.com\n        eventName|startswith: Describe',
    selection
      .trim()
      .split('\n')
      .map((line) => `        ${line}`)
      .join('\n'),
  ).replace('condition: selection', `condition: ${condition}`);
}

describe('unsupported Sigma is refused with an error naming the construct and the file', () => {
  it.each([
    {
      construct: 'keyword search',
      text: DETECTION.replace(
        / {4}selection:\n[\s\S]*? {4}condition/,
        "    keywords:\n        - 'DescribeInstances'\n    condition",
      ).replace('condition: selection', 'condition: keywords'),
    },
    { construct: 'keyword search', text: withSelection("'|all':\n    - Describe\n    - Instances") },
    ...[
      'base64',
      'base64offset',
      'utf16le',
      'utf16be',
      'utf16',
      'wide',
      'windash',
      'lt',
      'lte',
      'gt',
      'gte',
      'neq',
      'expand',
      'fieldref',
      'minute',
      'hour',
      'day',
      'week',
      'month',
      'year',
    ].map((modifier) => ({
      construct: `modifier ${modifier}`,
      text: withSelection(`eventName|${modifier}: '5'`),
    })),
    { construct: 'modifier sha256', text: withSelection('eventName|sha256: x') },
    { construct: 'modifiers contains|re', text: withSelection("eventName|contains|re: 'x'") },
    { construct: 'modifiers i', text: withSelection('eventName|i: x') },
    { construct: 'modifiers contains|startswith', text: withSelection('eventName|contains|startswith: x') },
    { construct: 'modifier all', text: withSelection('eventName|contains|all: x') },
    { construct: 'modifier exists', text: withSelection('eventName|exists: yes please') },
    { construct: 'null in a value list', text: withSelection("eventName:\n    - ''\n    - null") },
    { construct: 'value list', text: withSelection('eventName: []') },
    { construct: 'logsource', text: DETECTION.replace('service: cloudtrail', 'service: guardduty') },
    { construct: 'logsource', text: DETECTION.replace('product: aws', 'product: windows') },
    { construct: 'taxonomy', text: `taxonomy: ecs\n${DETECTION}` },
    { construct: 'status unsupported', text: `status: unsupported\n${DETECTION}` },
    { construct: 'near', text: withSelection('eventName: x', 'selection near selection') },
    {
      construct: 'aggregation',
      text: withSelection('eventName: x', 'selection | count() by userIdentity.arn > 5'),
    },
    { construct: '2 of', text: withSelection('eventName: x', '2 of selection*') },
    { construct: 'condition syntax', text: withSelection('eventName: x', 'selection and (selection') },
    { construct: 'condition', text: withSelection('eventName: x', 'selection and other') },
    { construct: 'condition', text: withSelection('eventName: x', '1 of filter*') },
    {
      construct: 'timeframe',
      text: DETECTION.replace('    condition: selection', '    timeframe: 30s\n    condition: selection'),
    },
    {
      construct: 'correlation group-by',
      text: withCorrelation(
        TEMPORAL.replace('    - userIdentity.arn', '    - userIdentity.arn\n    - sourceIPAddress'),
      ),
    },
    {
      construct: 'correlation condition',
      text: withCorrelation(`${TEMPORAL}\ncondition:\n    gte: 1`),
    },
    {
      construct: 'correlation timespan',
      text: withCorrelation(TEMPORAL.replace('timespan: 1h', 'timespan: 61m')),
    },
    {
      construct: 'correlation type temporal_ordered',
      text: withCorrelation(VALUE_COUNT.replace('value_count', 'temporal_ordered')),
    },
    {
      construct: 'correlation type value_sum',
      text: withCorrelation(VALUE_COUNT.replace('value_count', 'value_sum')),
    },
    {
      construct: 'correlation type value_avg',
      text: withCorrelation(VALUE_COUNT.replace('value_count', 'value_avg')),
    },
    {
      construct: 'correlation type value_percentile',
      text: withCorrelation(VALUE_COUNT.replace('value_count', 'value_percentile')),
    },
    {
      construct: 'correlation condition lt',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'lt: 10')),
    },
    {
      construct: 'correlation condition lte',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'lte: 10')),
    },
    {
      construct: 'correlation condition eq',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'eq: 10')),
    },
    {
      construct: 'correlation condition neq',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'neq: 10')),
    },
    {
      construct: 'correlation condition range (lte)',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'gt: 10\n    lte: 20')),
    },
    {
      construct: 'correlation condition',
      text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'gte: 10\n    gt: 11')),
    },
    {
      construct: 'correlation condition field list',
      text: withCorrelation(VALUE_COUNT.replace('field: awsRegion', 'field: [awsRegion, eventName]')),
    },
    {
      construct: 'correlation condition field',
      text: withCorrelation(VALUE_COUNT.replace('    field: awsRegion\n', '')),
    },
    {
      construct: 'correlation generate',
      text: withCorrelation(`${VALUE_COUNT}\ngenerate: true`),
    },
    {
      construct: 'generate',
      text: withCorrelation(VALUE_COUNT, 'title: sweep\nid: sweep-rule\ngenerate: yes please\n'),
    },
    {
      construct: 'correlation aliases',
      text: withCorrelation(`${VALUE_COUNT}\naliases:\n    ip:\n        ec2_describe: sourceIPAddress`),
    },
    { construct: 'correlation timespan', text: withCorrelation(VALUE_COUNT.replace('30s', '1h')) },
    { construct: 'correlation timespan', text: withCorrelation(VALUE_COUNT.replace('30s', '30 seconds')) },
    {
      construct: 'correlation group-by',
      text: withCorrelation(VALUE_COUNT.replace('userIdentity.arn', 'sourceIPAddress')),
    },
    {
      construct: 'correlation rules',
      text: withCorrelation(VALUE_COUNT.replace('- ec2_describe', '- not_in_this_file')),
    },
    {
      construct: 'correlation chaining',
      text: `${withCorrelation(VALUE_COUNT)}---\ntitle: chained\nid: chained\ncorrelation:\n    type: event_count\n    rules: [sweep-rule]\n    group-by: [userIdentity.arn]\n    timespan: 1m\n    condition: {gte: 2}\n`,
    },
    { construct: 'rule', text: withCorrelation(VALUE_COUNT.replace('gte: 10', 'gte: 65')) },
    { construct: 'action', text: `action: global\n${DETECTION}` },
    {
      construct: 'rule',
      text: DETECTION.replace(
        '    - attack.discovery',
        Array.from({ length: 17 }, (_, i) => `    - attack.t${1000 + i}`).join('\n'),
      ),
    },
    {
      construct: 'Sigma filter',
      text: 'title: f\nlogsource: {product: aws}\nfilter:\n    rules: [x]\n    selection: {eventName: x}\n    condition: not selection\n',
    },
    { construct: 'YAML', text: `${DETECTION}\n  bad: [indentation` },
    { construct: 'tags', text: DETECTION.replace('attack.discovery', 'Attack Discovery!') },
    { construct: 'name', text: DETECTION.replace('name: ec2_describe', 'name: EC2 describe call') },
  ])('$construct', ({ construct, text }) => {
    // Act
    const parse = () => parseSigmaRules(text, FILE);

    // Assess
    expect(parse).toThrow(SigmaRuleError);
    try {
      parse();
    } catch (error) {
      expect((error as SigmaRuleError).construct).toBe(construct);
      expect((error as Error).message).toContain(FILE);
      expect((error as Error).message).toContain(construct);
    }
  });
});
