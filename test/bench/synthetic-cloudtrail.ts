import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import { seededRandom } from '../../lib/local/seeded-random';
import { DEFAULT_REGIONS } from '../fixtures/events';

type Random = () => number;

const REGIONS = DEFAULT_REGIONS;

/** Event sources and names, weighted roughly like a busy account's management events. */
const CATALOGUE: readonly { source: string; names: readonly string[]; weight: number }[] = [
  {
    source: 'ec2.amazonaws.com',
    names: [
      'DescribeSecurityGroups',
      'DescribeVolumes',
      'DescribeSubnets',
      'RunInstances',
      'CreateTags',
      'DescribeSnapshots',
      'DescribeImages',
    ],
    weight: 14,
  },
  {
    source: 's3.amazonaws.com',
    names: ['GetBucketAcl', 'ListBuckets', 'GetBucketPolicy', 'PutBucketPolicy', 'GetBucketLocation'],
    weight: 12,
  },
  {
    source: 'sts.amazonaws.com',
    names: ['AssumeRole', 'GetCallerIdentity', 'AssumeRoleWithWebIdentity'],
    weight: 14,
  },
  {
    source: 'iam.amazonaws.com',
    names: ['GetRole', 'ListRoles', 'PutRolePolicy', 'CreatePolicyVersion', 'ListAttachedRolePolicies'],
    weight: 8,
  },
  {
    source: 'kms.amazonaws.com',
    names: ['Decrypt', 'GenerateDataKey', 'Encrypt', 'DescribeKey'],
    weight: 12,
  },
  {
    source: 'lambda.amazonaws.com',
    names: ['Invoke', 'GetFunction', 'UpdateFunctionCode20150331v2'],
    weight: 5,
  },
  { source: 'dynamodb.amazonaws.com', names: ['DescribeTable', 'ListTables', 'UpdateTable'], weight: 5 },
  {
    source: 'logs.amazonaws.com',
    names: ['CreateLogStream', 'DescribeLogGroups', 'PutRetentionPolicy'],
    weight: 8,
  },
  {
    source: 'ssm.amazonaws.com',
    names: ['GetParameter', 'GetParameters', 'SendCommand', 'UpdateInstanceInformation'],
    weight: 7,
  },
  { source: 'secretsmanager.amazonaws.com', names: ['GetSecretValue', 'DescribeSecret'], weight: 4 },
  {
    source: 'cloudtrail.amazonaws.com',
    names: ['LookupEvents', 'DescribeTrails', 'GetTrailStatus'],
    weight: 2,
  },
  {
    source: 'rds.amazonaws.com',
    names: ['DescribeDBInstances', 'DescribeDBClusters', 'CreateDBSnapshot'],
    weight: 3,
  },
  {
    source: 'monitoring.amazonaws.com',
    names: ['GetMetricData', 'PutMetricAlarm', 'DescribeAlarms'],
    weight: 4,
  },
];
const TOTAL_WEIGHT = CATALOGUE.reduce((sum, entry) => sum + entry.weight, 0);

const ERROR_CODES = [
  'AccessDenied',
  'Client.UnauthorizedOperation',
  'ThrottlingException',
  'ValidationException',
];
const USER_AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213 exe/x86_64.amzn.2 prompt/off command/ec2.describe-instances',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2 cfg/retry-mode#legacy',
  'aws-sdk-js/3.535.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.11.1 api/ec2#3.535.0',
  'console.amazonaws.com',
  'terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36',
];
const WORDS = [
  'prod',
  'staging',
  'data',
  'web',
  'api',
  'batch',
  'etl',
  'ml',
  'audit',
  'backup',
  'edge',
  'core',
];

