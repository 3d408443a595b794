import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_RULES } from '../../lambda/domain/detection/built-in-rules';
import { runCli } from '../../lib/cli/commands';
import { loadRuleTestFile, SHIPPED_RULE_TESTS, shippedTestFile } from '../../lib/rules/rule-tests';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const ARN = 'arn:aws:sts::111122223333:assumed-role/app/i-0abc';

/** A user's rule as JSON: GetParameter* from 3 or more regions in 60 s. */
const SSM_RULE = {
  id: 'acme-ssm-parameter-sweep',
  slug: 'ssm-parameter-sweep',
  name: 'SSM parameters read from many regions',
  filter: [
    { field: 'eventSource', equals: ['ssm.amazonaws.com'] },
    { field: 'eventName', startsWith: ['GetParameter'] },
  ],
  windowSeconds: 60,
  distinctField: 'awsRegion',
  minDistinct: 3,
  minEvents: 3,
};

/** A user's rule as a TypeScript module: GetSecretValue on 5 or more distinct secrets in 60 s. */
const SECRETS_RULE_TS = `const secretSweep = {
  id: 'acme-secret-sweep',
  slug: 'secret-sweep',
  name: 'Many secrets read by one identity',
  filter: [
    { field: 'eventSource', equals: ['secretsmanager.amazonaws.com'] },
    { field: 'eventName', equals: ['GetSecretValue'] },
  ],
  windowSeconds: 60,
  distinctField: 'requestParameters.secretId',
  minDistinct: 5,
} as const;

export default secretSweep;
`;

function ssmTests(expectFinding: boolean) {
  return {
    rule: 'ssm-parameter-sweep',
    template: {
      userIdentity: { type: 'AssumedRole', arn: ARN, accountId: '111122223333' },
      eventTime: '2026-11-28T09:00:00Z',
      eventSource: 'ssm.amazonaws.com',
      eventName: 'GetParameter',
      awsRegion: 'us-east-1',
    },
    cases: [
      {
        name: 'three regions fire',
        events: [
          { repeat: 3, stepSeconds: 5, vary: { awsRegion: ['us-east-1', 'eu-west-1', 'ap-south-1'] } },
        ],
        expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN, distinctCount: 3 }],
      },
      {
        name: 'two regions do not fire',
        events: [{ repeat: 3, stepSeconds: 5, vary: { awsRegion: ['us-east-1', 'eu-west-1'] } }],
        expect: expectFinding ? [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN }] : [],
      },
    ],
  };
}

const SECRET_TESTS = {
  rule: 'secret-sweep',
  template: {
    userIdentity: { type: 'AssumedRole', arn: ARN, accountId: '111122223333' },
    eventTime: '2026-11-28T09:00:00Z',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    awsRegion: 'us-east-1',
    requestParameters: { secretId: 'prod/db-{i}' },
  },
  cases: [
    {
      name: 'five secrets fire',
      events: [{ repeat: 5, stepSeconds: 2 }],
      expect: [{ windowStart: '2026-11-28T09:00:00Z', arn: ARN, distinctCount: 5, eventCount: 5 }],
    },
    { name: 'four secrets do not fire', events: [{ repeat: 4, stepSeconds: 2 }], expect: [] },
  ],
};

let dir: string;
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'regionsweep-test-rule-'));
  await writeFile(at('ssm-rule.json'), JSON.stringify(SSM_RULE));
  await writeFile(at('ssm-tests.json'), JSON.stringify(ssmTests(false)));
  await writeFile(at('ssm-tests-wrong.json'), JSON.stringify(ssmTests(true)));
  await writeFile(at('secret-rule.ts'), SECRETS_RULE_TS);
  await writeFile(at('secret-tests.json'), JSON.stringify(SECRET_TESTS));
  await writeFile(
    at('temporal-ordered.yml'),
    'title: in order\nid: in-order\ncorrelation:\n    type: temporal_ordered\n    rules: [a, b]\n    group-by: [userIdentity.arn]\n    timespan: 5m\n',
  );
  await writeFile(
    at('invalid-tests.json'),
    JSON.stringify({
      ...ssmTests(false),
      cases: [{ name: 'bad step', events: [{ repeat: 0 }], expect: [] }],
    }),
  );
});

