import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS } from '../fixtures/events';

/**
 * Corpora for the pipeline properties, in two steps: fast-check generates a `CorpusPlan` (times relative to
 * the case, identities by index), and `materialise` turns a plan into CloudTrail log objects inside one
 * case's own namespace (accounts, ARNs and an hour of its own), so every case writes to fresh window items
 * of a shared table, the null-ARN group included. Plans shrink well; namespaces never collide.
 */

const WINDOW_MS = 30_000;
const FIVE_MINUTES = 5 * 60_000;
/** Windows 7..12 of the case's hour (03:30 to 06:30): around the 05:00 boundary between CloudTrail files. */
const FIRST_WINDOW = 7;
const LAST_WINDOW = 12;

/** How often a record is written: CloudTrail occasionally repeats a record, in the same or another file. */
export type Copies = 'once' | 'again-in-another-object' | 'again-in-same-object';

/** A call the rule counts, or a decoy that differs in exactly one filter field. */
export type CallKind = 'describe-instances' | 'other-ec2-call' | 'same-name-other-service';

/** The callers of a case, by index: two ARNs of the first account, one of the second, and no ARN. */
export const IDENTITY_COUNT = 4;
const NULL_IDENTITY = 3;

export interface PlannedEvent {
  readonly identity: number;
  /** Which of the case's two accounts logs the call (its trail files hold it). */
  readonly account: 0 | 1;
  readonly region: string;
  /** Milliseconds after the start of the case's hour. */
  readonly offsetMs: number;
  /** The call failed (errorCode set): failed calls count toward the rule. */
  readonly failed: boolean;
  readonly kind: CallKind;
  readonly copies: Copies;
  /** Which of the two files of its (account, region, 5 minutes) holds it: CloudTrail may split a period. */
  readonly part: 0 | 1;
}

export interface CorpusPlan {
  readonly events: readonly PlannedEvent[];
  /**
   * Identities (never the null one) that also read the policies of BUCKET_SWEEP.buckets buckets within a
   * second, 40 minutes into the case's hour: each such sweep is one finding of the S3 posture rule (the
   * campaign properties); absent in the plans of the EC2 properties.
   */
  readonly bucketSweeps?: readonly number[];
}

/**
 * A bucket-policy sweep as the campaign properties plan it: GetBucketPolicy on 20 distinct buckets, 50 ms
 * apart from 40 minutes into the hour (inside one 10 s window), from one source IP, every call successful.
 * The S3 posture rule fires on it (more than 15 buckets in 10 s) whatever else the case holds.
 */
export const BUCKET_SWEEP = { offsetMs: 40 * 60_000, buckets: 20, stepMs: 50 } as const;

/** One case's namespace: accounts and ARNs no other case uses, and an hour of its own. */
export interface CaseNamespace {
  readonly caseId: string;
  readonly accounts: readonly [string, string];
  /** Start of the case's hour, epoch ms (aligned to windows and to CloudTrail's 5-minute files). */
  readonly hourStart: number;
}

/** A gzip CloudTrail log object under its real key layout. */
export interface LogObject {
  readonly key: string;
  readonly body: Buffer;
  readonly records: readonly Record<string, unknown>[];
}

const FIRST_HOUR = Date.UTC(2026, 10, 1);

/** The namespace of case `caseNumber` (0, 1, 2, ... within one table). */
export function caseNamespace(caseNumber: number): CaseNamespace {
  const serial = String(caseNumber).padStart(8, '0');
  return {
    caseId: `c${serial}`,
    accounts: [`71${serial}01`, `71${serial}02`],
    hourStart: FIRST_HOUR + caseNumber * 3_600_000,
  };
}

/** The caller ARN of identity `index` in namespace `ns` (null: an AWS service, which has none). */
export function identityArn(index: number, ns: CaseNamespace): string | null {
  const [first, second] = ns.accounts;
  switch (index) {
    case 0:
      return `arn:aws:iam::${first}:user/alice`;
    case 1:
      return `arn:aws:sts::${first}:assumed-role/inventory/i-0${ns.caseId}`;
    case 2:
      return `arn:aws:sts::${second}:assumed-role/ci-deployer/build-${ns.caseId}`;
    case NULL_IDENTITY:
      return null;
    default:
      throw new RangeError(`no identity ${index}`);
  }
}

const copiesArb: fc.Arbitrary<Copies> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('once' as const) },
  { weight: 2, arbitrary: fc.constant('again-in-another-object' as const) },
  { weight: 1, arbitrary: fc.constant('again-in-same-object' as const) },
);

const kindArb: fc.Arbitrary<CallKind> = fc.oneof(
  { weight: 10, arbitrary: fc.constant('describe-instances' as const) },
  { weight: 1, arbitrary: fc.constant('other-ec2-call' as const) },
  { weight: 1, arbitrary: fc.constant('same-name-other-service' as const) },
);

/**
 * Where a burst starts relative to a window boundary: often right on it, where an off-by-one in windowing
 * shows (-1: :29.999 or :59.999 of the window before; 0: :30.000 or :00.000; -1000 and 1000: the whole
 * seconds :29/:59 and :31/:01); often straddling it, a tenth to nine tenths of the burst before it;
 * otherwise anywhere in the window.
 */
