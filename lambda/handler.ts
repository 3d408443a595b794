import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { HandlerConfig } from './config';
import { type BatchResponse, handleInvocation, type MetricsPort } from './invocation';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metric-names';
import { buildPipeline, type PipelineClients, type PipelineTime } from './pipeline';

/**
 * The Lambda handler, built from typed configuration and the clients it is given. Importing this module does
 * nothing: `lambda/entry.ts` (the deployed bundle's entry) builds the handler from the function's environment,
 * and `local` and the tests build it from a config object.
 */

/** The Lambda handler over a pipeline: S3, SNS, SQS, EventBridge and backfill deliveries. */
export type InvocationHandler = (event: unknown) => Promise<BatchResponse | undefined>;

/** What a handler logs and counts with: Powertools by default (it reads its own variables when built). */
export interface HandlerOptions {
  readonly time?: PipelineTime;
  readonly logger?: Logger;
  readonly metrics?: MetricsPort;
}

/** The handler for `config`: the pipeline against DynamoDB and SNS, with its logger and metrics. */
export function buildHandler(
  config: HandlerConfig,
  clients: PipelineClients,
  options: HandlerOptions = {},
): InvocationHandler {
  const deps = {
    ...buildPipeline(config, config, clients, options.time),
    logger: options.logger ?? new Logger({ serviceName: SERVICE_NAME }),
    metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
  };
  return (event) => handleInvocation(deps, event);
}
