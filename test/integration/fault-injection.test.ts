import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { ENV, loadPipelineSettings, MIN_ALERT_LEASE_SECONDS } from '../../lambda/config';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { s3Notification } from '../../lib/local/delivery';
import { type DynamoDbStandInKind, javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { cloudTrailKey } from '../fixtures/corpus';
import { cloudTrailEvent, DEFAULT_REGIONS, sweep } from '../fixtures/events';
import {
  dynamoDbFault,
  type FaultAction,
  type FaultProxy,
  type ProxiedRequest,
  snsFault,
  startFaultProxy,
  WINDOW_STORE_WRITE_STEPS,
  type WindowStoreStep,
  windowStoreStep,
} from '../support/fault-proxy';
import { standInConfig, standInHandler } from '../support/stand-in-handler';

const SETTINGS = loadPipelineSettings({});
/** The shortest lease the configuration allows: a replay waits it out on the virtual clock. */
const LEASE_SECONDS = MIN_ALERT_LEASE_SECONDS;
const WINDOW_START = '2026-11-28T10:00:00Z';
const EVENT_TIME = '2026-11-28T10:00:01Z';
/** Lambda retries a failed asynchronous invocation twice before the failure destination. */
const ASYNC_ATTEMPTS = 3;

type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };
type Handler = (event: unknown) => Promise<BatchResponse | undefined>;
type Rule = (request: ProxiedRequest) => FaultAction | undefined;

let environment: LocalEnvironment;
let dynamoProxy: FaultProxy;
let snsProxy: FaultProxy;
let s3Proxy: FaultProxy;
/** The platform's clock as the handler sees it: `sleep` advances it at once. */
let virtualNow = Date.now();
let handler: Handler;
let ruleId: string;

/**
 * The real handler on the virtual clock, with fresh SDK clients (and retry quotas), as a new environment;
 * `env` adds settings (window mode, suppression).
 */
function newHandler(env: Readonly<Record<string, string>> = {}): Handler {
  const config = standInConfig(environment, SETTINGS, {
    [ENV.alertLeaseSeconds]: String(LEASE_SECONDS),
    ...env,
  });
  return standInHandler(environment, config, {
    endpoints: { dynamodb: dynamoProxy.url, sns: snsProxy.url, s3: s3Proxy.url },
    time: {
      clock: () => virtualNow,
      sleep: async (ms: number) => {
        virtualNow += ms;
      },
    },
  });
}

let counter = 0;

/**
 * A fresh identity, so that every test has windows and alerts of its own. Fixed width: no ARN is a prefix of
 * another, so matching a request body on one ARN never matches another's.
 */
function newArn(): string {
  counter += 1;
  return `arn:aws:iam::111122223333:user/fault-${String(counter).padStart(5, '0')}`;
}

/**
 * A sweep by `arn`: 12 regions, one failed call and one duplicate record (same eventID): 13 events,
 * 12 regions, 1 failed, over both thresholds.
 */
function sweepRecords(arn: string, eventTime = EVENT_TIME): Record<string, unknown>[] {
  const records = sweep(12, eventTime, { arn });
  const failed = cloudTrailEvent({
    arn,
    eventTime,
    awsRegion: 'us-east-1',
    errorCode: 'Client.UnauthorizedOperation',
  });
  return [...records, failed, { ...records[0] }];
}

const BASELINE_ARN = 'arn:aws:iam::111122223333:user/fault-baseline';
const EXPECTED_COUNTS = { events: 13, regions: 12, failed: 1 };

/** Uploads one gzip CloudTrail object; returns its key, size and the notification S3 would send. */
async function upload(records: readonly unknown[]) {
  counter += 1;
  const key = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), `fault${counter}`);
  const body = gzipSync(JSON.stringify({ Records: records }));
  await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
  return {
    key,
    size: body.length,
    notification: s3Notification(environment.bucket, key, body.length),
  };
}

const sqs = (...messages: { id: string; body: unknown }[]) => ({
  Records: messages.map(({ id, body }) => ({
    messageId: id,
    eventSource: 'aws:sqs',
    body: JSON.stringify(body),
  })),
});

/** The window store on the table, read directly (not through the proxy). */
function directStore(): DynamoDbWindowStore {
  return new DynamoDbWindowStore({
    client: environment.dynamodb,
    tableName: environment.tableName,
    limits: SETTINGS.limits,
    retentionSeconds: SETTINGS.retentionSeconds,
  });
}

