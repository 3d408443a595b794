import { describe, expect, it } from 'vitest';
import { compileAllowlist, EMPTY_ALLOWLIST, parseAllowlist } from '../../lambda/domain/allowlist';
import { ConfigError } from '../../lambda/domain/errors';

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
