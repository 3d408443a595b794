import { truncate } from './sizing';

/**
 * Neutralising: whatever a log holds, an alert shows it as inert text (no markup, link, mention, bidi trick or
 * invisible character) and at a bounded length.
 */

/**
 * Every code point of Unicode's "Other" categories (`\p{C}`: controls, format characters such as bidi controls
 * and zero-width characters, unassigned code points, private use, lone surrogates) and the line and paragraph
 * separators (`\p{Zl}`, `\p{Zp}`). None may reach a reader: each is shown as a visible `\uXXXX` escape
 * instead. Chosen by general category, not by a list: a code point assigned an invisible meaning later
 * is unassigned (Cn) today, or a format character (Cf) once assigned, and is caught either way.
 */
export const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/gu;

/**
 * Makes one attacker-controlled string (anything read from a log) safe to show in Slack/Teams markdown and in
 * a plain-text email, and at most `maxLength` code points long.
 *
 * Invariants of the result: no control, bidi or invisible character (each is shown as a `\uXXXX` escape, so
 * the value stays one line and reads in logical order); no `<` `>` `&` (no Slack mention, link or entity);
 * no `*` `~` or backtick and no `_` outside a word (no markdown formatting; `my_role` stays as is); no
 * `@here`/`@channel`/`@everyone`; no `scheme://`, no `](` and no dot between a name and a letter (no link
 * or auto-linked domain: `https://evil.example` reads `hxxps[:]//evil[.]example`).
 */
export function neutralise(value: string, maxLength: number): string {
  // Each character becomes at least one character of the result and no replacement looks more than 8
  // characters ahead, so the first maxLength + 16 code points decide the (cut) result: a 100 KB value costs
  // no more work than a short one.
  const room = 2 * (maxLength + 16);
  const safe = (value.length > room ? value.slice(0, room) : value)
    .replace(INVISIBLE, escapeCodePoint)
    .replace(/</g, '\u2039')
    .replace(/>/g, '\u203a')
    .replace(/&/g, '\uff06')
    .replace(/\*/g, '\u2217')
    .replace(/~/g, '\u223c')
    .replace(/`/g, '\u02cb')
    .replace(/_/g, (match, offset: number, whole: string) =>
      isWordChar(whole[offset - 1]) && isWordChar(whole[offset + 1]) ? match : '\uff3f',
    )
    .replace(/@(?=here|channel|everyone)/gi, '\uff20')
    .replace(/\b(h)tt(ps?):\/\//gi, '$1xx$2[:]//')
    .replace(/:\/\//g, '[:]//')
    .replace(/(?<=[A-Za-z0-9-])\.(?=[A-Za-z])/g, '[.]')
    .replace(/\]\(/g, '] (');
  return truncate(safe, maxLength);
}

/** What inertJson writes as a `\uXXXX` escape: markup characters and everything INVISIBLE matches. */
const JSON_ESCAPED = new RegExp(`[<>&]|${INVISIBLE.source}`, 'gu');

/**
 * `JSON.stringify(value)` with `<` `>` `&` and every invisible character written as `\uXXXX` escapes (one per
 * UTF-16 unit). JSON.parse gives back exactly the same value; the text shows no mention, link or bidi trick to
 * whoever reads the raw message. Safe on the whole text: outside strings JSON has only ASCII punctuation,
 * digits and literals, and inside them no escape sequence contains any of these characters.
 */
export function inertJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_ESCAPED, (char) =>
    char
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/** `\uXXXX` (or `\u{XXXXX}` beyond the BMP) for one code point: how an invisible character is shown. */
export function escapeCodePoint(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9]$/.test(char);
}
