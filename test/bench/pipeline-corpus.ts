/**
 * The load corpus of `npm run bench:pipeline`: CloudTrail log objects as a multi-account trail writes them,
 * one per (account, region, 5 minutes), some split in two, named by delivery time. Deterministic for a seed,
 * and generated object by object from a small global plan, so any process can build any subset of it.
 *
 * Content: mostly calls the rule ignores (including decoys that mention DescribeInstances), DescribeInstances
 * at a human pace from a pool of identities per account (users, role sessions, short-lived sessions, AWS
 * services without an ARN; some failing), and planned sweeps: inventory collectors touching every region
 * every 10 minutes and recon sweeps of 6-17 regions (fast, slow, failing, straddling a window boundary,
 * without an ARN), with a few records duplicated across files as CloudTrail occasionally does.
 */

import { seededRandom } from '../../lib/local/seeded-random';
import { cloudTrailKey } from '../fixtures/corpus';
import { DEFAULT_REGIONS } from '../fixtures/events';

type Random = () => number;

export interface CorpusOptions {
  readonly seed: number;
  readonly accounts: number;
  /** Five-minute periods covered. */
  readonly periods: number;
  /** Events before sweeps and duplicates are added (the corpus holds slightly more). */
  readonly backgroundEvents: number;
  readonly reconSweeps: number;
  /** Epoch ms, aligned to five minutes. */
  readonly start: number;
}

export const DEFAULT_CORPUS_OPTIONS: CorpusOptions = {
  seed: 1,
  accounts: 6,
  periods: 20,
  backgroundEvents: 1_030_000,
  reconSweeps: 420,
  start: Date.parse('2026-03-02T08:00:00Z'),
};

const FIVE_MINUTES = 5 * 60_000;

/** Traffic share by region: us-east-1 carries the global services, a few regions host the workloads. */
const REGION_WEIGHT: Readonly<Record<string, number>> = {
  'us-east-1': 20,
  'us-west-2': 8,
  'eu-west-1': 6,
  'eu-central-1': 4,
  'ap-southeast-2': 3,
  'ap-northeast-1': 3,
};
/** Traffic share by account (production first). */
const ACCOUNT_WEIGHTS = [4, 2.5, 1.5, 1, 0.6, 0.4];

/** Share of background calls that are DescribeInstances (EC2 consoles, CLIs, tools). */
const DESCRIBE_INSTANCES_SHARE = 0.05;
/** Share of background calls that are CloudTrail LookupEvents asking for DescribeInstances (prefilter decoys). */
const LOOKUP_DECOY_SHARE = 0.002;

const CATALOGUE: readonly { source: string; names: readonly string[]; weight: number }[] = [
  {
    source: 'ec2.amazonaws.com',
    names: [
      'DescribeInstanceStatus',
      'DescribeInstanceTypes',
      'DescribeInstanceAttribute',
      'DescribeSecurityGroups',
      'DescribeVolumes',
      'DescribeSubnets',
      'DescribeNetworkInterfaces',
      'CreateTags',
      'RunInstances',
    ],
    weight: 14,
  },
  { source: 'sts.amazonaws.com', names: ['AssumeRole', 'GetCallerIdentity'], weight: 16 },
  { source: 's3.amazonaws.com', names: ['GetBucketAcl', 'ListBuckets', 'GetBucketLocation'], weight: 9 },
  { source: 'kms.amazonaws.com', names: ['Decrypt', 'GenerateDataKey', 'Encrypt'], weight: 14 },
  { source: 'iam.amazonaws.com', names: ['GetRole', 'ListRoles', 'ListAttachedRolePolicies'], weight: 6 },
  { source: 'logs.amazonaws.com', names: ['CreateLogStream', 'DescribeLogGroups'], weight: 8 },
  { source: 'ssm.amazonaws.com', names: ['GetParameter', 'UpdateInstanceInformation'], weight: 8 },
  { source: 'lambda.amazonaws.com', names: ['GetFunction', 'ListFunctions20150331'], weight: 4 },
  { source: 'dynamodb.amazonaws.com', names: ['DescribeTable', 'ListTables'], weight: 4 },
  { source: 'monitoring.amazonaws.com', names: ['GetMetricData', 'DescribeAlarms'], weight: 5 },
  { source: 'secretsmanager.amazonaws.com', names: ['GetSecretValue'], weight: 3 },
  { source: 'autoscaling.amazonaws.com', names: ['DescribeAutoScalingGroups'], weight: 3 },
];
const CATALOGUE_WEIGHT = CATALOGUE.reduce((sum, entry) => sum + entry.weight, 0);

