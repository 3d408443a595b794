import { describe, expect, it } from 'vitest';
import { classifyKey } from '../../lambda/domain/reading/object-key';

const LOG =
  'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/28/111122223333_CloudTrail_eu-west-1_20261128T1005Z_abcd.json.gz';

describe('classifyKey', () => {
  it.each([
    { case: 'account trail log', key: LOG, expected: { kind: 'log' } },
    { case: 'account trail log under a bucket prefix', key: `security/ct/${LOG}`, expected: { kind: 'log' } },
    {
      case: 'organization trail log',
      key: 'AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/28/x_CloudTrail_us-east-1_20261128T1005Z_a.json.gz',
      expected: { kind: 'log' },
    },
    {
      case: 'digest file',
      key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/28/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261128T100000Z.json.gz',
      expected: { kind: 'skip', reason: 'digest-file' },
    },
    {
      case: 'Insights file',
      key: 'AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/28/111122223333_CloudTrail-Insight_us-east-1_20261128T1005Z_a.json.gz',
      expected: { kind: 'skip', reason: 'insights-file' },
    },
    {
      case: 'folder marker',
      key: 'AWSLogs/111122223333/CloudTrail/',
      expected: { kind: 'skip', reason: 'folder-marker' },
    },
    {
      case: 'another service log in the same bucket',
      key: 'AWSLogs/111122223333/Config/us-east-1/2026/11/28/ConfigHistory/x.json.gz',
      expected: { kind: 'skip', reason: 'not-a-cloudtrail-log' },
    },
    {
      case: 'a file outside AWSLogs',
      key: 'readme.txt',
      expected: { kind: 'skip', reason: 'not-a-cloudtrail-log' },
    },
  ])('$case', ({ key, expected }) => {
    // Act
    const result = classifyKey(key, 1234, 'strict');

    // Assess
    expect(result).toEqual(expected);
  });

  it('a 0-byte object is skipped as empty', () => {
    // Act / Assess
    expect(classifyKey(LOG, 0, 'strict')).toEqual({ kind: 'skip', reason: 'empty-object' });
  });

  it('local files are read by extension, since copies are often renamed', () => {
    // Act / Assess
    expect(classifyKey('/tmp/events/stratus_aws.execution.ec2-user-data.json.gz', 10, 'lenient')).toEqual({
      kind: 'log',
    });
    expect(classifyKey('/tmp/events/notes.txt', 10, 'lenient')).toEqual({
      kind: 'skip',
      reason: 'not-a-cloudtrail-log',
    });
    expect(classifyKey('/tmp/x/111122223333_CloudTrail-Digest_us-east-1_t.json.gz', 10, 'lenient').kind).toBe(
      'skip',
    );
  });
});
