import { UnrecognisedNotificationError } from '../errors';
import type { ObjectRef, Origin } from './object-key';

/**
 * Reads every shape in which "a log object was created" reaches the function, and turns it into object refs.
 * Pure: no I/O, no environment.
 *
 * Accepted at each layer:
 * - the invocation: an SQS batch, S3 or SNS `Records`, an EventBridge event, an `s3:TestEvent`, a backfill message;
 * - an SQS body: an SNS envelope, an S3 event (SNS raw delivery or S3 -> SQS), a CloudTrail notification
 *   (SNS raw delivery), an EventBridge event, an `s3:TestEvent`, a backfill message;
 * - an SNS message: an S3 event, a CloudTrail notification (a trail's own topic), an EventBridge event,
 *   an `s3:TestEvent`.
 *
 * Besides work there are two outcomes: `s3:TestEvent`s and events about something other than object creation
 * (ObjectRemoved, Object Deleted, ...) are counted and dropped; anything else is a rejection with a reason.
 * Rejections are permanent by nature (the same bytes can never parse), so the handler logs and counts them
 * but does NOT report their SQS message as a batch item failure: redelivery cannot fix the input and would
 * only delay it into the dead-letter queue. One bad record (or one bad S3 record inside a message) never
 * affects the others.
 */

/** One unit of work for the handler: object refs plus, for SQS, the record's messageId (for batchItemFailures). */
export interface WorkItem {
  readonly refs: readonly ObjectRef[];
  readonly sqsMessageId?: string;
  readonly origin: Origin;
}

/** Input that is not an object-created notification in any accepted shape; permanent. */
export interface Rejection {
  readonly reason: string;
  readonly sqsMessageId?: string;
}

export interface ParsedInvocation {
  /** 'sqs' => the handler must answer `{ batchItemFailures }`. */
  readonly kind: 'sqs' | 'direct';
  /** One item per delivered record (an SQS record, an SNS record, an S3 record, or the event itself) with refs. */
  readonly items: readonly WorkItem[];
  /** Records that are not object-created notifications: each with a reason (and sqsMessageId when from SQS). */
  readonly rejected: readonly Rejection[];
  /** `s3:TestEvent`s, sent by S3 when a notification configuration is saved. */
  readonly ignoredTestEvents: number;
  /** Well-formed S3 events about something other than object creation (ObjectRemoved, Object Deleted, ...). */
  readonly ignored: number;
}

/** Marks a backfill message on the wire; `regionsweep backfill --mode queue` sends it through the queue. */
export interface BackfillMessage {
  readonly regionsweep: 'backfill';
  readonly version: 1;
  /** Keys are plain (never URL-encoded), unlike S3 notifications. */
  readonly objects: readonly BackfillObject[];
}

export interface BackfillObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly size?: number;
}

/**
 * The largest SQS body a backfill message may have. SQS accepts 256 KiB by default on older queues; staying
 * under it keeps the sender independent of the queue's MaximumMessageSize.
 */
export const BACKFILL_MAX_MESSAGE_BYTES = 262_144;

/**
 * Decodes an object key as S3 puts it into notifications: `application/x-www-form-urlencoded`, so `+` is a
 * space and a literal `+` arrives as `%2B` ("red flower.jpg" becomes "red+flower.jpg", AWS S3 User Guide,
 * "Event message structure"). `+` is replaced before percent-decoding so that `%2B` survives as `+`.
 * Throws UnrecognisedNotificationError when the percent-encoding is malformed (or not UTF-8).
 */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch (error) {
    throw new UnrecognisedNotificationError(`object key ${quote(key)} has malformed percent-encoding`, {
      cause: error,
    });
  }
}

/**
 * The SQS body of one backfill message for `refs`, read back by `parseInvocation` as a WorkItem with origin
 * 'backfill'. Throws RangeError when `refs` is empty or the body would exceed BACKFILL_MAX_MESSAGE_BYTES
 * (use `packBackfillMessages` to split a longer list).
 */
export function backfillMessage(refs: readonly ObjectRef[]): string {
  if (refs.length === 0) throw new RangeError('a backfill message needs at least one object');
  const body = JSON.stringify(backfillEnvelope(refs.map(toBackfillObject)));
  const bytes = Buffer.byteLength(body);
  if (bytes > BACKFILL_MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `backfill message of ${refs.length} objects is ${bytes} bytes, over ${BACKFILL_MAX_MESSAGE_BYTES}`,
    );
  }
  return body;
}

