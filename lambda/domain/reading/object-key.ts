/** One S3 object (or local file) to process. `versionId` is part of its identity when the bucket has one. */
export interface ObjectRef {
  /** Empty for a local file (`scan`): `key` is then the file's path. */
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** Size from the notification, when known: 0 means an empty object, skipped without a read. */
  readonly size?: number;
}

/** `logs` and `logs/` both mean the objects live under `logs/AWSLogs/...`, as CloudTrail's S3KeyPrefix does. */
export function normaliseKeyPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Where an alert came from: live delivery or a replay of history. */
export type Origin = 'live' | 'backfill';

/** Why an object is not read. Skips are counted, never errors. */
export type SkipReason =
  | 'folder-marker'
  | 'empty-object'
  | 'digest-file'
  | 'insights-file'
  | 'not-a-cloudtrail-log';

export type KeyClass = { readonly kind: 'log' } | { readonly kind: 'skip'; readonly reason: SkipReason };

/**
 * CloudTrail log keys, with or without a bucket prefix before `AWSLogs/`:
 * `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz` and organization trails
 * `AWSLogs/<o-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`.
 */
const CLOUDTRAIL_LOG_KEY =
  /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]{10,32}\/)?\d{12}\/CloudTrail\/[a-z0-9-]+\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json(?:\.gz)?$/;
const DIGEST = /(?:^|\/)CloudTrail-Digest\/|_CloudTrail-Digest_/;
const INSIGHT = /(?:^|\/)CloudTrail-Insight\/|_CloudTrail-Insight_/;
const JSON_FILE = /\.json(?:\.gz)?$/;

/**
 * Classifies an object key (decoded, not URL-encoded). `strict` (S3 keys) reads only the CloudTrail log
 * layout; `lenient` (local files given to `scan`) reads any `.json`/`.json.gz` that is not a digest or
 * Insights file, since local copies are often renamed.
 */
export function classifyKey(key: string, size: number | undefined, mode: 'strict' | 'lenient'): KeyClass {
  if (key.endsWith('/')) return skip('folder-marker');
  if (DIGEST.test(key)) return skip('digest-file');
  if (INSIGHT.test(key)) return skip('insights-file');
  if (size === 0) return skip('empty-object');
  const pattern = mode === 'strict' ? CLOUDTRAIL_LOG_KEY : JSON_FILE;
  return pattern.test(key) ? { kind: 'log' } : skip('not-a-cloudtrail-log');
}

function skip(reason: SkipReason): KeyClass {
  return { kind: 'skip', reason };
}
