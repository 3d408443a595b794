import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import {
  BUILT_IN_RULES,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
} from '../../lambda/domain/detection/built-in-rules';
import { matchesFilter, prefilterNeedles, type RuleDefinition } from '../../lambda/domain/detection/rule';
import { likeText } from '../../lambda/domain/detection/value-match';
import { readCloudTrailRecords } from '../../lambda/domain/reading/cloudtrail-reader';
import { processLogObject } from '../../lambda/process-log-object';
import { seededRandom } from '../../lib/local/seeded-random';
import { loadRuleFile } from '../../lib/rules/rule-files';
import { loadRuleTestFile, SHIPPED_RULE_TESTS } from '../../lib/rules/rule-tests';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS } from '../fixtures/events';
import { pipeline } from '../support/pipeline-harness';
import { propertyRuns } from '../support/property-seed';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'rules', 'examples');

/**
 * Writes `value` as JSON the way any conforming writer may (RFC 8259 section 7): each character of a string
 * (keys too) is, at random, itself, a `\uXXXX` escape (upper- or lower-case hex; astral characters as a
 * surrogate pair) or its short escape (`\"`, `\\`, `\/`, `\n`, ...); controls are always escaped; and
 * whitespace may appear between tokens. `JSON.parse` reads every spelling back as `value`.
 */
function spell(value: unknown, random: () => number, rate: number): string {
  const space = () => (random() < 0.1 ? ' ' : '');
  if (typeof value === 'string')
    return `"${Array.from(value, (c) => spellCharacter(c, random, rate)).join('')}"`;
  if (Array.isArray(value)) return `[${value.map((v) => space() + spell(v, random, rate)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([key, v]) => `${space()}${spell(key, random, rate)}${space()}:${space()}${spell(v, random, rate)}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function spellCharacter(character: string, random: () => number, rate: number): string {
  const code = character.codePointAt(0) ?? 0;
  const mustEscape = code < 0x20 || character === '"' || character === '\\';
  if (!mustEscape && random() >= rate) return character;
  const short = SHORT_ESCAPES[character];
  if (short !== undefined && random() < 0.5) return short;
  const upper = random() < 0.5;
  return character
    .split('')
    .map((unit) => {
      const hex = unit.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    })
    .join('');
}

/** The records the reader hands on when `needles` prefilter the object holding only `text`. */
async function passed(text: string, needles: Buffer[][]): Promise<unknown[]> {
  const seen: unknown[] = [];
  await readCloudTrailRecords(Readable.from([Buffer.from(`{"Records":[${text}]}`)]), {
    objectName: 'spelled',
    needles,
    onRecord: (record) => seen.push(record),
  });
  return seen;
}

describe('the prefilter never rejects a record the exact rule matches, however JSON spells it', () => {
  let rules: RuleDefinition[];
  /** Every event of the rules' shipped test cases that its rule matches. */
  let matching: { rule: RuleDefinition; record: Record<string, unknown> }[];

  beforeAll(async () => {
    rules = [
      ...BUILT_IN_RULES,
      ...(await loadRuleFile(join(EXAMPLES, 'iam-list-burst.json'))),
      ...(await loadRuleFile(join(EXAMPLES, 'ec2-multi-region-describe-instances.yml'))),
    ];
    const testFiles = [
      ...(await readdir(SHIPPED_RULE_TESTS)).map((name) => join(SHIPPED_RULE_TESTS, name)),
      join(EXAMPLES, 'iam-list-burst.tests.json'),
      join(EXAMPLES, 'ec2-multi-region-describe-instances.tests.json'),
    ];
    matching = [];
    for (const path of testFiles) {
      const file = await loadRuleTestFile(path);
      const rule = rules.find((candidate) => candidate.slug === file.rule || candidate.id === file.rule);
      if (rule === undefined) throw new Error(`${path}: no rule ${file.rule}`);
      for (const record of file.cases.flatMap((testCase) => testCase.events)) {
        if (matchesFilter(record, rule)) matching.push({ rule, record });
      }
    }
  });

  it('has matching events of every rule to spell', () => {
    // Assess
    expect(new Set(matching.map(({ rule }) => rule.id))).toEqual(new Set(rules.map((rule) => rule.id)));
  });

  it('for every built-in and example rule, alone and all enabled together', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        async (pick, seed, rate, together) => {
          // Prepare
          const { rule, record } = matching[pick % matching.length] as (typeof matching)[number];
          const text = spell(record, seededRandom(seed), rate);

          // Act
          const seen = await passed(text, prefilterNeedles(together ? rules : [rule]));

          // Assess
          expect(seen).toEqual([record]);
        },
      ),
      { numRuns: propertyRuns(300) },
    );
  });

  it('for user rules of any values, in equals and startsWith', async () => {
    const value = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        value,
        value,
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (equal, prefix, rest, seed, rate) => {
          // Prepare
          const rule: RuleDefinition = {
            ...EC2_MULTI_REGION_DESCRIBE_INSTANCES,
            id: 'user',
            slug: 'user',
            filter: [
              { field: 'requestParameters.name', equals: ['decoy', equal] },
              { field: 'userAgent', startsWith: [prefix] },
            ],
          };
          const record = cloudTrailEvent({
            eventTime: '2026-11-28T10:00:00Z',
            userAgent: `${prefix}${rest}`,
            requestParameters: { name: equal },
          });
          const text = spell(record, seededRandom(seed), rate);

          // Act
          const seen = await passed(text, prefilterNeedles(rule));

          // Assess
          expect(matchesFilter(JSON.parse(text), rule)).toBe(true);
          expect(seen).toEqual([JSON.parse(text)]);
        },
      ),
      { numRuns: propertyRuns(300) },
    );
  });
});

