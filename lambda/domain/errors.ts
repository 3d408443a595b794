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

/** A log object that cannot be read as CloudTrail: every subclass names the object and the reason. */
export abstract class PoisonObjectError extends RegionSweepError {
  readonly permanent = true;
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
export class ConfigError extends RegionSweepError {
  readonly permanent = true;
}

/** A notification that is not an S3 object-created event in any shape the handler accepts. */
export class UnrecognisedNotificationError extends RegionSweepError {
  readonly permanent = true;
}

/** How a failure is named in a report or on stderr: the error's name and message. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** True when `error` is permanent: retrying cannot help. Unknown errors are treated as transient. */
export function isPermanent(error: unknown): error is RegionSweepError {
  return error instanceof RegionSweepError && error.permanent;
}

/**
 * The contributor's shard item of a window holds as many contributors as it safely can (the guard keeps it
 * far below DynamoDB's 400 KB item limit; a window holds 161,000 in all, see contributor-shards.ts).
 * Permanent: the same object would hit the same full item again.
 */
export class WindowItemFullError extends RegionSweepError {
  readonly permanent = true;
}

/**
 * A window write kept losing its condition to concurrent writers for a bounded number of attempts.
 * Transient: a retry of the object meets a quieter item.
 */
export class WindowContentionError extends RegionSweepError {
  readonly permanent = false;
}
