import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { loadPipelineSettings } from '../../lambda/config';
import { type Finding, findingUnder } from '../../lambda/domain/detection/window-state';
import { scanFiles } from '../../lib/cli/scan';
import type { LocalEnvironment } from '../../lib/local/environment';
import { type LocalFile, listLocalFiles } from '../../lib/local/file-object-source';
import { type CorpusObject, writeCorpus } from '../fixtures/corpus';
import { sweepCorpus } from '../fixtures/sweep-corpus';

export const SETTINGS = loadPipelineSettings({});
export const ORGANIZATION_ID = 'o-abcdefghij';
/** The org-trail account: its objects live under AWSLogs/<o-id>/<account>/. */
export const ORG_ACCOUNT = '222222222222';

/**
 * A four-day corpus in both key layouts: sweeps on 11-26, late on 11-27 (delivered partly on 11-28), on
 * 11-28 and on 11-30. Backfilling 11-27..11-27 reads the folders of 11-27 and 11-28 only.
 */
export function multiDayCorpus(): CorpusObject[] {
  const days = [
    { seed: 11, start: '2026-11-26T10:00:00Z' },
    { seed: 12, start: '2026-11-27T23:40:00Z' },
    { seed: 13, start: '2026-11-28T06:00:00Z' },
    { seed: 14, start: '2026-11-30T10:00:00Z' },
  ];
  return days.flatMap(({ seed, start }) =>
    sweepCorpus(seed, { start, minutes: 10 }).map((object) => ({
      ...object,
      key: object.key.replace(`AWSLogs/${ORG_ACCOUNT}/`, `AWSLogs/${ORGANIZATION_ID}/${ORG_ACCOUNT}/`),
    })),
  );
}

/** The corpus on disk, its files, and the files whose day folder is one of `folders` (`YYYY/MM/DD`). */
export async function corpusOnDisk(): Promise<{
  root: string;
  files: LocalFile[];
  inFolders: (folders: readonly string[]) => LocalFile[];
  remove: () => Promise<void>;
}> {
  const root = await mkdtemp(join(tmpdir(), 'regionsweep-backfill-'));
  await writeCorpus(root, multiDayCorpus());
  const files = await listLocalFiles([root]);
  return {
    root,
    files,
    inFolders: (folders) => files.filter((f) => folders.some((day) => f.relativePath.includes(`/${day}/`))),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

const silentIo = { stdout: { write: () => true }, stderr: { write: () => true } };

/** What `scan` finds in these files (the reference a backfill must match). */
export async function scanFindings(files: readonly LocalFile[]): Promise<Finding[]> {
  return (await scanFiles(files, SETTINGS, silentIo)).findings;
}

/** `windowStart arn`: the identity of a finding or alert. */
export const keyOf = (f: { windowStart: string; arn: string | null }) =>
  `${f.windowStart} ${f.arn ?? '(null)'}`;

/** The findings as stored in the environment's table now, for the windows of `findings`. */
export async function storedFindings(
  environment: LocalEnvironment,
  findings: readonly Finding[],
): Promise<(Finding | undefined)[]> {
  const store = new DynamoDbWindowStore({
    client: environment.dynamodb,
    tableName: environment.tableName,
    limits: SETTINGS.limits,
    retentionSeconds: SETTINGS.retentionSeconds,
  });
  return Promise.all(
    findings.map(async (finding) => {
      const state = await store.get({
        ruleId: finding.ruleId,
        windowStart: Date.parse(finding.windowStart),
        arn: finding.arn,
      });
      return state === undefined ? undefined : findingUnder(state, SETTINGS.rules);
    }),
  );
}

/** A finding without its sample event ids (which depend on the order objects were read). */
export const comparable = (f: Finding | undefined) => f && { ...f, sampleEventIds: [] };

/** A CliIo that keeps what was written. */
export function bufferIo(interactive = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      interactive,
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
