import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { windowItemKey } from '../../lambda/adapters/dynamodb/window-items';
import { loadPipelineSettings } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { eventCountOf, type GroupKey } from '../../lambda/domain/detection/window-state';
import type { PipelineTime } from '../../lambda/pipeline';
import { forEachConcurrently } from '../../lib/concurrency';
import { s3Notification } from '../../lib/local/delivery';
import { type DynamoDbStandInKind, javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { type PublishedAlert, publishedAlerts } from '../../lib/local/published-alerts';
import {
  dynamoDbFault,
  type FaultAction,
  type FaultProxy,
  type ProxiedRequest,
  snsFault,
  startFaultProxy,
  type WindowStoreStep,
  windowStoreStep,
} from '../support/fault-proxy';
import { standInConfig, standInHandler } from '../support/stand-in-handler';
import { type CorpusPlan, caseNamespace, type LogObject, materialise } from './corpus-arbitrary';
import {
  evaluateRule,
  groupName,
  MODEL_RULE,
  type ModelGroup,
  type ModelOutcome,
  type ModelWindowMode,
  windowKind,
  windowsHolding,
} from './rule-model';

/**
 * The rig of the pipeline properties: the real handler on the local stand-ins, fault proxies in front of
 * DynamoDB and SNS for the one injected crash, cases (a corpus plan and how the platform delivers it), and
 * the checks both window modes share.
 */

/** The rule the model restates (the default and only enabled rule). */
export const RULE_ID = EC2_MULTI_REGION_DESCRIBE_INSTANCES.id;
/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_RETRIES = 2;
/** The first property delivers every case (the others reuse its runs); a loaded machine may take a while. */
export const PROPERTY_TIMEOUT_MS = 180_000;
type Handler = (event: unknown) => Promise<unknown>;

/**
 * The platform's time for the handler: a virtual clock that moves only when every invocation in flight is
 * asleep (waiting on a lease or a half-slot), and then jumps to the earliest wake-up. Work in flight (a
 * DynamoDB or SNS request, the SDK's retries, reading an object) takes no virtual time however slow the
 * machine is, so a live claimant never loses its lease while it publishes: only a crashed claim's lease
 * runs out (and a 120 s lease does so at once). A clock running faster than real time would let a loaded
 * machine stall a publish past half the lease (0.3 s real at 200x), which production's SNS time-outs bound.
 */
export interface VirtualTime extends PipelineTime {
  /** Runs `work` as in flight: the clock waits for it, but while it sleeps. */
  inFlight<T>(work: () => Promise<T>): Promise<T>;
}

function virtualTime(): VirtualTime {
  let now = Date.now();
  /** Invocations in flight that are not asleep. */
  let running = 0;
  let sequence = 0;
  const sleepers: { until: number; order: number; wake: () => void }[] = [];
  let checkPending = false;
  const advanceWhenIdle = (): void => {
    if (checkPending) return;
    checkPending = true;
    setImmediate(() => {
      checkPending = false;
      if (running > 0 || sleepers.length === 0) return;
      sleepers.sort((a, b) => a.until - b.until || a.order - b.order);
      now = Math.max(now, sleepers[0]?.until ?? now);
      while (sleepers.length > 0 && (sleepers[0]?.until ?? Infinity) <= now) {
        const sleeper = sleepers.shift();
        running += 1;
        sleeper?.wake();
      }
    });
  };
  return {
    clock: () => now,
    sleep: (ms) =>
      new Promise<void>((wake) => {
        running -= 1;
        sleepers.push({ until: now + Math.max(0, ms), order: sequence++, wake });
        advanceWhenIdle();
      }),
    async inFlight(work) {
      running += 1;
      try {
        return await work();
      } finally {
        running -= 1;
        advanceWhenIdle();
      }
    },
  };
}

/**
 * Where the one injected fault hits. Hopping mode adds the steps of its half-slot items: after one is held,
 * after one is marked publishing, and after the alert's message id is recorded.
 */
export type CrashStep =
  | 'before-window-update'
  | 'after-window-update'
  | 'after-claim'
  | 'after-publish'
  | 'after-half-slot-claim'
  | 'after-record-alert'
  | 'after-half-slot-mark';

/** The steps that happen once or twice per firing window, not once per object and group. */
export type RareCrashStep = Exclude<CrashStep, 'before-window-update' | 'after-window-update'>;

/**
 * What the fault does after a DynamoDB write took effect: the invocation dies there (`crash`; Lambda
 * retries it), or the write's response is lost (`lost-response`: a 500, which the SDK retries within the
 * same invocation, so the write is sent again after it was applied). The faults before the window update
 * and after the publish (an SNS call) are always crashes.
 */
export type FaultKind = 'crash' | 'lost-response';

/** The fault hits the `occurrence`-th request (from 0) of its step in the case; none when there are fewer. */
export interface Crash {
  readonly step: CrashStep;
  readonly occurrence: number;
  readonly fault: FaultKind;
}

/**
 * Window updates are many per case, the `rare` steps one or two per firing window; those are drawn twice as
 * often, so that a short run still hits each of them.
 */
function crashArbitrary(rare: readonly RareCrashStep[]): fc.Arbitrary<Crash> {
  const fault = fc.constantFrom<FaultKind>('crash', 'lost-response');
  return fc
    .oneof(
      {
        weight: 1,
        arbitrary: fc.record({
          step: fc.constantFrom<CrashStep>('before-window-update', 'after-window-update'),
          occurrence: fc.nat({ max: 40 }),
          fault,
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          step: fc.constantFrom<CrashStep>(...rare),
          occurrence: fc.nat({ max: 1 }),
          fault,
        }),
      },
    )
    .map(
      (crash): Crash =>
        crash.step === 'before-window-update' || crash.step === 'after-publish'
          ? { ...crash, fault: 'crash' }
          : crash,
    );
}

/**
 * When Lambda's retry of a failed invocation comes: `at-once`, or `after-lease`: behind every delivery
 * still to come, none of which starts before the alert lease taken at the failure has run out (a platform
 * that retries minutes later, as an SQS visibility time-out does, while other objects keep arriving).
 */
export type RetryTiming = 'at-once' | 'after-lease';

/** How the platform delivers a case's notifications. */
export interface Delivery {
  /** Object indices in delivery order; an index appears once per delivery of its notification (1..3). */
  readonly order: readonly number[];
  readonly concurrency: number;
  readonly crash: Crash;
  readonly retries: RetryTiming;
  /**
   * Real milliseconds every Publish is held before it reaches SNS (explicit cases only): a loaded machine's
   * stall, which must not let a replay take over a live claim and publish the same window again.
   */
  readonly publishStallMs?: number;
}

export interface PipelineCase {
  readonly plan: CorpusPlan;
  readonly delivery: Delivery;
}

/**
 * A plan from `plans`, then a delivery for exactly its objects: copies per notification, a shuffled order,
 * concurrency 1..16, a crash or lost response at one of the window-update steps or of the `rareCrashes`,
 * and retries at once or after the lease.
 */
export function caseArbitrary(
  plans: fc.Arbitrary<CorpusPlan>,
  rareCrashes: readonly RareCrashStep[],
): fc.Arbitrary<PipelineCase> {
  const crashArb = crashArbitrary(rareCrashes);
  return plans.chain((plan) => {
    const objects = materialise(plan, caseNamespace(0)).length;
    return fc
      .record({
        deliveries: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: objects, maxLength: objects }),
        orderKeys: fc.array(fc.nat(), { minLength: 3 * objects, maxLength: 3 * objects }),
        concurrency: fc.integer({ min: 1, max: 16 }),
        crash: crashArb,
        retries: fc.constantFrom<RetryTiming>('at-once', 'after-lease'),
      })
      .map(({ deliveries, orderKeys, concurrency, crash, retries }) => {
        const copies = deliveries.flatMap((count, object) =>
          Array.from({ length: count }, (_, copy) => ({
            object,
            sortKey: orderKeys[object * 3 + copy] ?? 0,
          })),
        );
        copies.sort((a, b) => a.sortKey - b.sortKey);
        return { plan, delivery: { order: copies.map((c) => c.object), concurrency, crash, retries } };
      });
  });
}

