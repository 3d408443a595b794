import { describe, expect, it } from 'vitest';
import { InvalidDateRangeError } from '../../lib/backfill/errors';
import {
  accountRoot,
  checkRange,
  classifyLogsFolders,
  dayFolders,
  parseDayBound,
  planDayPrefixes,
  type Selection,
  selectionHash,
} from '../../lib/backfill/selection';
import { destinationOf } from '../../lib/cli/backfill';

describe('parseDayBound', () => {
  it.each([
    { case: 'a date', text: '2026-11-28', day: '2026-11-28' },
    { case: 'a UTC time', text: '2026-11-28T23:59:59Z', day: '2026-11-28' },
    { case: 'a time without zone (UTC)', text: '2026-11-28T23:30', day: '2026-11-28' },
    { case: 'a time with an offset', text: '2026-11-28T23:30:00-02:00', day: '2026-11-29' },
    { case: 'fractional seconds', text: '2026-11-28T00:00:00.123Z', day: '2026-11-28' },
  ])('reads $case', ({ text, day }) => {
    expect(parseDayBound('start', text)).toBe(day);
  });

  it.each([
    { case: 'a month 13', text: '2026-13-01' },
    { case: 'February 30', text: '2026-02-30' },
    { case: 'a US date', text: '11/28/2026' },
    { case: 'words', text: 'yesterday' },
    { case: 'an hour 25', text: '2026-11-28T25:00Z' },
  ])('rejects $case, naming the option', ({ text }) => {
    expect(() => parseDayBound('end', text)).toThrow(/--end must be a UTC date/);
  });
});

describe('checkRange', () => {
  it('accepts a single day', () => {
    expect(() => checkRange('2026-11-28', '2026-11-28')).not.toThrow();
  });

  it('rejects start after end', () => {
    expect(() => checkRange('2026-11-29', '2026-11-28')).toThrow(InvalidDateRangeError);
  });

  it('rejects a range of more than ten years', () => {
    expect(() => checkRange('2010-01-01', '2026-01-01')).toThrow(/split the backfill/);
  });
});

describe('dayFolders', () => {
  it('includes the day after end, across a month and year boundary', () => {
    expect(dayFolders('2026-12-30', '2026-12-31')).toEqual(['2026/12/30', '2026/12/31', '2027/01/01']);
  });

  it('reads two folders for a one-day range', () => {
    expect(dayFolders('2026-11-28', '2026-11-28')).toEqual(['2026/11/28', '2026/11/29']);
  });
});

describe('classifyLogsFolders', () => {
  it('separates accounts from organization ids and ignores anything else', () => {
    // Act
    const folders = classifyLogsFolders([
      'logs/AWSLogs/111122223333/',
      'logs/AWSLogs/o-abcdefghij/',
      'logs/AWSLogs/README/',
      'logs/AWSLogs/12345/',
    ]);
    // Assess
    expect(folders).toEqual({ accounts: ['111122223333'], organizations: ['o-abcdefghij'] });
  });
});

describe('planDayPrefixes', () => {
  it.each([
    {
      case: 'a plain trail',
      root: accountRoot('AWSLogs/', '111122223333'),
      prefix: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/',
    },
    {
      case: 'an organization trail under a key prefix',
      root: accountRoot('org/AWSLogs/', '111122223333', 'o-abcdefghij'),
      prefix: 'org/AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2026/11/28/',
    },
  ])('builds the day folder of $case', ({ root, prefix }) => {
    // Act
    const [first] = planDayPrefixes([{ root, regions: ['us-east-1'] }], ['2026/11/28']);
    // Assess
    expect(first?.prefix).toBe(prefix);
  });

  it('plans every region for every day', () => {
    // Act
    const prefixes = planDayPrefixes(
      [{ root: accountRoot('AWSLogs/', '111122223333'), regions: ['us-west-2', 'eu-west-1'] }],
      dayFolders('2026-11-27', '2026-11-28'),
    );
    // Assess
    expect(prefixes.map((p) => `${p.region} ${p.day}`)).toEqual([
      'eu-west-1 2026/11/27',
      'eu-west-1 2026/11/28',
      'eu-west-1 2026/11/29',
      'us-west-2 2026/11/27',
      'us-west-2 2026/11/28',
      'us-west-2 2026/11/29',
    ]);
  });
});

describe('selectionHash', () => {
  const selection: Selection = {
    bucket: 'trail',
    prefix: '',
    accounts: ['111122223333', '222233334444'],
    regions: [],
    startDay: '2026-11-27',
    endDay: '2026-11-28',
  };

  it('is the same whatever the order accounts were given in', () => {
    expect(selectionHash({ ...selection, accounts: [...selection.accounts].reverse() }, 'direct')).toBe(
      selectionHash(selection, 'direct'),
    );
  });

  const here = destinationOf('direct', { tableName: 'windows', topicArn: 'arn:aws:sns:eu-west-1:1:t' });
  it.each([
    { case: 'another range', other: { ...selection, endDay: '2026-11-29' }, mode: here },
    { case: 'another mode', other: selection, mode: destinationOf('queue', { queueUrl: 'https://sqs/q' }) },
    {
      case: 'another table (a backfill into another stack)',
      other: selection,
      mode: destinationOf('direct', {
        tableName: 'other-stack-windows',
        topicArn: 'arn:aws:sns:eu-west-1:1:t',
      }),
    },
  ])('differs for $case', ({ other, mode }) => {
    expect(selectionHash(other, mode)).not.toBe(selectionHash(selection, here));
  });
});
