/**
 * Errors that the pipeline decides on. Every error says whether it is permanent (a poison object or input:
 * record it, count it, never retry) or transient (throw, so the platform retries).
 */
export abstract class RegionSweepError extends Error {
  /** True when retrying the same input can never succeed. */
  abstract readonly permanent: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Retrying the same input can never succeed: record it, count it, move on. */
export abstract class PermanentError extends RegionSweepError {
  readonly permanent = true;
}

/** A retry may succeed: throw, so the platform retries. */
export abstract class TransientError extends RegionSweepError {
  readonly permanent = false;
}

/** A log object that cannot be read as CloudTrail: every subclass names the object and the reason. */
export abstract class PoisonObjectError extends PermanentError {
  readonly objectName: string;

  constructor(objectName: string, reason: string, options?: { cause?: unknown }) {
    super(`${objectName}: ${reason}`, options);
    this.objectName = objectName;
  }
}

/** The gzip stream is truncated or corrupt. */
export class CorruptGzipError extends PoisonObjectError {}

/** The bytes are not JSON (or not UTF-8 JSON text). */
export class MalformedJsonError extends PoisonObjectError {}

/** The JSON is well formed but is not a CloudTrail log file (`{"Records":[{...},...]}`). */
export class NotCloudTrailShapeError extends PoisonObjectError {}

/** The object named by a notification no longer exists (deleted or expired before it was read). */
export class LogObjectGoneError extends PoisonObjectError {}

/** The object exceeds a configured limit (decompressed size, single record size or record count). */
export class LogObjectLimitError extends PoisonObjectError {
  readonly limit: 'decompressedBytes' | 'recordBytes' | 'recordCount';

  constructor(
    objectName: string,
    limit: 'decompressedBytes' | 'recordBytes' | 'recordCount',
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(objectName, reason, options);
    this.limit = limit;
  }
}

/** Configuration that cannot be used; names the setting. */
export class ConfigError extends PermanentError {}

/** A notification that is not an S3 object-created event in any shape the handler accepts. */
export class UnrecognisedNotificationError extends PermanentError {}

/**
 * The contributor's shard item of a window holds as many contributors as it safely can (the guard keeps it
 * far below DynamoDB's 400 KB item limit; a window holds 161,000 in all, see contributor-shards.ts).
 * Permanent: the same object would hit the same full item again.
 */
export class WindowItemFullError extends PermanentError {}

/**
 * A window write kept losing its condition to concurrent writers for a bounded number of attempts.
 * Transient: a retry of the object meets a quieter item.
 */
export class WindowContentionError extends TransientError {}

/** S3 answered GetObject without a stream, an ETag or a Content-Length: what was read cannot be identified. */
export class IncompleteGetObjectError extends TransientError {}

/** SNS accepted the call but returned no message id: the publish cannot be recorded, so it is retried. */
export class SnsMissingMessageIdError extends TransientError {}

/**
 * An invocation's objects that failed transiently (named, with their causes; the first as `cause`): thrown
 * after every object was tried, so the platform retries the invocation.
 */
export class TransientObjectFailure extends TransientError {}

/** How a failure is named in a report or on stderr: the error's name and message. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** True when `error` is permanent: retrying cannot help. Unknown errors are treated as transient. */
export function isPermanent(error: unknown): error is RegionSweepError {
  return error instanceof RegionSweepError && error.permanent;
}
