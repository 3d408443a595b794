import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeError, isPermanent, TransientObjectFailure } from './domain/errors';
import { parseInvocation } from './domain/reading/notifications';
import { METRIC } from './metric-names';
import type { ObjectRef, Origin } from './ports';
import { type ObjectOutcome, objectName, type PipelineDeps, processLogObject } from './process-log-object';

/** The part of Powertools Metrics the handler uses (`local` counts nothing). */
export interface MetricsPort {
  addMetric(...metric: Parameters<Metrics['addMetric']>): unknown;
  hasStoredMetrics(): boolean;
  publishStoredMetrics(): unknown;
}

/** The handler's dependencies: the pipeline plus its logger and metrics. */
export interface InvocationDeps extends PipelineDeps {
  readonly logger: Logger;
  readonly metrics: MetricsPort;
}

/** SQS partial batch response: only transiently failed messages are redelivered. */
export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/**
 * Handles one invocation, whatever carried the notification.
 * 1. Parse the event into work items; rejected records and S3 test events are logged and counted.
 * 2. Process each object through processLogObject, one at a time (memory stays bounded by one object).
 * 3. Poison objects and other permanent errors are logged with the reason and counted, never retried.
 * 4. Transient errors: for SQS, the message is reported in batchItemFailures (the others are not
 *    redelivered); otherwise the invocation throws after trying every object, so Lambda retries it and, when
 *    retries run out, sends it to the failure destination. Replays are harmless: window writes are idempotent.
 */
export async function handleInvocation(
  deps: InvocationDeps,
  event: unknown,
): Promise<BatchResponse | undefined> {
  const { logger, metrics } = deps;
  const parsed = parseInvocation(event);
  for (const rejection of parsed.rejected) {
    logger.warn('notification rejected', { reason: rejection.reason, sqsMessageId: rejection.sqsMessageId });
  }
  if (parsed.rejected.length > 0)
    metrics.addMetric(METRIC.poisonObjects, MetricUnit.Count, parsed.rejected.length);
  if (parsed.ignoredTestEvents + parsed.ignored > 0) {
    logger.info('notifications ignored', {
      testEvents: parsed.ignoredTestEvents,
      notObjectCreated: parsed.ignored,
    });
  }

  const failures: { itemIdentifier: string }[] = [];
  const transient: { ref: ObjectRef; error: unknown }[] = [];
  try {
    for (const item of parsed.items) {
      for (const ref of item.refs) {
        const error = await processOne(deps, ref, item.origin);
        if (error === undefined) continue;
        transient.push({ ref, error });
        if (item.sqsMessageId !== undefined) {
          failures.push({ itemIdentifier: item.sqsMessageId });
          break;
        }
      }
    }
  } finally {
    // An invocation with nothing to count (an s3:TestEvent) publishes nothing rather than a warning.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
  if (parsed.kind === 'sqs') return { batchItemFailures: failures };
  if (transient.length > 0) {
    // Lambda's failure destination keeps only the error's type and message: they name each object and cause.
    throw new TransientObjectFailure(
      `${transient.length} object(s) failed and will be retried: ${transient
        .map(({ ref, error }) => `${objectName(ref)}: ${describeCause(error)}`)
        .join('; ')}`,
      { cause: transient[0]?.error },
    );
  }
  return undefined;
}

function describeCause(error: unknown): string {
  const text = describeError(error);
  return error instanceof Error && text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Processes one object; returns the error when it is transient (to retry), undefined otherwise. */
async function processOne(deps: InvocationDeps, ref: ObjectRef, origin: Origin): Promise<unknown> {
  const { logger, metrics } = deps;
  logger.appendKeys({ bucket: ref.bucket, key: ref.key, versionId: ref.versionId, origin });
  try {
    const outcome = await processLogObject(deps, ref, { origin, keyMode: 'strict' });
    record(deps, ref, outcome);
    return undefined;
  } catch (error) {
    if (isPermanent(error)) {
      metrics.addMetric(METRIC.poisonObjects, MetricUnit.Count, 1);
      logger.error('object cannot be processed; not retried', {
        object: objectName(ref),
        error: error as Error,
      });
      return undefined;
    }
    logger.warn('object failed; will be retried', { object: objectName(ref), error: error as Error });
    return error;
  } finally {
    logger.removeKeys(['bucket', 'key', 'versionId', 'origin']);
  }
}

function record(deps: InvocationDeps, ref: ObjectRef, outcome: ObjectOutcome): void {
  const { logger, metrics } = deps;
  if (outcome.status === 'skipped') {
    metrics.addMetric(METRIC.objectsSkipped, MetricUnit.Count, 1);
    logger.debug('object skipped', { reason: outcome.reason });
    return;
  }
  if (outcome.status === 'poison') {
    metrics.addMetric(METRIC.poisonObjects, MetricUnit.Count, 1);
    logger.error('poison object; not retried', {
      object: objectName(ref),
      errorName: outcome.error.name,
      reason: outcome.error.message,
    });
    return;
  }
  metrics.addMetric(METRIC.objectsProcessed, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.eventsRead, MetricUnit.Count, outcome.read.records);
  metrics.addMetric(METRIC.matchingEvents, MetricUnit.Count, outcome.matchingEvents);
  metrics.addMetric(METRIC.itemsUpdated, MetricUnit.Count, outcome.itemsUpdated);
  metrics.addMetric(METRIC.conditionalConflicts, MetricUnit.Count, outcome.alreadyApplied);
  if (outcome.findingsCorrelated > 0)
    metrics.addMetric(METRIC.findingsCorrelated, MetricUnit.Count, outcome.findingsCorrelated);
  if (outcome.invalidRecords > 0) {
    metrics.addMetric(METRIC.invalidRecords, MetricUnit.Count, outcome.invalidRecords);
    logger.warn('records skipped: fields the rule needs are unusable', {
      count: outcome.invalidRecords,
      examples: outcome.invalidExamples,
    });
  }
  const counted = {
    published: METRIC.alertsPublished,
    suppressed: METRIC.alertsSuppressed,
    covered: METRIC.alertsCovered,
    'building-block': METRIC.buildingBlockFindings,
  };
  for (const [kind, metric] of Object.entries(counted)) {
    const count = outcome.alerts.filter((a) => a.outcome === kind).length;
    if (count > 0) metrics.addMetric(metric, MetricUnit.Count, count);
  }
  if (outcome.newestEventTime !== undefined) {
    const lag = Math.max(0, (deps.clock() - outcome.newestEventTime) / 1000);
    metrics.addMetric(METRIC.deliveryLagSeconds, MetricUnit.Seconds, lag);
  }
  logger.info('object processed', {
    records: outcome.read.records,
    parsed: outcome.read.parsed,
    matchingEvents: outcome.matchingEvents,
    duplicateEvents: outcome.duplicateEvents,
    allowlistedEvents: outcome.allowlistedEvents,
    groups: outcome.groups,
    itemsUpdated: outcome.itemsUpdated,
    alreadyApplied: outcome.alreadyApplied,
    findingsCorrelated: outcome.findingsCorrelated,
    alerts: outcome.alerts.map((a) => ({
      ruleId: a.key.ruleId,
      windowStart: new Date(a.key.windowStart).toISOString(),
      arn: a.key.arn,
      outcome: a.outcome,
      messageId: a.messageId,
    })),
  });
}