/** What the window table holds for `arn` in the window starting at `windowStart` (the test window). */
async function countsOf(arn: string, windowStart = WINDOW_START) {
  const state = await directStore().get({ ruleId, windowStart: Date.parse(windowStart), arn });
  if (state === undefined) return undefined;
  return {
    counts: { events: eventCountOf(state), regions: state.distinctValues.length, failed: state.failedCount },
    leaseUntil: state.alert.leaseUntil,
    messageId: state.alert.messageId,
    suppressed: state.alert.suppressed,
  };
}

function alertsFor(arn: string) {
  return publishedAlerts(environment.recorder.published()).filter((alert) => alert.finding.arn === arn);
}

/** True for the window store's `step` requests that concern `arn`. */
function isStep(request: ProxiedRequest, step: string, arn: string): boolean {
  return windowStoreStep(request) === step && request.body.toString('utf8').includes(arn);
}

/** `fault` for the first `count` requests `matches` accepts; every other request is forwarded. */
function firstN(
  count: number,
  matches: (request: ProxiedRequest) => boolean,
  fault: () => FaultAction,
): Rule {
  let left = count;
  return (request) => {
    if (left === 0 || !matches(request)) return undefined;
    left -= 1;
    return fault();
  };
}

function always(matches: (request: ProxiedRequest) => boolean, fault: () => FaultAction): Rule {
  return (request) => (matches(request) ? fault() : undefined);
}

/** Cuts every GetObject of the object after `afterBytes(size)` bytes of its body. */
function cutAfter(object: { key: string; size: number }, afterBytes: (size: number) => number): Rule {
  return always(
    (request) => request.method === 'GET' && decodeURIComponent(request.path).includes(object.key),
    () => ({ kind: 'forward-then-cut', afterBytes: afterBytes(object.size) }),
  );
}

const isPublish = (request: ProxiedRequest) => request.action === 'Publish';

const HOPPING = { WINDOW_MODE: 'hopping' } as const;
const SUPPRESSION = { SUPPRESSION_MINUTES: '60' } as const;
/** A sweep in the test window, and sweeps one and two minutes later (other windows of the same identity). */
const LATER_SWEEP = '2026-11-28T10:01:01Z';
const MUCH_LATER_SWEEP = '2026-11-28T10:02:01Z';

/** A 500 after the write applied, on the first `step` request of `arn`; `hits` counts the requests it hit. */
function lostResponseOnce(step: WindowStoreStep, arn: string): { hits(): number } {
  let hits = 0;
  dynamoProxy.setRule(
    firstN(
      1,
      (request) => isStep(request, step, arn),
      () => {
        hits += 1;
        return dynamoDbFault.internalAfterWrite();
      },
    ),
  );
  return { hits: () => hits };
}

/**
 * How each write step is reached, and what must hold when its response was lost: in every case the object
 * counts once and exactly one alert goes out.
 */
const LOST_RESPONSE_CASES: Record<
  (typeof WINDOW_STORE_WRITE_STEPS)[number],
  {
    readonly outcome: string;
    readonly env?: Readonly<Record<string, string>>;
    /** Event times of the identity's sweeps, one object each, delivered in order. */
    readonly sweeps: readonly string[];
    /** A further fault the case needs to reach its step. */
    readonly alsoInject?: () => void;
    readonly check: (run: { arn: string; failedInvocations: number; run: Handler }) => Promise<void>;
  }