/**
 * Splits `refs` into as few backfill message bodies as fit BACKFILL_MAX_MESSAGE_BYTES each, keeping order.
 * Every body is exactly what `backfillMessage` returns for its slice.
 */
export function packBackfillMessages(refs: readonly ObjectRef[]): string[] {
  // Byte arithmetic on the JSON text: the envelope costs `overhead`, each object its own JSON plus a comma
  // after the first. A single object can never exceed the limit (S3 keys are at most 1024 bytes).
  const overhead = Buffer.byteLength(JSON.stringify(backfillEnvelope([])));
  const bodies: string[] = [];
  let slice: ObjectRef[] = [];
  let bytes = overhead;
  for (const ref of refs) {
    const objectBytes = Buffer.byteLength(JSON.stringify(toBackfillObject(ref)));
    if (slice.length > 0 && bytes + 1 + objectBytes > BACKFILL_MAX_MESSAGE_BYTES) {
      bodies.push(backfillMessage(slice));
      slice = [];
      bytes = overhead;
    }
    bytes += (slice.length === 0 ? 0 : 1) + objectBytes;
    slice.push(ref);
  }
  if (slice.length > 0) bodies.push(backfillMessage(slice));
  return bodies;
}

/** Reads a Lambda invocation event of any accepted shape. Never throws: bad input becomes `rejected`. */
export function parseInvocation(event: unknown): ParsedInvocation {
  const result = new InvocationBuilder();
  if (!isObject(event)) {
    result.reject(`invocation event is ${describe(event)}, not a notification object`);
    return result.build('direct');
  }
  const records = event.Records;
  if (records === undefined) {
    result.add(readMessage(event, 'invocation'));
    return result.build('direct');
  }
  if (!Array.isArray(records) || records.length === 0) {
    result.reject('invocation event has no Records');
    return result.build('direct');
  }
  if (records.some((record) => isObject(record) && record.eventSource === 'aws:sqs')) {
    for (const [index, record] of records.entries()) result.add(readSqsRecord(record, index));
    return result.build('sqs');
  }
  for (const [index, record] of records.entries()) result.add(readInvocationRecord(record, index));
  return result.build('direct');
}

/** What one delivered record yielded. */
interface Reading {
  readonly refs: ObjectRef[];
  readonly rejections: string[];
  testEvents: number;
  ignored: number;
  origin: Origin;
  sqsMessageId?: string;
}

function newReading(): Reading {
  return { refs: [], rejections: [], testEvents: 0, ignored: 0, origin: 'live' };
}

class InvocationBuilder {
  private readonly items: WorkItem[] = [];
  private readonly rejected: Rejection[] = [];
  private ignoredTestEvents = 0;
  private ignored = 0;

  add(reading: Reading): void {
    const { sqsMessageId } = reading;
    if (reading.refs.length > 0) {
      this.items.push(
        sqsMessageId === undefined
          ? { refs: reading.refs, origin: reading.origin }
          : { refs: reading.refs, origin: reading.origin, sqsMessageId },
      );
    }
    for (const reason of reading.rejections) {
      this.rejected.push(sqsMessageId === undefined ? { reason } : { reason, sqsMessageId });
    }
    this.ignoredTestEvents += reading.testEvents;
    this.ignored += reading.ignored;
  }

  reject(reason: string): void {
    this.rejected.push({ reason });
  }

  build(kind: ParsedInvocation['kind']): ParsedInvocation {
    return {
      kind,
      items: this.items,
      rejected: this.rejected,
      ignoredTestEvents: this.ignoredTestEvents,
      ignored: this.ignored,
    };
  }
}

/** Where a message was found; decides which shapes it may take. */
type Layer = 'invocation' | 'SQS body' | 'SNS message';

function readSqsRecord(record: unknown, index: number): Reading {
  const reading = newReading();
  if (isObject(record) && typeof record.messageId === 'string') reading.sqsMessageId = record.messageId;
  if (!isObject(record) || record.eventSource !== 'aws:sqs') {
    reading.rejections.push(`record ${index} of an SQS batch is not an SQS record`);
    return reading;
  }
  if (typeof record.body !== 'string') {
    reading.rejections.push(`SQS record ${index} has no string body`);
    return reading;
  }
  const body = parseJson(record.body, 'SQS body', reading);
  if (body !== undefined) readInto(body, 'SQS body', reading);
  return reading;
}

