import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { type RuleDefinition, withOverrides } from '../../lambda/domain/detection/rule';
import type { Finding } from '../../lambda/domain/detection/window-state';
import { memoryPipeline } from '../../lambda/pipeline';
import { processLogObject } from '../../lambda/process-log-object';
import { loadRuleFile } from '../../lib/rules/rule-files';
import {
  loadRuleTestFile,
  type RuleTestCase,
  ruleUnderTest,
  runRuleTestCase,
  SHIPPED_RULE_TESTS,
} from '../../lib/rules/rule-tests';

const EXAMPLES = join(SHIPPED_RULE_TESTS, '..', 'examples');
const sigmaRules = await loadRuleFile(join(EXAMPLES, 'ec2-multi-region-describe-instances.yml'));
const exampleTests = await loadRuleTestFile(join(EXAMPLES, 'ec2-multi-region-describe-instances.tests.json'));
const sigmaRule = ruleUnderTest(exampleTests, sigmaRules);

/** Every case of every shipped test file (rules/tests): the EC2 rule's own, and the other rules' decoys. */
const shippedCases = (
  await Promise.all(
    (
      await readdir(SHIPPED_RULE_TESTS)
    )
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => loadRuleTestFile(join(SHIPPED_RULE_TESTS, name))),
  )
).flatMap((file) => file.cases.map((testCase) => ({ case: `${file.rule}: ${testCase.name}`, testCase })));

/** The findings of `rule` alone over the case's log object, as `scan` computes them, rule words left out. */
async function findingsOf(rule: RuleDefinition, testCase: RuleTestCase): Promise<unknown[]> {
  const effective =
    testCase.windowMode === undefined ? rule : withOverrides(rule, { windowMode: testCase.windowMode });
  const body = Buffer.from(JSON.stringify({ Records: testCase.events }));
  const pipeline = memoryPipeline(
    { ...loadPipelineSettings({}), rules: [effective] },
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
    { bucket: '', key: 'case.json', size: body.length },
    { origin: 'live', keyMode: 'lenient' },
  );
  return pipeline
    .findings()
    .map(({ ruleId, ruleName, presentation, severity, tags, ...finding }: Finding) => finding);
}

describe('the EC2 rule written as Sigma (rules/examples/ec2-multi-region-describe-instances.yml)', () => {
  it('is one value_count rule: the detection it refers to does not alert on its own', () => {
    // Assess
    expect(sigmaRules).toEqual([sigmaRule]);
  });

  it.each(shippedCases)('gives the findings of the built-in rule on $case', async ({ testCase }) => {
    // Act
    const [sigma, builtIn] = await Promise.all([
      findingsOf(sigmaRule, testCase),
      findingsOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES, testCase),
    ]);

    // Assess
    expect(sigma).toEqual(builtIn);
  });

  it('some shipped cases give findings (parity on nothing but silence would prove nothing)', async () => {
    // Act
    const counts = await Promise.all(
      shippedCases.map(async ({ testCase }) => (await findingsOf(sigmaRule, testCase)).length),
    );

    // Assess
    expect(counts.filter((count) => count > 0).length).toBeGreaterThanOrEqual(5);
  });

  it.each(exampleTests.cases.map((testCase) => ({ case: testCase.name, testCase })))(
    'passes its own test case: $case',
    async ({ testCase }) => {
      // Act
      const result = await runRuleTestCase(sigmaRule, testCase);

      // Assess
      expect(result.differences).toEqual([]);
    },
  );
});
