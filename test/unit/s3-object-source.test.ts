import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectSource } from '../../lambda/adapters/s3-object-source';
import { isPermanent, LogObjectGoneError } from '../../lambda/domain/errors';

const s3 = mockClient(S3Client);
/** A streamed body as the SDK returns it in Node: an async-iterable Readable. */
const streamOf = (...chunks: Buffer[]) => Readable.from(chunks) as unknown as GetObjectCommandOutput['Body'];
const REF = { bucket: 'trail', key: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/a.json.gz' };

describe('S3ObjectSource', () => {
  beforeEach(() => {
    s3.reset();
  });

  it('asks S3 to refuse objects of any other bucket owner when an owner is configured', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({ Body: streamOf(Buffer.from('{}')), ETag: '"e1"', ContentLength: 2 });
    const source = new S3ObjectSource({ client: new S3Client({}), expectedBucketOwner: '111122223333' });

    // Act
    await source.open({ ...REF, versionId: 'v1' });

    // Assess
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'trail',
      Key: REF.key,
      VersionId: 'v1',
      ExpectedBucketOwner: '111122223333',
    });
  });

  it('streams the body without reading it', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({
      Body: streamOf(Buffer.from('ab'), Buffer.from('cd')),
      ETag: '"e1"',
      ContentLength: 4,
    });
    const source = new S3ObjectSource({ client: new S3Client({}) });

    // Act
    const chunks: string[] = [];
    for await (const chunk of await source.open(REF)) chunks.push(Buffer.from(chunk).toString());

    // Assess
    expect(chunks).toEqual(['ab', 'cd']);
  });

  it('reports the version read: the ETag without its quotes, and the size', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({
      Body: streamOf(Buffer.from('ab')),
      ETag: '"9b2cf535f27731c974343645a3985328-2"',
      ContentLength: 2,
    });
    const source = new S3ObjectSource({ client: new S3Client({}) });

    // Act
    const body = await source.open(REF);

    // Assess
    expect(body.version).toEqual({ eTag: '9b2cf535f27731c974343645a3985328-2', size: 2 });
  });

  it.each([
    { case: 'a deleted object', error: new NoSuchKey({ message: 'gone', $metadata: {} }) },
    {
      case: 'a deleted version',
      error: new S3ServiceException({
        name: 'NoSuchVersion',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      }),
    },
    {
      case: 'a delete marker',
      error: new S3ServiceException({
        name: 'MethodNotAllowed',
        $fault: 'client',
        $metadata: { httpStatusCode: 405 },
      }),
    },
  ])('$case is a permanent error naming the object', async ({ error: thrown }) => {
    // Prepare
    s3.on(GetObjectCommand).rejects(thrown);
    const source = new S3ObjectSource({ client: new S3Client({}) });

    // Act
    const error = await source.open(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LogObjectGoneError);
    expect(isPermanent(error)).toBe(true);
    expect((error as Error).message).toContain(`s3://trail/${REF.key}`);
  });

  it.each([
    { case: 'throttling', name: 'SlowDown', status: 503 },
    { case: 'access denied (a wrong owner or a missing grant)', name: 'AccessDenied', status: 403 },
    { case: 'internal error', name: 'InternalError', status: 500 },
  ])('$case propagates as transient', async ({ name, status }) => {
    // Prepare
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: status } }),
    );
    const source = new S3ObjectSource({ client: new S3Client({}) });

    // Act
    const error = await source.open(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name });
    expect(isPermanent(error)).toBe(false);
  });
});
