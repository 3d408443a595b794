import type { RulePresentation } from '../detection/rule';
import { MAX_DESCRIPTION_LENGTH } from '../detection/rule-parser';
import type { Finding } from '../detection/window-state';
import { neutralise } from './neutralise';
import { SHOWN_LIMITS } from './sizing';
import { utcSeconds } from './utc';

/**
 * The finding's parts as the readable bodies (subject, email, chat notification) show them: each value from a
 * log or a rule neutralised and cut, each list bounded and saying how many more it held. Imported as
 * `shown`, so a call reads as what it gives: `shown.arn(finding, 300)`, `shown.list(finding.sourceIps, 20)`.
 */

/** What an alert shows for a finding whose events carried no identity ARN. */
export const NO_ARN = '(no identity ARN)';

/** The finding's presentation, neutralised and bounded: rule authors write it, but it is shown as text. */
export function presentation({ presentation }: Finding): RulePresentation {
  return {
    title: neutralise(presentation.title, SHOWN_LIMITS.presentation),
    distinctNoun: neutralise(presentation.distinctNoun, SHOWN_LIMITS.presentation),
    eventNoun: neutralise(presentation.eventNoun, SHOWN_LIMITS.presentation),
    ...(presentation.perEvent === true ? { perEvent: true } : {}),
    ...(presentation.description === undefined
      ? {}
      : { description: neutralise(presentation.description, MAX_DESCRIPTION_LENGTH) }),
  };
}

/** The identity ARN, neutralised and cut to `maxLength`, or NO_ARN. */
export function arn({ arn }: Finding, maxLength: number): string {
  return arn === null ? NO_ARN : neutralise(arn, maxLength);
}

/** Labels for group-by fields people know by another name. */
const GROUP_LABELS: Readonly<Record<string, string>> = { sourceIPAddress: 'Source IP' };

/** `[label, value]` of each further group-by field (the S3 posture rule's source IP), neutralised. */
export function groupedBy(
  finding: Finding,
  valueLength: number = SHOWN_LIMITS.value,
  nameLength = 64,
): Array<readonly [string, string]> {
  return Object.entries(finding.groupedBy)
    .slice(0, SHOWN_LIMITS.groupedBy)
    .map(([name, value]) => [
      `${GROUP_LABELS[name] ?? neutralise(name, nameLength)} (grouped by)`,
      value === null ? '(no value)' : neutralise(value, valueLength),
    ]);
}

/** At most `max` values, neutralised, joined by `separator` and followed by how many more there were. */
export function list(
  values: readonly string[],
  max: number,
  separator = ', ',
  valueLength: number = SHOWN_LIMITS.value,
): string {
  if (values.length === 0) return '(none recorded)';
  const shown = values.slice(0, max).map((v) => neutralise(v, valueLength));
  const more = values.length > max ? `${separator}... and ${values.length - max} more` : '';
  return `${shown.join(separator)}${more}`;
}

/** The distinct values, sorted, each neutralised and cut (a forged value can be long). */
export function distinctList(
  values: readonly string[],
  max: number = SHOWN_LIMITS.distinctValues,
  valueLength: number = SHOWN_LIMITS.distinctValue,
): string {
  return list([...values].sort(), max, ', ', valueLength);
}

/** The rule's tags, neutralised and bounded, joined by `separator`; undefined when the rule has none. */
export function tags(finding: Finding, separator = ', '): string | undefined {
  if (finding.tags === undefined || finding.tags.length === 0) return undefined;
  return list(finding.tags, SHOWN_LIMITS.tags, separator, SHOWN_LIMITS.tag);
}

/** `regions` reads `Regions`; for labels built from a noun. */
export function capitalised(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/**
 * A correlation's contributing findings, one line each (at most `max`; rule words neutralised and cut to
 * `valueLength`): `<title> (<rule slug>): window <start>, <seconds> s: <n> <distinct noun>, <n> <event
 * noun>`, then how many more findings the correlation counted (its event count is every finding, the list
 * is bounded). Empty for any other finding.
 */
export function contributingFindings(
  finding: Finding,
  max: number = SHOWN_LIMITS.findings,
  valueLength: number = SHOWN_LIMITS.presentation,
): string[] {
  const all = finding.contributingFindings;
  if (all === undefined) return [];
  const word = (text: string) => neutralise(text, valueLength);
  const lines = all
    .slice(0, max)
    .map(
      (f) =>
        `${word(f.title)} (${word(f.rule)}): window ${utcSeconds(f.windowStart)}, ${f.windowSeconds} s: ` +
        `${f.distinctCount} ${word(f.distinctNoun)}, ${f.eventCount} ${word(f.eventNoun)}`,
    );
  const more = Math.max(0, finding.eventCount - lines.length);
  return more > 0 ? [...lines, `... and ${more} more finding(s)`] : lines;
}