type Placement =
  | { readonly kind: 'edge'; readonly shiftMs: number }
  | { readonly kind: 'straddle'; readonly tenthsBefore: number }
  | { readonly kind: 'anywhere'; readonly inWindowMs: number };

const placementArb: fc.Arbitrary<Placement> = fc.oneof(
  fc.record({ kind: fc.constant('edge' as const), shiftMs: fc.constantFrom(-1, 0, -1000, 1000) }),
  fc.record({ kind: fc.constant('straddle' as const), tenthsBefore: fc.integer({ min: 1, max: 9 }) }),
  fc.record({
    kind: fc.constant('anywhere' as const),
    inWindowMs: fc.integer({ min: 0, max: WINDOW_MS - 1 }),
  }),
);

/** Spacing between the calls of a burst: all at once, a millisecond apart (crossing :30.000), or spread. */
const stepArb = fc.oneof(fc.constantFrom(0, 1, 1000), fc.integer({ min: 0, max: 3_000 }));

/**
 * One identity calling DescribeInstances across 7..13 regions, once or twice per region: around the
 * thresholds (10 regions, 10 events), so it fires, just misses, or splits across a window boundary (one of
 * `boundaries`, ms into a window). Per-call variation (decoys, failures, repeated records, file parts) cycles
 * through short patterns.
 */
function burstArbitrary(boundaries: readonly number[]): fc.Arbitrary<PlannedEvent[]> {
  return fc
    .record({
      identity: fc.integer({ min: 0, max: IDENTITY_COUNT - 1 }),
      account: fc.constantFrom(0 as const, 1 as const),
      window: fc.integer({ min: FIRST_WINDOW, max: LAST_WINDOW }),
      boundary: fc.constantFrom(...boundaries),
      placement: placementArb,
      stepMs: stepArb,
      regions: fc.shuffledSubarray([...DEFAULT_REGIONS], { minLength: 7, maxLength: 13 }),
      callsPerRegion: fc.integer({ min: 1, max: 2 }),
      failedEvery: fc.constantFrom(0, 2, 3),
      kinds: fc.array(kindArb, { minLength: 1, maxLength: 6 }),
      copies: fc.array(copiesArb, { minLength: 1, maxLength: 6 }),
      parts: fc.array(fc.constantFrom(0 as const, 1 as const), { minLength: 1, maxLength: 3 }),
    })
    .map((burst) => {
      const calls = burst.regions.length * burst.callsPerRegion;
      const boundary = burst.window * WINDOW_MS + burst.boundary;
      const start = startOf(burst.placement, boundary, (calls - 1) * burst.stepMs);
      return Array.from({ length: calls }, (_, i) => ({
        identity: burst.identity,
        account: burst.account,
        region: cycle(burst.regions, i),
        offsetMs: start + i * burst.stepMs,
        failed: burst.failedEvery > 0 && i % burst.failedEvery === 0,
        kind: cycle(burst.kinds, i),
        copies: cycle(burst.copies, i),
        part: cycle(burst.parts, i),
      }));
    });
}

/** The first call's time (ms into the case's hour) of a burst lasting `spanMs`, placed near `boundary`. */
function startOf(placement: Placement, boundary: number, spanMs: number): number {
  switch (placement.kind) {
    case 'edge':
      return boundary + placement.shiftMs;
    case 'straddle':
      return boundary - Math.round((spanMs * placement.tenthsBefore) / 10);
    case 'anywhere':
      return boundary - (boundary % WINDOW_MS) + placement.inWindowMs;
  }
}

/** Single calls anywhere in the case's windows: human-paced traffic that adds to groups without sweeping. */
const strayEventArb: fc.Arbitrary<PlannedEvent> = fc.record({
  identity: fc.integer({ min: 0, max: IDENTITY_COUNT - 1 }),
  account: fc.constantFrom(0 as const, 1 as const),
  region: fc.constantFrom(...DEFAULT_REGIONS),
  offsetMs: fc.integer({ min: FIRST_WINDOW * WINDOW_MS - 1_000, max: (LAST_WINDOW + 1) * WINDOW_MS }),
  failed: fc.boolean(),
  kind: kindArb,
  copies: copiesArb,
  part: fc.constantFrom(0 as const, 1 as const),
});

/** Where in a window bursts are placed: its start (tumbling windows), or its start and middle (hopping). */
export interface CorpusShape {
  /** Milliseconds into a 30 s window. */
  readonly boundaries: readonly number[];
}

/** A case's corpus: one to four bursts placed around `shape`'s boundaries, plus up to ten stray calls. */
export function corpusPlanArbitrary(shape: CorpusShape): fc.Arbitrary<CorpusPlan> {
  return fc
    .record({
      bursts: fc.array(burstArbitrary(shape.boundaries), { minLength: 1, maxLength: 4 }),
      strays: fc.array(strayEventArb, { maxLength: 10 }),
    })
    .map(({ bursts, strays }) => ({ events: [...bursts.flat(), ...strays] }));
}

