import { createRequire } from 'node:module';

interface ListedObject {
  readonly key: string;
}
interface ListResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface ListOptions {
  delimiter?: string;
  prefix?: string;
  maxKeys?: number;
  startAfter?: string;
}
interface FilesystemStoreClass {
  prototype: {
    listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
    regionsweepDelimiterFix?: true;
  };
}

/**
 * Makes s3rver (3.7.1) answer ListObjectsV2 with a Delimiter as S3 does. s3rver stops walking its
 * directory tree one level below the prefix, so a common prefix is reported only when an object sits
 * directly inside it: `AWSLogs/` with Delimiter `/` returns nothing for `AWSLogs/<account>/CloudTrail/...`,
 * and account and region discovery would find nothing on the stand-in. The fix lists the prefix without the
 * delimiter and folds keys into common prefixes, then applies MaxKeys to the remaining keys (as s3rver
 * does). Idempotent; affects every s3rver in this process; startS3 applies it.
 */
export function fixS3rverDelimiterListing(): void {
  const require = createRequire(import.meta.url);
  const store = require('s3rver/lib/stores/filesystem') as FilesystemStoreClass;
  const proto = store.prototype;
  if (proto.regionsweepDelimiterFix === true) return;
  const original = proto.listObjects;
  proto.listObjects = async function listObjects(bucket, options) {
    const delimiter = options.delimiter ?? '';
    if (delimiter === '') return original.call(this, bucket, options);
    const prefix = options.prefix ?? '';
    const all = await original.call(this, bucket, {
      ...options,
      delimiter: '',
      maxKeys: Number.POSITIVE_INFINITY,
    });
    const commonPrefixes = new Set<string>();
    const objects: ListedObject[] = [];
    let isTruncated = false;
    for (const object of all.objects) {
      const index = object.key.slice(prefix.length).indexOf(delimiter);
      if (index !== -1) {
        commonPrefixes.add(object.key.slice(0, prefix.length + index + delimiter.length));
      } else if (objects.length < (options.maxKeys ?? Number.POSITIVE_INFINITY)) {
        objects.push(object);
      } else {
        isTruncated = true;
      }
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
  proto.regionsweepDelimiterFix = true;
}
