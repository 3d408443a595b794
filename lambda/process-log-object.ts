import { createHash } from 'node:crypto';
import type { PipelineSettings } from './config';
import { compileAllowlist } from './domain/detection/allowlist';
import { correlationsOver, findingContributions, findingIdOf } from './domain/detection/correlation';
import { ObjectAggregator, type RecordOutcome } from './domain/detection/object-aggregator';
import { isCorrelation, prefilterNeedles, type RuleDefinition } from './domain/detection/rule';
import { crossesThresholds, type Finding, findingOf, type GroupKey } from './domain/detection/window-state';
import {
  isPermanent,
  PoisonObjectError,
  type RegionSweepError,
  WindowContentionError,
} from './domain/errors';
import { type ReadStats, readCloudTrailRecords } from './domain/reading/cloudtrail-reader';
import { classifyKey, type SkipReason } from './domain/reading/object-key';
import type {
  AlertPublisher,
  HalfSlotKey,
  LogObjectBody,
  LogObjectSource,
  ObjectRef,
  ObjectVersion,
  Origin,
  StoredWindow,
  WindowStore,
} from './ports';

/** What the use case needs; pipeline.ts builds it for every entry point (handler, scan, local, backfill, test-rule). */
export interface PipelineDeps {
  readonly objects: LogObjectSource;
  readonly windows: WindowStore;
  /** Absent: thresholds are evaluated by the caller at the end (`scan`, `backfill --no-alerts`). */
  readonly alerts?: AlertPublisher;
  readonly settings: PipelineSettings;
  readonly clock: () => number;
  readonly newClaimToken: () => string;
  /** Waits while a replay watches another claim (setTimeout in production, the test clock in tests). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** How often a replay that met a live claim looks again. */
const CLAIM_POLL_MS = 250;

export interface ProcessOptions {
  readonly origin: Origin;
  /** `strict` for S3 keys, `lenient` for local files (see classifyKey). */
  readonly keyMode: 'strict' | 'lenient';
}

/**
 * `covered`: hopping mode, an overlapping window of the same group alerted for this burst.
 * `building-block`: a building block's finding, recorded once on its window and never published.
 */
export type AlertOutcome =
  | 'published'
  | 'building-block'
  | 'suppressed'
  | 'covered'
  | 'already-alerted'
  | 'leased'
  | 'claim-lost';

export interface ProcessedObject {
  readonly status: 'processed';
  readonly read: ReadStats;
  readonly matchingEvents: number;
  readonly duplicateEvents: number;
  readonly allowlistedEvents: number;
  readonly invalidRecords: number;
  /** Up to three reasons, for the log line. */
  readonly invalidExamples: readonly string[];
  readonly groups: number;
  readonly itemsUpdated: number;
  /** Groups this object had already contributed to (redelivery, retry or replay): nothing changed. */
  readonly alreadyApplied: number;
  /** Findings this object's windows added to a correlation window for the first time (one write each). */
  readonly findingsCorrelated: number;
  readonly alerts: readonly {
    readonly key: GroupKey;
    readonly outcome: AlertOutcome;
    readonly messageId?: string;
  }[];
  /** Newest eventTime among matching events (epoch ms), for the delivery-lag metric. */
  readonly newestEventTime?: number;
}

export type ObjectOutcome =
  | { readonly status: 'skipped'; readonly reason: SkipReason }
  /** A permanent failure (a poison object, a window item that can take no more): retrying cannot help. */
  | { readonly status: 'poison'; readonly error: RegionSweepError }
  | ProcessedObject;

/**
 * Processes one CloudTrail log object: the one code path of the handler, `scan`, `local` and `backfill`.
 * 1. Classify the key: digests, Insights files, folder markers and empty objects are skipped.
 * 2. Stream the object through the reader; only prefilter hits are parsed; the exact rule and the allowlist
 *    decide per record, for every enabled rule; matches aggregate per (rule, window, group) in memory.
 * 3. Write one contribution per group to the window store, exactly once per object (replays change nothing).
 * 4. For every group at or over both thresholds (a finding) of a rule that a correlation counts, write the
 *    finding to the correlation's window, exactly once per finding (see correlateFinding); a correlation
 *    window at or over its thresholds alerts as in 5. This comes before 5, so that a finding is fed before
 *    its own window is decided: a crash between the two is retried, and the replay feeds it again.
 * 5. For every finding that has not alerted, claim and publish the alert; a building block's finding is
 *    recorded on its window instead, never published.
 * A permanent failure is returned as `poison`, never thrown: a poison object (corrupt, wrong shape, over
 * limits) writes nothing; a group that can never be written (a full item) is reported after the object's
 * other groups were written. Any other error (throttling, network, 5xx) propagates so the platform retries
 * the object.
 */
export async function processLogObject(
  deps: PipelineDeps,
  ref: ObjectRef,
  options: ProcessOptions,
): Promise<ObjectOutcome> {
  const keyClass = classifyKey(ref.key, ref.size, options.keyMode);
  if (keyClass.kind === 'skip') return { status: 'skipped', reason: keyClass.reason };

  const { rules, allowlist, limits, reader } = deps.settings;
  const isAllowlisted = compileAllowlist(allowlist);
  // Every enabled rule sees every record of the one pass over the object; correlations read findings only.
  const eventRules = rules.filter((rule) => !isCorrelation(rule));
  const aggregators = eventRules.map((rule) => new ObjectAggregator(rule, isAllowlisted, limits));
  const counts = { matching: 0, duplicate: 0, allowlisted: 0, invalid: 0 };
  const invalidExamples: string[] = [];
  const countInvalid = (reason: string) => {
    counts.invalid += 1;
    if (invalidExamples.length < 3) invalidExamples.push(reason);
  };
  let newestEventTime: number | undefined;
  let read: ReadStats;
  let body: LogObjectBody;
  try {
    body = await deps.objects.open(ref);
    read = await readCloudTrailRecords(body, {
      objectName: objectName(ref),
      limits: reader,
      needles: prefilterNeedles(eventRules),
      onRecord: (record) => {
        const outcome = strongestOutcome(aggregators.map((aggregator) => aggregator.add(record)));
        if (outcome.kind === 'counted') counts.matching += 1;
        else if (outcome.kind === 'duplicate') counts.duplicate += 1;
        else if (outcome.kind === 'allowlisted') counts.allowlisted += 1;
        else if (outcome.kind === 'invalid') countInvalid(outcome.reason);
      },
      // A record nested too deep is skipped like any unusable record: the rest of the object counts.
      onSkippedRecord: countInvalid,
    });
  } catch (error) {
    if (error instanceof PoisonObjectError) return { status: 'poison', error };
    throw error;
  }

  const contributorId = contributorIdOf(ref, body.version);
  const now = deps.clock();
  const alerts: ProcessedObject['alerts'][number][] = [];
  let itemsUpdated = 0;
  let alreadyApplied = 0;
  let findingsCorrelated = 0;
  const contributions = aggregators.flatMap((aggregator) => aggregator.contributions());
  // One group failing (a full item, throttling, a 5xx past the SDK's retries, a failed publish) must not cost
  // the object's other groups: each is written and alerts, then the object fails with the first error and
  // is retried (groups already applied change nothing on the retry).
  let firstFailure: unknown;
  for (const contribution of contributions) {
    newestEventTime = Math.max(newestEventTime ?? contribution.lastEventTime, contribution.lastEventTime);
    try {
      const { state, applied } = await deps.windows.apply(contribution, contributorId, now);
      if (applied) itemsUpdated += 1;
      else alreadyApplied += 1;
      const rule = rules.find((candidate) => candidate.id === state.ruleId);
      if (rule === undefined || !crossesThresholds(state, rule)) continue;
      // 4.
      for (const correlation of correlationsOver(rules, rule)) {
        const fed = await correlateFinding(deps, rule, state, correlation, options.origin, !applied);
        findingsCorrelated += fed.applied;
        alerts.push(...fed.alerts);
      }
      // 5.
      if (deps.alerts === undefined) continue;
      const outcome = await decideFinding(deps, deps.alerts, rule, state, options.origin, !applied);
      if (outcome !== undefined) alerts.push({ key: state, ...outcome });
    } catch (error) {
      firstFailure ??= error;
    }
  }
  if (firstFailure !== undefined) {
    if (isPermanent(firstFailure)) return { status: 'poison', error: firstFailure };
    throw firstFailure;
  }
  return {
    status: 'processed',
    read,
    matchingEvents: counts.matching,
    duplicateEvents: counts.duplicate,
    allowlistedEvents: counts.allowlisted,
    invalidRecords: counts.invalid,
    invalidExamples,
    groups: contributions.length,
    itemsUpdated,
    alreadyApplied,
    findingsCorrelated,
    alerts,
    ...(newestEventTime === undefined ? {} : { newestEventTime }),
  };
}

/**
 * Step 4 of processLogObject: writes the finding `state` of `rule` to the windows of `correlation` (two in
 * hopping mode), with the finding's id as contributor. The store applies it once per finding: a replayed
 * object, a later object re-crossing the same window, or a retry after a crash between this write and the
 * alert all find the finding counted (`applied` false) and change nothing. A correlation window at or over
 * its thresholds alerts through dispatchAlert, as any window does; `replay` (the object's own write was
 * already applied) lets it wait out a live claim that may be its own earlier attempt's.
 */
async function correlateFinding(
  deps: PipelineDeps,
  rule: RuleDefinition,
  state: StoredWindow,
  correlation: RuleDefinition,
  origin: Origin,
  replay: boolean,
): Promise<{ applied: number; alerts: ProcessedObject['alerts'][number][] }> {
  let applied = 0;
  const alerts: ProcessedObject['alerts'][number][] = [];
  for (const contribution of findingContributions(state, rule, correlation)) {
    const fed = await deps.windows.apply(contribution, findingIdOf(state), deps.clock());
    if (fed.applied) applied += 1;
    if (deps.alerts === undefined || !crossesThresholds(fed.state, correlation)) continue;
    const outcome = await dispatchAlert(deps, deps.alerts, correlation, fed.state, origin, replay);
    if (outcome !== undefined) alerts.push({ key: fed.state, ...outcome });
  }
  return { applied, alerts };
}

/** Step 5 of processLogObject: a building block's finding is recorded, any other's alert published. */
function decideFinding(
  deps: PipelineDeps,
  publisher: AlertPublisher,
  rule: RuleDefinition,
  state: StoredWindow,
  origin: Origin,
  replay: boolean,
): Promise<{ outcome: AlertOutcome; messageId?: string } | undefined> {
  return rule.buildingBlock === true
    ? recordBuildingBlock(deps, rule, state, replay)
    : dispatchAlert(deps, publisher, rule, state, origin, replay);
}

/**
 * Records a building block's finding once per window, through the alert's own exactly-once claim: steps 1-3
 * of dispatchAlert, then the window is marked decided (as a suppressed window is) instead of published.
 * One invocation wins the claim, so the finding is reported `building-block` once; later contributions and
 * replays find the window decided (`already-alerted`) and write nothing. A crash between the claim and the
 * mark leaves a lease that a replay waits out, then claims and marks itself.
 */
async function recordBuildingBlock(
  deps: PipelineDeps,
  rule: RuleDefinition,
  found: StoredWindow,
  replay: boolean,
): Promise<{ outcome: AlertOutcome } | undefined> {
  const open = await openWindow(deps, rule, found, replay);
  if (open.kind !== 'open') return open.result;
  const now = deps.clock();
  const token = deps.newClaimToken();
  if (!(await deps.windows.claimAlert(open.state, token, now, now + deps.settings.alertLeaseMs))) {
    return { outcome: 'claim-lost' };
  }
  await deps.windows.recordSuppressed(open.state, token);
  return { outcome: 'building-block' };
}

/**
 * Publishes the alert of a window that crossed both thresholds, at most once per window:
 * 1. Skip a window that already alerted or was suppressed (recorded on the item).
 * 2. While another invocation's claim lease holds, a new contribution leaves the alert to it; a replay of
 *    an object (a retry or a redelivery, possibly of the attempt that claimed and died) waits until the
 *    alert is recorded or the lease runs out, then claims itself: a crash after the claim loses no alert,
 *    and a benign duplicate delivery costs a short wait, not an error.
 * 3. Win the conditional claim: exactly one concurrent invocation does.
 * 4. Hopping mode: hold both half-slots of the window, so that no two overlapping windows of a group alert
 *    (see holdHalfSlots); a window overlapping one that published is `covered`.
 * 5. Per-identity suppression, when configured: a denied window is marked suppressed and counted into the
 *    identity's next alert.
 * 6. Hopping mode: mark both half-slots as publishing. From here a publish may reach SNS whatever the caller
 *    sees, so the marks never expire: no overlapping window can take the half-slots over after the lease,
 *    however late this window's retry comes.
 * 7. Fence: the claim must still be this invocation's, with half its lease left for the publish (the SNS
 *    client's time-outs bound the publish within it); a holder that stalled past its lease, whose window a
 *    replay may have claimed since, publishes nothing.
 * 8. Publish, then record the message id. A failed publish gives the claim back before the error
 *    propagates, so the retry publishes at once. A crash between 8 and its record is the one case that can
 *    publish twice (after the lease): alerts are at-least-once there, exactly-once everywhere else.
 */
async function dispatchAlert(
  deps: PipelineDeps,
  publisher: AlertPublisher,
  rule: RuleDefinition,
  found: StoredWindow,
  origin: Origin,
  replay: boolean,
): Promise<{ outcome: AlertOutcome; messageId?: string } | undefined> {
  // 1-2.
  const open = await openWindow(deps, rule, found, replay);
  if (open.kind !== 'open') return open.result;
  const { state, finding } = open;
  // 3.
  const now = deps.clock();
  const token = deps.newClaimToken();
  const leaseUntil = now + deps.settings.alertLeaseMs;
  if (!(await deps.windows.claimAlert(state, token, now, leaseUntil))) return { outcome: 'claim-lost' };
  // 4.
  const halfSlots = rule.windowMode === 'hopping' ? halfSlotsOf(state, rule) : [];
  if ((await claimHalfSlots(deps, state, halfSlots, token, leaseUntil)) === 'covered')
    return { outcome: 'covered' };
  // 5.
  const suppression = await reserveSuppression(deps, state, halfSlots, token, now);
  if (suppression.kind === 'suppressed') return { outcome: 'suppressed' };
  // 6-7.
  await markHalfSlots(deps, state, halfSlots, token);
  if (!(await fenceClaim(deps, state, token))) return { outcome: 'claim-lost' };
  // 8.
  let messageId: string;
  try {
    messageId = await publisher.publish({
      finding,
      origin,
      suppressedWindows: suppression.suppressedWindows,
    });
  } catch (error) {
    // Give the claim back so that the platform's retry of this object can claim and publish at once. The
    // half-slots stay marked: SNS may have taken the message before failing, and only this window's own
    // retry may then publish again, never an overlapping window.
    await deps.windows.releaseClaim(state, token);
    throw error;
  }
  await deps.windows.recordAlert(state, messageId);
  return { outcome: 'published', messageId };
}

/**
 * Steps 1-2 of dispatchAlert: the window as it stands once no other claim's lease holds it, or the result
 * when there is nothing to publish (no finding, already alerted, left to a live claim).
 */
async function openWindow(
  deps: PipelineDeps,
  rule: RuleDefinition,
  found: StoredWindow,
  replay: boolean,
): Promise<
  | { readonly kind: 'open'; readonly state: StoredWindow; readonly finding: Finding }
  | { readonly kind: 'done'; readonly result: { outcome: AlertOutcome } | undefined }
> {
  let state: StoredWindow | undefined = found;
  for (;;) {
    const finding = state === undefined ? undefined : findingOf(state, rule, deps.settings.rules);
    if (state === undefined || finding === undefined) return { kind: 'done', result: undefined };
    if (state.alert.messageId !== undefined || state.alert.suppressed === true)
      return { kind: 'done', result: { outcome: 'already-alerted' } };
    const now = deps.clock();
    const leaseUntil = state.alert.leaseUntil;
    if (leaseUntil === undefined || leaseUntil <= now) return { kind: 'open', state, finding };
    if (!replay) return { kind: 'done', result: { outcome: 'leased' } };
    // A replay (a retry or a redelivery) meets a live claim, which may be this object's own earlier attempt
    // that died before publishing. Wait for the claimant's alert, or for its lease to run out and take over.
    await deps.sleep(Math.min(CLAIM_POLL_MS, leaseUntil - now + 1));
    state = await deps.windows.get(state);
  }
}

/**
 * Step 4 of dispatchAlert, hopping mode (no half-slots otherwise): holds both half-slots under claim `token`.
 * A covered window is marked suppressed; a failure gives the window's claim back so that the retry need not
 * wait out its lease.
 */
async function claimHalfSlots(
  deps: PipelineDeps,
  state: StoredWindow,
  halfSlots: readonly HalfSlotKey[],
  token: string,
  leaseUntil: number,
): Promise<'held' | 'covered'> {
  if (halfSlots.length === 0) return 'held';
  let held: 'held' | 'covered';
  try {
    held = await holdHalfSlots(deps, state, halfSlots, leaseUntil);
  } catch (error) {
    await deps.windows.releaseClaim(state, token);
    throw error;
  }
  // An overlapping window of the same group published: this burst is in that alert.
  if (held === 'covered') await deps.windows.recordSuppressed(state, token);
  return held;
}

/**
 * Step 5 of dispatchAlert: per-identity suppression, when configured. A denied window gives its half-slots
 * back and is marked suppressed; an allowed one carries the count of windows suppressed before it.
 */
async function reserveSuppression(
  deps: PipelineDeps,
  state: StoredWindow,
  halfSlots: readonly HalfSlotKey[],
  token: string,
  now: number,
): Promise<
  { readonly kind: 'suppressed' } | { readonly kind: 'allowed'; readonly suppressedWindows: number }
> {
  if (deps.settings.suppressionMs <= 0) return { kind: 'allowed', suppressedWindows: 0 };
  const reserved = await deps.windows.reserveAlertSlot(state, now, deps.settings.suppressionMs);
  if (reserved.allowed) return { kind: 'allowed', suppressedWindows: reserved.suppressedWindows };
  await releaseHalfSlots(deps, state, halfSlots, { evenIfMarked: false });
  await deps.windows.recordSuppressed(state, token);
  return { kind: 'suppressed' };
}

/** Step 6 of dispatchAlert: marks both half-slots as publishing, or fails the object to be retried. */
async function markHalfSlots(
  deps: PipelineDeps,
  state: StoredWindow,
  halfSlots: readonly HalfSlotKey[],
  token: string,
): Promise<void> {
  for (const halfSlot of halfSlots) {
    if (!(await deps.windows.markHalfSlotAlerted(halfSlot, state.windowStart))) {
      // An overlapping window took this half-slot over after this claim's lease ran out: the object is
      // retried, and its retry finds this window covered (or the half-slot free again).
      await deps.windows.releaseClaim(state, token);
      throw new WindowContentionError(
        `rule ${state.ruleId} window ${new Date(state.windowStart).toISOString()}: an overlapping window ` +
          'took a half-slot over before the publish; the object is retried',
      );
    }
  }
}

/**
 * Step 7 of dispatchAlert: true while claim `token` still holds the window with half its lease left; false
 * once another claim took it over; a claim with too little lease left is given back and the object retried.
 */
async function fenceClaim(deps: PipelineDeps, state: StoredWindow, token: string): Promise<boolean> {
  const held = await deps.windows.heldClaim(state, token);
  if (held === undefined) return false;
  if (deps.clock() > held.leaseUntil - deps.settings.alertLeaseMs / 2) {
    await deps.windows.releaseClaim(state, token);
    throw new WindowContentionError(
      `rule ${state.ruleId} window ${new Date(state.windowStart).toISOString()}: less than half of the ` +
        "alert claim's lease is left to publish; the object is retried",
    );
  }
  return true;
}

/** The two half-windows a hopping window covers; its neighbours, offset by half a window, share one each. */
function halfSlotsOf(key: GroupKey, rule: RuleDefinition): HalfSlotKey[] {
  const half = rule.windowSeconds * 500;
  const group = { ruleId: key.ruleId, arn: key.arn, ...(key.by === undefined ? {} : { by: key.by }) };
  return [0, 1].map((index) => ({
    ...group,
    slotStart: key.windowStart + index * half,
    slotEnd: key.windowStart + (index + 1) * half,
  }));
}

/**
 * Hopping mode: takes both half-slots of the window, in ascending order (so two windows never wait on each
 * other), while this invocation holds the window's claim until `leaseUntil`. A half-slot marked by an
 * overlapping window means this window is covered by that window's publish: it then gives back even
 * half-slots it had marked itself (the neighbour's mark proves this window never marked both, so never
 * published).
 * A half-slot held by a live overlapping claim is waited for: that window either publishes (this one is then
 * covered) or gives the half-slot back. If the wait would eat into the half of this window's lease kept for
 * publishing, everything is given back and the object fails, to be retried.
 */
async function holdHalfSlots(
  deps: PipelineDeps,
  key: GroupKey,
  halfSlots: readonly HalfSlotKey[],
  leaseUntil: number,
): Promise<'held' | 'covered'> {
  // Half of this claim's lease stays for the publish: a claim that runs out while its holder still publishes
  // lets a replay of the same window claim it and publish too.
  const waitUntil = leaseUntil - deps.settings.alertLeaseMs / 2;
  for (const halfSlot of halfSlots) {
    for (;;) {
      const now = deps.clock();
      const claim = await deps.windows.claimHalfSlot(halfSlot, key.windowStart, now, leaseUntil);
      if (claim.kind === 'held') break;
      if (claim.kind === 'alerted') {
        await releaseHalfSlots(deps, key, halfSlots, { evenIfMarked: true });
        return 'covered';
      }
      if (claim.leaseUntil > waitUntil) {
        await giveUp(
          deps,
          key,
          halfSlots,
          'an overlapping window holds a shared half-slot past the time left to publish',
        );
      }
      await deps.sleep(Math.min(CLAIM_POLL_MS, claim.leaseUntil - now + 1));
    }
  }
  if (deps.clock() > waitUntil) {
    await giveUp(deps, key, halfSlots, 'taking the half-slots left too little of the claim to publish');
  }
  return 'held';
}

/** Gives the half-slots back and fails the object with a transient error, so the platform retries it. */
async function giveUp(
  deps: PipelineDeps,
  key: GroupKey,
  halfSlots: readonly HalfSlotKey[],
  why: string,
): Promise<never> {
  // Marked half-slots stay: an earlier attempt of this window may have published.
  await releaseHalfSlots(deps, key, halfSlots, { evenIfMarked: false });
  throw new WindowContentionError(
    `rule ${key.ruleId} window ${new Date(key.windowStart).toISOString()}: ${why}; the object is retried`,
  );
}

async function releaseHalfSlots(
  deps: PipelineDeps,
  key: GroupKey,
  halfSlots: readonly HalfSlotKey[],
  options: { readonly evenIfMarked: boolean },
): Promise<void> {
  for (const halfSlot of halfSlots) await deps.windows.releaseHalfSlot(halfSlot, key.windowStart, options);
}

/** What the record was to the rules as a whole: counted by any rule beats duplicate, allowlisted, invalid, filtered. */
function strongestOutcome(outcomes: readonly RecordOutcome[]): RecordOutcome {
  let strongest: RecordOutcome = { kind: 'filtered' };
  for (const outcome of outcomes) {
    if (OUTCOME_RANK[outcome.kind] > OUTCOME_RANK[strongest.kind]) strongest = outcome;
  }
  return strongest;
}

const OUTCOME_RANK: Readonly<Record<RecordOutcome['kind'], number>> = {
  filtered: 0,
  invalid: 1,
  allowlisted: 2,
  duplicate: 3,
  counted: 4,
};

/** `s3://bucket/key` (with `?versionId=` when versioned), or a local file's path: how errors and logs name an object. */
export function objectName(ref: ObjectRef): string {
  if (ref.bucket === '') return ref.key;
  const base = `s3://${ref.bucket}/${ref.key}`;
  return ref.versionId === undefined ? base : `${base}?versionId=${ref.versionId}`;
}

/**
 * The object's identity in window items: 96 bits of SHA-256 over bucket, key, and the ETag and size of the
 * version read. Every path reads the same version of an object with the same ETag and size, so a live
 * notification (with a version id), EventBridge, SQS and a backfill (whose listing gives no version id)
 * agree, and an overwrite at the same key in an unversioned bucket is a new object. Short, so a window item
 * holds thousands of contributors within DynamoDB's 400 KB; the same object always maps to the same id,
 * which is what makes redelivery and replay idempotent. A local file has no version: its path names it.
 */
export function contributorIdOf(ref: ObjectRef, version: ObjectVersion | undefined): string {
  const read = version === undefined ? '' : `${version.eTag}\u0000${version.size}`;
  return createHash('sha256')
    .update(`${ref.bucket}\u0000${ref.key}\u0000${read}`)
    .digest('base64url')
    .slice(0, 16);
}
