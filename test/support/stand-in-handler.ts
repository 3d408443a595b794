import { Logger } from '@aws-lambda-powertools/logger';
import { type HandlerConfig, loadConfig } from '../../lambda/config';
import { buildHandler } from '../../lambda/handler';
import type { BatchResponse } from '../../lambda/invocation';
import { SERVICE_NAME } from '../../lambda/metric-names';
import { awsClients, type ClientOptions, type PipelineTime } from '../../lambda/pipeline';
import { NO_METRICS } from '../../lib/local/delivery';
import { type LocalEnvironment, standInFunctionEnvironment } from '../../lib/local/environment';

/** The real handler as a test calls it. */
export type StandInHandler = (event: unknown) => Promise<BatchResponse | undefined>;

/** The function's configuration on the stand-ins: `loadConfig` of the stack's variables plus `env`. */
export function standInConfig(
  environment: LocalEnvironment,
  settings: Parameters<typeof standInFunctionEnvironment>[1],
  env: Readonly<Record<string, string | undefined>> = {},
): HandlerConfig {
  return loadConfig({ ...standInFunctionEnvironment(environment, settings), ...env });
}

export interface StandInHandlerOptions {
  /** Endpoints to reach instead of the stand-ins' own (a fault proxy in front of one). */
  readonly endpoints?: ClientOptions['endpoints'];
  readonly time?: PipelineTime;
  /** Default: a logger that prints only critical lines; nothing is counted either way. */
  readonly logger?: Logger;
}

/**
 * The real handler for `config`, built as `local` builds it (a config object and clients, no process
 * environment), with fresh SDK clients (and retry quotas) that reach the stand-ins.
 */
export function standInHandler(
  environment: LocalEnvironment,
  config: HandlerConfig,
  options: StandInHandlerOptions = {},
): StandInHandler {
  const clients = awsClients({
    ...environment.clients,
    endpoints: { ...environment.clients.endpoints, ...options.endpoints },
  });
  return buildHandler(config, clients, {
    logger: options.logger ?? new Logger({ serviceName: SERVICE_NAME, logLevel: 'CRITICAL' }),
    metrics: NO_METRICS,
    ...(options.time === undefined ? {} : { time: options.time }),
  });
}
