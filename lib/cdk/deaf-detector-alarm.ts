import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC } from '../../lambda/metric-names';
import { detectorMetric } from './detector-metric';
import { DeafAlarmPeriodError } from './errors';

/** How long without a processed object before the detector is called deaf. */
export const DEFAULT_DEAF_ALARM_PERIOD = Duration.minutes(30);

/** Shortest and longest silence the alarm accepts, in minutes (CloudWatch: a period of at most a day). */
export const DEAF_ALARM_MINUTES = { min: 5, max: 1440 } as const;

/** Properties of {@link DeafDetectorAlarm}. */
export interface DeafDetectorAlarmProps {
  /** Silence that means the wiring is broken. @default DEFAULT_DEAF_ALARM_PERIOD (30 minutes) */
  readonly period?: Duration;
  /** Topic the alarm notifies (and notifies again when objects flow once more). */
  readonly topic: sns.ITopic;
}

/**
 * Alarms when no log object was processed for a whole period. CloudTrail delivers a log file per account
 * and region about every five minutes while there is activity, so a live trail never leaves the detector
 * silent for half an hour; silence means the wiring is broken: notifications that never reach the
 * function (a rule on the wrong bus, a subscription never made, a bucket notification replaced), or reads
 * that all fail. Missing data is breaching: when the function never runs, `ObjectsProcessed` has no data
 * point at all, and that is exactly the case to catch (CloudWatch User Guide, "Configuring how CloudWatch
 * alarms treat missing data",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
 */
export class DeafDetectorAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeafDetectorAlarmProps) {
    super(scope, id);
    const period = props.period ?? DEFAULT_DEAF_ALARM_PERIOD;
    const minutes = period.toSeconds() / 60;
    if (!Number.isInteger(minutes) || minutes < DEAF_ALARM_MINUTES.min || minutes > DEAF_ALARM_MINUTES.max) {
      throw new DeafAlarmPeriodError(
        `deafAlarmPeriod must be a whole number of minutes from ${DEAF_ALARM_MINUTES.min} to ` +
          `${DEAF_ALARM_MINUTES.max}, got ${period.toSeconds()} seconds`,
      );
    }
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      metric: detectorMetric(METRIC.objectsProcessed, period, cloudwatch.Stats.SUM),
      alarmDescription:
        `No CloudTrail log object was processed for ${minutes} minutes: the detector is deaf. Check that ` +
        'notifications reach the function (bucket notification, EventBridge rule or SNS subscription) and ' +
        'that its reads succeed (function errors and logs, bucket and key policies).',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const action = new cwActions.SnsAction(props.topic);
    this.alarm.addAlarmAction(action);
    this.alarm.addOkAction(action);
  }
}
