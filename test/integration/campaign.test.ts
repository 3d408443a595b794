import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { pipelineSettings } from '../../lambda/config';
import { DISCOVERY_CAMPAIGN } from '../../lambda/domain/detection/built-in-rules';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { backfillCommand } from '../../lib/cli/backfill';
import { runCli } from '../../lib/cli/commands';
import { s3Notification } from '../../lib/local/delivery';
import { type DynamoDbStandInKind, javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment, uploadFiles } from '../../lib/local/environment';
import { listLocalFiles } from '../../lib/local/file-object-source';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { cloudTrailKey } from '../fixtures/corpus';
import { bucketPolicySweep, sweep } from '../fixtures/events';
import { customNotificationViolations } from '../support/custom-notification-schema';
import { setProcessEnv } from '../support/process-env';
import { type StandInHandler, standInConfig, standInHandler } from '../support/stand-in-handler';

const ACCOUNT = '111122223333';
const EC2 = 'ec2-multi-region-describe-instances';
const S3 = 's3-rapid-bucket-posture';
/** The campaign and every rule it counts; the EC2 and S3 rules as building blocks. */
const SETTINGS = pipelineSettings({
  rules: [...(DISCOVERY_CAMPAIGN.correlation?.rules ?? []), DISCOVERY_CAMPAIGN.slug],
  buildingBlocks: [EC2, S3],
});

/**
 * The campaign through the real handler on one DynamoDB stand-in: redelivery and concurrent delivery of every
 * object, each finding counted once on the campaign's window item.
 */
function campaignOn(kind: DynamoDbStandInKind): void {
  let environment: LocalEnvironment;
  let handler: StandInHandler;

  beforeAll(async () => {
    environment = await startLocalEnvironment(kind);
    handler = standInHandler(environment, standInConfig(environment, SETTINGS));
  });

  afterAll(async () => {
    await environment?.stop();
  });

  let counter = 0;
  /** One object per call (one account and region), delivered five minutes after `start`. */
  async function upload(records: readonly unknown[], start: string) {
    counter += 1;
    const key = cloudTrailKey(ACCOUNT, 'us-east-1', new Date(Date.parse(start) + 300_000), `c${counter}`);
    const body = gzipSync(JSON.stringify({ Records: records }));
    await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
    return s3Notification(environment.bucket, key, body.length);
  }

  it('alerts once for the identity with both findings in the hour, however often and concurrently its objects come', async () => {
    // Prepare: one EC2 region per object; bucket-policy reads in two objects
    const mallory = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/mallory-${kind}`;
    const ec2Only = `arn:aws:sts::${ACCOUNT}:assumed-role/inventory/ec2-only-${kind}`;
    const s3Only = `arn:aws:sts::${ACCOUNT}:assumed-role/auditor/s3-only-${kind}`;
    const notifications = [
      ...(await Promise.all(
        sweep(12, '2026-11-28T10:05:01Z', { arn: mallory }, 400).map((e) =>
          upload([e], '2026-11-28T10:05:00Z'),
        ),
      )),
      await upload(
        bucketPolicySweep(20, '2026-11-28T10:41:00Z', { arn: mallory }, 200).slice(0, 10),
        '2026-11-28T10:41:00Z',
      ),
      await upload(
        bucketPolicySweep(20, '2026-11-28T10:41:00Z', { arn: mallory }, 200).slice(10),
        '2026-11-28T10:41:00Z',
      ),
      await upload(sweep(12, '2026-11-28T10:07:01Z', { arn: ec2Only }, 400), '2026-11-28T10:07:00Z'),
      await upload(
        bucketPolicySweep(20, '2026-11-28T10:20:00Z', { arn: s3Only }, 200),
        '2026-11-28T10:20:00Z',
      ),
    ];
    const before = environment.recorder.published().length;

    // Act: every notification three times, the last two rounds concurrently
    for (const notification of notifications) await handler(notification);
    await Promise.all([...notifications, ...notifications].map((notification) => handler(notification)));

    // Assess
    const alerts = publishedAlerts(environment.recorder.published().slice(before));
    expect(alerts.map(({ finding }) => [finding.ruleId, finding.arn, finding.windowStart])).toEqual([
      [DISCOVERY_CAMPAIGN.id, mallory, '2026-11-28T10:00:00.000Z'],
    ]);
    const store = new DynamoDbWindowStore({
      client: environment.dynamodb,
      tableName: environment.tableName,
      limits: SETTINGS.limits,
      retentionSeconds: SETTINGS.retentionSeconds,
    });
    const campaign = await store.get({
      ruleId: DISCOVERY_CAMPAIGN.id,
      windowStart: Date.parse('2026-11-28T10:00:00Z'),
      arn: mallory,
    });
    expect(campaign === undefined ? undefined : [eventCountOf(campaign), campaign.distinctValues]).toEqual([
      2,
      [EC2, S3],
    ]);
    expect(campaign?.context.findings).toHaveLength(2);
    expect(campaign?.alert.messageId).toBe(alerts[0]?.messageId);
  });
}

describe('the discovery campaign on dynalite', () => {
  campaignOn('dynalite');
});

describe.skipIf(!javaAvailable())('the discovery campaign on DynamoDB Local', () => {
  campaignOn('dynamodb-local');
});

const CAMPAIGN_OPTIONS = [
  '--rules',
  [...(DISCOVERY_CAMPAIGN.correlation?.rules ?? []), DISCOVERY_CAMPAIGN.slug].join(','),
  '--building-blocks',
  `${EC2},${S3}`,
];

/**
 * Local CloudTrail files under their S3 key layout: an EC2 sweep and a bucket-policy sweep by `mallory`, an
 * EC2 sweep by `other`.
 */
async function campaignCorpus(mallory: string, other: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'regionsweep-campaign-'));
  const files: [string, unknown[]][] = [
    [
      'ec2',
      [
        ...sweep(12, '2026-11-28T10:05:01Z', { arn: mallory }, 400),
        ...sweep(12, '2026-11-28T10:06:01Z', { arn: other }, 400),
      ],
    ],
    ['s3', bucketPolicySweep(20, '2026-11-28T10:41:00Z', { arn: mallory }, 200)],
  ];
  for (const [name, records] of files) {
    const path = join(dir, cloudTrailKey(ACCOUNT, 'us-east-1', new Date('2026-11-28T10:45:00Z'), name));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, gzipSync(JSON.stringify({ Records: records })));
  }
  return dir;
}

interface FindingLine {
  readonly ruleId: string;
  readonly arn: string;
  readonly buildingBlock?: boolean;
  readonly contributingFindings?: readonly { readonly rule: string }[];
}

/** The JSON lines a command printed. */
function jsonLines<T>(out: readonly string[]): T[] {
  return out
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);
}

describe('regionsweep local with the discovery campaign', () => {
  it('publishes the campaign once, with its contributing findings, and no building block', async () => {
    // Prepare
    const mallory = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/mallory-local`;
    const dir = await campaignCorpus(mallory, `arn:aws:sts::${ACCOUNT}:assumed-role/inventory/other-local`);
    const out: string[] = [];

    // Act
    const code = await runCli(
      [
        'local',
        '--dynamodb',
        'dynalite',
        '--format',
        'json',
        '--deliveries',
        '3',
        '--seed',
        '1',
        ...CAMPAIGN_OPTIONS,
        dir,
      ],
      { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true } },
    );

    // Assess
    expect(code).toBe(0);
    expect(
      jsonLines<{ finding: FindingLine }>(out).map(({ finding }) => [
        finding.ruleId,
        finding.arn,
        finding.contributingFindings?.map((f) => f.rule),
      ]),
    ).toEqual([[DISCOVERY_CAMPAIGN.id, mallory, [EC2, S3]]]);
    const [line] = jsonLines<{ email: string; slack: { content: { description: string } } }>(out);
    expect(line?.email).toMatch(
      /CONTRIBUTING FINDINGS\n[\s\S]*\n {2}- EC2 DescribeInstances sweep [\s\S]*\n {2}- S3 bucket posture sweep /,
    );
    expect(line?.slack.content.description).toMatch(
      /\*Findings \(2\):\*\n• EC2 DescribeInstances sweep [\s\S]*\n• S3 bucket posture sweep /,
    );
    expect(customNotificationViolations(JSON.stringify(line?.slack))).toEqual([]);
  });
});

