import { type FileHandle, open, readFile } from 'node:fs/promises';
import type { ObjectRef } from '../../lambda/ports';

/**
 * The objects a backfill has finished, as an append-only file of JSON lines (`{"key":...,"versionId":...}`,
 * one per object). Append-only keeps every record intact when the process is killed: at worst the last
 * line is torn, and it is ignored on load (that object is simply processed again, which is harmless:
 * window writes are idempotent per object).
 */
export class Checkpoint {
  private constructor(
    readonly path: string,
    private readonly finished: Set<string>,
    private readonly handle: FileHandle,
  ) {}

  /** Opens (creating when absent) the checkpoint at `path` and loads what it records. */
  static async open(path: string): Promise<Checkpoint> {
    const finished = new Set<string>();
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    for (const line of text.split('\n')) {
      const id = parseLine(line);
      if (id !== undefined) finished.add(id);
    }
    const handle = await open(path, 'a');
    // A torn last line must not swallow the next record: start appending on a line of its own.
    if (text.length > 0 && !text.endsWith('\n')) await handle.appendFile('\n');
    return new Checkpoint(path, finished, handle);
  }

  has(ref: ObjectRef): boolean {
    return this.finished.has(idOf(ref));
  }

  /** Records `ref` as finished (one line, appended). */
  async record(ref: ObjectRef): Promise<void> {
    const id = idOf(ref);
    if (this.finished.has(id)) return;
    this.finished.add(id);
    const line = JSON.stringify(
      ref.versionId === undefined ? { key: ref.key } : { key: ref.key, versionId: ref.versionId },
    );
    await this.handle.appendFile(`${line}\n`);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function idOf(ref: Pick<ObjectRef, 'key' | 'versionId'>): string {
  return `${ref.key}\u0000${ref.versionId ?? ''}`;
}

function parseLine(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value = JSON.parse(line) as { key?: unknown; versionId?: unknown };
    if (typeof value.key !== 'string') return undefined;
    return idOf({
      key: value.key,
      ...(typeof value.versionId === 'string' ? { versionId: value.versionId } : {}),
    });
  } catch {
    // A torn last line from an interrupted run: that object is processed again.
    return undefined;
  }
}
