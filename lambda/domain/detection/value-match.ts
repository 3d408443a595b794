import { RE2JS } from 're2js';
import { ConfigError } from '../errors';
import { ipAddressBytes } from './value-views';

/**
 * One test on a dotted field path with Sigma's value semantics (a Sigma rule's selections become these; a JSON
 * rule may use them too). Exactly one of the tests is given:
 * - `like`: one of these Sigma values matches the whole value. `*` stands for any run of characters and `?`
 *   for one; `\` escapes `*`, `?` and itself, and is itself anywhere else (Sigma's escape rules, so `\\*` is a
 *   backslash then a wildcard). Case-insensitive (Unicode simple case folding, as RE2's `(?i)`) unless `cased`.
 * - `regex`: an RE2 expression found anywhere in the value (anchored only if it says so), case-sensitive unless
 *   it says `(?i)`; run in time linear in the value.
 * - `cidr`: one of these networks (`10.0.0.0/8`, `2001:db8::/32`) holds the value, an IP address (IPv4 and its
 *   IPv4-mapped IPv6 form are one address).
 * - `exists`: true when the field is present (even holding null or an empty string), false when it is absent.
 * - `isNull`: the field is absent or null.
 *
 * The values tested: the field's values, an array's elements each (any one matching is enough), strings as
 * they are (an empty string is a value), numbers and booleans as JavaScript writes them (`4624`, `true`);
 * objects and nulls match no `like`, `regex` or `cidr`. Unlike FieldCondition, nothing is read through
 * Elastic's pipeline: this is CloudTrail's own JSON, as Sigma's `aws`/`cloudtrail` log source names it.
 */
export interface ValueMatch {
  readonly field: string;
  readonly like?: readonly string[];
  /** `like` compares case-sensitively (Sigma's `cased` modifier). */
  readonly cased?: boolean;
  readonly regex?: string;
  readonly cidr?: readonly string[];
  readonly exists?: boolean;
  readonly isNull?: true;
}

/** The keys that make a filter leaf a ValueMatch rather than a FieldCondition. */
export const VALUE_MATCH_TESTS = ['like', 'regex', 'cidr', 'exists', 'isNull'] as const;

export function isValueMatch(node: object): node is ValueMatch {
  return VALUE_MATCH_TESTS.some((test) => test in node);
}

/** A wildcard of a Sigma value: `*` (any run of characters) or `?` (one character). */
export type Wildcard = '*' | '?';

/** A Sigma value cut into literal text and wildcards, escapes resolved; adjacent literals joined. */
export type LikePiece = { readonly literal: string } | { readonly wildcard: Wildcard };

/**
 * Reads a Sigma value: `*` and `?` are wildcards; a backslash before `*`, `?` or a backslash makes that
 * character plain (and is dropped); any other backslash is plain. So `\*` is a star, `\\*` a backslash then a
 * wildcard, `\\\*` a backslash then a star, and `\\\\` two backslashes (the specification's table).
 */
export function likePieces(value: string): LikePiece[] {
  const pieces: LikePiece[] = [];
  let literal = '';
  for (let index = 0; index < value.length; index += 1) {
    const character = value[index] as string;
    const next = value[index + 1];
    if (character === '\\' && (next === '*' || next === '?' || next === '\\')) {
      literal += next;
      index += 1;
    } else if (character === '*' || character === '?') {
      if (literal !== '') pieces.push({ literal });
      literal = '';
      pieces.push({ wildcard: character });
    } else {
      literal += character;
    }
  }
  if (literal !== '') pieces.push({ literal });
  return pieces;
}

/** Writes literal text as a Sigma value: each `*`, `?` and `\` escaped. */
export function escapeLike(text: string): string {
  return text.replace(/[*?\\]/g, (character) => `\\${character}`);
}

/**
 * Writes pieces as a Sigma value that likePieces reads back as them, every backslash escaped: so a value
 * ending in a plain backslash (`C:\Windows\`) can take a `*` after it and still end in a backslash.
 */
export function likeText(pieces: readonly LikePiece[]): string {
  return pieces.map((piece) => ('literal' in piece ? escapeLike(piece.literal) : piece.wildcard)).join('');
}

/** Throws ConfigError naming `at` and the first unusable part of `match`. */
export function validateValueMatch(at: string, match: ValueMatch): void {
  const given = VALUE_MATCH_TESTS.filter((test) => match[test] !== undefined);
  if (given.length !== 1) {
    throw new ConfigError(
      `${at}: give exactly one of ${VALUE_MATCH_TESTS.join(', ')}, got ${given.join(', ') || 'none'}`,
    );
  }
  if (match.cased !== undefined && match.like === undefined) {
    throw new ConfigError(`${at}: cased applies to like only`);
  }
  for (const list of [match.like, match.cidr]) {
    if (list !== undefined && list.length === 0) throw new ConfigError(`${at}: a value list is empty`);
  }
  if (match.regex !== undefined) compileRegex(at, match.regex);
  for (const network of match.cidr ?? []) parseNetwork(at, network);
  if (match.isNull !== undefined && match.isNull !== true)
    throw new ConfigError(`${at}: isNull must be true`);
}

