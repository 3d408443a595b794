/**
 * A plain-text table for bench reports: cells right-aligned to the widest in their column, a header
 * and a rule line first.
 */
export function table(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-+-'), ...rows.map(line)];
}
