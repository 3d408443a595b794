import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { fixS3rverDelimiterListing } from './s3rver-delimiter';

/** A running S3 stand-in (s3rver, in this process, files in a temporary directory). */
export interface S3StandIn {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * S3 client settings for s3rver: path-style addressing, and checksums only when required (otherwise the
 * SDK streams uploads with aws-chunked framing, which s3rver stores verbatim).
 */
export const S3RVER_CLIENT_SETTINGS = {
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
} as const;

/** Starts s3rver on a free loopback port, listing with delimiters as S3 does (see s3rver-delimiter.ts). */
export async function startS3(): Promise<S3StandIn> {
  fixS3rverDelimiterListing();
  const directory = await mkdtemp(join(tmpdir(), 'regionsweep-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const address: AddressInfo = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in its legacy provider:
 * without it, a listing of more than 1,000 keys under one prefix fails on the stand-in (never on S3).
 */
export function s3StandInCanPage(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}
