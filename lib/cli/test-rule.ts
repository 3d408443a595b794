import { extname, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BUILT_IN_RULES } from '../../lambda/domain/detection/built-in-rules';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { loadRuleFile } from '../rules/rule-files';
import {
  type CaseResult,
  checkExpectations,
  loadRuleTestFile,
  type RuleTestFile,
  ruleUnderTest,
  runRuleTestFile,
  shippedTestFile,
} from '../rules/rule-tests';
import { type CliIo, printable, UsageError } from './io';

const RULE_FILE_EXTENSIONS = ['.json', '.yml', '.yaml', '.ts', '.mts', '.js', '.mjs'];

export const TEST_RULE_HELP = `Usage: regionsweep test-rule <rule> [tests.json ...]

Runs rule test cases (CloudTrail events and the findings they must give) through the same pipeline as
'scan' and the deployed function, and prints PASS or FAIL for each case with the difference.

  <rule>        a built-in rule's slug or id (see 'regionsweep rules'), or a rule file (.json, Sigma .yml or
                .yaml, .ts, .mts, .js or .mjs, as for --rule-file)
  tests.json    test files; each names the rule it tests ("rule": slug or id): <rule>, or one of the
                rule file's rules. Format: lib/rules/rule-tests.ts. With none, a built-in rule runs the
                cases shipped with it (rules/tests/<slug>.json); a rule file needs test files

Exit code: 0 when every case passes, 1 when any case fails, 2 on usage errors and invalid rule or test files.
`;

/**
 * `regionsweep test-rule`:
 * 1. Resolve the rules: a built-in rule by slug or id, else a rule file.
 * 2. Load every test file, find each one's rule and check every case fits it, before running anything:
 *    an invalid file stops the command (exit 2) with nothing half-run.
 * 3. Run the cases, one line per case, and a summary.
 */
export async function testRuleCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: {} });
  const [target, ...testPaths] = positionals;
  if (target === undefined) throw new UsageError('name a rule: a built-in slug or id, or a rule file');
  const builtIn = BUILT_IN_RULES.find((rule) => rule.slug === target || rule.id === target);
  let rules: RuleDefinition[];
  let paths = testPaths;
  if (builtIn !== undefined) {
    rules = [builtIn];
    if (paths.length === 0) paths = [relative(process.cwd(), shippedTestFile(builtIn.slug))];
  } else if (RULE_FILE_EXTENSIONS.includes(extname(target).toLowerCase())) {
    rules = await loadRuleFile(target);
    if (paths.length === 0) {
      throw new UsageError(`${target} is a rule file: give the test files to run against it`);
    }
  } else {
    const known = BUILT_IN_RULES.map((rule) => rule.slug).join(', ');
    throw new UsageError(
      `"${target}" is neither a built-in rule (${known}) nor a rule file (${RULE_FILE_EXTENSIONS.join(', ')})`,
    );
  }

  const suites: { file: RuleTestFile; rule: RuleDefinition }[] = [];
  for (const path of paths) {
    const file = await loadRuleTestFile(path);
    const rule = ruleUnderTest(file, rules);
    for (const testCase of file.cases) checkExpectations(rule, testCase, file.source);
    suites.push({ file, rule });
  }

  let passed = 0;
  let failed = 0;
  for (const { file, rule } of suites) {
    io.stdout.write(`${printable(file.source)} (${rule.slug})\n`);
    for (const result of await runRuleTestFile(file, rule)) {
      io.stdout.write(caseReport(result));
      if (result.passed) passed += 1;
      else failed += 1;
    }
  }
  io.stdout.write(`${passed + failed} cases: ${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/** One line per case; a failing case adds its differences and what became of its events. */
function caseReport(result: CaseResult): string {
  const head = `  ${result.passed ? 'PASS' : 'FAIL'}  ${printable(result.name)}\n`;
  if (result.passed) return head;
  const { total, counted, duplicate, filteredOut, invalid } = result.events;
  const lines = [
    ...result.differences.map((difference) => `        ${printable(difference)}`),
    `        (${total} events: ${counted} counted, ${duplicate} duplicate, ${filteredOut} filtered out, ${invalid} invalid)`,
    ...result.invalidExamples.map((example) => `        invalid record: ${printable(example)}`),
  ];
  return `${head}${lines.join('\n')}\n`;
}