/**
 * Stand-ins, fault proxies in front of DynamoDB and SNS, the real handler built for them in one window mode,
 * and a counter that gives every case its own namespace (fresh window items in the shared table).
 */
export interface Rig {
  readonly mode: ModelWindowMode;
  readonly environment: LocalEnvironment;
  readonly dynamodbProxy: FaultProxy;
  readonly snsProxy: FaultProxy;
  readonly handler: Handler;
  readonly store: DynamoDbWindowStore;
  /** The handler's (virtual) time, which the platform's late retries wait on too. */
  readonly time: VirtualTime;
  readonly alertLeaseMs: number;
  nextCase: number;
  stop(): Promise<void>;
}

async function startRig(
  kind: DynamoDbStandInKind,
  mode: ModelWindowMode,
  ruleEnv: Readonly<Record<string, string>>,
): Promise<Rig> {
  const modeEnv: Record<string, string> = { WINDOW_MODE: mode };
  // The enabled rules then travel whole in the function's CUSTOM_RULES_JSON (see settingsEnvironment).
  const settings = loadPipelineSettings({ ...modeEnv, ...ruleEnv });
  const environment = await startLocalEnvironment(kind);
  const dynamodbProxy = await startFaultProxy(environment.endpoints.dynamodb);
  const snsProxy = await startFaultProxy(environment.endpoints.sns);
  const time = virtualTime();
  return {
    mode,
    environment,
    dynamodbProxy,
    snsProxy,
    handler: standInHandler(environment, standInConfig(environment, settings, modeEnv), {
      endpoints: { dynamodb: dynamodbProxy.url, sns: snsProxy.url },
      time,
    }),
    time,
    alertLeaseMs: settings.alertLeaseMs,
    store: new DynamoDbWindowStore({
      client: environment.dynamodb,
      tableName: environment.tableName,
      limits: settings.limits,
      retentionSeconds: settings.retentionSeconds,
    }),
    nextCase: 0,
    async stop() {
      await dynamodbProxy.close();
      await snsProxy.close();
      await environment.stop();
    },
  };
}