function readInvocationRecord(record: unknown, index: number): Reading {
  const reading = newReading();
  if (isObject(record) && record.EventSource === 'aws:sns') {
    readSnsMessage(isObject(record.Sns) ? record.Sns.Message : undefined, reading);
  } else if (isObject(record) && record.eventSource === 'aws:s3') {
    readS3Record(record, reading);
  } else {
    const source = isObject(record) ? (record.eventSource ?? record.EventSource) : undefined;
    reading.rejections.push(
      `record ${index} has event source ${describe(source)}, not aws:s3, aws:sns or aws:sqs`,
    );
  }
  return reading;
}

function readMessage(message: Record<string, unknown>, layer: Layer): Reading {
  const reading = newReading();
  readInto(message, layer, reading);
  return reading;
}

function readInto(message: unknown, layer: Layer, reading: Reading): void {
  if (!isObject(message)) {
    reading.rejections.push(`${layer} is ${describe(message)}, not a notification object`);
  } else if (message.Event === 's3:TestEvent') {
    reading.testEvents += 1;
  } else if (layer === 'SQS body' && typeof message.Type === 'string' && 'TopicArn' in message) {
    readSnsEnvelope(message, reading);
  } else if (layer !== 'invocation' && Array.isArray(message.Records)) {
    readS3Event(message.Records, layer, reading);
  } else if (layer !== 'invocation' && 's3Bucket' in message && 's3ObjectKey' in message) {
    readCloudTrailNotification(message, reading);
  } else if (typeof message['detail-type'] === 'string' && 'detail' in message) {
    readEventBridgeEvent(message, reading);
  } else if (layer !== 'SNS message' && message.regionsweep === 'backfill') {
    readBackfill(message, reading);
  } else {
    reading.rejections.push(`${layer} is not an S3 notification in any accepted shape`);
  }
}

function readSnsEnvelope(envelope: Record<string, unknown>, reading: Reading): void {
  // SubscriptionConfirmation reaches the queue for cross-account subscriptions: not work, but an operator
  // must see it, so it is a rejection rather than silently ignored.
  if (envelope.Type !== 'Notification') {
    reading.rejections.push(`SNS ${describe(envelope.Type)} message is not a notification`);
    return;
  }
  readSnsMessage(envelope.Message, reading);
}

function readSnsMessage(text: unknown, reading: Reading): void {
  if (typeof text !== 'string') {
    reading.rejections.push('SNS notification has no string Message');
    return;
  }
  const message = parseJson(text, 'SNS message', reading);
  if (message !== undefined) readInto(message, 'SNS message', reading);
}

function readS3Event(records: readonly unknown[], layer: Layer, reading: Reading): void {
  if (records.length === 0) reading.rejections.push(`${layer} has an empty Records list`);
  for (const record of records) readS3Record(record, reading);
}

/**
 * One record of an S3 event notification (AWS S3 User Guide, "Event message structure"): `eventName` has no
 * `s3:` prefix (`ObjectCreated:Put`), and `s3.object.key` is URL-encoded.
 */
function readS3Record(record: unknown, reading: Reading): void {
  if (!isObject(record) || record.eventSource !== 'aws:s3') {
    reading.rejections.push('S3 event holds a record that is not from aws:s3');
    return;
  }
  const { eventName } = record;
  if (typeof eventName !== 'string') {
    reading.rejections.push('S3 record has no eventName');
    return;
  }
  if (!eventName.startsWith('ObjectCreated:')) {
    reading.ignored += 1;
    return;
  }
  const s3 = isObject(record.s3) ? record.s3 : {};
  const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
  const object = isObject(s3.object) ? s3.object : {};
  const fields = { bucket, key: object.key, size: object.size, versionId: object.versionId };
  addRef(reading, `S3 ${eventName} record`, fields, decodeS3Key);
}

/**
 * An EventBridge event from S3 (AWS S3 User Guide, "EventBridge event message structure"). The guide does
 * not say how `detail.object.key` is encoded; S3 URL-encodes it exactly as in S3 notifications, and AWS's own
 * consumers decode it so: Powertools for Python `S3EventBridgeNotificationObject.key` (`unquote_plus`) and
 * OpenSearch Data Prepper `S3EventBridgeNotification.Object.getUrlDecodedKey` (`SdkHttpUtils.urlDecode`).
 * Keys without `+` or `%` (every CloudTrail key) read the same either way.
 */
function readEventBridgeEvent(event: Record<string, unknown>, reading: Reading): void {
  if (event.source !== 'aws.s3') {
    reading.rejections.push(`EventBridge event from ${describe(event.source)} is not from aws.s3`);
    return;
  }
  const detailType = event['detail-type'];
  if (detailType !== 'Object Created') {
    reading.ignored += 1;
    return;
  }
  const detail = isObject(event.detail) ? event.detail : {};
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  const fields = { bucket, key: object.key, size: object.size, versionId: object['version-id'] };
  addRef(reading, 'EventBridge Object Created event', fields, decodeS3Key);
}