describe('the prefilter never rejects a record a Sigma value test matches, however JSON spells it', () => {
  const piece = fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).map((literal) => ({ literal })),
    fc.constantFrom({ wildcard: '*' as const }, { wildcard: '?' as const }),
  );

  it('for cased values of any text, with wildcards anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { minLength: 1, maxLength: 5 }),
        fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), { minLength: 5, maxLength: 5 }),
        fc.string({ unit: 'binary', maxLength: 4 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (pieces, ones, run, seed, rate) => {
          // Prepare: the Sigma value, and a value it matches (each * a run, each ? one character)
          const pattern = likeText(pieces);
          const value = pieces
            .map((p, i) => ('literal' in p ? p.literal : p.wildcard === '*' ? run : (ones[i] ?? 'x')))
            .join('');
          const rule: RuleDefinition = {
            ...EC2_MULTI_REGION_DESCRIBE_INSTANCES,
            id: 'user',
            slug: 'user',
            filter: [{ field: 'requestParameters.name', like: ['decoy', pattern], cased: true }],
          };
          const record = cloudTrailEvent({
            eventTime: '2026-11-28T10:00:00Z',
            requestParameters: { name: value },
          });
          const text = spell(record, seededRandom(seed), rate);

          // Act
          const seen = await passed(text, prefilterNeedles(rule));

          // Assess
          expect(matchesFilter(JSON.parse(text), rule)).toBe(true);
          expect(seen).toEqual([JSON.parse(text)]);
        },
      ),
      { numRuns: propertyRuns(300) },
    );
  });
});

describe('escaped spellings of the EC2 rule', () => {
  const SETTINGS = loadPipelineSettings({});

  /** One record of a sweep, with its event name and source written as `spelling` gives them. */
  function spelledRecord(region: string, second: number, eventName: string, eventSource: string): string {
    const record = cloudTrailEvent({
      eventTime: `2026-11-28T10:00:${String(second).padStart(2, '0')}Z`,
      awsRegion: region,
    });
    return JSON.stringify(record)
      .replace('"eventName":"DescribeInstances"', `"eventName":"${eventName}"`)
      .replace('"eventSource":"ec2.amazonaws.com"', `"eventSource":"${eventSource}"`);
  }

  it.each([
    {
      case: 'the event name with an escaped first letter',
      name: '\\u0044escribeInstances',
      source: 'ec2.amazonaws.com',
    },
    { case: 'the source with an escaped dot', name: 'DescribeInstances', source: 'ec2\\u002eamazonaws.com' },
    {
      case: 'both, in upper-case hex',
      name: 'Describe\\u0049nstances',
      source: '\\u0065c2.amazonaws\\u002Ecom',
    },
    {
      case: 'every character escaped',
      name: escapeAll('DescribeInstances'),
      source: escapeAll('ec2.amazonaws.com'),
    },
  ])('12 regions in 30 s with $case give one finding', async ({ name, source }) => {
    // Prepare
    const records = DEFAULT_REGIONS.slice(0, 12).map((region, i) =>
      spelledRecord(region, i * 2, name, source),
    );
    const body = gzipSync(`{"Records":[${records.join(',')}]}`);
    const { deps, publisher } = pipeline({ open: async () => Readable.from([body]) }, SETTINGS);
    const key = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), 'escaped');

    // Act
    const outcome = await processLogObject(
      deps,
      { bucket: 'trail', key },
      { origin: 'live', keyMode: 'strict' },
    );

    // Assess
    expect(outcome.status === 'processed' && outcome.matchingEvents).toBe(12);
    expect(publisher.published.map((alert) => alert.finding.distinctCount)).toEqual([12]);
  });
});

function escapeAll(text: string): string {
  return Array.from(text, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}
