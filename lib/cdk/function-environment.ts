import { ENV } from '../../lambda/config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/metric-names';
import type { RegionSweepDetectorProps } from './detector-props';

/**
 * The detector function's environment variables for `props`: what its configuration parser reads at start.
 * Validation builds the same variables with stand-in names to check them before deployment.
 */
export function functionEnvironment(
  props: RegionSweepDetectorProps,
  tableName: string,
  topicArn: string,
): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.tableName]: tableName,
    [ENV.topicArn]: topicArn,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    // Stack traces point into lambda/*.ts through the bundled source map.
    NODE_OPTIONS: '--enable-source-maps',
  };
  // Only what was given is set: the function's own defaults are the Elastic rule's.
  const optional: ReadonlyArray<readonly [string, string | number | undefined]> = [
    [ENV.expectedBucketOwner, props.expectedBucketOwner],
    [ENV.rules, props.rules === undefined ? undefined : props.rules.join(',')],
    [ENV.customRules, props.customRules === undefined ? undefined : JSON.stringify(props.customRules)],
    [ENV.buildingBlocks, props.buildingBlocks === undefined ? undefined : props.buildingBlocks.join(',')],
    [ENV.windowMode, props.windowMode],
    [ENV.minRegions, props.minRegions],
    [ENV.minEvents, props.minEvents],
    [ENV.windowSeconds, props.windowSeconds],
    [ENV.retentionDays, props.retentionDays],
    [ENV.suppressionMinutes, props.suppressionMinutes],
    [ENV.alertLeaseSeconds, props.alertLeaseSeconds],
    [ENV.maxDecompressedBytes, props.readerLimits?.maxDecompressedBytes],
    [ENV.maxRecordBytes, props.readerLimits?.maxRecordBytes],
    [ENV.maxRecords, props.readerLimits?.maxRecords],
    [ENV.allowlist, props.allowlist === undefined ? undefined : JSON.stringify(props.allowlist)],
  ];
  for (const [name, value] of optional) {
    if (value !== undefined) env[name] = String(value);
  }
  return env;
}
