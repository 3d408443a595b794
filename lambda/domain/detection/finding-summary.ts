/**
 * How a correlation window remembers one contributing finding: a short JSON array in its `findings` context
 * list, `[rule slug, window start (epoch ms), window seconds, distinct count, event count]`. A slug is at
 * most 64 characters, so a summary stays far below the 256-byte bound of a context value; the counts are
 * those of the finding's window when it joined the correlation (counts only grow).
 */
export interface FindingSummary {
  /** The slug of the rule that found it. */
  readonly rule: string;
  /** ISO-8601 UTC with `Z`. */
  readonly windowStart: string;
  readonly windowSeconds: number;
  readonly distinctCount: number;
  readonly eventCount: number;
}

/** The stored text of a summary. */
export function encodeFindingSummary(summary: {
  readonly rule: string;
  readonly windowStart: number;
  readonly windowSeconds: number;
  readonly distinctCount: number;
  readonly eventCount: number;
}): string {
  return JSON.stringify([
    summary.rule,
    summary.windowStart,
    summary.windowSeconds,
    summary.distinctCount,
    summary.eventCount,
  ]);
}

/** The summaries among stored texts, oldest window first, then by rule; a text of another shape is left out. */
export function decodeFindingSummaries(texts: readonly string[]): FindingSummary[] {
  return texts
    .flatMap((text) => {
      const summary = decodeOne(text);
      return summary === undefined ? [] : [summary];
    })
    .sort((a, b) =>
      a.windowStart !== b.windowStart
        ? a.windowStart < b.windowStart
          ? -1
          : 1
        : a.rule < b.rule
          ? -1
          : a.rule > b.rule
            ? 1
            : 0,
    );
}

function decodeOne(text: string): FindingSummary | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [rule, windowStart, windowSeconds, distinctCount, eventCount] = value as unknown[];
  if (typeof rule !== 'string' || ![windowStart, windowSeconds, distinctCount, eventCount].every(isCount)) {
    return undefined;
  }
  return {
    rule,
    windowStart: new Date(windowStart as number).toISOString(),
    windowSeconds: windowSeconds as number,
    distinctCount: distinctCount as number,
    eventCount: eventCount as number,
  };
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