/** What one case left behind. */
export interface CaseRun {
  readonly objects: readonly LogObject[];
  /** The rule over every record, in the rig's window mode. */
  readonly model: ModelOutcome;
  /** Notifications whose invocation still failed after Lambda's retries. */
  readonly failedInvocations: number;
  /** The request the crash hit, or undefined when the case had fewer requests of that step. */
  readonly crashed: ProxiedRequest | undefined;
  /** Alerts published during this case, oldest first. */
  readonly alerts: readonly PublishedAlert[];
}

/**
 * Uploads the case's objects, then delivers their S3 notifications to the real handler as Lambda would:
 * in the case's order and concurrency, with the case's crash armed, a failed invocation invoked again up to
 * twice.
 */
async function runCase(rig: Rig, testCase: PipelineCase): Promise<CaseRun> {
  const ns = caseNamespace(rig.nextCase);
  rig.nextCase += 1;
  const objects = materialise(testCase.plan, ns);
  const { environment, handler } = rig;
  await forEachConcurrently(objects, 16, async (object) => {
    await environment.s3.send(
      new PutObjectCommand({ Bucket: environment.bucket, Key: object.key, Body: object.body }),
    );
  });
  const publishedBefore = environment.recorder.published().length;
  const crash = armCrash(rig, testCase.delivery.crash, testCase.delivery.publishStallMs);
  let failedInvocations = 0;
  try {
    failedInvocations = await deliverAll(rig, testCase.delivery, (index) => {
      const object = objects[index];
      if (object === undefined) throw new RangeError(`no object ${index}`);
      return handler(s3Notification(environment.bucket, object.key, object.body.length));
    });
  } finally {
    rig.dynamodbProxy.setRule(undefined);
    rig.snsProxy.setRule(undefined);
  }
  return {
    objects,
    model: evaluateRule(
      objects.flatMap((object) => object.records),
      rig.mode,
    ),
    failedInvocations,
    crashed: crash.request(),
    alerts: publishedAlerts(environment.recorder.published().slice(publishedBefore)),
  };
}

