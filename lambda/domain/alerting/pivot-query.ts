import type { Finding } from '../detection/window-state';
import { addSeconds, utcSeconds } from './utc';

/** The longest ARN a query compares or matches, in code points. */
const SQL_ARN_LIMIT = 512;

/** Athena SQL for the events of this identity around the window; the ARN is a string literal, never code. */
export function athenaQuery(finding: Finding, windowEnd: string): string[] {
  const from = utcSeconds(addSeconds(finding.windowStart, -300));
  const to = utcSeconds(addSeconds(windowEnd, 300));
  return [
    'SELECT eventtime, awsregion, sourceipaddress, useragent, errorcode, eventsource, eventname',
    'FROM cloudtrail_logs',
    `WHERE ${arnPredicate(finding.arn)}`,
    `  AND eventtime BETWEEN '${from}' AND '${to}'`,
    'ORDER BY eventtime;',
  ];
}

/**
 * The SQL condition on `useridentity.arn`. An ARN made of the characters IAM allows in ARNs (every real ARN;
 * a single quote is also let through, doubled) is compared exactly. Anything else (a forged log) becomes a LIKE
 * pattern in which every other character is the one-character wildcard (as are the first slash of `://` and
 * the dot of `www.`, so no link forms): the query still finds the records while the email shows nothing unsafe.
 */
export function arnPredicate(arn: string | null): string {
  if (arn === null) return 'useridentity.arn IS NULL';
  const codePoints = Array.from(arn);
  // `.` and `@` are left out of the exact form: mail clients turn `name@host.tld` into a link.
  const plain = /^[A-Za-z0-9:/+=,_'-]*$/.test(arn) && !arn.includes('://');
  if (plain && codePoints.length <= SQL_ARN_LIMIT) return `useridentity.arn = ${sqlString(arn)}`;
  const kept = codePoints.slice(0, SQL_ARN_LIMIT);
  const pattern = kept
    .map((c) => (/^[A-Za-z0-9:/+=, -]$/.test(c) ? c : c === '_' || c === '%' ? `\\${c}` : '_'))
    .join('')
    .replace(/:\/\//g, ':_/');
  const suffix = kept.length < codePoints.length ? '%' : '';
  return `useridentity.arn LIKE ${sqlString(`${pattern}${suffix}`)} ESCAPE '\\'`;
}

/** A SQL string literal: single quotes are doubled, so the value can never end the literal. */
function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
