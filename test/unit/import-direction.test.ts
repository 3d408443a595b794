import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering the folders promise, checked on the source text so it stays true: the domain imports only
 * the domain (value types belong to it; ports and adapters depend on it, never the reverse), the backfill
 * engine never reaches into the CLI, and only the Lambda entry reads the process environment.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SPECIFIERS = [
  /\b(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** Every TypeScript source below `folder`, relative to the repository root. */
function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(folder, path))
    .sort();
}

/** The repository files `file` imports (packages and Node built-ins left out), relative to the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = SPECIFIERS.flatMap((pattern) =>
    [...text.matchAll(pattern)].map((match) => match[1] ?? ''),
  );
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const target = resolve(ROOT, dirname(file), specifier);
      const found = [`${target}.ts`, join(target, 'index.ts'), target].find((path) => existsSync(path));
      return relative(ROOT, found ?? target);
    });
}

/** `from -> to` for every import of a file under `from` that lands under one of `forbidden`. */
function crossings(from: string, forbidden: readonly string[]): string[] {
  return sources(from).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((folder) => target === folder || target.startsWith(`${folder}/`)))
      .map((target) => `${file} -> ${target}`),
  );
}

/** `entry` and every repository module it loads, statically or dynamically. */
function moduleGraph(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !file.endsWith('.ts')) continue;
    seen.add(file);
    pending.push(...importsOf(file));
  }
  return [...seen].sort();
}

const readsProcessEnv = (file: string) => readFileSync(join(ROOT, file), 'utf8').includes('process.env');

describe('imports run one way', () => {
  it('the domain imports nothing of the runtime outside it (ports, adapters, configuration, entry)', () => {
    // Act
    const found = crossings('lambda/domain', [
      'lambda/ports.ts',
      'lambda/adapters',
      ...sources('lambda').filter((file) => !file.startsWith('lambda/domain/')),
    ]);
    // Assess
    expect(found).toEqual([]);
  });

  it('the runtime imports nothing of the CDK code, the CLI or the local stand-ins', () => {
    // Act
    const found = crossings('lambda', ['lib', 'bin']);
    // Assess
    expect(found).toEqual([]);
  });

  it('the backfill engine imports nothing of the CLI', () => {
    // Act
    const found = crossings('lib/backfill', ['lib/cli']);
    // Assess
    expect(found).toEqual([]);
  });

  it('within the runtime, only the Lambda entry reads process.env', () => {
    // Act
    const readers = sources('lambda').filter(readsProcessEnv);
    // Assess
    expect(readers).toEqual(['lambda/entry.ts']);
  });

  it('local loads no module that reads process.env: it passes the handler a config object', () => {
    // Act
    const graph = moduleGraph('lib/cli/local.ts');
    // Assess
    expect(graph).toContain('lambda/handler.ts');
    expect(graph.filter(readsProcessEnv)).toEqual([]);
  });
});