/**
 * Delivers every notification of `delivery.order` at its concurrency, as Lambda would: a failed invocation
 * is invoked again up to twice, at once or (`after-lease`) queued behind the deliveries still to come, none
 * of which starts before the alert lease taken at the failure has run out. Returns the invocations that
 * still failed.
 */
async function deliverAll(
  rig: Rig,
  delivery: Delivery,
  invoke: (index: number) => Promise<unknown>,
): Promise<number> {
  const queue = delivery.order.map((index) => ({ index, attempt: 0 }));
  let inFlight = 0;
  let failed = 0;
  /** Accelerated-clock time before which no delivery starts (late retries only). */
  let resumeAt = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = queue.shift();
      if (next === undefined) {
        if (inFlight === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      inFlight += 1;
      try {
        await rig.time.inFlight(async () => {
          const wait = resumeAt - rig.time.clock();
          if (wait > 0) await rig.time.sleep(wait);
          for (let attempt = next.attempt; attempt <= ASYNC_RETRIES; attempt += 1) {
            try {
              await invoke(next.index);
              break;
            } catch {
              if (attempt === ASYNC_RETRIES) failed += 1;
              else if (delivery.retries === 'after-lease') {
                resumeAt = Math.max(resumeAt, rig.time.clock() + rig.alertLeaseMs + 1);
                queue.push({ index: next.index, attempt: attempt + 1 });
                break;
              }
            }
          }
        });
      } finally {
        inFlight -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: delivery.concurrency }, worker));
  return failed;
}

/**
 * Arms the case's one fault on the proxy in front of DynamoDB (window update: the apply; claims, records and
 * half-slot items) or SNS (Publish). `crashBefore` drops the request; `crashAfter` lets it take effect and
 * fails the caller; a lost response lets it take effect and answers 500, which the SDK retries.
 */
function armCrash(rig: Rig, crash: Crash, publishStallMs = 0): { request(): ProxiedRequest | undefined } {
  const steps: Record<CrashStep, WindowStoreStep | 'publish'> = {
    'before-window-update': 'apply',
    'after-window-update': 'apply',
    'after-claim': 'claim',
    'after-publish': 'publish',
    'after-half-slot-claim': 'half-slot-claim',
    'after-record-alert': 'record-alert',
    'after-half-slot-mark': 'half-slot-mark',
  };
  const step = steps[crash.step];
  const matches = (request: ProxiedRequest) =>
    step === 'publish' ? request.action === 'Publish' : windowStoreStep(request) === step;
  const fault = (): FaultAction => {
    if (crash.step === 'before-window-update') return dynamoDbFault.crashBefore();
    if (crash.step === 'after-publish') return snsFault.crashAfter();
    return crash.fault === 'lost-response' ? dynamoDbFault.internalAfterWrite() : dynamoDbFault.crashAfter();
  };
  let seen = 0;
  let hit: ProxiedRequest | undefined;
  const rule = (request: ProxiedRequest): FaultAction | undefined => {
    if (hit !== undefined || !matches(request)) return undefined;
    seen += 1;
    if (seen - 1 !== crash.occurrence) return undefined;
    hit = request;
    return fault();
  };
  const proxy = step === 'publish' ? rig.snsProxy : rig.dynamodbProxy;
  proxy.setRule(rule);
  if (publishStallMs > 0) {
    const stall: FaultAction = { kind: 'delay', ms: publishStallMs };
    rig.snsProxy.setRule((request) =>
      proxy === rig.snsProxy ? (rule(request) ?? stall) : request.action === 'Publish' ? stall : undefined,
    );
  }
  return { request: () => hit };
}

/** The window a crashed Publish carried, read from its form body as the recorder would have read it. */
export function windowOfPublish(request: ProxiedRequest): string {
  const form = new URLSearchParams(request.body.toString('utf8'));
  const [alert] = publishedAlerts([
    {
      topicArn: form.get('TopicArn') ?? '',
      messageId: 'crashed-publish',
      subject: form.get('Subject') ?? undefined,
      message: form.get('Message') ?? '',
      messageStructure: form.get('MessageStructure') ?? undefined,
      attributes: {},
      receivedAt: new Date(0),
      deliveries: [],
    },
  ]);
  if (alert === undefined) throw new Error('the crashed Publish carried no alert');
  return nameOfFinding(alert);
}

