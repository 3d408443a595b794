/**
 * The errors of regionsweep's tooling, one module for the CLI, local runs and rule files (the CDK code and the
 * backfill engine have theirs in `cdk/errors.ts` and `backfill/errors.ts`). Each sets `name` and passes
 * `{ cause }`; each is permanent: the input must change, so the CLI exits 2 with the message.
 */
import { ConfigError } from '../lambda/domain/errors';

/** A usage mistake: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A path given on the command line that does not exist. */
export class LocalInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalInputError';
  }
}

/** A test file that cannot be used; names the file and, where it can, the case and the entry. */
export class RuleTestFileError extends ConfigError {}

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
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${construct}: ${detail}`, options);
  }
}

/** Why a Sigma condition cannot be read: `construct` names what was met (`aggregation`, `near`, `syntax`). */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly construct: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConditionSyntaxError';
  }
}
