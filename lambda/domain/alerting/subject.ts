import type { AlertToPublish } from './alert-to-publish';
import { neutralise } from './neutralise';
import * as shown from './shown-finding';
import { SNS_LIMITS } from './sizing';
import { utcSeconds } from './utc';

/** Longest subject an alert has: below 100 characters, as the SNS API reference asks. */
export const MAX_SUBJECT_LENGTH = SNS_LIMITS.maxSubjectLength - 1;

/**
 * `[regionsweep] <title>: <N> <distinct noun> by <identity> (<window start>)`, below 100 characters: when it is
 * too long the identity is cut first (to no fewer than 16 characters), then the noun (to 12), then the title
 * (to 16), and then whatever is still needed; the count and the window time are always whole.
 */
export function renderSubject({ finding, origin }: AlertToPublish): string {
  const { title, distinctNoun } = shown.presentation(finding);
  const prefix = `${origin === 'backfill' ? '[backfill] ' : ''}[regionsweep] `;
  const count = `: ${finding.distinctCount} `;
  const by = ' by ';
  const when = ` (${utcSeconds(finding.windowStart)})`;
  const label = finding.arn === null ? shown.NO_ARN : neutralise(identityLabel(finding.arn), 200);
  const room = MAX_SUBJECT_LENGTH - prefix.length - count.length - by.length - when.length;
  const [fittedTitle, fittedNoun, fittedLabel] = fitParts(
    [
      { text: asciiOnly(title), floor: 16, order: 2 },
      { text: asciiOnly(distinctNoun), floor: 12, order: 1 },
      { text: asciiOnly(label), floor: 16, order: 0 },
    ],
    room,
  );
  return `${prefix}${fittedTitle}${count}${fittedNoun}${by}${fittedLabel}${when}`.slice(
    0,
    MAX_SUBJECT_LENGTH,
  );
}

/**
 * Cuts texts (marking each cut with `...`) until their lengths add up to at most `room`: first each, by
 * `order`, down to its floor; then each, in the same order, as far as needed. Returns them in their given order.
 */
function fitParts(
  parts: readonly { readonly text: string; readonly floor: number; readonly order: number }[],
  room: number,
): string[] {
  const texts = parts.map((part) => part.text);
  const byOrder = [...parts.keys()].sort((a, b) => (parts[a]?.order ?? 0) - (parts[b]?.order ?? 0));
  for (const floors of [true, false]) {
    for (const index of byOrder) {
      const excess = texts.reduce((sum, text) => sum + text.length, 0) - room;
      const current = texts[index] ?? '';
      if (excess <= 0) return texts;
      const floor = floors ? Math.min(parts[index]?.floor ?? 0, current.length) : 0;
      texts[index] = cutWithDots(current, Math.max(current.length - excess, floor));
    }
  }
  return texts;
}

/**
 * `text` cut to at most `length` characters ending in `...`, at a space when one is in the second half of what
 * is kept (`distinct...`, not `distinct dis...`); nothing when there is no room for a letter and the dots.
 * Unlike `truncate` it marks the cut in ASCII: a subject is ASCII text.
 */
function cutWithDots(text: string, length: number): string {
  if (text.length <= length) return text;
  if (length < 4) return '';
  const kept = text.slice(0, length - 3);
  const space = kept.lastIndexOf(' ');
  return `${space >= kept.length / 2 ? kept.slice(0, space) : kept}...`;
}

/** The part of an ARN after the account (`assumed-role/Name/session` reads `role/Name/session`). */
function identityLabel(arn: string): string {
  const parts = arn.split(':');
  const resource = parts.length >= 6 ? parts.slice(5).join(':') : arn;
  return resource.replace(/^assumed-role\//, 'role/');
}

/** Every character outside printable ASCII as `?`: a subject is one line of printable ASCII. */
function asciiOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, '?');
}
