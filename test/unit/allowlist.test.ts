import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAllowlist, EMPTY_ALLOWLIST, parseAllowlist } from '../../lambda/domain/allowlist';
import { ConfigError } from '../../lambda/domain/errors';
import { propertyRuns } from '../support/property-seed';

const SUBJECT = {
  arn: 'arn:aws:sts::111122223333:assumed-role/InventoryScanner/i-0abc',
  userAgent: 'Wiz/1.0 (scanner)',
  accountId: '111122223333',
  identityType: 'AssumedRole',
};

describe('allowlist', () => {
  it.each([
    { case: 'empty allowlist drops nothing', list: {}, expected: false },
    { case: 'exact ARN', list: { arns: [SUBJECT.arn] }, expected: true },
    {
      case: 'exact ARN of someone else',
      list: { arns: ['arn:aws:iam::111122223333:user/alice'] },
      expected: false,
    },
    {
      case: 'role-name pattern',
      list: { arnPatterns: ['arn:aws:sts::*:assumed-role/InventoryScanner/*'] },
      expected: true,
    },
    {
      case: 'pattern must match the whole ARN',
      list: { arnPatterns: ['InventoryScanner'] },
      expected: false,
    },
    {
      case: 'pattern dots are literal',
      list: { arnPatterns: ['arn:aws:sts::111122223333:assumed-role.*'] },
      expected: false,
    },
    { case: 'user-agent pattern', list: { userAgentPatterns: ['Wiz/*'] }, expected: true },
    { case: 'account', list: { accounts: ['111122223333'] }, expected: true },
    { case: 'identity type of someone else', list: { identityTypes: ['AWSService'] }, expected: false },
    { case: 'identity type', list: { identityTypes: ['AWSService', 'AssumedRole'] }, expected: true },
    {
      case: 'identity types are exact, case included',
      list: { identityTypes: ['assumedrole'] },
      expected: false,
    },
  ])('$case', ({ list, expected }) => {
    // Prepare
    const isAllowlisted = compileAllowlist({ ...EMPTY_ALLOWLIST, ...list });

    // Act / Assess
    expect(isAllowlisted(SUBJECT)).toBe(expected);
  });

  it('an AWS service caller, which has no ARN, is matched by its identity type', () => {
    // Prepare
    const isAllowlisted = compileAllowlist({ ...EMPTY_ALLOWLIST, identityTypes: ['AWSService'] });

    // Act / Assess
    expect(
      isAllowlisted({
        arn: null,
        userAgent: 'ec2.amazonaws.com',
        accountId: undefined,
        identityType: 'AWSService',
      }),
    ).toBe(true);
  });

  it('parses identity types, and gives none when the field is absent', () => {
    // Act
    const given = parseAllowlist('{"identityTypes":["AWSService"]}', 'allowlist.json');
    const absent = parseAllowlist('{}', 'allowlist.json');

    // Assess
    expect([given.identityTypes, absent.identityTypes]).toEqual([['AWSService'], []]);
  });

  it('a null-ARN event is only matched by user agent, account or identity type', () => {
    // Prepare
    const isAllowlisted = compileAllowlist({ ...EMPTY_ALLOWLIST, arnPatterns: ['*'] });

    // Act / Assess
    expect(isAllowlisted({ ...SUBJECT, arn: null })).toBe(false);
  });

  it.each([
    { case: 'not JSON', json: '{', message: /not JSON/ },
    { case: 'not an object', json: '[]', message: /must be an object/ },
    { case: 'unknown field', json: '{"arn":["x"]}', message: /unknown allowlist field/ },
    { case: 'list of numbers', json: '{"arns":[1]}', message: /arns must be a list/ },
    { case: 'bad account', json: '{"accounts":["12"]}', message: /not 12 digits/ },
    {
      case: 'identity types not strings',
      json: '{"identityTypes":[true]}',
      message: /identityTypes must be a list/,
    },
  ])('parse rejects $case', ({ json, message }) => {
    // Act / Assess
    expect(() => parseAllowlist(json, 'ALLOWLIST_JSON')).toThrow(ConfigError);
    expect(() => parseAllowlist(json, 'ALLOWLIST_JSON')).toThrow(message);
  });
});

describe('allowlist patterns', () => {
  /** The meaning of a `*` glob, as a regular expression: what the matcher must agree with. */
  function globMeaning(pattern: string): RegExp {
    const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${escaped.join('.*')}$`, 's');
  }

  it('a pattern matches exactly what the glob means, for any pattern and user agent of a small alphabet', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '*', '.', '\n'), maxLength: 12 });
    fc.assert(
      fc.property(text, text, (pattern, userAgent) => {
        const isAllowlisted = compileAllowlist({ ...EMPTY_ALLOWLIST, userAgentPatterns: [pattern] });
        const value = userAgent.replaceAll('*', 'x');
        expect(
          isAllowlisted({ arn: null, userAgent: value, accountId: undefined, identityType: undefined }),
        ).toBe(globMeaning(pattern).test(value));
      }),
      { numRuns: propertyRuns(2_000) },
    );
  });

  it('a pattern with many stars answers on a 20,000-character attacker value (no backtracking)', () => {
    // A backtracking engine needs about n^(stars - 1) steps here: 17 s at 4,000 characters with three stars.
    const isAllowlisted = compileAllowlist({
      ...EMPTY_ALLOWLIST,
      userAgentPatterns: ['*a*a*a*b'],
      arnPatterns: ['arn:*a*a*a*b'],
    });
    const hostile = 'a'.repeat(20_000);

    expect(isAllowlisted({ ...SUBJECT, arn: `arn:${hostile}`, userAgent: hostile })).toBe(false);
    expect(isAllowlisted({ ...SUBJECT, arn: null, userAgent: `${hostile}b` })).toBe(true);
  });
});