describe('regionsweep backfill with the discovery campaign', () => {
  let environment: LocalEnvironment;
  const mallory = `arn:aws:sts::${ACCOUNT}:assumed-role/recon/mallory-backfill`;

  beforeAll(async () => {
    environment = await startLocalEnvironment('dynalite');
    const dir = await campaignCorpus(
      mallory,
      `arn:aws:sts::${ACCOUNT}:assumed-role/inventory/other-backfill`,
    );
    await uploadFiles(environment, await listLocalFiles([dir]));
  });

  afterAll(async () => {
    await environment?.stop();
  });

  /** `regionsweep backfill` of 2026-11-28 over the stand-ins, with the campaign options and `args`. */
  async function backfill(args: readonly string[]): Promise<{ code: number; out: string[] }> {
    const out: string[] = [];
    const restore = setProcessEnv(environment.env);
    try {
      const code = await backfillCommand(
        [
          '--bucket',
          environment.bucket,
          '--start',
          '2026-11-28',
          '--end',
          '2026-11-28',
          ...CAMPAIGN_OPTIONS,
          ...args,
        ],
        { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true } },
      );
      return { code, out };
    } finally {
      restore();
    }
  }

  it('--no-alerts prints the building blocks marked and the campaign with its findings', async () => {
    // Act
    const { code, out } = await backfill(['--no-alerts']);

    // Assess
    expect(code).toBe(0);
    expect(
      jsonLines<FindingLine>(out).map((f) => [
        f.ruleId,
        f.arn,
        f.buildingBlock ?? false,
        f.contributingFindings?.length,
      ]),
    ).toEqual([
      ['a7577205-88a1-4a08-85d4-7b72a9a2e969', mallory, true, undefined],
      ['393ef120-63d1-11ef-8e38-f661ea17fbce', expect.stringContaining('other-backfill'), true, undefined],
      ['393ef120-63d1-11ef-8e38-f661ea17fbce', mallory, true, undefined],
      [DISCOVERY_CAMPAIGN.id, mallory, false, 2],
    ]);
  });

  it('direct mode publishes the campaign once, twice run', async () => {
    // Act
    const target = ['--table', environment.tableName, '--topic-arn', environment.topicArn];
    const first = await backfill(target);
    const again = await backfill([...target, '--checkpoint', join(tmpdir(), `campaign-${Date.now()}.json`)]);

    // Assess
    expect([first.code, again.code]).toEqual([0, 0]);
    expect(
      publishedAlerts(environment.recorder.published()).map(({ finding }) => [finding.ruleId, finding.arn]),
    ).toEqual([[DISCOVERY_CAMPAIGN.id, mallory]]);
  });
});
