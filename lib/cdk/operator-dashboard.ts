import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC } from '../../lambda/metric-names';
import { detectorMetric } from './detector-metric';

/** Properties of {@link OperatorDashboard}: what the detector is made of. */
export interface OperatorDashboardProps {
  readonly function: lambda.IFunction;
  readonly failureQueue: sqs.IQueue;
  readonly backfillQueue: sqs.IQueue;
  readonly backfillDeadLetterQueue: sqs.IQueue;
  /** @default - a name CloudFormation generates */
  readonly dashboardName?: string;
}

/** The period every graph aggregates over, the alarms' period. */
const PERIOD = Duration.minutes(5);

/**
 * One CloudWatch dashboard for the operator: is every log object read, how late, what matched, what was
 * alerted, and is anything failing. The function's own figures are its EMF metrics (lambda/metric-names.ts),
 * which Powertools writes with the single dimension `service`; errors, throttles and queue depths are
 * Lambda's and SQS's.
 */
export class OperatorDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperatorDashboardProps) {
    super(scope, id);
    const sum = (metricName: string, label: string) => emf(metricName, label, cloudwatch.Stats.SUM);
    const graph = (title: string, left: cloudwatch.IMetric[], leftYAxisLabel = 'count') =>
      new cloudwatch.GraphWidget({
        title,
        left,
        width: 8,
        height: 6,
        leftYAxis: { label: leftYAxisLabel, min: 0 },
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## RegionSweep\nCloudTrail log objects read by the detector function, per 5 minutes. Poison objects, ' +
          'function errors and throttles, and messages in the failure queues are also alarmed.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Log objects', [
        sum(METRIC.objectsProcessed, 'processed'),
        sum(METRIC.objectsSkipped, 'skipped (digests, Insights, other keys)'),
      ]),
      graph(
        'Delivery lag: now minus the newest matching event',
        [
          emf(METRIC.deliveryLagSeconds, 'maximum', cloudwatch.Stats.MAXIMUM),
          emf(METRIC.deliveryLagSeconds, 'p50', cloudwatch.Stats.p(50)),
        ],
        'seconds',
      ),
      graph('Events', [
        sum(METRIC.matchingEvents, 'matching an enabled rule'),
        sum(METRIC.invalidRecords, 'unusable records (skipped)'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Alerts', [
        sum(METRIC.alertsPublished, 'published'),
        sum(METRIC.alertsSuppressed, 'suppressed (per-identity suppression)'),
        sum(METRIC.alertsCovered, 'covered (hopping: a neighbour alerted)'),
        sum(METRIC.buildingBlockFindings, 'building-block findings (kept, not published)'),
      ]),
      graph('Poison objects (dropped, not retried)', [sum(METRIC.poisonObjects, 'poison objects')]),
      graph('Function errors and throttles', [
        props.function.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM, label: 'errors' }),
        props.function.metricThrottles({
          period: PERIOD,
          statistic: cloudwatch.Stats.SUM,
          label: 'throttles',
        }),
      ]),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Failure queues: messages given up on',
        left: [
          queueDepth(props.failureQueue, 'failure queue'),
          queueDepth(props.backfillDeadLetterQueue, 'backfill dead-letter queue'),
        ],
        width: 12,
        height: 6,
        leftYAxis: { label: 'messages', min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Backfill queue: messages waiting',
        left: [queueDepth(props.backfillQueue, 'backfill queue')],
        width: 12,
        height: 6,
        leftYAxis: { label: 'messages', min: 0 },
      }),
    );
  }
}

function emf(metricName: string, label: string, statistic: string): cloudwatch.Metric {
  return detectorMetric(metricName, PERIOD, statistic, label);
}

function queueDepth(queue: sqs.IQueue, label: string): cloudwatch.Metric {
  return queue.metricApproximateNumberOfMessagesVisible({
    period: PERIOD,
    statistic: cloudwatch.Stats.MAXIMUM,
    label,
  });
}
