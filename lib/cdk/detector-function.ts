import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { FUNCTION_TIMEOUT_SECONDS } from '../../lambda/config';
import { PACKAGE_ROOT } from '../package-root';
import { FUNCTION_BUNDLE, PREBUILT_FUNCTION_FOLDER } from './function-bundle';

/**
 * Function timeout: a 50 MB gzip object is read, parsed and written within it. The function's configuration
 * checks the alert lease against the same number.
 */
export const FUNCTION_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS);

/** The function's settings apart from its code: {@link detectorFunction} supplies the code. */
export type DetectorFunctionOptions = lambda.FunctionOptions & { readonly runtime: lambda.Runtime };

/**
 * The detector's function. The installed package (compiled) deploys the bundle prebuilt beside it, so a
 * consumer's `cdk synth` needs no esbuild or TypeScript; the construct run from source (this repository's
 * app and tests) bundles `lambda/entry.ts` with esbuild, as NodejsFunction does, with the same settings.
 */
export function detectorFunction(
  scope: Construct,
  id: string,
  options: DetectorFunctionOptions,
  prebuiltFolder: string = join(import.meta.dirname, PREBUILT_FUNCTION_FOLDER),
): lambda.Function {
  if (existsSync(join(prebuiltFolder, FUNCTION_BUNDLE.outputFile))) {
    return new lambda.Function(scope, id, {
      ...options,
      code: lambda.Code.fromAsset(prebuiltFolder),
      handler: `${FUNCTION_BUNDLE.outputFile.replace(/\.mjs$/, '')}.handler`,
    });
  }
  return new nodejs.NodejsFunction(scope, id, {
    ...options,
    entry: join(PACKAGE_ROOT, FUNCTION_BUNDLE.entry),
    handler: 'handler',
    projectRoot: PACKAGE_ROOT,
    depsLockFilePath: join(PACKAGE_ROOT, 'package-lock.json'),
    bundling: {
      minify: FUNCTION_BUNDLE.minify,
      keepNames: FUNCTION_BUNDLE.keepNames,
      sourceMap: FUNCTION_BUNDLE.sourceMap,
      format: nodejs.OutputFormat.ESM,
      target: FUNCTION_BUNDLE.target,
      mainFields: [...FUNCTION_BUNDLE.mainFields],
      externalModules: [],
      banner: FUNCTION_BUNDLE.banner,
      forceDockerBundling: false,
    },
  });
}