/** Campaign corpora: tumbling corpora where some of the three identities with an ARN also sweep buckets. */
export const campaignCorpusPlanArb: fc.Arbitrary<CorpusPlan> = corpusPlanArbitrary({ boundaries: [0] }).chain(
  (plan) => fc.subarray([0, 1, 2], { minLength: 1 }).map((bucketSweeps) => ({ ...plan, bucketSweeps })),
);

/** Corpora for tumbling windows: bursts around :00 and :30. */
export const corpusPlanArb: fc.Arbitrary<CorpusPlan> = corpusPlanArbitrary({ boundaries: [0] });

/** Corpora for hopping windows: bursts around :00, :15, :30 and :45. */
export const hoppingCorpusPlanArb: fc.Arbitrary<CorpusPlan> = corpusPlanArbitrary({
  boundaries: [0, WINDOW_MS / 2],
});

/**
 * The log objects of `plan` in namespace `ns`: one file per (account, region, 5 minutes, part), keyed as
 * CloudTrail keys them and delivered after its period; every record repeated as its `copies` says, with an
 * eventID unique to the case. Objects come back in a stable order (by key).
 */
export function materialise(plan: CorpusPlan, ns: CaseNamespace): LogObject[] {
  const files = new Map<string, { key: string; records: Record<string, unknown>[] }>();
  const place = (event: PlannedEvent, part: 0 | 1, record: Record<string, unknown>) => {
    const account = ns.accounts[event.account];
    const period = Math.floor(event.offsetMs / FIVE_MINUTES) * FIVE_MINUTES;
    const delivered = new Date(ns.hourStart + period + FIVE_MINUTES + part * 60_000);
    const key = cloudTrailKey(account, event.region, delivered, `${ns.caseId}p${part}`);
    const file = files.get(key) ?? { key, records: [] };
    file.records.push(record);
    files.set(key, file);
  };
  plan.events.forEach((event, index) => {
    const record = recordOf(event, index, ns);
    place(event, event.part, record);
    if (event.copies === 'again-in-same-object') place(event, event.part, record);
    if (event.copies === 'again-in-another-object') place(event, event.part === 0 ? 1 : 0, record);
  });
  for (const identity of plan.bucketSweeps ?? []) {
    const event = bucketSweepEvent(identity);
    for (const record of bucketSweepRecords(identity, ns)) place(event, 0, record);
  }
  return [...files.values()]
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map(({ key, records }) => ({ key, records, body: gzipSync(JSON.stringify({ Records: records })) }));
}

/** Where an identity's bucket sweep is filed: its account's us-east-1 file of the sweep's 5 minutes. */
function bucketSweepEvent(identity: number): PlannedEvent {
  return {
    identity,
    account: identity === 2 ? 1 : 0,
    region: 'us-east-1',
    offsetMs: BUCKET_SWEEP.offsetMs,
    failed: false,
    kind: 'describe-instances',
    copies: 'once',
    part: 0,
  };
}

function bucketSweepRecords(identity: number, ns: CaseNamespace): Record<string, unknown>[] {
  const account = ns.accounts[identity === 2 ? 1 : 0];
  return Array.from({ length: BUCKET_SWEEP.buckets }, (_, i) => {
    const bucket = `${ns.caseId}-data-${identity}-${i}`;
    return {
      ...cloudTrailEvent({
        eventSource: 's3.amazonaws.com',
        eventName: 'GetBucketPolicy',
        eventTime: cloudTrailTime(ns.hourStart + BUCKET_SWEEP.offsetMs + i * BUCKET_SWEEP.stepMs),
        awsRegion: 'us-east-1',
        arn: identityArn(identity, ns),
        accountId: account,
        eventID: `${ns.caseId}-s3-${identity}-${String(i).padStart(2, '0')}`,
        requestParameters: { bucketName: bucket, policy: '' },
      }),
      resources: [{ accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` }],
    };
  });
}

function recordOf(event: PlannedEvent, index: number, ns: CaseNamespace): Record<string, unknown> {
  const arn = identityArn(event.identity, ns);
  const call = {
    'describe-instances': { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' },
    'other-ec2-call': { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstanceStatus' },
    'same-name-other-service': { eventSource: 'opsworks.amazonaws.com', eventName: 'DescribeInstances' },
  }[event.kind];
  return cloudTrailEvent({
    ...call,
    eventTime: cloudTrailTime(ns.hourStart + event.offsetMs),
    awsRegion: event.region,
    arn,
    accountId: ns.accounts[event.account],
    eventID: `${ns.caseId}-${String(index).padStart(4, '0')}`,
    ...(event.failed ? { errorCode: 'Client.UnauthorizedOperation' } : {}),
    ...(arn === null ? { identityType: 'AWSService', sourceIPAddress: 'ec2.amazonaws.com' } : {}),
  });
}

/** CloudTrail writes whole seconds (`...T10:00:29Z`); boundary cases in milliseconds keep them (`.999Z`). */
function cloudTrailTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return epochMs % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}

function cycle<T>(values: readonly T[], index: number): T {
  const value = values[index % values.length];
  if (value === undefined) throw new RangeError('cycle over an empty pattern');
  return value;
}
