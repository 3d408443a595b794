import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { classifyKey } from '../../lambda/domain/reading/object-key';
import type { ObjectRef } from '../../lambda/ports';
import {
  type AccountRoot,
  accountRoot,
  classifyLogsFolders,
  type DayPrefix,
  dayFolders,
  isRegionName,
  lastFolder,
  planDayPrefixes,
  type Selection,
} from './selection';

/** The one S3 call enumeration makes: `S3Client` satisfies it. */
export interface S3ListPort {
  send(command: ListObjectsV2Command): Promise<ListObjectsV2CommandOutput>;
}

/** One object a backfill will process, with where it was found (for per-folder counts). */
export interface PlannedObject {
  readonly ref: ObjectRef & { readonly size: number };
  readonly account: string;
  readonly region: string;
  /** `YYYY/MM/DD` (the delivery-day folder). */
  readonly day: string;
}

/** What enumeration found, and what it cost. */
export interface Enumeration {
  readonly objects: PlannedObject[];
  readonly prefixes: readonly DayPrefix[];
  /** ListObjectsV2 requests made (discovery and day folders). */
  readonly listRequests: number;
}

export interface EnumerationOptions {
  /** ListObjectsV2 MaxKeys (S3's own limit is 1000; smaller values only in tests). */
  readonly pageSize?: number;
}

/**
 * Lists the log objects of a selection without listing the whole bucket:
 * 1. Discover account folders under `<prefix>AWSLogs/` (plain trails) and `<prefix>AWSLogs/<o-id>/`
 *    (organization trails), keeping only `selection.accounts` when given.
 * 2. Discover each account's regions under `.../CloudTrail/`, unless `selection.regions` is given.
 * 3. List every (account, region, day) folder for the days start..end+1, page by page.
 * Objects that the pipeline would skip (folder markers, empty objects, non-log keys) are left out.
 */
export async function enumerateSelection(
  client: S3ListPort,
  selection: Selection,
  options: EnumerationOptions = {},
): Promise<Enumeration> {
  const lister = new Lister(client, selection.bucket, options.pageSize ?? 1000);
  const logsPrefix = `${selection.prefix}AWSLogs/`;
  const roots = await discoverAccountRoots(lister, logsPrefix, selection.accounts);
  const withRegions = [];
  for (const root of roots) {
    const regions =
      selection.regions.length > 0
        ? selection.regions
        : (await lister.folders(root.prefix)).map(lastFolder).filter(isRegionName);
    withRegions.push({ root, regions });
  }
  const prefixes = planDayPrefixes(withRegions, dayFolders(selection.startDay, selection.endDay));
  const objects: PlannedObject[] = [];
  for (const dayPrefix of prefixes) {
    for await (const ref of lister.objects(dayPrefix.prefix)) {
      if (classifyKey(ref.key, ref.size, 'strict').kind !== 'log') continue;
      objects.push({ ref, account: dayPrefix.account, region: dayPrefix.region, day: dayPrefix.day });
    }
  }
  return { objects, prefixes, listRequests: lister.requests };
}

async function discoverAccountRoots(
  lister: Lister,
  logsPrefix: string,
  only: readonly string[],
): Promise<AccountRoot[]> {
  const wanted = (account: string) => only.length === 0 || only.includes(account);
  const top = classifyLogsFolders(await lister.folders(logsPrefix));
  const roots = top.accounts.filter(wanted).map((account) => accountRoot(logsPrefix, account));
  for (const organizationId of top.organizations) {
    const members = classifyLogsFolders(await lister.folders(`${logsPrefix}${organizationId}/`)).accounts;
    for (const account of members.filter(wanted))
      roots.push(accountRoot(logsPrefix, account, organizationId));
  }
  return roots;
}

/** ListObjectsV2 with continuation tokens, counting requests. */
class Lister {
  requests = 0;

  constructor(
    private readonly client: S3ListPort,
    private readonly bucket: string,
    private readonly pageSize: number,
  ) {}

  /** The common prefixes one level below `prefix` (Delimiter '/'). */
  async folders(prefix: string): Promise<string[]> {
    const found: string[] = [];
    for await (const page of this.pages(prefix, '/')) {
      for (const common of page.CommonPrefixes ?? []) {
        if (common.Prefix !== undefined) found.push(common.Prefix);
      }
    }
    return found;
  }

  /** Every object under `prefix`. */
  async *objects(prefix: string): AsyncGenerator<ObjectRef & { size: number }> {
    for await (const page of this.pages(prefix, undefined)) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { bucket: this.bucket, key: object.Key, size: object.Size ?? 0 };
      }
    }
  }

  private async *pages(prefix: string, delimiter: string | undefined) {
    let token: string | undefined;
    do {
      this.requests += 1;
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.pageSize,
          ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      yield page;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

/** Objects, bytes per (account, region, day), sorted: what `--dry-run` prints. */
export interface FolderCount {
  readonly account: string;
  readonly region: string;
  readonly day: string;
  readonly objects: number;
  readonly bytes: number;
}

/** Counts planned objects per (account, region, day) folder. */
export function countByFolder(objects: readonly PlannedObject[]): FolderCount[] {
  const counts = new Map<
    string,
    { account: string; region: string; day: string; objects: number; bytes: number }
  >();
  for (const { account, region, day, ref } of objects) {
    const id = `${account} ${region} ${day}`;
    const entry = counts.get(id) ?? { account, region, day, objects: 0, bytes: 0 };
    entry.objects += 1;
    entry.bytes += ref.size;
    counts.set(id, entry);
  }
  return [...counts.values()].sort(
    (a, b) =>
      a.account.localeCompare(b.account) || a.region.localeCompare(b.region) || a.day.localeCompare(b.day),
  );
}
