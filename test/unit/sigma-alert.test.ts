import { describe, expect, it } from 'vitest';
import { loadPipelineSettings, type PipelineSettings, pipelineSettings } from '../../lambda/config';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
import { parseRuleDefinitions } from '../../lambda/domain/detection/rule-parser';
import type { Finding } from '../../lambda/domain/detection/window-state';
import { memoryPipeline } from '../../lambda/pipeline';
import { processLogObject } from '../../lambda/process-log-object';
import { parseSigmaRules } from '../../lib/rules/sigma/sigma-rules';
import { cloudTrailEvent } from '../fixtures/events';

const RULE = parseSigmaRules(
  `title: EC2 described from outside
id: ec2-describe-outside
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName|cased: DescribeInstances
    known:
        sourceIPAddress|cidr: 10.0.0.0/8
    condition: selection and not known
level: high
tags:
    - attack.discovery
    - attack.t1580
`,
  'rules/outside.yml',
);

/** The finding the rule gives for one matching event, through the pipeline `scan` runs. */
async function findingOfOneEvent(rules = RULE): Promise<Finding> {
  const [finding, ...others] = await findingsOfOneEvent({ ...loadPipelineSettings({}), rules });
  if (finding === undefined || others.length > 0) throw new Error('expected exactly one finding');
  return finding;
}

/** The findings of one matching event, through the pipeline `scan` runs with `settings`. */
async function findingsOfOneEvent(settings: PipelineSettings): Promise<Finding[]> {
  const body = Buffer.from(
    JSON.stringify({
      Records: [cloudTrailEvent({ eventTime: '2026-11-28T10:00:07Z', sourceIPAddress: '203.0.113.9' })],
    }),
  );
  const pipeline = memoryPipeline(settings, {
    async open() {
      return (async function* () {
        yield body;
      })();
    },
  });
  await processLogObject(
    pipeline.deps,
    { bucket: '', key: 'one.json', size: body.length },
    { origin: 'live', keyMode: 'lenient' },
  );
  return pipeline.findings();
}

