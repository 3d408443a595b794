import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { parseRuleDefinitions, toRule } from '../../lambda/domain/detection/rule-parser';
import { ConfigError } from '../../lambda/domain/errors';
import { parseSigmaRules } from './sigma/sigma-rules';

/**
 * Loads user rule definitions from a file: JSON (one definition or an array), Sigma YAML (`.yml`, `.yaml`: one
 * or more detection and correlation rules, see sigma/sigma-rules.ts), or a TypeScript/JavaScript module whose
 * default export (or `rules` export) is one definition or an array. Every definition is checked as a JSON one
 * is; errors name the file.
 */
export async function loadRuleFile(path: string): Promise<RuleDefinition[]> {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return parseRuleDefinitions(await readRuleText(path), path);
  if (extension === '.yml' || extension === '.yaml') return parseSigmaRules(await readRuleText(path), path);
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
    throw new ConfigError(`${path}: a rule file is .json, .yml or .yaml (Sigma), .ts, .mts, .js or .mjs`);
  }
  let module: Record<string, unknown>;
  try {
    module = await importRuleModule(resolve(path), extension);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${path}: cannot load the rule module`, { cause: error });
  }
  const exported = module.default ?? module.rules;
  if (exported === undefined) throw new ConfigError(`${path}: exports no rule (default or \`rules\`)`);
  return (Array.isArray(exported) ? exported : [exported]).map((entry, index) =>
    toRule(entry, `${path}[${index}]`),
  );
}

async function readRuleText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the rule file`, { cause: error });
  }
}

/**
 * The compiled CLI runs on plain Node.js, which cannot import TypeScript (Node 20): a `.ts` rule goes through
 * tsx, a development dependency here and an optional peer dependency of the installed package.
 */
async function importRuleModule(path: string, extension: string): Promise<Record<string, unknown>> {
  if (extension === '.js' || extension === '.mjs') {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  }
  let tsImport: (specifier: string, parentUrl: string) => Promise<unknown>;
  try {
    ({ tsImport } = await import('tsx/esm/api'));
  } catch (error) {
    throw new ConfigError(
      `${path}: a TypeScript rule file needs tsx (npm install --save-dev tsx); or write the rule as .json or .js`,
      { cause: error },
    );
  }
  const namespace = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  // A `.ts` file outside an ES-module package is compiled to CommonJS: its exports arrive as `default`.
  const commonJs = namespace.default as Record<string, unknown> | undefined;
  return commonJs?.__esModule === true ? commonJs : namespace;
}

/** Loads several rule files, in order. */
export async function loadRuleFiles(paths: readonly string[]): Promise<RuleDefinition[]> {
  const rules: RuleDefinition[] = [];
  for (const path of paths) rules.push(...(await loadRuleFile(path)));
  return rules;
}
