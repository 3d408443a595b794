/**
 * Sizing: the limits an alert must fit and the one way a text is cut to fit them. Each body (subject, email,
 * chat notification, machine document) decides its own steps; every cut with an ellipsis is `truncate`.
 */

/**
 * SNS Publish limits (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html): the alert renders within
 * them and the local SNS recorder enforces them.
 */
export const SNS_LIMITS = {
  /** Message body plus every attribute's name, type and value, in UTF-8 bytes. */
  maxMessageBytes: 262_144,
  /** The longest subject SNS accepts (the API reference asks for fewer: "less than 100 characters long"). */
  maxSubjectLength: 100,
  maxAttributes: 10,
} as const;

/**
 * Caps on what the email and the chat notification show. Each list and each value is bounded, so the whole
 * message stays far below SNS_LIMITS.maxMessageBytes whatever the log contained: worst case every kept code
 * point costs 4 bytes after both JSON encodings, and the email holds at most about 40 000 code points of log
 * values and rule words (the worst case renders to about 157 KB in all).
 */
export const SHOWN_LIMITS = {
  value: 200,
  arn: 300,
  /** Room for an S3 bucket ARN (up to 76 characters) after defanging its dots. */
  distinctValue: 128,
  distinctValues: 64,
  groupedBy: 8,
  list: 20,
  slackList: 5,
  /** A correlation's contributing findings (the window keeps at most 64; each line is under 300 code points). */
  findings: 64,
  /** Presentation text is checked to be short when a rule is parsed; this bounds a Finding built otherwise. */
  presentation: 64,
  /** Tags are checked (at most 16 of 64 characters) when a rule is parsed; this bounds a Finding built otherwise. */
  tags: 16,
  tag: 64,
} as const;

/**
 * How `truncate` measures a length: in code points (what the caps above count), or in UTF-16 units (never
 * fewer than a chat app counts characters, and what JavaScript's `length` says).
 */
export type LengthUnit = 'codePoints' | 'utf16Units';

/**
 * `value` at most `maxLength` long (measured in `unit`); a cut value ends with an ellipsis, which counts toward
 * the length. Cuts between code points, never inside a surrogate pair.
 */
export function truncate(value: string, maxLength: number, unit: LengthUnit = 'codePoints'): string {
  if (maxLength < 1) return '';
  // A UTF-16 length within the limit is a code-point count within it too.
  if (value.length <= maxLength) return value;
  if (unit === 'codePoints') {
    const codePoints = Array.from(value);
    if (codePoints.length <= maxLength) return value;
    return `${codePoints.slice(0, maxLength - 1).join('')}\u2026`;
  }
  let kept = '';
  for (const char of value) {
    if (kept.length + char.length > maxLength - 1) break;
    kept += char;
  }
  return `${kept}\u2026`;
}
