import type { Finding } from '../../lambda/domain/window-state';
import { printable } from './io';

/** One JSON object per line: the finding's fields, `arn` and `windowStart` first. */
export function findingsAsJsonLines(findings: readonly Finding[]): string {
  return findings
    .map(({ arn, windowStart, distinctCount, eventCount, distinctValues, ...context }) =>
      JSON.stringify({ arn, windowStart, distinctCount, eventCount, distinctValues, ...context }),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** A readable table, one block per finding, newest window first. */
export function findingsAsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  const header = ['WINDOW START (UTC)', 'REGIONS', 'EVENTS', 'FAILED', 'IDENTITY ARN'];
  const rows = findings.map((f) => [
    f.windowStart.replace('.000Z', 'Z'),
    String(f.distinctCount),
    String(f.eventCount),
    String(f.failedCount),
    printable(f.arn ?? '(no identity ARN)'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const blocks = findings.map((f, i) => {
    const details = [
      `    regions:     ${f.distinctValues.map(printable).join(', ')}`,
      `    accounts:    ${f.accountIds.map(printable).join(', ') || '-'}`,
      `    source IPs:  ${f.sourceIps.map(printable).join(', ') || '-'}`,
      `    user agents: ${f.userAgents.map(printable).join(' | ') || '-'}`,
      `    first/last:  ${f.firstEventTime} .. ${f.lastEventTime}`,
    ];
    return [line(rows[i] ?? []), ...details].join('\n');
  });
  return `${line(header)}\n${blocks.join('\n')}\n`;
}
