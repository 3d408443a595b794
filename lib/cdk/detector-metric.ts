import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/metric-names';

/** One of the function's EMF metrics (namespace and `service` dimension as Powertools Metrics writes them). */
export function detectorMetric(
  metricName: string,
  period: Duration,
  statistic: string,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    period,
    statistic,
    ...(label === undefined ? {} : { label }),
  });
}
