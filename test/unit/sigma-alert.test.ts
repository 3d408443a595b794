import { describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
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
async function findingOfOneEvent(): Promise<Finding> {
  const body = Buffer.from(
    JSON.stringify({
      Records: [cloudTrailEvent({ eventTime: '2026-11-28T10:00:07Z', sourceIPAddress: '203.0.113.9' })],
    }),
  );
  const pipeline = memoryPipeline(
    { ...loadPipelineSettings({}), rules: RULE },
    {
      async open() {
        return (async function* () {
          yield body;
        })();
      },
    },
  );
  await processLogObject(
    pipeline.deps,
    { bucket: '', key: 'one.json', size: body.length },
    { origin: 'live', keyMode: 'lenient' },
  );
  const [finding, ...others] = pipeline.findings();
  if (finding === undefined || others.length > 0) throw new Error('expected exactly one finding');
  return finding;
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
