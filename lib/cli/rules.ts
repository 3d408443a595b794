import { parseArgs } from 'node:util';
import {
  BUILT_IN_CORRELATIONS,
  BUILT_IN_RULES,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
} from '../../lambda/domain/detection/built-in-rules';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import type { CliIo } from './io';

export const RULES_HELP = `Usage: regionsweep rules

Lists the built-in rules: slug (for --rules and test-rule), name, Elastic rule id, the Elastic version
and query date each follows, window, group-by and thresholds. 'regionsweep test-rule <slug>' runs a rule's shipped test cases.
Then the built-in correlations over findings (for --rules), with the rules each counts.
`;

/** `regionsweep rules`: the built-in rules, one block each, the default first. */
export async function rulesCommand(argv: readonly string[], io: CliIo): Promise<number> {
  parseArgs({ args: [...argv], options: {} });
  io.stdout.write(BUILT_IN_RULES.map(describeRule).join('\n'));
  io.stdout.write(`\n${BUILT_IN_CORRELATIONS.map(describeCorrelation).join('\n')}`);
  return 0;
}

function describeCorrelation(rule: RuleDefinition): string {
  const rules = rule.correlation?.rules ?? [];
  const requires = rule.correlation?.requires ?? [];
  return [
    `${rule.slug} (correlation over findings)`,
    nameLine(rule),
    `  id:        ${rule.id}`,
    `  window:    ${rule.windowSeconds} s, ${rule.windowMode}; grouped by ${rule.groupBy.join(', ')}`,
    `  fires at:  findings of ${rule.minDistinct} or more of ${rules.join(', ')}` +
      (requires.length === 0 ? '' : `, including ${requires.join(', ')}`),
    '',
  ].join('\n');
}

function describeRule(rule: RuleDefinition): string {
  const isDefault = rule.id === EC2_MULTI_REGION_DESCRIBE_INSTANCES.id ? ' (default)' : '';
  return [
    `${rule.slug}${isDefault}`,
    nameLine(rule),
    `  id:        ${rule.id}`,
    ...(rule.follows === undefined
      ? []
      : [
          `  follows:   Elastic rule ${rule.follows.ruleId}, query of ${rule.follows.queryDate} (${rule.follows.version})`,
        ]),
    `  window:    ${rule.windowSeconds} s, ${rule.windowMode}; grouped by ${rule.groupBy.map((field) => describeGroupField(rule, field)).join(', ')}`,
    `  fires at:  ${rule.minDistinct} or more distinct ${rule.distinctField} and ${rule.minEvents} or more events`,
    '',
  ].join('\n');
}

/** `  <name> (<severity>, <technique>)`: the technique only when the rule names one. */
function nameLine(rule: RuleDefinition): string {
  const technique = rule.technique === undefined ? [] : [`${rule.technique.id} ${rule.technique.name}`];
  return `  ${rule.name} (${[rule.severity, ...technique].join(', ')})`;
}

function describeGroupField(rule: RuleDefinition, field: string): string {
  const view = rule.groupAs?.[field];
  return view === undefined ? field : `${field} (as ${view})`;
}