const USER_AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213-201.855.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/ec2.describe-instances',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.12.2 cfg/retry-mode#legacy Botocore/1.34.69',
  'aws-sdk-js/3.535.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.11.1 api/ec2#3.535.0',
  'AWS Internal',
  'terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36',
];
const ERROR_CODES = ['AccessDenied', 'Client.UnauthorizedOperation', 'ThrottlingException'];
const FIRST = ['ana', 'ben', 'chen', 'dara', 'eli', 'fay', 'gus', 'hana', 'ivo', 'jun', 'kai', 'lea', 'mo'];
const LAST = ['smith', 'ng', 'okafor', 'silva', 'berg', 'kowalski', 'haddad', 'ito', 'novak', 'rossi'];
const ROLES = [
  'ci-deployer',
  'eks-node',
  'batch-worker',
  'etl-runner',
  'web-app',
  'api-backend',
  'ops-admin',
];
const SERVICES = [
  'autoscaling.amazonaws.com',
  'ec2.amazonaws.com',
  'config.amazonaws.com',
  'ssm.amazonaws.com',
];

/** A caller as CloudTrail records it; `arn` null for AWS services (the rule's one null group). */
export interface Identity {
  readonly arn: string | null;
  readonly userIdentity: Readonly<Record<string, unknown>>;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** A DescribeInstances call the plan puts into a given object (sweeps). */
interface PlannedCall {
  readonly timeMs: number;
  readonly identity: Identity;
  readonly eventId: string;
  readonly errorCode?: string;
}

/** One log object to generate. */
export interface PlannedObject {
  readonly index: number;
  readonly key: string;
  readonly account: string;
  readonly region: string;
  readonly periodStart: number;
  readonly backgroundEvents: number;
  readonly calls: readonly PlannedCall[];
  readonly seed: number;
}

/** What generating one object produced: its size, and the rule's matches as a plain reading of the records. */
export interface GeneratedObjectSummary {
  readonly index: number;
  readonly key: string;
  readonly events: number;
  readonly jsonBytes: number;
  readonly gzipBytes: number;
  /** Every record with eventSource ec2.amazonaws.com and eventName DescribeInstances. */
  readonly matches: readonly MatchingEvent[];
}

/** [eventTime as written, userIdentity.arn or null, awsRegion, eventID] */
export type MatchingEvent = readonly [string, string | null, string, string];

interface Pools {
  readonly accounts: readonly string[];
  /** Per account: long-lived users and role sessions, AWS services, and its inventory collector. */
  readonly people: readonly (readonly Identity[])[];
  readonly services: readonly (readonly Identity[])[];
  readonly inventory: readonly Identity[];
}

/** The whole plan: every object with its key, background size and planned calls. Cheap (no records). */
export function planCorpus(options: CorpusOptions): PlannedObject[] {
  const random = seededRandom(mix(options.seed, 1));
  const pools = identityPools(options);
  const regionWeight = (region: string) => REGION_WEIGHT[region] ?? 1;
  const regionTotal = DEFAULT_REGIONS.reduce((sum, region) => sum + regionWeight(region), 0);
  const accountWeights = pools.accounts.map(
    (_, index) => ACCOUNT_WEIGHTS[index % ACCOUNT_WEIGHTS.length] ?? 1,
  );
  const accountTotal = accountWeights.reduce((sum, weight) => sum + weight, 0);

  // Slots: one per (account, region, period), split in two parts for a share of the busy ones.
  const slots = new Map<string, { parts: { events: number; calls: PlannedCall[] }[] }>();
  const slotId = (account: string, region: string, period: number) => `${account}|${region}|${period}`;
  for (const [a, account] of pools.accounts.entries()) {
    for (const region of DEFAULT_REGIONS) {
      for (let p = 0; p < options.periods; p++) {
        const share = ((accountWeights[a] ?? 1) / accountTotal) * (regionWeight(region) / regionTotal);
        const events = Math.max(
          3,
          Math.round(((options.backgroundEvents * share) / options.periods) * (0.75 + 0.5 * random())),
        );
        const split = events > 300 && random() < 0.25;
        const first = split ? Math.round(events * (0.3 + 0.4 * random())) : events;
        const parts = [{ events: first, calls: [] as PlannedCall[] }];
        if (split) parts.push({ events: events - first, calls: [] });
        slots.set(slotId(account, region, options.start + p * FIVE_MINUTES), { parts });
      }
    }
  }

  const place = (account: string, region: string, call: PlannedCall) => {
    const period = Math.floor(call.timeMs / FIVE_MINUTES) * FIVE_MINUTES;
    const slot = slots.get(slotId(account, region, period));
    if (slot === undefined) return;
    const part = slot.parts[Math.floor(random() * slot.parts.length)];
    part?.calls.push(call);
    // CloudTrail occasionally delivers a record twice, possibly in another file of the same period.
    if (random() < 0.01) slot.parts[Math.floor(random() * slot.parts.length)]?.calls.push(call);
  };
  let serial = 0;
  const eventId = () => {
    serial += 1;
    return `${uuid(random).slice(0, 24)}${serial.toString(16).padStart(12, '0')}`;
  };
  const end = options.start + options.periods * FIVE_MINUTES;

  // Inventory collectors: every region, every 10 minutes, one or two pages per region within seconds.
  for (const [a, account] of pools.accounts.entries()) {
    const identity = pools.inventory[a];
    if (identity === undefined) continue;
    for (let t = options.start; t + 10 * 60_000 <= end; t += 10 * 60_000) {
      const begin = t + Math.floor(random() * 9 * 60_000);
      for (const [r, region] of DEFAULT_REGIONS.entries()) {
        const at = begin + r * 250 + Math.floor(random() * 1500);
        place(account, region, { timeMs: at, identity, eventId: eventId() });
        if (random() < 0.4) place(account, region, { timeMs: at + 300, identity, eventId: eventId() });
      }
    }
  }

  // Recon sweeps by people and services: 6-17 regions, fast or slow, some failing, some across a boundary.
  for (let s = 0; s < options.reconSweeps; s++) {
    const a = weightedIndex(random, accountWeights);
    const account = pools.accounts[a] ?? '';
    const nullArn = random() < 0.1;
    const identity = pick(random, (nullArn ? pools.services[a] : pools.people[a]) ?? []);
    const regions = shuffled(random, [...DEFAULT_REGIONS]).slice(0, 6 + Math.floor(random() * 12));
    const boundary =
      30_000 * Math.ceil((options.start + random() * (end - options.start - 5 * 60_000)) / 30_000);
    const begin =
      random() < 0.4 ? boundary - Math.floor(random() * 5_000) : boundary + Math.floor(random() * 25_000);
    const step = random() < 0.15 ? 8_000 + Math.floor(random() * 12_000) : Math.floor(random() * 2_500);
    const failing = random() < 0.25;
    for (const [r, region] of regions.entries()) {
      const calls = random() < 0.3 ? 2 : 1;
      for (let c = 0; c < calls; c++) {
        place(account, region, {
          timeMs: begin + r * step + c * 400,
          identity,
          eventId: eventId(),
          ...(failing && random() < 0.6 ? { errorCode: 'Client.UnauthorizedOperation' } : {}),
        });
      }
    }
  }

  const objects: PlannedObject[] = [];
  for (const [id, slot] of slots) {
    const [account = '', region = '', period = '0'] = id.split('|');
    for (const [part, { events, calls }] of slot.parts.entries()) {
      const delivered = new Date(Number(period) + FIVE_MINUTES + Math.floor(random() * 10 * 60_000));
      objects.push({
        index: objects.length,
        key: cloudTrailKey(account, region, delivered, `${part}${hex(random, 15)}`),
        account,
        region,
        periodStart: Number(period),
        backgroundEvents: events,
        calls,
        seed: mix(options.seed, 1000 + objects.length),
      });
    }
  }
  return objects;
}

/**
 * The records of one object, in eventTime order: its background calls, generated from the object's own seed,
 * and the calls the plan put into it. The same object always gives the same records.
 */
export function objectRecords(object: PlannedObject, options: CorpusOptions): Record<string, unknown>[] {
  const random = seededRandom(object.seed);
  const pools = identityPools(options);
  const a = pools.accounts.indexOf(object.account);
  const people = pools.people[a] ?? [];
  const services = pools.services[a] ?? [];
  // Short-lived sessions (Lambda, EC2 instance profiles): new identities in every object.
  const sessions = Array.from({ length: 6 }, () =>
    roleSession(random, object.account, pick(random, ROLES), `i-0${hex(random, 16)}`),
  );
  const times = Array.from({ length: object.backgroundEvents }, () =>
    Math.floor((object.periodStart + random() * FIVE_MINUTES) / 1000),
  ).sort((x, y) => x - y);
  const records: { second: number; record: Record<string, unknown> }[] = [];
  for (const second of times) {
    const roll = random();
    let record: Record<string, unknown>;
    if (roll < DESCRIBE_INSTANCES_SHARE) {
      const who = random();
      const identity =
        who < 0.62 ? pick(random, people) : who < 0.97 ? pick(random, sessions) : pick(random, services);
      record = describeInstances(random, object, second * 1000, identity, eventIdOf(random));
      if (random() < 0.07) failed(record, pick(random, ERROR_CODES));
    } else if (roll < DESCRIBE_INSTANCES_SHARE + LOOKUP_DECOY_SHARE) {
      record = lookupDecoy(random, object, second * 1000, pick(random, people));
    } else {
      record = otherCall(
        random,
        object,
        second * 1000,
        random() < 0.8 ? pick(random, people) : pick(random, sessions),
      );
    }
    records.push({ second, record });
  }
  for (const call of object.calls) {
    const record = describeInstances(random, object, call.timeMs, call.identity, call.eventId);
    if (call.errorCode !== undefined) failed(record, call.errorCode);
    records.push({ second: Math.floor(call.timeMs / 1000), record });
  }
  return records.sort((x, y) => x.second - y.second).map(({ record }) => record);
}

/** The rule's matches among records, read plainly (no pipeline code): the expected side of the bench. */
export function matchingEvents(records: readonly Record<string, unknown>[]): MatchingEvent[] {
  const matches: MatchingEvent[] = [];
  for (const record of records) {
    if (record.eventSource !== 'ec2.amazonaws.com' || record.eventName !== 'DescribeInstances') continue;
    const identity = record.userIdentity as { arn?: string } | undefined;
    matches.push([
      String(record.eventTime),
      identity?.arn ?? null,
      String(record.awsRegion),
      String(record.eventID),
    ]);
  }
  return matches;
}

/** The identities of every account, from their own stream of the seed (the same in every process). */
function identityPools(options: CorpusOptions): Pools {
  const random = seededRandom(mix(options.seed, 2));
  const accounts = Array.from({ length: options.accounts }, (_, a) => String(210_987_654_300 + a * 1_111));
  const people = accounts.map((account) => [
    ...Array.from({ length: 25 }, () => {
      const user = `${pick(random, FIRST)}.${pick(random, LAST)}`;
      return person(random, {
        type: 'IAMUser',
        principalId: `AIDA${hex(random, 16).toUpperCase()}`,
        arn: `arn:aws:iam::${account}:user/${user}`,
        accountId: account,
        accessKeyId: `AKIA${hex(random, 16).toUpperCase()}`,
        userName: user,
      });
    }),
    ...Array.from({ length: 30 }, () =>
      roleSession(random, account, pick(random, ROLES), `${pick(random, FIRST)}-${hex(random, 6)}`),
    ),
  ]);
  const services = accounts.map(() =>
    SERVICES.map((service) => ({
      arn: null,
      userIdentity: { type: 'AWSService', invokedBy: service },
      sourceIp: service,
      userAgent: service,
    })),
  );
  const inventory = accounts.map((account) =>
    roleSession(random, account, 'AssetInventory', 'inventory-collector'),
  );
  return { accounts, people, services, inventory };
}

function person(random: Random, userIdentity: Record<string, unknown>): Identity {
  return {
    arn: String(userIdentity.arn),
    userIdentity,
    sourceIp: `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    userAgent: pick(random, USER_AGENTS),
  };
}

function roleSession(random: Random, account: string, role: string, session: string): Identity {
  const roleId = `AROA${hex(random, 16).toUpperCase()}`;
  return person(random, {
    type: 'AssumedRole',
    principalId: `${roleId}:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    accountId: account,
    accessKeyId: `ASIA${hex(random, 16).toUpperCase()}`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: roleId,
        arn: `arn:aws:iam::${account}:role/${role}`,
        accountId: account,
        userName: role,
      },
      attributes: { creationDate: '2026-03-02T07:12:40Z', mfaAuthenticated: 'false' },
    },
  });
}

