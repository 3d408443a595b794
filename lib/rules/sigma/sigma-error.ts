import { ConfigError } from '../../../lambda/domain/errors';

/**
 * A Sigma rule regionsweep cannot run as written: malformed, or using a construct it does not support (which is
 * refused, never ignored). The message names the file, the rule and the construct; `construct` names the
 * construct alone (`modifier base64`, `correlation type temporal`), for tests and tools.
 */
export class SigmaRuleError extends ConfigError {
  constructor(
    readonly file: string,
    readonly construct: string,
    detail: string,
  ) {
    super(`${file}: ${construct}: ${detail}`);
  }
}