describe("a Sigma rule's alert carries its title, level and tags", () => {
  it('the subject is titled by the rule', async () => {
    // Act
    const { subject } = renderAlert({
      finding: await findingOfOneEvent(),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(subject).toMatch(/^\[regionsweep\] EC2 described from outside: 1 event by role\//);
  });

  it('the email names the rule, its level and its tags', async () => {
    // Act
    const { email } = renderAlert({
      finding: await findingOfOneEvent(),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(email).toContain('Rule:               EC2 described from outside (ec2-describe-outside)');
    expect(email).toContain('Severity:           high');
    expect(email).toContain('Tags:               attack[.]discovery, attack[.]t1580');
  });

  it('the chat notification is titled by the rule, and shows its level and tags', async () => {
    // Act
    const { slack } = renderAlert({
      finding: await findingOfOneEvent(),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(slack.content.title).toContain('EC2 described from outside');
    expect(slack.content.keywords).toEqual([
      'regionsweep',
      'high',
      'live',
      'attack[.]discovery',
      'attack[.]t1580',
    ]);
    expect(slack.content.description).toContain('*Tags:* attack[.]discovery, attack[.]t1580');
  });

  it('the machine document carries the title, level and tags as data', async () => {
    // Act
    const { document, attributes } = renderAlert({
      finding: await findingOfOneEvent(),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(document.finding).toMatchObject({
      ruleId: 'ec2-describe-outside',
      ruleName: 'EC2 described from outside',
      severity: 'high',
      tags: ['attack.discovery', 'attack.t1580'],
    });
    expect(attributes.severity).toEqual({ DataType: 'String', StringValue: 'high' });
  });

  it('a rule without tags shows none, and its document has no tags field', async () => {
    // Prepare
    const { tags, ...untagged } = await findingOfOneEvent();

    // Act
    const { email, slack, document } = renderAlert({
      finding: untagged,
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(email).not.toContain('Tags:');
    expect(slack.content.description).not.toContain('*Tags:*');
    expect(slack.content.keywords).toEqual(['regionsweep', 'high', 'live']);
    expect(document.finding).not.toHaveProperty('tags');
  });
});

describe("a per-event Sigma rule's alert describes the one event, not a burst", () => {
  const described = parseSigmaRules(
    `title: EC2 described from outside
id: ec2-describe-outside
description: |
    An EC2 inventory call
    from outside the corporate network.
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName|cased: DescribeInstances
    condition: selection
level: high
`,
    'rules/outside.yml',
  );

  it('the email tells of one event at its time, quotes the description, and has no burst wording', async () => {
    // Act
    const { email } = renderAlert({
      finding: await findingOfOneEvent(described),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(email).toContain(
      'regionsweep alert: EC2 described from outside (1 event at 2026-11-28T10:00:07Z)',
    );
    expect(email).toContain('An EC2 inventory call from outside the corporate network.');
    expect(email).toContain('Event time:         2026-11-28T10:00:07Z');
    expect(email).not.toMatch(/burst|within 1 seconds|1-second window|at this rate|Describe\*, List\*/);
  });

  it('the chat notification quotes the description and its next steps are about the event', async () => {
    // Act
    const { slack } = renderAlert({
      finding: await findingOfOneEvent(described),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(slack.content.description).toContain(
      '*Description:* An EC2 inventory call from outside the corporate network.',
    );
    expect(slack.content.description).toContain('*Event time:* 2026-11-28T10:00:07Z');
    expect(slack.content.description).not.toContain('*Window:*');
    expect((slack.content.nextSteps ?? []).join(' ')).not.toMatch(/burst|Describe\/List\/Get/);
  });

  it('a correlation rule keeps the window wording', async () => {
    // Prepare
    const windowed = parseSigmaRules(
      `title: EC2 described
name: described
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName|cased: DescribeInstances
    condition: selection
---
title: EC2 described once
id: described-once
correlation:
    type: event_count
    rules: [described]
    group-by: [userIdentity.arn]
    timespan: 5m
    condition: {gte: 1}
`,
      'rules/windowed.yml',
    );

    // Act
    const { email } = renderAlert({
      finding: await findingOfOneEvent(windowed),
      origin: 'live',
      suppressedWindows: 0,
    });

    // Assess
    expect(email).toContain('within 300 seconds');
    expect(email).not.toContain('Event time:');
  });
});

describe("a Sigma rule's description travels with the rule, bounded", () => {
  it('a long block description becomes one line cut at a word to 300 characters, and survives the JSON parser', () => {
    // Prepare
    const words = Array.from({ length: 120 }, (_, index) => `word${index}`).join('\n    ');
    const text = `title: T\nid: t\ndescription: |\n    ${words}\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s:\n        eventName: X\n    condition: s\n`;

    // Act
    const rules = parseSigmaRules(text, 'rules/long.yml');
    const shipped = parseRuleDefinitions(JSON.stringify(rules), 'CUSTOM_RULES_JSON');

    // Assess
    const description = rules[0]?.presentation?.description ?? '';
    expect(description.length).toBeLessThanOrEqual(300);
    expect(description).toMatch(/^word0 word1 word2 .* word\d+\.\.\.$/);
    expect(shipped).toEqual(rules);
  });
});

describe('hopping windows leave a per-event rule alone', () => {
  it('one matching event gives one finding in hopping mode, not one per overlapping window', async () => {
    // Act
    const findings = await findingsOfOneEvent(pipelineSettings({ customRules: RULE, windowMode: 'hopping' }));

    // Assess
    expect(findings.map((finding) => finding.window)).toEqual(['aligned']);
  });

  it('a correlation rule still takes the hopping mode', () => {
    // Prepare
    const rules = parseSigmaRules(
      `title: EC2 described
name: described
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName|cased: DescribeInstances
    condition: selection
---
title: EC2 described often
id: described-often
correlation:
    type: event_count
    rules: [described]
    group-by: [userIdentity.arn]
    timespan: 5m
    condition: {gte: 5}
`,
      'rules/windowed.yml',
    );

    // Act
    const settings = pipelineSettings({ customRules: [...RULE, ...rules], windowMode: 'hopping' });

    // Assess
    expect(settings.rules.map((rule) => [rule.slug, rule.windowMode])).toEqual([
      ['ec2-describe-outside', 'tumbling'],
      ['described-often', 'hopping'],
    ]);
  });
});
