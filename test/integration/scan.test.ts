import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli, SAMPLE_TRAIL } from '../../lib/cli/commands';
import { bucketPolicySweep, sweep } from '../fixtures/events';

const REAL_EVENTS = join(import.meta.dirname, '..', 'fixtures', 'real-events');

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('regionsweep scan', () => {
  it('reads every record of the real third-party events and finds nothing', async () => {
    // Prepare
    const files = (await readdir(REAL_EVENTS)).filter((f) => f.endsWith('.json.gz'));
    let expectedRecords = 0;
    for (const file of files) {
      const parsed = JSON.parse(gunzipSync(await readFile(join(REAL_EVENTS, file))).toString()) as {
        Records: unknown[];
      };
      expectedRecords += parsed.Records.length;
    }

    // Act
    const result = await run(['scan', '--format', 'json', REAL_EVENTS]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${files.length} files read`);
    expect(result.stderr).toContain(`${expectedRecords} records`);
  });

  it('the 18 same-region calls in one window of the ec2-user-data detonation do not fire', async () => {
    // Act
    const result = await run([
      'scan',
      '--format',
      'json',
      '--min-regions',
      '1',
      '--min-events',
      '18',
      join(REAL_EVENTS, 'stratus_aws.execution.ec2-user-data.json.gz'),
    ]);
    const strict = await run([
      'scan',
      '--format',
      'json',
      join(REAL_EVENTS, 'stratus_aws.execution.ec2-user-data.json.gz'),
    ]);

    // Assess
    expect(jsonLines(result.stdout).map((f) => [f.distinctCount, f.eventCount])).toEqual([[1, 18]]);
    expect(strict.stdout).toBe('');
  });

  it('finds the sweep in the bundled sample and nothing else', async () => {
    // Act
    const result = await run(['scan', '--format', 'json', SAMPLE_TRAIL]);

    // Assess
    const findings = jsonLines(result.stdout);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      arn: 'arn:aws:sts::111122223333:assumed-role/ci-deployer/i-0f3c9e1a7b2d4c5e6',
      windowStart: '2026-11-28T10:12:00.000Z',
      distinctCount: 16,
      eventCount: 16,
      failedCount: 4,
      sourceIps: ['203.0.113.66'],
    });
    expect(result.stderr).toContain('2 skipped');
  });

  it('the table format names the identity and the regions', async () => {
    // Act
    const result = await run(['scan', SAMPLE_TRAIL]);

    // Assess
    expect(result.stdout).toMatch(
      /2026-11-28T10:12:00Z\s+16\s+16\s+4\s+arn:aws:sts::111122223333:assumed-role\/ci-deployer/,
    );
    expect(result.stdout).toContain('regions:     ap-northeast-1, ap-northeast-2');
  });

  it('a bad file is reported with its reason, the others still count, and the exit code says so', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'regionsweep-scan-'));
    await writeFile(
      join(dir, 'a-burst.json.gz'),
      gzipSync(JSON.stringify({ Records: sweep(12, '2026-11-28T10:00:01Z') })),
    );
    await writeFile(
      join(dir, 'b-truncated.json.gz'),
      gzipSync(JSON.stringify({ Records: sweep(3, '2026-11-28T10:00:01Z') })).subarray(0, 40),
    );
    await writeFile(join(dir, 'c-not-cloudtrail.json'), '{"hello":"world"}');

    // Act
    const result = await run(['scan', '--format', 'json', dir]);

    // Assess
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)).toHaveLength(1);
    expect(result.stderr).toMatch(/b-truncated\.json\.gz: CorruptGzipError/);
    expect(result.stderr).toMatch(/c-not-cloudtrail\.json: NotCloudTrailShapeError/);
  });

  it('findings are sorted by window, newest first, then by ARN', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'regionsweep-scan-'));
    const records = [
      ...sweep(10, '2026-11-28T10:00:01Z', { arn: 'arn:aws:iam::111122223333:user/b' }),
      ...sweep(10, '2026-11-28T10:00:01Z', { arn: 'arn:aws:iam::111122223333:user/a' }),
      ...sweep(10, '2026-11-28T10:05:01Z', { arn: 'arn:aws:iam::111122223333:user/c' }),
      ...sweep(10, '2026-11-28T10:00:01Z', { arn: null }),
    ];
    await writeFile(join(dir, 'all.json'), JSON.stringify({ Records: records }));

    // Act
    const result = await run(['scan', '--format', 'json', dir]);

    // Assess
    expect(jsonLines(result.stdout).map((f) => f.arn)).toEqual([
      'arn:aws:iam::111122223333:user/c',
      'arn:aws:iam::111122223333:user/a',
      'arn:aws:iam::111122223333:user/b',
      null,
    ]);
  });

  it.each([
    {
      case: 'lower thresholds fire on 9 regions',
      args: ['--min-regions', '9', '--min-events', '9'],
      count: 1,
    },
    { case: 'a higher event threshold silences 10 events', args: ['--min-events', '11'], count: 0 },
    { case: 'a 10 s window splits a 12 s burst', args: ['--window-seconds', '10'], count: 0 },
  ])('$case', async ({ args, count }) => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'regionsweep-scan-'));
    const events = sweep(10, '2026-11-28T10:00:00Z', {}, 1200).slice(0, args[0] === '--min-regions' ? 9 : 10);
    await writeFile(join(dir, 'burst.json'), JSON.stringify({ Records: events }));

    // Act
    const result = await run(['scan', '--format', 'json', ...args, dir]);

    // Assess
    expect(jsonLines(result.stdout)).toHaveLength(count);
  });

  it.each([
    { case: 'unknown format', args: ['--format', 'xml'], message: /--format must be table or json/ },
    {
      case: 'threshold out of range',
      args: ['--min-regions', '0'],
      message: /--min-regions must be a whole number/,
    },
    { case: 'missing path', args: ['/nonexistent/regionsweep'], message: /no such file or directory/ },
  ])('usage error: $case', async ({ args, message }) => {
    // Act
    const result = await run(['scan', ...args]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('regionsweep scan with the discovery campaign', () => {
  const CAMPAIGN_RULES =
    'ec2-multi-region-describe-instances,discovery-api-calls-via-cli,s3-rapid-bucket-posture,' +
    'servicequotas-multi-region-get-service-quota,discovery-campaign';
  const MALLORY = 'arn:aws:sts::111122223333:assumed-role/recon/mallory';

  /** One EC2 sweep and one bucket-policy sweep by MALLORY within the hour, as two local files. */
  async function campaignFiles(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'regionsweep-campaign-'));
    await writeFile(
      join(dir, 'ec2.json.gz'),
      gzipSync(JSON.stringify({ Records: sweep(12, '2026-11-28T10:05:01Z', { arn: MALLORY }, 400) })),
    );
    await writeFile(
      join(dir, 's3.json.gz'),
      gzipSync(
        JSON.stringify({ Records: bucketPolicySweep(20, '2026-11-28T10:41:00Z', { arn: MALLORY }, 200) }),
      ),
    );
    return dir;
  }

  it('shows the building blocks marked and the campaign with each contributing finding', async () => {
    // Prepare
    const dir = await campaignFiles();

    // Act
    const result = await run([
      'scan',
      '--rules',
      CAMPAIGN_RULES,
      '--building-blocks',
      'ec2-multi-region-describe-instances,s3-rapid-bucket-posture',
      dir,
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'rule:        AWS EC2 Multi-Region DescribeInstances API Calls [building block]',
    );
    expect(result.stdout).toContain(
      'rule:        AWS S3 Rapid Bucket Posture API Calls from a Single Principal [building block]',
    );
    expect(result.stdout).toContain('rule:        AWS Discovery Campaign by One Identity\n');
    expect(result.stdout).toContain(
      'finding:     EC2 DescribeInstances sweep (ec2-multi-region-describe-instances), window 2026-11-28T10:05:00Z (30 s): 12 regions, 12 DescribeInstances calls',
    );
    expect(result.stdout).toContain(
      'finding:     S3 bucket posture sweep (s3-rapid-bucket-posture), window 2026-11-28T10:41:00Z (10 s): 20 buckets, 20 bucket posture reads',
    );
    expect(result.stderr).toContain('3 finding(s)');
  });

  it('gives the campaign its contributing findings in JSON, and building blocks their mark', async () => {
    // Prepare
    const dir = await campaignFiles();

    // Act
    const result = await run([
      'scan',
      '--format',
      'json',
      '--rules',
      CAMPAIGN_RULES,
      '--building-blocks',
      'ec2-multi-region-describe-instances',
      dir,
    ]);

    // Assess
    const findings = jsonLines(result.stdout);
    expect(findings.map((f) => [f.ruleId, f.buildingBlock ?? false])).toEqual([
      ['a7577205-88a1-4a08-85d4-7b72a9a2e969', false],
      ['393ef120-63d1-11ef-8e38-f661ea17fbce', true],
      ['regionsweep-discovery-campaign', false],
    ]);
    expect(findings[2]?.contributingFindings).toEqual([
      expect.objectContaining({
        rule: 'ec2-multi-region-describe-instances',
        distinctCount: 12,
        eventCount: 12,
      }),
      expect.objectContaining({ rule: 's3-rapid-bucket-posture', distinctCount: 20, eventCount: 20 }),
    ]);
  });
});
