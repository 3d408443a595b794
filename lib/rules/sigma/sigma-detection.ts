import type { FilterNode } from '../../../lambda/domain/detection/rule';
import {
  escapeLike,
  likePieces,
  likeText,
  type ValueMatch,
} from '../../../lambda/domain/detection/value-match';
import {
  ConditionSyntaxError,
  type ConditionTree,
  identifiersMatching,
  parseCondition,
} from './sigma-condition';
import { SigmaRuleError } from './sigma-error';

/**
 * A Sigma rule's `detection` section as a filter (Sigma specification 2.1.0, "Detection", and its modifiers
 * appendix). Supported: search identifiers as maps (every field test holds) and lists of maps (one map holds);
 * a value or a list of values (one matches; with `all`, every one); the modifiers `contains`, `startswith`,
 * `endswith`, `all`, `cased`, `re` (with `i`, `m`, `s`), `cidr` and `exists`; `null`; and the condition
 * (see sigma-condition.ts). Plain values match case-insensitively with `*` and `?` wildcards (ValueMatch
 * `like`). Everything else is refused with a SigmaRuleError naming the construct: keyword searches (values
 * without a field), the encoding, numeric, time, `windash`, `neq`, `expand` and `fieldref` modifiers, and
 * the obsolete `timeframe`.
 */
export function detectionFilter(detection: unknown, file: string, rule: string): FilterNode {
  const at = `${rule} detection`;
  if (!isMap(detection))
    throw new SigmaRuleError(file, 'detection', `${at} must be a map of search identifiers and a condition`);
  if ('timeframe' in detection) {
    throw new SigmaRuleError(
      file,
      'timeframe',
      `${at}: timeframe (obsolete Sigma 1 syntax) is not supported; write a correlation rule with a timespan`,
    );
  }
  const { condition, ...searches } = detection;
  const identifiers = Object.keys(searches);
  if (identifiers.length === 0) throw new SigmaRuleError(file, 'detection', `${at} has no search identifier`);
  const filters = new Map(
    identifiers.map((name) => [name, searchFilter(searches[name], file, `${at}.${name}`)] as const),
  );
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (
    conditions.length === 0 ||
    conditions.some((entry) => typeof entry !== 'string' || entry.trim() === '')
  ) {
    throw new SigmaRuleError(
      file,
      'condition',
      `${at}.condition must be a condition or a list of conditions`,
    );
  }
  const trees = conditions.map((text) => {
    try {
      return parseCondition(text as string);
    } catch (error) {
      if (error instanceof ConditionSyntaxError)
        throw new SigmaRuleError(file, error.construct, `${at}: ${error.message}`);
      throw error;
    }
  });
  const nodes = trees.map((tree) => conditionFilter(tree, filters, file, `${at}.condition`));
  // A list of conditions is linked with OR (the specification's Condition section).
  return nodes.length === 1 ? (nodes[0] as FilterNode) : { anyOf: nodes };
}

function conditionFilter(
  tree: ConditionTree,
  filters: ReadonlyMap<string, FilterNode>,
  file: string,
  at: string,
): FilterNode {
  switch (tree.kind) {
    case 'identifier': {
      const filter = filters.get(tree.name);
      if (filter === undefined) {
        throw new SigmaRuleError(
          file,
          'condition',
          `${at} names ${tree.name}, which is no search identifier of the detection`,
        );
      }
      return filter;
    }
    case 'of': {
      const names = identifiersMatching(tree.pattern, [...filters.keys()]);
      if (names.length === 0) {
        throw new SigmaRuleError(file, 'condition', `${at}: ${tree.pattern} matches no search identifier`);
      }
      const nodes = names.map((name) => filters.get(name) as FilterNode);
      if (nodes.length === 1) return nodes[0] as FilterNode;
      return tree.quantity === 'one' ? { anyOf: nodes } : { allOf: nodes };
    }
    case 'not':
      return { not: conditionFilter(tree.operand, filters, file, at) };
    case 'and':
      return { allOf: tree.operands.map((operand) => conditionFilter(operand, filters, file, at)) };
    case 'or':
      return { anyOf: tree.operands.map((operand) => conditionFilter(operand, filters, file, at)) };
  }
}

