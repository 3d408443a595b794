import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions, toRule } from '../../lambda/domain/detection/rule-parser';
import { ConfigError } from '../../lambda/domain/errors';

/**
 * Loads user rule definitions from a file: JSON (one definition or an array), or a TypeScript/JavaScript
 * module whose default export (or `rules` export) is one definition or an array. Every definition is checked
 * as a JSON one is; errors name the file.
 */
export async function loadRuleFile(path: string): Promise<RuleDefinition[]> {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`${path}: cannot read the rule file`, { cause: error });
    }
    return parseRuleDefinitions(text, path);
  }
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
    throw new ConfigError(`${path}: a rule file is .json, .ts, .mts, .js or .mjs`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${path}: cannot load the rule module`, { cause: error });
  }
  const exported = module.default ?? module.rules;
  if (exported === undefined) throw new ConfigError(`${path}: exports no rule (default or \`rules\`)`);
  return (Array.isArray(exported) ? exported : [exported]).map((entry, index) =>
    toRule(entry, `${path}[${index}]`),
  );
}

/** Loads several rule files, in order. */
export async function loadRuleFiles(paths: readonly string[]): Promise<RuleDefinition[]> {
  const rules: RuleDefinition[] = [];
  for (const path of paths) rules.push(...(await loadRuleFile(path)));
  return rules;
}