> = {
  apply: {
    outcome: 'the retry finds its own contribution: counted once, the invocation succeeds',
    sweeps: [EVENT_TIME],
    check: async ({ failedInvocations }) => {
      expect(failedInvocations).toBe(0);
    },
  },
  claim: {
    outcome: 'the retry finds its own claim token: the claim is won, the alert published at once',
    sweeps: [EVENT_TIME],
    check: async ({ arn, failedInvocations }) => {
      expect(failedInvocations).toBe(0);
      expect((await countsOf(arn))?.messageId).toBe(alertsFor(arn)[0]?.messageId);
    },
  },
  release: {
    outcome: 'a failed publish gives the claim back; the retry publishes at once',
    sweeps: [EVENT_TIME],
    alsoInject: () => snsProxy.setRule(always(isPublish, snsFault.internal)),
    check: async ({ failedInvocations }) => {
      expect(failedInvocations).toBe(1);
    },
  },
  'record-alert': {
    outcome: 'the message id is recorded once; a later object of the window does not alert again',
    sweeps: [EVENT_TIME],
    check: async ({ arn, failedInvocations, run }) => {
      expect(failedInvocations).toBe(0);
      expect((await countsOf(arn))?.messageId).toBe(alertsFor(arn)[0]?.messageId);
      const later = await upload([cloudTrailEvent({ arn, eventTime: EVENT_TIME, awsRegion: 'eu-north-1' })]);
      await run(later.notification);
      expect(alertsFor(arn)).toHaveLength(1);
    },
  },
  'record-suppressed': {
    outcome: "the identity's next window is suppressed",
    env: SUPPRESSION,
    sweeps: [EVENT_TIME, LATER_SWEEP],
    check: async ({ arn, failedInvocations }) => {
      expect(failedInvocations).toBe(0);
      expect((await countsOf(arn, '2026-11-28T10:01:00Z'))?.suppressed).toBe(true);
    },
  },
  'suppression-take': {
    outcome: "the retry finds the identity's slot held by this window: allowed",
    env: SUPPRESSION,
    sweeps: [EVENT_TIME],
    check: async ({ failedInvocations }) => {
      expect(failedInvocations).toBe(0);
    },
  },
  'suppression-deny': {
    outcome: "the identity's next window is counted as suppressed once",
    env: SUPPRESSION,
    sweeps: [EVENT_TIME, LATER_SWEEP],
    check: async ({ arn, failedInvocations }) => {
      expect(failedInvocations).toBe(0);
      expect((await countsOf(arn, '2026-11-28T10:01:00Z'))?.suppressed).toBe(true);
    },
  },
  'half-slot-claim': {
    outcome: 'the retry finds the slot its own window holds: one alert for the burst',
    env: HOPPING,
    sweeps: [EVENT_TIME],
    check: async ({ failedInvocations }) => {
      expect(failedInvocations).toBe(0);
    },
  },
  'half-slot-mark': {
    outcome: 'the retry marks its own slot again: one alert for the burst',
    env: HOPPING,
    sweeps: [EVENT_TIME],
    check: async ({ failedInvocations }) => {
      expect(failedInvocations).toBe(0);
    },
  },
  'half-slot-release': {
    outcome: 'a suppressed window gives its half-slots back once',
    env: { ...HOPPING, ...SUPPRESSION },
    sweeps: [EVENT_TIME, MUCH_LATER_SWEEP],
    check: async ({ arn, failedInvocations }) => {
      expect(failedInvocations).toBe(0);
      expect((await countsOf(arn, '2026-11-28T10:02:00Z'))?.suppressed).toBe(true);
    },
  },
};

async function rejectionOf(invocation: Promise<unknown>): Promise<Error> {
  const outcome = await invocation.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('the invocation was expected to fail');
  return outcome;
}

/**
 * The fault cases on one DynamoDB stand-in: its own local environment (S3, SNS recorder, the table) behind
 * fault proxies, the real handler on a virtual clock.
 */
