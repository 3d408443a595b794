import { join } from 'node:path';

/**
 * How the function's code is bundled, in esbuild's terms: the same settings drive NodejsFunction (the
 * construct run from source, this repository's app) and the package build (`scripts/build.ts`), whose
 * prebuilt bundle the compiled construct deploys. One list, so the two bundles cannot drift apart.
 */
export const FUNCTION_BUNDLE = {
  /** The Lambda entry module, relative to the package root; it exports `handler`. */
  entry: join('lambda', 'entry.ts'),
  /** The output file NodejsFunction writes for ESM, and so the handler setting `index.handler`. */
  outputFile: 'index.mjs',
  target: 'node22',
  minify: true,
  // Error classes name themselves from new.target.name; minified names would reach the logs as "br".
  keepNames: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  // The SDK is bundled at the pinned version (no externals); some of its CommonJS dependencies call require().
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const;

/**
 * Where the package build puts the prebuilt bundle: `function/` beside the compiled construct
 * (`dist/function/`). Running from source, `lib/cdk/function/` never exists, so the construct bundles with
 * esbuild instead.
 */
export const PREBUILT_FUNCTION_FOLDER = 'function';