/** The window of an alert as the model names it (groupName). */
export function nameOfFinding({ finding }: PublishedAlert): string {
  return groupName(windowOfFinding({ finding }));
}

/** The window and ARN of an alert. */
export function windowOfFinding({ finding }: Pick<PublishedAlert, 'finding'>): {
  windowStart: number;
  arn: string | null;
} {
  return { windowStart: Date.parse(finding.windowStart), arn: finding.arn };
}

/**
 * An alert is published when its window first crosses both thresholds, from the objects applied by then;
 * later objects add to the window but never alert it again. So every alert is of a window the model fires,
 * of the rule the model restates and named aligned or offset as its start is; its counts lie between the
 * thresholds and the model's final counts, its regions among the model's (the final counts are checked
 * exactly on the stored item).
 */
export function assertAlertCountsWithinModel(run: CaseRun): void {
  const firing = new Map(run.model.firing.map((group) => [groupName(group), group]));
  for (const alert of run.alerts) {
    const name = nameOfFinding(alert);
    const group = firing.get(name);
    if (group === undefined) throw new Error(`alert for ${name}, which the model does not fire`);
    const { finding } = alert;
    expect(finding.ruleId, `${name}: rule`).toBe(RULE_ID);
    expect(finding.window, `${name}: window kind`).toBe(windowKind(group.windowStart));
    expect(finding.distinctCount, `${name}: region count`).toBe(finding.distinctValues.length);
    expect(finding.distinctCount, `${name}: regions`).toBeGreaterThanOrEqual(MODEL_RULE.minRegions);
    expect(group.regions, `${name}: regions`).toEqual(expect.arrayContaining([...finding.distinctValues]));
    expect(finding.eventCount, `${name}: events`).toBeGreaterThanOrEqual(MODEL_RULE.minEvents);
    expect(finding.eventCount, `${name}: events`).toBeLessThanOrEqual(group.eventCount);
  }
}

/**
 * Every object counts once: no invocation failed for good, the stored window items are exactly the model's
 * groups (aligned and offset windows in hopping mode), and each holds the model's event count and regions.
 */
export async function assertStoredCountsEqualModel(rig: Rig, run: CaseRun): Promise<void> {
  expect(run.failedInvocations, 'invocations failed after Lambda retries').toBe(0);
  expect(await storedItemNames(rig, run)).toEqual(run.model.groups.map((g) => itemName(keyOf(g))).sort());
  for (const group of run.model.groups) {
    expect(await storedCounts(rig, group), groupName(group)).toEqual({
      eventCount: group.eventCount,
      regions: group.regions,
    });
  }
}

function keyOf(group: Pick<ModelGroup, 'windowStart' | 'arn'>): GroupKey {
  return { ruleId: RULE_ID, windowStart: group.windowStart, arn: group.arn };
}

/** `<pk> <sk>` of a window item. */
function itemName(key: GroupKey): string {
  const item = windowItemKey(key);
  return `${item.pk?.S} ${item.sk?.S}`;
}

/**
 * Every window item stored in the case's windows: those of any window in which one of its records (matching
 * or not) falls, and the window starting one step (30 s; 15 s when hopping) after it.
 */
async function storedItemNames(rig: Rig, run: CaseRun): Promise<string[]> {
  const step = rig.mode === 'hopping' ? MODEL_RULE.hopMs : MODEL_RULE.windowMs;
  const windows = new Set<number>();
  for (const record of run.objects.flatMap((object) => object.records)) {
    for (const start of windowsHolding(Date.parse(String(record.eventTime)), rig.mode)) {
      windows.add(start);
      windows.add(start + step);
    }
  }
  const names: string[] = [];
  for (const windowStart of windows) {
    const pk = windowItemKey({ ruleId: RULE_ID, windowStart, arn: null }).pk;
    const output = await rig.environment.dynamodb.send(
      new QueryCommand({
        TableName: rig.environment.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk ?? { S: '' } },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      }),
    );
    for (const item of output.Items ?? []) names.push(`${item.pk?.S} ${item.sk?.S}`);
  }
  return names.sort();
}

