import { loadConfig } from './config';
import {
  awsClients,
  buildInvocationHandler,
  type HandlerOptions,
  type InvocationHandler,
  type PipelineTime,
} from './pipeline';

export type { PipelineTime as HandlerTime };

/**
 * Builds the handler from the function's environment, the one place that reads it: configuration is parsed
 * (a bad variable throws a ConfigError naming it) and the clients take endpoints and credentials from the
 * environment as the SDK does.
 */
export function buildHandler(
  env: Readonly<Record<string, string | undefined>>,
  time?: PipelineTime,
): InvocationHandler {
  const options: HandlerOptions = time === undefined ? {} : { time };
  return buildInvocationHandler(loadConfig(env), awsClients(), options);
}

/**
 * Lambda entry point: S3, SNS, SQS, EventBridge and backfill deliveries of CloudTrail log objects.
 * Built at module scope (once per execution environment): a configuration error fails the cold start and
 * names the variable. Every other entry point builds its pipeline in pipeline.ts and never imports this module.
 */
export const handler: InvocationHandler = buildHandler(process.env);
