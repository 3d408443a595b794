import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey } from '@aws-sdk/client-s3';
import { IncompleteGetObjectError, LogObjectGoneError } from '../domain/errors';
import type { LogObjectBody, LogObjectSource, ObjectRef } from '../ports';

/** The part of S3Client this adapter uses. */
export interface S3GetObjectPort {
  send(command: GetObjectCommand): Promise<GetObjectCommandOutput>;
}

/**
 * Streams log objects from S3. With `expectedBucketOwner`, S3 refuses objects from a bucket owned by any
 * other account (a renamed or re-created bucket cannot feed the detector).
 */
export class S3ObjectSource implements LogObjectSource {
  constructor(
    private readonly options: { readonly client: S3GetObjectPort; readonly expectedBucketOwner?: string },
  ) {}

  /**
   * GetObject of the object (the version named, when a notification names one). The response's ETag and
   * Content-Length identify what was read: S3 returns both on every GetObject, as ListObjectsV2 returns ETag
   * and Size and notifications `eTag` and `size`, all of the same version
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
   */
  async open(ref: ObjectRef): Promise<LogObjectBody> {
    try {
      const output = await this.options.client.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          ...(ref.versionId === undefined ? {} : { VersionId: ref.versionId }),
          ...(this.options.expectedBucketOwner === undefined
            ? {}
            : { ExpectedBucketOwner: this.options.expectedBucketOwner }),
        }),
      );
      const body = output.Body as AsyncIterable<Uint8Array> | undefined;
      if (body === undefined || typeof body[Symbol.asyncIterator] !== 'function') {
        throw new IncompleteGetObjectError(`s3://${ref.bucket}/${ref.key}: GetObject returned no stream`);
      }
      if (output.ETag === undefined || output.ContentLength === undefined) {
        throw new IncompleteGetObjectError(
          `s3://${ref.bucket}/${ref.key}: GetObject returned no ETag or Content-Length`,
        );
      }
      const version = { eTag: output.ETag.replaceAll('"', ''), size: output.ContentLength };
      return { version, [Symbol.asyncIterator]: () => body[Symbol.asyncIterator]() };
    } catch (error) {
      if (isGone(error)) {
        throw new LogObjectGoneError(`s3://${ref.bucket}/${ref.key}`, 'object no longer exists', {
          cause: error,
        });
      }
      throw error;
    }
  }
}

/**
 * The object, or the version named, is gone for good: deleted (NoSuchKey), a deleted version
 * (NoSuchVersion), or a delete marker as the current version (HTTP 405 MethodNotAllowed).
 */
function isGone(error: unknown): boolean {
  if (error instanceof NoSuchKey) return true;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    name === 'NoSuchKey' ||
    name === 'NoSuchVersion' ||
    (name === 'MethodNotAllowed' && $metadata?.httpStatusCode === 405)
  );
}