/** A search identifier: a map of field tests, or a list of such maps. */
function searchFilter(search: unknown, file: string, at: string): FilterNode {
  if (isMap(search)) return mapFilter(search, file, at);
  if (Array.isArray(search) && search.length > 0 && search.every(isMap)) {
    const nodes = search.map((entry, index) => mapFilter(entry, file, `${at}[${index}]`));
    return nodes.length === 1 ? (nodes[0] as FilterNode) : { anyOf: nodes };
  }
  if (Array.isArray(search) && search.some((entry) => !isMap(entry) && !Array.isArray(entry))) {
    throw keywordSearch(file, at);
  }
  throw new SigmaRuleError(
    file,
    'search identifier',
    `${at} must be a map of field tests or a list of such maps`,
  );
}

function keywordSearch(file: string, at: string): SigmaRuleError {
  return new SigmaRuleError(
    file,
    'keyword search',
    `${at}: values without a field (keywords searched in the whole event) are not supported; name the CloudTrail field`,
  );
}

function mapFilter(map: Record<string, unknown>, file: string, at: string): FilterNode {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new SigmaRuleError(file, 'search identifier', `${at} is an empty map`);
  const nodes = entries.map(([key, value]) => fieldFilter(key, value, file, `${at}.${key}`));
  return nodes.length === 1 ? (nodes[0] as FilterNode) : { allOf: nodes };
}

/** Modifiers refused, with why (each named in the error). */
const REFUSED_MODIFIERS: Readonly<Record<string, string>> = {
  base64: 'an encoding modifier',
  base64offset: 'an encoding modifier',
  utf16le: 'an encoding modifier',
  utf16be: 'an encoding modifier',
  utf16: 'an encoding modifier',
  wide: 'an encoding modifier',
  windash: 'a Windows command-line modifier',
  lt: 'a numeric comparison',
  lte: 'a numeric comparison',
  gt: 'a numeric comparison',
  gte: 'a numeric comparison',
  neq: 'a negated comparison (write it with not in the condition)',
  minute: 'a time modifier',
  hour: 'a time modifier',
  day: 'a time modifier',
  week: 'a time modifier',
  month: 'a time modifier',
  year: 'a time modifier',
  expand: 'placeholder expansion',
  fieldref: 'a field reference',
};

const POSITION_MODIFIERS = ['contains', 'startswith', 'endswith'] as const;
const REGEX_FLAGS = ['i', 'm', 's'] as const;
const KNOWN_MODIFIERS = new Set<string>([
  ...POSITION_MODIFIERS,
  ...REGEX_FLAGS,
  'all',
  'cased',
  're',
  'cidr',
  'exists',
]);

