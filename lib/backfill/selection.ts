import { createHash } from 'node:crypto';
import { InvalidDateRangeError } from './errors';

/** What a backfill reads: the objects of these accounts and regions in the day folders of [start, end + 1]. */
export interface Selection {
  readonly bucket: string;
  /** The trail's key prefix before `AWSLogs/` ('' or ending in `/`). */
  readonly prefix: string;
  /** Only these accounts; empty = every account found under `AWSLogs/`. Sorted. */
  readonly accounts: readonly string[];
  /** Only these regions; empty = every region found under each account's `CloudTrail/`. Sorted. */
  readonly regions: readonly string[];
  /** First day folder, `YYYY-MM-DD` (UTC). */
  readonly startDay: string;
  /** Last event day, `YYYY-MM-DD`; the folder of the day after it is read too. */
  readonly endDay: string;
}

const DAY_MS = 86_400_000;
/** Ranges longer than this are almost certainly a typo (a year where a month was meant). */
export const MAX_RANGE_DAYS = 3660;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses `--start`/`--end`: `YYYY-MM-DD` or an ISO time (UTC unless it carries an offset), and returns the
 * UTC day it falls on. Throws InvalidDateRangeError naming the option.
 */
export function parseDayBound(option: 'start' | 'end', text: string): string {
  const trimmed = text.trim();
  let time: number;
  if (DATE_ONLY.test(trimmed)) {
    time = Date.parse(`${trimmed}T00:00:00Z`);
    // Date.parse rolls 2026-02-30 over into March; a date must read back as itself.
    if (!Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) !== trimmed) time = Number.NaN;
  } else {
    const match = DATE_TIME.exec(trimmed);
    time = match === null ? Number.NaN : Date.parse(match[4] === undefined ? `${trimmed}Z` : trimmed);
  }
  if (Number.isNaN(time)) {
    throw new InvalidDateRangeError(
      `--${option} must be a UTC date (YYYY-MM-DD) or ISO time (2026-11-28T10:00:00Z), got "${text}"`,
    );
  }
  return new Date(time).toISOString().slice(0, 10);
}

/** Checks start <= end and the range length; throws InvalidDateRangeError. */
export function checkRange(startDay: string, endDay: string): void {
  const days = (Date.parse(endDay) - Date.parse(startDay)) / DAY_MS;
  if (days < 0) throw new InvalidDateRangeError(`--start (${startDay}) is after --end (${endDay})`);
  if (days + 1 > MAX_RANGE_DAYS) {
    throw new InvalidDateRangeError(
      `--start to --end spans ${days + 1} days, more than ${MAX_RANGE_DAYS}; split the backfill`,
    );
  }
}

/**
 * The day folders to read, `YYYY/MM/DD`: start through end, plus the day after end. CloudTrail names and
 * files objects by delivery time, which trails event time by minutes, so the events of the last minutes
 * of `end` sit in the next day's folder.
 */
export function dayFolders(startDay: string, endDay: string): string[] {
  const folders: string[] = [];
  const last = Date.parse(endDay) + DAY_MS;
  for (let day = Date.parse(startDay); day <= last; day += DAY_MS) {
    folders.push(new Date(day).toISOString().slice(0, 10).replaceAll('-', '/'));
  }
  return folders;
}

/** One account's log folder: `<prefix>AWSLogs/[<o-id>/]<account>/CloudTrail/`. */
export interface AccountRoot {
  readonly account: string;
  readonly organizationId?: string;
  /** Ends in `CloudTrail/`. */
  readonly prefix: string;
}

/** One ListObjectsV2 prefix to read: a (account root, region, day) folder. */
export interface DayPrefix {
  readonly account: string;
  readonly organizationId?: string;
  readonly region: string;
  /** `YYYY/MM/DD` */
  readonly day: string;
  readonly prefix: string;
}

const ACCOUNT = /^\d{12}$/;
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+-\d+$/;

/** True for a 12-digit account id. */
export const isAccountId = (text: string): boolean => ACCOUNT.test(text);
/** True for an AWS region name such as `us-east-1` or `us-gov-west-1`. */
export const isRegionName = (text: string): boolean => REGION.test(text);

/** The last folder name of a common prefix (`a/b/c/` -> `c`). */
export function lastFolder(commonPrefix: string): string {
  const parts = commonPrefix.split('/');
  return parts[parts.length - 2] ?? '';
}

/**
 * Reads the folders under `<prefix>AWSLogs/`: account ids (plain trails) and organization ids (org trails,
 * whose accounts sit one level deeper). Anything else (`CloudTrail-Digest`-style folders, stray objects) is
 * not a log folder and is ignored.
 */
export function classifyLogsFolders(commonPrefixes: readonly string[]): {
  accounts: string[];
  organizations: string[];
} {
  const accounts: string[] = [];
  const organizations: string[] = [];
  for (const commonPrefix of commonPrefixes) {
    const name = lastFolder(commonPrefix);
    if (ACCOUNT.test(name)) accounts.push(name);
    else if (ORGANIZATION.test(name)) organizations.push(name);
  }
  return { accounts, organizations };
}

/** The CloudTrail folder of an account, in the plain or the organization layout. */
export function accountRoot(logsPrefix: string, account: string, organizationId?: string): AccountRoot {
  const base = organizationId === undefined ? logsPrefix : `${logsPrefix}${organizationId}/`;
  return {
    account,
    ...(organizationId === undefined ? {} : { organizationId }),
    prefix: `${base}${account}/CloudTrail/`,
  };
}

/** Every (root, region, day) prefix, in key order per root: the exact folders a backfill lists. */
export function planDayPrefixes(
  roots: readonly { readonly root: AccountRoot; readonly regions: readonly string[] }[],
  days: readonly string[],
): DayPrefix[] {
  return roots.flatMap(({ root, regions }) =>
    [...regions].sort().flatMap((region) =>
      days.map((day) => ({
        account: root.account,
        ...(root.organizationId === undefined ? {} : { organizationId: root.organizationId }),
        region,
        day,
        prefix: `${root.prefix}${region}/${day}/`,
      })),
    ),
  );
}

/**
 * A short, stable name for a selection and mode: the default checkpoint file is named by it, so re-running
 * the same command resumes, and a different range never mixes with it.
 */
export function selectionHash(selection: Selection, mode: string): string {
  const canonical = JSON.stringify([
    selection.bucket,
    selection.prefix,
    [...selection.accounts].sort(),
    [...selection.regions].sort(),
    selection.startDay,
    selection.endDay,
    mode,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}
