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

let built: InvocationHandler | undefined;

/**
 * Lambda entry point: S3, SNS, SQS, EventBridge and backfill deliveries of CloudTrail log objects.
 * Built on the first invocation and kept for the execution environment's life; importing this module does
 * nothing. A configuration error fails every invocation and names the variable.
 */
export const handler: InvocationHandler = (event) => {
  built ??= buildHandler(process.env);
  return built(event);
};