function faultInjectionSuite(kind: DynamoDbStandInKind): void {
  beforeAll(async () => {
    environment = await startLocalEnvironment(kind);
    dynamoProxy = await startFaultProxy(environment.endpoints.dynamodb);
    snsProxy = await startFaultProxy(environment.endpoints.sns);
    s3Proxy = await startFaultProxy(environment.endpoints.s3);
    // The rule's id (part of every window item's key) is read from a clean run's alert, not from settings.
    const baseline = await upload(sweepRecords(BASELINE_ARN));
    await newHandler()(baseline.notification);
    const [alert] = alertsFor(BASELINE_ARN);
    if (alert === undefined) throw new Error('the clean baseline run published no alert');
    ruleId = alert.finding.ruleId;
  });

  beforeEach(() => {
    handler = newHandler();
  });

  afterEach(() => {
    dynamoProxy.setRule(undefined);
    snsProxy.setRule(undefined);
    s3Proxy.setRule(undefined);
  });

  afterAll(async () => {
    await dynamoProxy?.close();
    await snsProxy?.close();
    await s3Proxy?.close();
    await environment?.stop();
  });

  describe('a clean run (the baseline every fault case must match)', () => {
    it('counts the sweep exactly and publishes one alert', async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));

      // Act
      await handler(object.notification);

      // Assess
      expect((await countsOf(arn))?.counts).toEqual(EXPECTED_COUNTS);
      expect(alertsFor(arn)).toHaveLength(1);
    });
  });

  describe('DynamoDB throttling and 5xx', () => {
    it.each([
      { case: 'throttling', fault: dynamoDbFault.throttling },
      { case: 'internal server error', fault: dynamoDbFault.internal },
      { case: 'internal server error after the write was applied', fault: dynamoDbFault.internalAfterWrite },
    ])('transient $case within the SDK retries: exact counts and one alert', async ({ fault }) => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      dynamoProxy.setRule(firstN(2, (request) => isStep(request, 'apply', arn), fault));

      // Act
      await handler(object.notification);

      // Assess
      expect((await countsOf(arn))?.counts).toEqual(EXPECTED_COUNTS);
      expect(alertsFor(arn)).toHaveLength(1);
    });

    it.each([
      { case: 'throttling', fault: dynamoDbFault.throttling, errorName: 'ThrottlingException' },
      { case: 'internal server error', fault: dynamoDbFault.internal, errorName: 'InternalServerError' },
    ])(
      'persistent $case on one group fails the asynchronous invocation with that cause',
      async ({ fault, errorName }) => {
        // Prepare
        const [first, second] = [newArn(), newArn()];
        const object = await upload([...sweepRecords(first), ...sweepRecords(second)]);
        dynamoProxy.setRule(always((request) => isStep(request, 'apply', second), fault));

        // Act
        const error = await rejectionOf(handler(object.notification));

        // Assess
        expect(error).toMatchObject({ name: 'TransientObjectFailure', cause: { name: errorName } });
        expect(await countsOf(second)).toBeUndefined();
      },
    );

    it("a persistent fault on one group leaves the object's other groups counted and alerted before it fails", async () => {
      // Prepare: the failing group comes first in the object (groups are written in ARN order).
      const [first, second] = [newArn(), newArn()];
      const object = await upload([...sweepRecords(first), ...sweepRecords(second)]);
      dynamoProxy.setRule(always((request) => isStep(request, 'apply', first), dynamoDbFault.internal));

      // Act
      const error = await rejectionOf(handler(object.notification));

      // Assess
      expect(error.name).toBe('TransientObjectFailure');
      expect([(await countsOf(first))?.counts, (await countsOf(second))?.counts]).toEqual([
        undefined,
        EXPECTED_COUNTS,
      ]);
      expect([alertsFor(first).length, alertsFor(second).length]).toEqual([0, 1]);
    });

    it("the platform's retry after a persistent fault on one group counts both groups once, one alert each", async () => {
      // Prepare
      const [first, second] = [newArn(), newArn()];
      const object = await upload([...sweepRecords(first), ...sweepRecords(second)]);
      dynamoProxy.setRule(always((request) => isStep(request, 'apply', second), dynamoDbFault.internal));
      await rejectionOf(handler(object.notification));
      dynamoProxy.setRule(undefined);

      // Act
      await handler(object.notification);

      // Assess
      expect([(await countsOf(first))?.counts, (await countsOf(second))?.counts]).toEqual([
        EXPECTED_COUNTS,
        EXPECTED_COUNTS,
      ]);
      expect([alertsFor(first).length, alertsFor(second).length]).toEqual([1, 1]);
    });

    it('a persistent 5xx in an SQS batch reports only that message; the others are processed', async () => {
      // Prepare
      const arns = [newArn(), newArn(), newArn()];
      const objects = await Promise.all(arns.map((arn) => upload(sweepRecords(arn))));
      dynamoProxy.setRule(
        always((request) => isStep(request, 'apply', arns[1] ?? ''), dynamoDbFault.internal),
      );
      const batch = sqs(...objects.map((object, i) => ({ id: `message-${i}`, body: object.notification })));

      // Act
      const response = await handler(batch);

      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
      expect(await Promise.all(arns.map(async (arn) => (await countsOf(arn))?.counts))).toEqual([
        EXPECTED_COUNTS,
        undefined,
        EXPECTED_COUNTS,
      ]);
    });

    it('the redelivered SQS message then counts its object once and publishes one alert', async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      const message = sqs({ id: 'message-redelivered', body: object.notification });
      dynamoProxy.setRule(always((request) => isStep(request, 'apply', arn), dynamoDbFault.internal));
      await handler(message);
      dynamoProxy.setRule(undefined);

      // Act
      const response = await handler(message);

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect((await countsOf(arn))?.counts).toEqual(EXPECTED_COUNTS);
      expect(alertsFor(arn)).toHaveLength(1);
    });
  });

  describe('SNS publish failures', () => {
    it.each([
      { case: 'throttling', fault: snsFault.throttling },
      { case: 'internal error', fault: snsFault.internal },
    ])('persistent $case fails the invocation and gives the claim back', async ({ fault }) => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      snsProxy.setRule(always(isPublish, fault));

      // Act
      const error = await rejectionOf(handler(object.notification));

      // Assess
      expect(error.name).toBe('TransientObjectFailure');
      expect(dynamoProxy.requests.filter((request) => isStep(request, 'release', arn))).toHaveLength(1);
      expect(await countsOf(arn)).toMatchObject({ counts: EXPECTED_COUNTS, leaseUntil: undefined });
      expect(alertsFor(arn)).toHaveLength(0);
    });

    it("the platform's retry after a failed publish publishes exactly one alert, at once", async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      snsProxy.setRule(always(isPublish, snsFault.internal));
      await rejectionOf(handler(object.notification));
      snsProxy.setRule(undefined);
      const before = virtualNow;

      // Act
      await handler(object.notification);

      // Assess
      expect(alertsFor(arn)).toHaveLength(1);
      expect(virtualNow - before).toBe(0);
    });

    it('a publish timing out on the last SDK attempt fails the invocation, gives the claim back, ' +
      'and its retry publishes exactly one alert', async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      let publishes = 0;
      // Two throttles, then a Publish held until the SNS client gives up after its real 10 s requestTimeout
      // (the test's one slow wait); the held request is never forwarded, as one lost on the way.
      snsProxy.setRule((request) => {
        if (!isPublish(request)) return undefined;
        publishes += 1;
        return publishes <= 2 ? snsFault.throttling() : { kind: 'delay', ms: 60_000 };
      });
      const error = await rejectionOf(handler(object.notification));
      const releases = dynamoProxy.requests.filter((request) => isStep(request, 'release', arn)).length;
      snsProxy.setRule(undefined);

      // Act
      await handler(object.notification);

      // Assess
      expect(error).toMatchObject({ name: 'TransientObjectFailure', cause: { name: 'TimeoutError' } });
      expect(releases).toBe(1);
      expect(alertsFor(arn)).toHaveLength(1);
    }, 30_000);
  });

  describe('S3 GetObject failing mid-stream', () => {
    it.each([
      { case: 'no bytes', afterBytes: () => 0 },
      { case: 'one byte (inside the gzip magic)', afterBytes: () => 1 },
      { case: 'half the object', afterBytes: (size: number) => Math.floor(size / 2) },
      { case: 'all but the last byte (inside the gzip trailer)', afterBytes: (size: number) => size - 1 },
    ])('a body cut after $case is a transient failure and counts nothing', async ({ afterBytes }) => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      s3Proxy.setRule(cutAfter(object, afterBytes));

      // Act
      const error = await rejectionOf(handler(object.notification));

      // Assess
      expect(error).toMatchObject({ name: 'TransientObjectFailure', cause: { code: 'ECONNRESET' } });
      expect(await countsOf(arn)).toBeUndefined();
    });

    it("the platform's retry after a cut body counts the object exactly once, with one alert", async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      s3Proxy.setRule(cutAfter(object, (size) => Math.floor(size / 2)));
      await rejectionOf(handler(object.notification));
      s3Proxy.setRule(undefined);

      // Act
      await handler(object.notification);

      // Assess
      expect((await countsOf(arn))?.counts).toEqual(EXPECTED_COUNTS);
      expect(alertsFor(arn)).toHaveLength(1);
    });
  });

  describe('retries exhausted: the object reaches the failure destination with a reason', () => {
    it('asynchronous: every attempt (1 + 2 retries) rejects naming the object and the cause; nothing is counted', async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      dynamoProxy.setRule(always((request) => isStep(request, 'apply', arn), dynamoDbFault.internal));

      // Act
      const errors: Error[] = [];
      for (let attempt = 0; attempt < ASYNC_ATTEMPTS; attempt += 1) {
        errors.push(await rejectionOf(handler(object.notification)));
      }

      // Assess
      expect(errors.map((error) => [error.name, (error.cause as Error | undefined)?.name])).toEqual(
        Array.from({ length: ASYNC_ATTEMPTS }, () => ['TransientObjectFailure', 'InternalServerError']),
      );
      // Lambda's failure destination keeps only the error's type and message: the message must say it all.
      for (const error of errors) {
        expect(error.message).toContain(`s3://${environment.bucket}/${object.key}: InternalServerError`);
      }
      expect(await countsOf(arn)).toBeUndefined();
    });

    it('SQS: every receive reports exactly that message id, so the queue moves it to its DLQ', async () => {
      // Prepare
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      s3Proxy.setRule(cutAfter(object, (size) => Math.floor(size / 2)));
      const message = sqs({ id: 'message-exhausted', body: object.notification });

      // Act
      const responses: (BatchResponse | undefined)[] = [];
      for (let receive = 0; receive < ASYNC_ATTEMPTS; receive += 1) responses.push(await handler(message));

      // Assess
      expect(responses).toEqual(
        Array.from({ length: ASYNC_ATTEMPTS }, () => ({
          batchItemFailures: [{ itemIdentifier: 'message-exhausted' }],
        })),
      );
      expect(await countsOf(arn)).toBeUndefined();
    });
  });

  /** Where the process dies between taking the alert claim and publishing. */
  const CRASHES_BETWEEN_CLAIM_AND_PUBLISH = [
    {
      case: 'after the claim is written',
      inject: (arn: string) => {
        dynamoProxy.setRule(firstN(1, (request) => isStep(request, 'claim', arn), dynamoDbFault.crashAfter));
      },
    },
    {
      case: 'just before the publish',
      inject: (arn: string) => {
        // The process dies: the Publish never leaves, and nothing after it (the claim's release) runs.
        snsProxy.setRule(firstN(1, isPublish, snsFault.crashBefore));
        dynamoProxy.setRule(
          firstN(1, (request) => isStep(request, 'release', arn), dynamoDbFault.crashBefore),
        );
      },
    },
  ];

  describe('a crash between claim and publish', () => {
    it.each(CRASHES_BETWEEN_CLAIM_AND_PUBLISH)(
      '$case: the failed invocation publishes nothing',
      async ({ inject }) => {
        // Prepare
        const arn = newArn();
        const object = await upload(sweepRecords(arn));
        inject(arn);

        // Act
        await rejectionOf(handler(object.notification));

        // Assess
        expect(alertsFor(arn)).toHaveLength(0);
        expect((await countsOf(arn))?.leaseUntil).toBeGreaterThan(virtualNow);
      },
    );

    it.each(CRASHES_BETWEEN_CLAIM_AND_PUBLISH)(
      '$case: the retry publishes exactly one alert once the lease has run out',
      async ({ inject }) => {
        // Prepare
        const arn = newArn();
        const object = await upload(sweepRecords(arn));
        inject(arn);
        await rejectionOf(handler(object.notification));
        const leaseUntil = (await countsOf(arn))?.leaseUntil ?? Number.NaN;

        // Act
        await handler(object.notification);

        // Assess
        expect(alertsFor(arn)).toHaveLength(1);
        expect(virtualNow).toBeGreaterThanOrEqual(leaseUntil);
      },
    );
  });

  describe('a write applied, then its response lost (a 500 after the write, retried by the SDK), on every write step', () => {
    it.each(WINDOW_STORE_WRITE_STEPS.map((step) => ({ step, ...LOST_RESPONSE_CASES[step] })))(
      '$step: $outcome',
      async ({ step, env, sweeps, alsoInject, check }) => {
        // Prepare
        const arn = newArn();
        const objects = [];
        for (const time of sweeps) objects.push(await upload(sweepRecords(arn, time)));
        const lost = lostResponseOnce(step, arn);
        const run = newHandler(env);
        alsoInject?.();

        // Act: each object delivered; a failed invocation is retried (by then every fault has cleared).
        const failed: string[] = [];
        for (const object of objects) {
          const error = await run(object.notification).then(
            () => undefined,
            (reason: unknown) => reason,
          );
          if (error === undefined) continue;
          failed.push(object.key);
          dynamoProxy.setRule(undefined);
          snsProxy.setRule(undefined);
          await run(object.notification);
        }

        // Assess
        expect(lost.hits(), `the lost response hit one ${step} request`).toBe(1);
        expect((await countsOf(arn))?.counts).toEqual(EXPECTED_COUNTS);
        expect(alertsFor(arn)).toHaveLength(1);
        await check({ arn, failedInvocations: failed.length, run });
      },
    );

    it('claim: a reply held past the 5 s request time-out (the SDK gives up and sends the claim again): ' +
      'the claim is won, one alert', { timeout: 30_000 }, async () => {
      // Prepare: the first claim is applied, its reply held until after the DynamoDB client's time-out.
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      dynamoProxy.setRule(
        firstN(
          1,
          (request) => isStep(request, 'claim', arn),
          () => ({ kind: 'forward-then-hold', until: sleep(6_000) }),
        ),
      );

      // Act
      await newHandler()(object.notification);

      // Assess
      expect(dynamoProxy.requests.filter((request) => isStep(request, 'claim', arn))).toHaveLength(2);
      expect(alertsFor(arn)).toHaveLength(1);
    });
  });

  describe('hopping windows: a retry that comes after the lease (the issue 11 reproduction)', () => {
    /** A 10-region burst at :16-:25, one object per region: the aligned and the offset window both hold it. */
    const BURST_SECONDS = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25];

    it.each([
      {
        case: 'SNS accepted the publish but the call failed',
        inject: (_arn: string) => snsProxy.setRule(firstN(1, isPublish, snsFault.crashAfter)),
      },
      {
        case: 'marking the half-slots failed',
        inject: (arn: string) =>
          dynamoProxy.setRule(
            always((request) => isStep(request, 'half-slot-mark', arn), dynamoDbFault.internal),
          ),
      },
    ])(
      '$case, then a late object reaches the overlapping window: never two overlapping windows alert',
      async ({ inject }) => {
        // Prepare: the burst's last object makes the aligned window [:00, :30) fire, and fails at the fault.
        const arn = newArn();
        const run = newHandler(HOPPING);
        const burst = [];
        for (const [i, second] of BURST_SECONDS.entries()) {
          const time = `2026-11-28T10:00:${String(second).padStart(2, '0')}Z`;
          burst.push(
            await upload([cloudTrailEvent({ arn, eventTime: time, awsRegion: DEFAULT_REGIONS[i] })]),
          );
        }
        const last = burst.pop();
        if (last === undefined) throw new Error('no burst');
        for (const object of burst) await run(object.notification);
        inject(arn);
        await rejectionOf(run(last.notification));
        dynamoProxy.setRule(undefined);
        snsProxy.setRule(undefined);
        const late = await upload([
          cloudTrailEvent({ arn, eventTime: '2026-11-28T10:00:40Z', awsRegion: DEFAULT_REGIONS[11] }),
        ]);

        // Act: three minutes later (the leases long run out) a late object adds to the offset window
        // [:15, :45); then the failed object's retry comes.
        virtualNow += 180_000;
        await run(late.notification);
        await run(last.notification);

        // Assess
        const windows = alertsFor(arn).map((alert) => alert.finding.windowStart);
        expect(new Set(windows).size, `alerted windows: ${windows.join(', ')}`).toBe(1);
      },
    );
  });

  describe('tumbling windows: a holder stalled past its lease', () => {
    it('publishes nothing once a replay took its claim over and published: one alert', async () => {
      // Prepare: the claim is applied, but its reply is held (the holder stalls) until released.
      const arn = newArn();
      const object = await upload(sweepRecords(arn));
      let resume: () => void = () => undefined;
      const stalled = new Promise<void>((resolve) => {
        resume = resolve;
      });
      let claimApplied: () => void = () => undefined;
      const applied = new Promise<void>((resolve) => {
        claimApplied = resolve;
      });
      dynamoProxy.setRule(
        firstN(
          1,
          (request) => isStep(request, 'claim', arn),
          () => {
            claimApplied();
            return { kind: 'forward-then-hold', until: stalled };
          },
        ),
      );
      const holder = newHandler()(object.notification);
      await applied;

      // Act: past the holder's lease a redelivery of the object takes the claim over and publishes; then the
      // holder wakes up.
      virtualNow += LEASE_SECONDS * 1000 + 1000;
      await newHandler()(object.notification);
      resume();
      await holder;

      // Assess
      expect(alertsFor(arn)).toHaveLength(1);
    });
  });
}

describe.each([{ kind: 'dynalite' as const }])('fault injection on $kind', ({ kind }) => {
  faultInjectionSuite(kind);
});

describe.skipIf(!javaAvailable()).each([{ kind: 'dynamodb-local' as const }])(
  'fault injection on $kind',
  ({ kind }) => {
    faultInjectionSuite(kind);
  },
);
