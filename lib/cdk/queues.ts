import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { QUEUE_RETENTION_DAYS } from '../../lambda/config';
import { FUNCTION_TIMEOUT } from './detector-function';

/**
 * What a detector queue is for: the function consumes it (and gives up on a message into `deadLetterQueue`),
 * or it is a dead-letter queue, where given-up messages end, alarmed on and never redriven further
 * (`describedAs` names it in the cdk-nag acknowledgement, e.g. `the backfill dead-letter queue`).
 */
export type DetectorQueueRole =
  | { readonly kind: 'consumed'; readonly deadLetterQueue: sqs.IQueue }
  | { readonly kind: 'dead-letter'; readonly describedAs: string };

/**
 * Every queue of the detector, made one way: SQS-managed encryption, TLS only, messages kept
 * QUEUE_RETENTION_DAYS (the window table outlives them, so a replay finds its windows). A queue the function
 * consumes hides a batch for six function time-outs and sends a message to its dead-letter queue after five
 * receives; a dead-letter queue has no dead-letter queue of its own (its cdk-nag finding AwsSolutions-SQS3
 * is acknowledged).
 */
export function detectorQueue(scope: Construct, id: string, role: DetectorQueueRole): sqs.Queue {
  const common = {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(QUEUE_RETENTION_DAYS),
  } as const;
  if (role.kind === 'dead-letter') {
    const queue = new sqs.Queue(scope, id, common);
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is ${role.describedAs} itself; it is alarmed, not redriven further.`,
    });
    return queue;
  }
  return new sqs.Queue(scope, id, {
    encryption: common.encryption,
    enforceSSL: common.enforceSSL,
    // AWS guidance: at least 6x the function timeout, so in-flight batches are never redelivered mid-run.
    visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
    retentionPeriod: common.retentionPeriod,
    // AWS advises at least 5 for a queue Lambda consumes, so that throttled receives (which count too)
    // do not send messages to the dead-letter queue unprocessed:
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    deadLetterQueue: { queue: role.deadLetterQueue, maxReceiveCount: 5 },
  });
}
