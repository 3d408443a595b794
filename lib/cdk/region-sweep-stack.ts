import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RegionSweepDetectorProps } from './detector-props';
import { RegionSweepDetector } from './region-sweep-detector';

/** Properties of {@link RegionSweepStack}. */
export interface RegionSweepStackProps extends StackProps {
  readonly detector: RegionSweepDetectorProps;
}

/**
 * The deployable unit: one {@link RegionSweepDetector} and the outputs `regionsweep backfill` reads
 * (TableName, TopicArn, FunctionName, FailureQueueUrl, BucketName, LogsPrefix, BackfillQueueUrl,
 * BackfillDeadLetterQueueUrl, and QueueUrl in `sns` mode), plus FunctionRoleArn for the policies of the
 * accounts that own the bucket, its key and the notification topic, and DashboardName, the operator's dashboard.
 * Output keys are part of the CLI contract: rename them only together with the CLI.
 */
export class RegionSweepStack extends Stack {
  readonly detector: RegionSweepDetector;

  constructor(scope: Construct, id: string, props: RegionSweepStackProps) {
    super(scope, id, props);
    this.detector = new RegionSweepDetector(this, 'Detector', props.detector);
    const outputs: Record<string, { value: string; description: string }> = {
      TableName: { value: this.detector.table.tableName, description: 'Window state table' },
      TopicArn: { value: this.detector.topic.topicArn, description: 'Alert topic' },
      FunctionName: { value: this.detector.function.functionName, description: 'Detector function' },
      FailureQueueUrl: {
        value: this.detector.failureQueue.queueUrl,
        description: 'Notifications that could not be processed',
      },
      BucketName: { value: this.detector.bucket.bucketName, description: 'Bucket the detector reads' },
      LogsPrefix: { value: this.detector.logsPrefix, description: 'Key prefix the detector reads' },
      BackfillQueueUrl: {
        value: this.detector.backfillQueue.queueUrl,
        description: 'Backfill queue (regionsweep backfill --mode queue)',
      },
      BackfillDeadLetterQueueUrl: {
        value: this.detector.backfillDeadLetterQueue.queueUrl,
        description: 'Backfill messages that failed five times',
      },
      FunctionRoleArn: {
        value: this.detector.functionRole.roleArn,
        description: 'Role the bucket, key and topic policies of other accounts grant (organization layout)',
      },
      DashboardName: {
        value: this.detector.dashboard.dashboard.dashboardName,
        description: "The operator's CloudWatch dashboard",
      },
    };
    if (this.detector.queue !== undefined) {
      outputs.QueueUrl = {
        value: this.detector.queue.queueUrl,
        description: 'Notification queue (sns mode)',
      };
    }
    for (const [key, output] of Object.entries(outputs)) new CfnOutput(this, key, output);
  }
}