type RecordTest = (record: unknown) => boolean;

/** The test of `match` on a parsed record (validated first: see validateValueMatch). */
export function compileValueMatch(match: ValueMatch): RecordTest {
  const at = `condition on ${match.field}`;
  validateValueMatch(at, match);
  const { field } = match;
  if (match.exists !== undefined) {
    const wanted = match.exists;
    return (record) => fieldExists(record, field) === wanted;
  }
  if (match.isNull !== undefined) return (record) => valuesAt(record, field).length === 0;
  const test = valueTest(at, match);
  return (record) => textValues(record, field).some(test);
}

function valueTest(at: string, match: ValueMatch): (value: string) => boolean {
  if (match.regex !== undefined) {
    const pattern = compileRegex(at, match.regex);
    return (value) => pattern.test(value);
  }
  if (match.cidr !== undefined) {
    const networks = match.cidr.map((network) => parseNetwork(at, network));
    return (value) => {
      const address = ipAddressBytes(value);
      return address !== undefined && networks.some((network) => inNetwork(address, network));
    };
  }
  const cased = match.cased === true;
  const exact = new Set<string>();
  const sources: string[] = [];
  for (const value of match.like ?? []) {
    const pieces = likePieces(value);
    const only = pieces[0];
    if (cased && pieces.length === 1 && only !== undefined && 'literal' in only) exact.add(only.literal);
    else sources.push(likeSource(pieces));
  }
  if (sources.length === 0) return (value) => exact.has(value);
  // One expression for every value with a wildcard or compared case-insensitively: one pass over the value.
  const pattern = RE2JS.compile(
    sources.map((source) => `(?:${source})`).join('|'),
    RE2JS.DOTALL | (cased ? 0 : RE2JS.CASE_INSENSITIVE),
  );
  return (value) => exact.has(value) || pattern.testExact(value);
}

/** A Sigma value as RE2 syntax matching it whole (compiled with DOTALL, so `*` and `?` take line breaks too). */
function likeSource(pieces: readonly LikePiece[]): string {
  return pieces
    .map((piece) => ('literal' in piece ? RE2JS.quote(piece.literal) : piece.wildcard === '*' ? '.*' : '.'))
    .join('');
}

function compileRegex(at: string, pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `${at}: regex ${JSON.stringify(pattern)} is not a regular expression RE2 accepts (${reason}); lookaround and backreferences are not supported`,
      { cause: error },
    );
  }
}

interface Network {
  readonly bytes: readonly number[];
  /** Prefix length in bits of the 16-byte (IPv4-mapped) form. */
  readonly bits: number;
}

const PREFIX_LENGTH = /^(?:0|[1-9]\d{0,2})$/;

function parseNetwork(at: string, text: string): Network {
  const slash = text.lastIndexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = ipAddressBytes(address);
  const ipv4 = bytes !== undefined && !address.includes(':');
  const length = slash === -1 ? (ipv4 ? 32 : 128) : text.slice(slash + 1);
  const bits = typeof length === 'number' ? length : PREFIX_LENGTH.test(length) ? Number(length) : Number.NaN;
  if (bytes === undefined || !(bits >= 0 && bits <= (ipv4 ? 32 : 128))) {
    throw new ConfigError(
      `${at}: cidr ${JSON.stringify(text)} is not an IPv4 or IPv6 network (address/prefix length)`,
    );
  }
  return { bytes, bits: ipv4 ? 96 + bits : bits };
}

function inNetwork(address: readonly number[], network: Network): boolean {
  for (let bit = 0; bit < network.bits; bit += 8) {
    const take = Math.min(8, network.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const index = bit / 8;
    if (((address[index] ?? 0) & mask) !== ((network.bytes[index] ?? 0) & mask)) return false;
  }
  return true;
}

/** The values at a dotted path that a `like`, `regex` or `cidr` tests: strings, numbers and booleans as text. */
function textValues(record: unknown, path: string): string[] {
  return valuesAt(record, path).flatMap((value) =>
    typeof value === 'string'
      ? [value]
      : typeof value === 'number' || typeof value === 'boolean'
        ? [String(value)]
        : [],
  );
}

/** Every non-null value at a dotted path, arrays flattened at each step (`resources.ARN`: each resource's). */
function valuesAt(record: unknown, path: string): unknown[] {
  let current: unknown[] = [record];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current.flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (value === null || typeof value !== 'object') continue;
      const child = (value as Record<string, unknown>)[step];
      if (child !== undefined && child !== null) next.push(child);
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v !== null);
}

/** The last step of the path is a key of some object the path leads to (its value may be null). */
function fieldExists(record: unknown, path: string): boolean {
  const steps = path.split('.');
  const last = steps.pop() as string;
  const parents = steps.length === 0 ? [record] : valuesAt(record, steps.join('.'));
  return parents.some(
    (parent) =>
      parent !== null &&
      typeof parent === 'object' &&
      !Array.isArray(parent) &&
      Object.hasOwn(parent as Record<string, unknown>, last),
  );
}
