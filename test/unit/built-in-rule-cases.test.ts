import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES } from '../../lambda/domain/detection/built-in-rules';
import { loadRuleFile } from '../../lib/rules/rule-files';
import {
  loadRuleTestFile,
  ruleUnderTest,
  runRuleTestCase,
  SHIPPED_RULE_TESTS,
} from '../../lib/rules/rule-tests';

const files = await Promise.all(
  (await readdir(SHIPPED_RULE_TESTS))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => loadRuleTestFile(join(SHIPPED_RULE_TESTS, name))),
);

/** The README's example of a user rule, with its tests: what `regionsweep test-rule` runs for a user. */
const EXAMPLES = join(SHIPPED_RULE_TESTS, '..', 'examples');
const exampleRules = await loadRuleFile(join(EXAMPLES, 'iam-list-burst.json'));
const exampleFile = await loadRuleTestFile(join(EXAMPLES, 'iam-list-burst.tests.json'));

const cases = files.flatMap((file) => {
  const rule = ruleUnderTest(file, BUILT_IN_RULES);
  return file.cases.map((testCase) => ({ case: `${rule.slug}: ${testCase.name}`, rule, testCase }));
});

describe('the example user rule in rules/examples against its test cases', () => {
  const rule = ruleUnderTest(exampleFile, exampleRules);
  it.each(exampleFile.cases.map((testCase) => ({ case: testCase.name, testCase })))(
    '$case',
    async ({ testCase }) => {
      // Act
      const result = await runRuleTestCase(rule, testCase);

      // Assess
      expect(result.differences).toEqual([]);
    },
  );
});

describe('the built-in rules against their shipped test cases (rules/tests)', () => {
  it.each(BUILT_IN_RULES.map((rule) => ({ case: rule.slug })))(
    '$case ships a test file',
    ({ case: slug }) => {
      // Assess
      expect(files.map((file) => file.rule)).toContain(slug);
    },
  );

  it.each(cases)('$case', async ({ rule, testCase }) => {
    // Act
    const result = await runRuleTestCase(rule, testCase);

    // Assess
    expect(result.differences).toEqual([]);
    expect(result.passed).toBe(true);
  });
});