describe('regionsweep test-rule', () => {
  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule })))(
    '$case passes its shipped cases, one PASS line each',
    async ({ rule }) => {
      // Prepare
      const shipped = await loadRuleTestFile(shippedTestFile(rule.slug));

      // Act
      const result = await run(['test-rule', rule.slug]);

      // Assess
      expect(result.code).toBe(0);
      expect(result.stdout.match(/^ {2}PASS {2}/gm)).toHaveLength(shipped.cases.length);
      expect(result.stdout).toContain(
        `${shipped.cases.length} cases: ${shipped.cases.length} passed, 0 failed`,
      );
    },
  );

  it('finds a built-in rule by its Elastic id', async () => {
    // Act
    const result = await run(['test-rule', '393ef120-63d1-11ef-8e38-f661ea17fbce']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(ec2-multi-region-describe-instances)');
  });

  it('passes a user JSON rule against its test file', async () => {
    // Act
    const result = await run(['test-rule', at('ssm-rule.json'), at('ssm-tests.json')]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 cases: 2 passed, 0 failed');
  });

  it('reports a failing user case with its difference and exits 1', async () => {
    // Act
    const result = await run(['test-rule', at('ssm-rule.json'), at('ssm-tests-wrong.json')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('  PASS  three regions fire\n');
    expect(result.stdout).toContain('  FAIL  two regions do not fire\n');
    expect(result.stdout).toContain(
      `missing finding [window 2026-11-28T09:00:00Z, arn ${ARN}]: the group reached 2 distinct awsRegion (fires at 3)`,
    );
    expect(result.stdout).toContain('2 cases: 1 passed, 1 failed');
  });

  it('passes a user TypeScript rule against its JSON test file', async () => {
    // Act
    const result = await run(['test-rule', at('secret-rule.ts'), at('secret-tests.json')]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 cases: 2 passed, 0 failed');
  });

  it('passes the Sigma EC2 example against its test file', async () => {
    // Prepare
    const examples = join(SHIPPED_RULE_TESTS, '..', 'examples');

    // Act
    const result = await run([
      'test-rule',
      join(examples, 'ec2-multi-region-describe-instances.yml'),
      join(examples, 'ec2-multi-region-describe-instances.tests.json'),
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\d+ cases: \d+ passed, 0 failed/);
  });

  it('runs several test files in one go', async () => {
    // Prepare
    const shipped = await loadRuleTestFile(shippedTestFile('ec2-multi-region-describe-instances'));
    const total = 2 * shipped.cases.length;

    // Act
    const result = await run([
      'test-rule',
      'ec2-multi-region-describe-instances',
      shippedTestFile('ec2-multi-region-describe-instances'),
      shippedTestFile('ec2-multi-region-describe-instances'),
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${total} cases: ${total} passed, 0 failed`);
  });

  it.each([
    {
      case: 'an invalid test file',
      argv: () => ['test-rule', at('ssm-rule.json'), at('invalid-tests.json')],
      message: /invalid-tests\.json: cases\[0\] \("bad step"\): events\[0\]: repeat/,
    },
    {
      case: 'a test file for another rule',
      argv: () => ['test-rule', 'ec2-multi-region-describe-instances', at('ssm-tests.json')],
      message: /ssm-tests\.json: tests rule "ssm-parameter-sweep", which is not among: ec2-multi-region/,
    },
    {
      case: 'a missing test file',
      argv: () => ['test-rule', 'ec2-multi-region-describe-instances', at('nowhere.json')],
      message: /nowhere\.json: cannot read the test file/,
    },
    {
      case: 'a rule file without test files',
      argv: () => ['test-rule', at('ssm-rule.json')],
      message: /ssm-rule\.json is a rule file: give the test files/,
    },
    {
      case: 'an unknown rule name',
      argv: () => ['test-rule', 'no-such-rule'],
      message: /"no-such-rule" is neither a built-in rule/,
    },
    {
      case: 'a Sigma rule file using a construct it cannot run',
      argv: () => ['test-rule', at('temporal-ordered.yml'), at('ssm-tests.json')],
      message: /temporal-ordered\.yml: correlation type temporal_ordered: /,
    },
    { case: 'no rule at all', argv: () => ['test-rule'], message: /name a rule/ },
  ])('exits 2 on $case, naming the problem', async ({ argv, message }) => {
    // Act
    const result = await run(argv());

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toMatch(/PASS|FAIL/);
  });
});

describe('regionsweep rules', () => {
  it('lists every built-in rule with its thresholds', async () => {
    // Act
    const result = await run(['rules']);

    // Assess
    expect(result.code).toBe(0);
    for (const rule of BUILT_IN_RULES) expect(result.stdout).toContain(`${rule.slug}`);
    expect(result.stdout).toContain('fires at:  16 or more distinct resources.ARN and 1 or more events');
  });

  it('names the Elastic version and query date each built-in rule follows', async () => {
    // Act
    const result = await run(['rules']);

    // Assess
    expect(result.stdout).toContain(
      '  follows:   Elastic rule 74f45152-9aee-11ef-b0a5-f661ea17fbcd, query of 2026-07-20 (elastic/detection-rules@14cf530f0d)\n',
    );
    expect(result.stdout).toContain('grouped by userIdentity.arn, sourceIPAddress (as ip)\n');
  });
});