function pick<T>(random: Random, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function hexId(random: Random, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += Math.floor(random() * 16).toString(16);
  return text;
}

function uuid(random: Random): string {
  return `${hexId(random, 8)}-${hexId(random, 4)}-4${hexId(random, 3)}-a${hexId(random, 3)}-${hexId(random, 12)}`;
}

function accountOf(random: Random): string {
  return `1234567890${Math.floor(random() * 20)
    .toString()
    .padStart(2, '0')}`;
}

function userIdentity(random: Random): Record<string, unknown> {
  const account = accountOf(random);
  const roll = random();
  if (roll < 0.55) {
    const role = `${pick(random, WORDS)}-${pick(random, WORDS)}-role`;
    const session = `session-${hexId(random, 6)}`;
    return {
      type: 'AssumedRole',
      principalId: `AROA${hexId(random, 16).toUpperCase()}:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      accountId: account,
      accessKeyId: `ASIA${hexId(random, 16).toUpperCase()}`,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: `AROA${hexId(random, 16).toUpperCase()}`,
          arn: `arn:aws:iam::${account}:role/${role}`,
          accountId: account,
          userName: role,
        },
        webIdFederationData: {},
        attributes: {
          creationDate: '2024-05-01T11:58:02Z',
          mfaAuthenticated: random() < 0.3 ? 'true' : 'false',
        },
      },
    };
  }
  if (roll < 0.8) {
    const user = `${pick(random, WORDS)}.${pick(random, WORDS)}`;
    return {
      type: 'IAMUser',
      principalId: `AIDA${hexId(random, 16).toUpperCase()}`,
      arn: `arn:aws:iam::${account}:user/${user}`,
      accountId: account,
      accessKeyId: `AKIA${hexId(random, 16).toUpperCase()}`,
      userName: user,
    };
  }
  if (roll < 0.92) return { type: 'AWSService', invokedBy: `${pick(random, WORDS)}.amazonaws.com` };
  if (roll < 0.96) {
    return {
      type: 'Root',
      principalId: account,
      arn: `arn:aws:iam::${account}:root`,
      accountId: account,
      accessKeyId: `ASIA${hexId(random, 16).toUpperCase()}`,
    };
  }
  return {
    type: 'FederatedUser',
    principalId: `${account}:federated-${hexId(random, 4)}`,
    arn: `arn:aws:sts::${account}:federated-user/federated-${hexId(random, 4)}`,
    accountId: account,
  };
}

/** A nested value of roughly `budget` bytes of JSON: objects, arrays and the odd escaped JSON document. */
function nested(random: Random, budget: number, depth: number): unknown {
  if (budget < 40 || depth > 5) {
    const roll = random();
    if (roll < 0.15) return Math.floor(random() * 100000);
    if (roll < 0.22) return random() < 0.5;
    if (roll < 0.3)
      return `arn:aws:${pick(random, WORDS)}:${pick(random, REGIONS)}:${accountOf(random)}:${hexId(random, 8)}`;
    return `${pick(random, WORDS)}-${hexId(random, 8)}`;
  }
  const roll = random();
  if (roll < 0.1) {
    const document = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [`${pick(random, WORDS)}:*`],
          Resource: `arn:aws:s3:::${pick(random, WORDS)}/*`,
        },
      ],
    };
    return JSON.stringify(document);
  }
  if (roll < 0.35) {
    const items: unknown[] = [];
    const count = 1 + Math.floor(random() * 6);
    for (let i = 0; i < count; i++) items.push(nested(random, budget / count, depth + 1));
    return { items };
  }
  const result: Record<string, unknown> = {};
  const keys = 2 + Math.floor(random() * 6);
  for (let i = 0; i < keys; i++)
    result[`${pick(random, WORDS)}${pick(random, ['Id', 'Name', 'Set', 'Arn', 'Config', 'State'])}`] = nested(
      random,
      budget / keys,
      depth + 1,
    );
  return result;
}

/** Sizes of requestParameters/responseElements: mostly small, a long tail of large ones. */
function payloadBudget(random: Random): number {
  const roll = random();
  if (roll < 0.6) return 80 + random() * 300;
  if (roll < 0.95) return 300 + random() * 1500;
  return 2000 + random() * 20000;
}

function describeInstancesParameters(random: Random): Record<string, unknown> {
  if (random() < 0.5) return { instancesSet: {}, filterSet: {} };
  return {
    instancesSet: { items: [{ instanceId: `i-${hexId(random, 17)}` }] },
    filterSet: { items: [{ name: 'instance-state-name', valueSet: { items: [{ value: 'running' }] } }] },
  };
}

/** One CloudTrail management event; ~3% are DescribeInstances, ~5% failed calls. */
export function syntheticRecord(random: Random, eventTimeMs: number): Record<string, unknown> {
  let source: string;
  let name: string;
  if (random() < 0.03) {
    source = 'ec2.amazonaws.com';
    name = 'DescribeInstances';
  } else {
    let roll = random() * TOTAL_WEIGHT;
    let entry = CATALOGUE[0];
    for (const candidate of CATALOGUE) {
      roll -= candidate.weight;
      entry = candidate;
      if (roll <= 0) break;
    }
    if (entry === undefined) throw new Error('empty catalogue');
    source = entry.source;
    name = pick(random, entry.names);
  }
  const region = pick(random, REGIONS);
  const failed = random() < 0.05;
  const record: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: userIdentity(random),
    eventTime: new Date(eventTimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: source,
    eventName: name,
    awsRegion: region,
    sourceIPAddress: `${Math.floor(random() * 223) + 1}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    userAgent: pick(random, USER_AGENTS),
  };
  if (failed) {
    record.errorCode = pick(random, ERROR_CODES);
    record.errorMessage = `User is not authorized to perform: ${source.split('.')[0]}:${name} on resource "${pick(random, WORDS)}"`;
  }
  record.requestParameters =
    name === 'DescribeInstances'
      ? describeInstancesParameters(random)
      : nested(random, payloadBudget(random), 0);
  record.responseElements = failed || random() < 0.3 ? null : nested(random, payloadBudget(random), 0);
  record.requestID = uuid(random);
  record.eventID = uuid(random);
  record.readOnly = name.startsWith('Describe') || name.startsWith('Get') || name.startsWith('List');
  record.eventType = 'AwsApiCall';
  record.managementEvent = true;
  record.recipientAccountId = accountOf(random);
  record.eventCategory = 'Management';
  record.tlsDetails = {
    tlsVersion: 'TLSv1.3',
    cipherSuite: 'TLS_AES_128_GCM_SHA256',
    clientProvidedHostHeader: `${source.split('.')[0]}.${region}.amazonaws.com`,
  };
  return record;
}

/**
 * Writes a gzip CloudTrail log file of about `targetJsonBytes` bytes of JSON to `path`, streaming (nothing
 * close to the file's size is held in memory). Reuses the file when it already exists.
 */
export async function ensureSyntheticLogFile(
  path: string,
  targetJsonBytes: number,
  seed: number,
): Promise<void> {
  const random = seededRandom(seed);
  let eventTime = Date.UTC(2024, 4, 1, 12, 0, 0);
  await ensureGzipLogFile(path, targetJsonBytes, () => {
    eventTime += Math.floor(random() * 40);
    return syntheticRecord(random, eventTime);
  });
}

/** Whether `path` exists (a bench file made by an earlier run is reused). */
export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes `{"Records":[...]}` of records from `nextRecord` until about `targetJsonBytes` bytes of compact JSON,
 * gzip, streaming through a `.partial` file renamed at the end (an interrupted run leaves no half file to
 * reuse). Does nothing when `path` exists.
 */
export async function ensureGzipLogFile(
  path: string,
  targetJsonBytes: number,
  nextRecord: () => unknown,
): Promise<void> {
  if (await fileExists(path)) return;
  const partial = `${path}.partial`;
  const gzip = createGzip();
  const file = createWriteStream(partial);
  const done = once(file, 'close');
  gzip.pipe(file);
  let written = 0;
  let batch = '{"Records":[';
  for (let index = 0; written < targetJsonBytes; index++) {
    const text = JSON.stringify(nextRecord());
    batch += index === 0 ? text : `,${text}`;
    written += text.length + 1;
    if (batch.length > 1024 * 1024) {
      if (!gzip.write(batch)) await once(gzip, 'drain');
      batch = '';
    }
  }
  gzip.end(`${batch}]}`);
  await done;
  await rename(partial, path);
}
