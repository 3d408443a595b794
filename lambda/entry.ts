import { loadConfig } from './config';
import { buildHandler, type InvocationHandler } from './handler';
import { awsClients } from './pipeline';

/**
 * The Lambda entry (the bundle's entry point, `index.handler`), and the one module that reads `process.env`.
 * The handler is built at module scope, once per execution environment: a bad variable throws a ConfigError
 * naming it during the init phase, so a misconfigured function fails its cold start rather than every event.
 * The clients take region and credentials from the environment, as the SDK does.
 */
export const handler: InvocationHandler = buildHandler(loadConfig(process.env), awsClients());
