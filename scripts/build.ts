/**
 * Builds what the package ships, into dist/ (not committed; `npm ci` runs this as `prepare`):
 * - dist/index.js: the construct (lib/index.ts) as one ES module, its npm dependencies left as imports;
 * - dist/cli/: the `regionsweep` command (bin/cli.ts), split so each command loads only its own modules;
 * - dist/function/: the Lambda bundle, built with the settings NodejsFunction uses from source.
 * `--types` writes the type declarations instead (dist/types/, run by `prepack`: only `npm pack` needs them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_BUNDLE, PREBUILT_FUNCTION_FOLDER } from '../lib/cdk/function-bundle';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const started = performance.now();

if (process.argv.includes('--types')) {
  buildDeclarations();
} else {
  await buildJavaScript();
}
console.log(`build: dist/ in ${Math.round(performance.now() - started)} ms`);

async function buildJavaScript(): Promise<void> {
  for (const output of ['index.js', 'cli', PREBUILT_FUNCTION_FOLDER]) {
    rmSync(join(dist, output), { recursive: true, force: true });
  }
  // Node 20.12 is the oldest Node the package supports (import.meta.dirname, crypto.hash).
  const library = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.12',
    packages: 'external',
  } as const;
  await Promise.all([
    build({ ...library, entryPoints: [join(root, 'lib', 'index.ts')], outfile: join(dist, 'index.js') }),
    build({
      ...library,
      entryPoints: [join(root, 'bin', 'cli.ts')],
      outdir: join(dist, 'cli'),
      splitting: true,
      chunkNames: '[name]-[hash]',
    }),
    build({
      entryPoints: [join(root, FUNCTION_BUNDLE.entry)],
      outfile: join(dist, PREBUILT_FUNCTION_FOLDER, FUNCTION_BUNDLE.outputFile),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: FUNCTION_BUNDLE.target,
      minify: FUNCTION_BUNDLE.minify,
      keepNames: FUNCTION_BUNDLE.keepNames,
      sourcemap: FUNCTION_BUNDLE.sourceMap,
      mainFields: [...FUNCTION_BUNDLE.mainFields],
      banner: { js: FUNCTION_BUNDLE.banner },
      logLevel: 'warning',
    }),
  ]);
}

/**
 * tsc writes one declaration file per module, keeping the sources' extensionless imports (this project
 * resolves like a bundler). A consumer resolving as Node does (`moduleResolution: node16`/`nodenext`) needs
 * the `.js` a compiled module would have, so each relative import is given the one its file has.
 */
function buildDeclarations(): void {
  const types = join(dist, 'types');
  rmSync(types, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  for (const file of declarationFiles(types)) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(
      /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
      (_match, before: string, quote: string, specifier: string) =>
        `${before}${quote}${withExtension(dirname(file), specifier)}${quote}`,
    );
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
}

function withExtension(folder: string, specifier: string): string {
  const target = resolve(folder, specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`build: ${relative(root, folder)} imports ${specifier}, which has no declaration file`);
}

function declarationFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}
