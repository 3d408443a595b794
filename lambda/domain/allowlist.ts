import { ConfigError } from './errors';

/**
 * Known-good callers excluded before any state is written (Elastic measured this rule at thousands of alerts
 * a day: inventory, CSPM and backup tools sweep every region by design). An event is dropped when ANY entry
 * matches it. Patterns use `*` for any run of characters and match the whole value, case-sensitively.
 * The user agent is chosen by the caller: a user-agent pattern lets through anyone who sends that agent.
 */
export interface Allowlist {
  readonly arns: readonly string[];
  readonly arnPatterns: readonly string[];
  readonly userAgentPatterns: readonly string[];
  readonly accounts: readonly string[];
  /**
   * `userIdentity.type` values dropped, exactly (`AWSService`: AWS services calling on their own behalf, as
   * the Service Quotas, CLI and S3 rules already leave out). Empty by default: Elastic's EC2 rule counts them.
   */
  readonly identityTypes?: readonly string[];
}

export const EMPTY_ALLOWLIST: Allowlist = { arns: [], arnPatterns: [], userAgentPatterns: [], accounts: [] };

/** The facts of one event the allowlist looks at. */
export interface AllowlistSubject {
  readonly arn: string | null;
  readonly userAgent: string | undefined;
  readonly accountId: string | undefined;
  /** `userIdentity.type`. */
  readonly identityType: string | undefined;
}

export type AllowlistPredicate = (subject: AllowlistSubject) => boolean;

/** Compiles `allowlist` once into a predicate that says whether an event is allowlisted. */
export function compileAllowlist(allowlist: Allowlist): AllowlistPredicate {
  const arns = new Set(allowlist.arns);
  const accounts = new Set(allowlist.accounts);
  const arnPatterns = allowlist.arnPatterns.map(globMatcher);
  const userAgentPatterns = allowlist.userAgentPatterns.map(globMatcher);
  const identityTypes = new Set(allowlist.identityTypes ?? []);
  const entries =
    arns.size + accounts.size + arnPatterns.length + userAgentPatterns.length + identityTypes.size;
  if (entries === 0) return () => false;
  return ({ arn, userAgent, accountId, identityType }) =>
    (arn !== null && (arns.has(arn) || arnPatterns.some((matches) => matches(arn)))) ||
    (userAgent !== undefined && userAgentPatterns.some((matches) => matches(userAgent))) ||
    (accountId !== undefined && accounts.has(accountId)) ||
    (identityType !== undefined && identityTypes.has(identityType));
}

/** Parses an allowlist from JSON text (as given in an environment variable or a file). */
export function parseAllowlist(json: string, source: string): Allowlist {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`${source}: allowlist is not JSON`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `${source}: allowlist must be an object with arns, arnPatterns, userAgentPatterns, accounts, identityTypes`,
    );
  }
  const record = value as Record<string, unknown>;
  const known = new Set(['arns', 'arnPatterns', 'userAgentPatterns', 'accounts', 'identityTypes']);
  const unknown = Object.keys(record).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new ConfigError(`${source}: unknown allowlist field(s) ${unknown.join(', ')}`);
  const list = (name: string): string[] => {
    const entry = record[name] ?? [];
    if (!Array.isArray(entry) || entry.some((v) => typeof v !== 'string' || v.length === 0)) {
      throw new ConfigError(`${source}: allowlist ${name} must be a list of non-empty strings`);
    }
    return entry as string[];
  };
  const accounts = list('accounts');
  const badAccount = accounts.find((a) => !/^\d{12}$/.test(a));
  if (badAccount !== undefined)
    throw new ConfigError(`${source}: allowlist account "${badAccount}" is not 12 digits`);
  return {
    arns: list('arns'),
    arnPatterns: list('arnPatterns'),
    userAgentPatterns: list('userAgentPatterns'),
    accounts,
    identityTypes: list('identityTypes'),
  };
}

/**
 * A `*` glob as a predicate. Matched by its literal parts, not by a backtracking regular expression: the
 * value starts with the first part, ends with the last, and holds the middle parts in order, each placed at
 * its leftmost occurrence (the leftmost placement leaves the most room for the rest, so it is exact). Time is
 * linear in the value for each part, whatever an attacker writes into a user agent or role session name.
 */
function globMatcher(pattern: string): (value: string) => boolean {
  const parts = pattern.split('*');
  const first = parts[0] ?? '';
  const last = parts.length > 1 ? (parts[parts.length - 1] ?? '') : '';
  if (parts.length === 1) return (value) => value === pattern;
  const middle = parts.slice(1, -1).filter((part) => part.length > 0);
  return (value) => {
    if (value.length < first.length + last.length) return false;
    if (!value.startsWith(first) || !value.endsWith(last)) return false;
    const end = value.length - last.length;
    let at = first.length;
    for (const part of middle) {
      const found = value.indexOf(part, at);
      if (found === -1 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}