function baseRecord(
  random: Random,
  object: PlannedObject,
  timeMs: number,
  identity: Identity,
  source: string,
  name: string,
  eventId: string,
): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: identity.userIdentity,
    eventTime: new Date(Math.floor(timeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: source,
    eventName: name,
    awsRegion: object.region,
    sourceIPAddress: identity.sourceIp,
    userAgent: identity.userAgent,
    requestParameters: null,
    responseElements: null,
    requestID: uuid(random),
    eventID: eventId,
    readOnly: /^(Describe|Get|List|Lookup)/.test(name),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: object.account,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${source.split('.')[0]}.${object.region}.amazonaws.com`,
    },
  };
}

function describeInstances(
  random: Random,
  object: PlannedObject,
  timeMs: number,
  identity: Identity,
  eventId: string,
): Record<string, unknown> {
  const record = baseRecord(
    random,
    object,
    timeMs,
    identity,
    'ec2.amazonaws.com',
    'DescribeInstances',
    eventId,
  );
  record.requestParameters =
    random() < 0.5
      ? { instancesSet: {}, filterSet: {} }
      : {
          instancesSet: { items: [{ instanceId: `i-0${hex(random, 16)}` }] },
          filterSet: {
            items: [{ name: 'instance-state-name', valueSet: { items: [{ value: 'running' }] } }],
          },
        };
  return record;
}

/** A LookupEvents call that searches for DescribeInstances: passes the text prefilter, fails the exact rule. */
function lookupDecoy(random: Random, object: PlannedObject, timeMs: number, identity: Identity) {
  const record = baseRecord(
    random,
    object,
    timeMs,
    identity,
    'cloudtrail.amazonaws.com',
    'LookupEvents',
    eventIdOf(random),
  );
  record.requestParameters = {
    lookupAttributes: [
      { attributeKey: 'EventName', attributeValue: 'DescribeInstances' },
      { attributeKey: 'EventSource', attributeValue: 'ec2.amazonaws.com' },
    ],
    maxResults: 50,
  };
  return record;
}

function otherCall(random: Random, object: PlannedObject, timeMs: number, identity: Identity) {
  let roll = random() * CATALOGUE_WEIGHT;
  let entry = CATALOGUE[0];
  for (const candidate of CATALOGUE) {
    entry = candidate;
    roll -= candidate.weight;
    if (roll <= 0) break;
  }
  const source = entry?.source ?? 'sts.amazonaws.com';
  const name = pick(random, entry?.names ?? ['GetCallerIdentity']);
  const record = baseRecord(random, object, timeMs, identity, source, name, eventIdOf(random));
  record.requestParameters = {
    [`${name.charAt(0).toLowerCase()}${name.slice(1, 8)}Id`]: `${pick(random, ROLES)}-${hex(random, 12)}`,
    maxResults: 100,
    ...(random() < 0.3
      ? { filters: [{ name: 'tag:team', values: [pick(random, FIRST), pick(random, LAST)] }] }
      : {}),
  };
  if (random() < 0.04) failed(record, pick(random, ERROR_CODES));
  else if (random() < 0.6) {
    record.responseElements = {
      requestId: uuid(random),
      resourceArn: `arn:aws:${source.split('.')[0]}:${object.region}:${object.account}:${pick(random, ROLES)}/${hex(random, 17)}`,
      ...(random() < 0.3
        ? {
            credentials: {
              accessKeyId: `ASIA${hex(random, 16).toUpperCase()}`,
              expiration: 'Mar 2, 2026, 9:12:40 AM',
            },
          }
        : {}),
    };
  }
  return record;
}

function failed(record: Record<string, unknown>, code: string): void {
  record.errorCode = code;
  record.errorMessage = `You are not authorized to perform this operation. (${String(record.eventName)})`;
  record.responseElements = null;
}

function eventIdOf(random: Random): string {
  return uuid(random);
}

function uuid(random: Random): string {
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`;
}

/** `length` hex digits, 8 per draw (each draw of the PRNG carries 32 bits). */
function hex(random: Random, length: number): string {
  let text = '';
  while (text.length < length)
    text += Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return text.slice(0, length);
}

function pick<T>(random: Random, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function weightedIndex(random: Random, weights: readonly number[]): number {
  let roll = random() * weights.reduce((sum, weight) => sum + weight, 0);
  for (const [index, weight] of weights.entries()) {
    roll -= weight;
    if (roll <= 0) return index;
  }
  return weights.length - 1;
}

function shuffled<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** A 32-bit seed from a corpus seed and a stream number (splitmix-style), so streams do not overlap. */
function mix(seed: number, stream: number): number {
  let z = (Math.imul(seed, 0x9e3779b1) + Math.imul(stream, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
