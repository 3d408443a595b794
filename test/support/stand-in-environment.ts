import { ENV, type PipelineSettings } from '../../lambda/config';
import type { LocalEnvironment } from '../../lib/local/environment';

// Settings back into variables is for tests and benchmarks only, which run the Lambda entry's parser on the
// stand-ins. The product has one place that writes the function's variables: the CDK's functionEnvironment.

/**
 * The function's environment on the stand-ins: endpoints plus the rule and noise settings, for whatever runs
 * the Lambda entry or its configuration parser there (the cost benchmark's handler child, tests of loadConfig).
 */
export function standInFunctionEnvironment(
  environment: LocalEnvironment,
  settings: PipelineSettings,
): Readonly<Record<string, string>> {
  return {
    ...environment.env,
    ...settingsEnvironment(settings),
  };
}

/**
 * The environment that makes `loadPipelineSettings` give back `settings` (to run the Lambda entry on the
 * stand-ins, as the cost benchmark and the tests do): the enabled rules travel whole, with any overrides
 * already applied.
 */
export function settingsEnvironment(settings: PipelineSettings): Record<string, string> {
  const { maxDecompressedBytes, maxRecordBytes, maxRecords } = settings.reader;
  return {
    [ENV.customRules]: JSON.stringify(settings.rules),
    [ENV.allowlist]: JSON.stringify(settings.allowlist),
    [ENV.suppressionMinutes]: String(settings.suppressionMs / 60_000),
    [ENV.alertLeaseSeconds]: String(settings.alertLeaseMs / 1000),
    [ENV.retentionDays]: String(settings.retentionSeconds / 86_400),
    ...(maxDecompressedBytes === undefined
      ? {}
      : { [ENV.maxDecompressedBytes]: String(maxDecompressedBytes) }),
    ...(maxRecordBytes === undefined ? {} : { [ENV.maxRecordBytes]: String(maxRecordBytes) }),
    ...(maxRecords === undefined ? {} : { [ENV.maxRecords]: String(maxRecords) }),
  };
}