/**
 * The notification a trail publishes to its own SNS topic after each delivery: `{"s3Bucket": ...,
 * "s3ObjectKey": [...]}` (AWS CloudTrail User Guide, "Configuring Amazon SNS notifications for CloudTrail",
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html).
 * Every key of the list is work. The keys are the plain object paths, not URL-encoded as S3's own
 * notifications are (the guide's example is the path itself), and carry no size or version id.
 */
function readCloudTrailNotification(message: Record<string, unknown>, reading: Reading): void {
  const keys = message.s3ObjectKey;
  if (!Array.isArray(keys) || keys.length === 0) {
    reading.rejections.push(`CloudTrail notification: s3ObjectKey is ${describe(keys)}, not a list of keys`);
    return;
  }
  for (const [index, key] of keys.entries()) {
    addRef(reading, `CloudTrail notification key ${index}`, { bucket: message.s3Bucket, key }, plainKey);
  }
}

function readBackfill(message: Record<string, unknown>, reading: Reading): void {
  reading.origin = 'backfill';
  if (message.version !== 1) {
    reading.rejections.push(
      `backfill message version ${describe(message.version)} is not supported (expected 1)`,
    );
    return;
  }
  const { objects } = message;
  if (!Array.isArray(objects) || objects.length === 0) {
    reading.rejections.push('backfill message has no objects');
    return;
  }
  for (const [index, object] of objects.entries()) {
    const entry = isObject(object) ? object : {};
    const fields = { bucket: entry.bucket, key: entry.key, size: entry.size, versionId: entry.versionId };
    addRef(reading, `backfill object ${index}`, fields, plainKey);
  }
}

/** One object as a notification names it, unchecked; `key` as the notification encodes it. */
interface ObjectFields {
  readonly bucket: unknown;
  readonly key: unknown;
  readonly size?: unknown;
  readonly versionId?: unknown;
}

/** Adds the ref of one object's fields to the work, or records at `where` why they name none. */
function addRef(
  reading: Reading,
  where: string,
  fields: ObjectFields,
  decodeKey: (key: string) => string,
): void {
  const ref = checkedRef(fields, decodeKey);
  if (typeof ref === 'string') reading.rejections.push(`${where}: ${ref}`);
  else reading.refs.push(ref);
}

/** The ref of one object's fields, or the reason they name none. Absent optionals stay absent. */
function checkedRef(
  { bucket, key, size, versionId }: ObjectFields,
  decodeKey: (key: string) => string,
): ObjectRef | string {
  if (typeof bucket !== 'string' || bucket.length === 0) return `bucket name is ${describe(bucket)}`;
  if (typeof key !== 'string') return `object key is ${describe(key)}`;
  let decoded: string;
  try {
    decoded = decodeKey(key);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (decoded.length === 0) return 'object key is empty';
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 0)) {
    return `size is ${describe(size)}, not a byte count`;
  }
  // A null or empty version id means "no version" (unversioned bucket), not a version called "".
  if (versionId !== undefined && versionId !== null && typeof versionId !== 'string') {
    return `version id is ${describe(versionId)}`;
  }
  return {
    bucket,
    key: decoded,
    ...(typeof versionId === 'string' && versionId.length > 0 ? { versionId } : {}),
    ...(typeof size === 'number' ? { size } : {}),
  };
}

function plainKey(key: string): string {
  return key;
}

function backfillEnvelope(objects: readonly BackfillObject[]): BackfillMessage {
  return { regionsweep: 'backfill', version: 1, objects };
}

function toBackfillObject(ref: ObjectRef): BackfillObject {
  return {
    bucket: ref.bucket,
    key: ref.key,
    ...(ref.versionId === undefined ? {} : { versionId: ref.versionId }),
    ...(ref.size === undefined ? {} : { size: ref.size }),
  };
}

function parseJson(text: string, layer: Layer, reading: Reading): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    reading.rejections.push(`${layer} is not JSON (${detail}): ${quote(text)}`);
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of an unexpected value for a rejection reason (bounded: bodies can be large). */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value);
  return `${typeof value} ${String(value)}`;
}

const QUOTE_LIMIT = 120;

function quote(text: string): string {
  const shown = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}...` : text;
  return JSON.stringify(shown);
}
