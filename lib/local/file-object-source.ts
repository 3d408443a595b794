import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LogObjectSource, ObjectRef } from '../../lambda/ports';
import { LocalInputError } from '../errors';

/** Local files as log objects: `bucket` is empty and `key` is the file's absolute path. */
export const fileObjectSource: LogObjectSource = {
  async open(ref: ObjectRef) {
    return createReadStream(ref.key, { highWaterMark: 1024 * 1024 });
  },
};

/** A local file as an object reference. */
export interface LocalFile {
  readonly path: string;
  /** Path relative to the directory it was found under (the file name for a file given directly). */
  readonly relativePath: string;
  readonly size: number;
}

/**
 * Expands files and directories (recursively, in sorted order) into files; throws when a path does not
 * exist, naming it.
 */
export async function listLocalFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const given of paths) {
    const root = resolve(given);
    const info = await stat(root).catch((error: unknown) => {
      throw new LocalInputError(`${given}: no such file or directory`, { cause: error });
    });
    if (info.isFile()) {
      files.push({ path: root, relativePath: root.split('/').pop() ?? root, size: info.size });
      continue;
    }
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    const found = entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    for (const path of found) {
      files.push({ path, relativePath: path.slice(root.length + 1), size: (await stat(path)).size });
    }
  }
  return files;
}

/** The object reference of a local file. */
export function localFileRef(file: LocalFile): ObjectRef {
  return { bucket: '', key: file.path, size: file.size };
}
