import type { Finding } from '../../lambda/domain/detection/window-state';
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

/** `    label:       value`, values at column 17; a longer label is followed by one space. */
function detail(label: string, value: string): string {
  const head = `${label}:`;
  return `    ${head.length < 13 ? head.padEnd(13) : `${head} `}${value}`;
}

/**
 * A readable table, one block per finding, newest window first: the counts on the row; under it the rule
 * (marked when a building block: kept, never published), an offset window, further group values, the
 * distinct values labelled by the rule's distinct noun, and a correlation's contributing findings.
 */
export function findingsAsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  const header = ['WINDOW START (UTC)', 'DISTINCT', 'EVENTS', 'FAILED', 'IDENTITY ARN'];
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
    const groupedBy = Object.entries(f.groupedBy).map(
      ([field, value]) => `${printable(field)}=${value === null ? '(no value)' : printable(value)}`,
    );
    const details = [
      detail('rule', `${printable(f.ruleName)}${f.buildingBlock === true ? ' [building block]' : ''}`),
      ...(f.window === 'offset' ? [detail('window', 'offset by half a window (hopping mode)')] : []),
      ...(groupedBy.length === 0 ? [] : [detail('grouped by', groupedBy.join(', '))]),
      detail(printable(f.presentation.distinctNoun), f.distinctValues.map(printable).join(', ')),
      detail('accounts', f.accountIds.map(printable).join(', ') || '-'),
      detail('source IPs', f.sourceIps.map(printable).join(', ') || '-'),
      detail('user agents', f.userAgents.map(printable).join(' | ') || '-'),
      detail('first/last', `${f.firstEventTime} .. ${f.lastEventTime}`),
      ...(f.contributingFindings ?? []).map((c) =>
        detail(
          'finding',
          `${printable(c.title)} (${printable(c.rule)}), window ${c.windowStart.replace('.000Z', 'Z')} ` +
            `(${c.windowSeconds} s): ${c.distinctCount} ${printable(c.distinctNoun)}, ${c.eventCount} ${printable(c.eventNoun)}`,
        ),
      ),
    ];
    return [line(rows[i] ?? []), ...details].join('\n');
  });
  return `${line(header)}\n${blocks.join('\n')}\n`;
}