/** One `field|modifier...: value(s)` entry of a map. */
function fieldFilter(key: string, value: unknown, file: string, at: string): FilterNode {
  const [field = '', ...modifiers] = key.split('|');
  if (field === '') throw keywordSearch(file, at);
  if (field.split('.').includes('')) {
    throw new SigmaRuleError(
      file,
      'field',
      `${at}: ${JSON.stringify(field)} is not a dotted CloudTrail field path`,
    );
  }
  for (const modifier of modifiers) {
    const refused = REFUSED_MODIFIERS[modifier];
    if (refused !== undefined) {
      throw new SigmaRuleError(
        file,
        `modifier ${modifier}`,
        `${at}: ${modifier} (${refused}) is not supported`,
      );
    }
    if (!KNOWN_MODIFIERS.has(modifier)) {
      throw new SigmaRuleError(
        file,
        `modifier ${modifier}`,
        `${at}: ${JSON.stringify(modifier)} is not a Sigma modifier regionsweep knows`,
      );
    }
  }
  if (new Set(modifiers).size !== modifiers.length) {
    throw new SigmaRuleError(file, 'modifiers', `${at}: a modifier is given twice`);
  }
  const has = (modifier: string): boolean => modifiers.includes(modifier);
  const combination = (detail: string): SigmaRuleError =>
    new SigmaRuleError(file, `modifiers ${modifiers.join('|')}`, `${at}: ${detail}`);

  if (has('exists')) {
    if (modifiers.length > 1) throw combination('exists takes no other modifier');
    if (typeof value !== 'boolean')
      throw new SigmaRuleError(file, 'modifier exists', `${at}: exists takes true or false`);
    return { field, exists: value };
  }
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new SigmaRuleError(file, 'value list', `${at}: the value list is empty`);
  if (values.includes(null)) {
    if (values.length > 1) {
      throw new SigmaRuleError(
        file,
        'null in a value list',
        `${at}: null cannot be part of a list of values (the specification's Special Field Values); give it a search identifier of its own`,
      );
    }
    if (modifiers.length > 0) throw combination('null takes no modifier');
    return { field, isNull: true };
  }
  for (const entry of values) {
    if (!['string', 'number', 'boolean'].includes(typeof entry)) {
      throw new SigmaRuleError(
        file,
        'value',
        `${at}: ${JSON.stringify(entry)} is not a string, number, boolean or null`,
      );
    }
  }
  const all = has('all');
  if (all && values.length < 2) {
    throw new SigmaRuleError(
      file,
      'modifier all',
      `${at}: all needs a list of two or more values (the modifiers appendix refuses it on one)`,
    );
  }
  const leaves = valueLeaves(field, modifiers, values as (string | number | boolean)[], all, combination);
  if (leaves.length === 1) return leaves[0] as FilterNode;
  return all ? { allOf: leaves } : { anyOf: leaves };
}

/**
 * The tests of one field's values: one ValueMatch holding every value when they are linked with OR (so the
 * prefilter sees them together), one per value with `all`.
 */
function valueLeaves(
  field: string,
  modifiers: readonly string[],
  values: readonly (string | number | boolean)[],
  all: boolean,
  combination: (detail: string) => SigmaRuleError,
): ValueMatch[] {
  const has = (modifier: string): boolean => modifiers.includes(modifier);
  const positions = POSITION_MODIFIERS.filter(has);
  const flags = REGEX_FLAGS.filter(has);
  const groups = all ? values.map((value) => [value]) : [values];
  if (has('re')) {
    if (positions.length > 0 || has('cidr')) throw combination('re takes only i, m, s (and all)');
    const prefix = flags.length === 0 ? '' : `(?${flags.join('')})`;
    return values.map((value) => ({ field, regex: `${prefix}${String(value)}` }));
  }
  if (flags.length > 0) throw combination(`${flags.join(', ')} apply to re only`);
  if (has('cidr')) {
    if (positions.length > 0 || has('cased')) throw combination('cidr takes no other modifier but all');
    return groups.map((group) => ({ field, cidr: group.map(String) }));
  }
  if (positions.length > 1) throw combination('contains, startswith and endswith exclude each other');
  const [position] = positions;
  const like = (value: string | number | boolean): string => {
    // A number or boolean is its text, with no wildcard in it; a string is a Sigma value, read as one first
    // so that a wildcard added after a plain trailing backslash stays a wildcard.
    const text = typeof value === 'string' ? likeText(likePieces(value)) : escapeLike(String(value));
    const before = position === 'contains' || position === 'endswith' ? '*' : '';
    const after = position === 'contains' || position === 'startswith' ? '*' : '';
    return `${before}${text}${after}`;
  };
  return groups.map((group) => ({ field, like: group.map(like), ...(has('cased') ? { cased: true } : {}) }));
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