/** The stored counts of one group, read through the store the pipeline writes with. */
async function storedCounts(rig: Rig, group: ModelGroup) {
  const state = await rig.store.get(keyOf(group));
  return state === undefined ? undefined : { eventCount: eventCountOf(state), regions: state.distinctValues };
}

/** fast-check parameters: `numRuns` cases from a fixed seed (a failure names a case that replays). */
export function runs(numRuns: number, seed: number): fc.Parameters<[PipelineCase]> {
  return { numRuns, seed, endOnFailure: true };
}

/**
 * Declares one property of a rig's block: for each case `cases` draws (`numRuns` of them from `seed`), the
 * case is delivered (once per block, see usePropertyRig) and `check` must hold on its run.
 */
export function itHoldsForEveryCase(
  name: string,
  cases: fc.Arbitrary<PipelineCase>,
  { deliver }: PropertyRig,
  draw: PropertyDraw,
  check: (run: CaseRun, testCase: PipelineCase) => void | Promise<void>,
): void {
  it(name, { timeout: PROPERTY_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (testCase) => {
        // Act
        const run = await deliver(testCase);

        // Assess
        await check(run, testCase);
      }),
      runs(draw.numRuns, draw.seed),
    );
  });
}

/** The property both window modes share: stored counts equal the model's for every group it names. */
export function itStoresTheModelCounts(
  name: string,
  cases: fc.Arbitrary<PipelineCase>,
  block: PropertyRig,
  draw: PropertyDraw,
): void {
  itHoldsForEveryCase(name, cases, block, draw, async (run) => {
    await assertStoredCountsEqualModel(block.rig(), run);
  });
}

/** How many cases a property draws, and from which fixed seed. */
export interface PropertyDraw {
  readonly numRuns: number;
  readonly seed: number;
}

const DELIVERY_UNDER_TEST =
  'real handler, shuffled redelivery at concurrency 1..16, one crash or lost response, retries at once or late';

/**
 * Declares `properties` on dynalite, and on DynamoDB Local when Java is present (reported as skipped
 * otherwise), each stand-in with its own draw.
 */
export function describeOnEveryStandIn(
  subject: string,
  properties: (kind: DynamoDbStandInKind, draw: PropertyDraw) => void,
  draws: Readonly<Record<DynamoDbStandInKind, PropertyDraw>>,
): void {
  describe(`${subject} on dynalite: ${DELIVERY_UNDER_TEST}`, () => {
    properties('dynalite', draws.dynalite);
  });
  describe.skipIf(!javaAvailable())(`${subject} on DynamoDB Local: ${DELIVERY_UNDER_TEST}`, () => {
    properties('dynamodb-local', draws['dynamodb-local']);
  });
}

/** A rig for one describe block, and its cases delivered once each. */
export interface PropertyRig {
  /** Delivers `testCase` on its first call; later calls with an equal case return that same run. */
  deliver(testCase: PipelineCase): Promise<CaseRun>;
  /** The running rig (inside tests only). */
  rig(): Rig;
}

/**
 * Starts a rig on `kind` in window `mode` before the block's tests and stops it after them. The properties of
 * a block draw the same cases from one seed, so each case is delivered once and its outcome checked by every
 * property; a shrunk case is new and runs afresh. `ruleEnv` enables other rules than the default EC2 rule
 * (the function's RULES and BUILDING_BLOCKS).
 */
export function usePropertyRig(
  kind: DynamoDbStandInKind,
  mode: ModelWindowMode,
  ruleEnv: Readonly<Record<string, string>> = {},
): PropertyRig {
  let running: Rig | undefined;
  const delivered = new Map<string, Promise<CaseRun>>();
  const rig = (): Rig => {
    if (running === undefined) throw new Error('the rig runs only inside the tests of its block');
    return running;
  };

  beforeAll(async () => {
    running = await startRig(kind, mode, ruleEnv);
  });

  afterAll(async () => {
    await running?.stop();
  });

  return {
    rig,
    deliver(testCase) {
      const id = JSON.stringify(testCase);
      const run = delivered.get(id) ?? runCase(rig(), testCase);
      delivered.set(id, run);
      return run;
    },
  };
}
