/**
 * A Sigma detection's `condition` as a tree over its search identifiers (Sigma specification 2.1.0,
 * "Condition"): `and`, `or`, `not`, parentheses, `1 of <pattern>`, `all of <pattern>`, `1 of them` and
 * `all of them`. Precedence, least binding first: or, and, not, `x of`, parentheses. Keywords are read in any
 * case. The obsolete aggregation syntax (`| count() ...`) and `near` are refused: Sigma 2 states them as
 * correlation rules.
 */
export type ConditionTree =
  | { readonly kind: 'identifier'; readonly name: string }
  | { readonly kind: 'of'; readonly quantity: 'one' | 'all'; readonly pattern: string }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly ConditionTree[] }
  | { readonly kind: 'not'; readonly operand: ConditionTree };

/** Why a condition cannot be read: `construct` names what was met (`aggregation`, `near`, `syntax`). */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly construct: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConditionSyntaxError';
  }
}

/** Identifiers and patterns: letters, digits, `_`, `-`, `.`, and `*` (in `x of` patterns). */
const WORD = /^[A-Za-z0-9_.*-]+$/;
const TOKEN = /\s*(\(|\)|\||[^\s()|]+)/y;

/** Parses `text`; throws ConditionSyntaxError. */
export function parseCondition(text: string): ConditionTree {
  const tokens = tokenize(text);
  if (tokens.some((token) => token.toLowerCase() === 'near')) {
    throw new ConditionSyntaxError(
      'near',
      `near (obsolete Sigma 1 syntax) is not supported; write a correlation rule`,
    );
  }
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const keyword = (word: string): boolean => peek()?.toLowerCase() === word;
  const fail = (message: string): never => {
    throw new ConditionSyntaxError('condition syntax', `${message} in condition ${JSON.stringify(text)}`);
  };

  const parseOr = (): ConditionTree => {
    const operands = [parseAnd()];
    while (keyword('or')) {
      position += 1;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? (operands[0] as ConditionTree) : { kind: 'or', operands };
  };
  const parseAnd = (): ConditionTree => {
    const operands = [parseNot()];
    while (keyword('and')) {
      position += 1;
      operands.push(parseNot());
    }
    return operands.length === 1 ? (operands[0] as ConditionTree) : { kind: 'and', operands };
  };
  const parseNot = (): ConditionTree => {
    if (!keyword('not')) return parseAtom();
    position += 1;
    return { kind: 'not', operand: parseNot() };
  };
  const parseAtom = (): ConditionTree => {
    const token = peek();
    if (token === undefined) return fail('an expression is missing at the end');
    position += 1;
    if (token === '(') {
      const inner = parseOr();
      if (peek() !== ')') fail('a closing parenthesis is missing');
      position += 1;
      return inner;
    }
    if (tokens[position]?.toLowerCase() === 'of') {
      position += 1;
      const quantity = token.toLowerCase();
      if (quantity !== '1' && quantity !== 'all') {
        throw new ConditionSyntaxError(
          `${token} of`,
          `"${token} of" is not supported in condition ${JSON.stringify(text)}: Sigma defines 1 of and all of`,
        );
      }
      const pattern = peek();
      if (pattern === undefined || !WORD.test(pattern)) return fail(`"${token} of" needs a pattern or them`);
      position += 1;
      return { kind: 'of', quantity: quantity === '1' ? 'one' : 'all', pattern };
    }
    if (['and', 'or', 'not', 'of', ')'].includes(token.toLowerCase())) return fail(`unexpected "${token}"`);
    if (token.toLowerCase() === 'near') {
      throw new ConditionSyntaxError(
        'near',
        `near (obsolete Sigma 1 syntax) is not supported; write a correlation rule`,
      );
    }
    if (!WORD.test(token) || token.includes('*')) return fail(`"${token}" is not a search identifier`);
    return { kind: 'identifier', name: token };
  };

  const tree = parseOr();
  if (position < tokens.length) fail(`unexpected "${tokens[position]}"`);
  return tree;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let read = 0;
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match !== null; match = TOKEN.exec(text)) {
    read = TOKEN.lastIndex;
    const token = match[1] as string;
    if (token === '|') {
      throw new ConditionSyntaxError(
        'aggregation',
        `the aggregation ${JSON.stringify(text.slice(text.indexOf('|')).trim())} (obsolete Sigma 1 syntax) is not supported; write a correlation rule (event_count or value_count)`,
      );
    }
    tokens.push(token);
  }
  if (text.slice(read).trim() !== '') {
    throw new ConditionSyntaxError('condition syntax', `cannot read condition ${JSON.stringify(text)}`);
  }
  return tokens;
}

/** Identifiers a pattern names: `*` matches any run of characters; `them` names all but those starting with `_`. */
export function identifiersMatching(pattern: string, identifiers: readonly string[]): string[] {
  if (pattern.toLowerCase() === 'them') return identifiers.filter((name) => !name.startsWith('_'));
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'))
    .join('.*');
  const expression = new RegExp(`^${source}$`);
  return identifiers.filter((name) => expression.test(name));
}
