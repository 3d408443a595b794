import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { EMPTY_ALLOWLIST } from '../../lambda/domain/detection/allowlist';
import { eventCountOf } from '../../lambda/domain/detection/window-state';
import { WindowItemFullError } from '../../lambda/domain/errors';
import type { ObjectRef, WindowStore } from '../../lambda/ports';
import { processLogObject } from '../../lambda/process-log-object';
import { cloudTrailKey } from '../fixtures/corpus';
import { sweep } from '../fixtures/events';
import { memoryObjects, pipeline } from '../support/pipeline-harness';

const SETTINGS = loadPipelineSettings({});
const ARN = 'arn:aws:sts::111122223333:assumed-role/recon/session';
const LIVE = { origin: 'live', keyMode: 'strict' } as const;

/** Splits a sweep into one object per region, as CloudTrail delivers it. */
function sweepObjects(start: string, regions = 12, extra: Parameters<typeof sweep>[2] = {}) {
  return Object.fromEntries(
    sweep(regions, start, { arn: ARN, ...extra }).map((event) => [
      cloudTrailKey(
        '111122223333',
        String(event.awsRegion),
        new Date(Date.parse(start) + 300_000),
        `${start}`,
      ),
      [event],
    ]),
  );
}

/** A swept window, every object applied without alerting, then claimed by `claimant` (not yet published). */
async function claimedWindow(claimant: string) {
  const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z', 10));
  const harness = pipeline(objects);
  for (const ref of objects.refs) await processLogObject({ ...harness.deps, alerts: undefined }, ref, LIVE);
  const [state] = harness.windows.states();
  if (state === undefined) throw new Error('no window');
  const claimedAt = harness.deps.clock();
  await harness.windows.claimAlert(state, claimant, claimedAt, claimedAt + SETTINGS.alertLeaseMs);
  return { ...harness, objects, state, claimedAt };
}

describe('processLogObject', () => {
  it('a sweep delivered as one object per region publishes one alert', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z'));
    const { deps, publisher } = pipeline(objects);

    // Act
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);

    // Assess
    expect(publisher.published.map((a) => [a.finding.arn, a.finding.distinctCount])).toEqual([[ARN, 10]]);
  });

  it('replaying every object changes no count and publishes nothing more', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z'));
    const { deps, publisher, windows } = pipeline(objects);
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);
    const before = windows.states();

    // Act
    const outcomes = [];
    for (const ref of objects.refs) outcomes.push(await processLogObject(deps, ref, LIVE));

    // Assess
    expect(windows.states()).toEqual(before);
    expect(eventCountOf(before[0] ?? { eventIdHashes: [], overflowEventCount: -1 })).toBe(12);
    expect(publisher.published).toHaveLength(1);
    expect(outcomes.every((o) => o.status === 'processed' && o.alreadyApplied === 1)).toBe(true);
  });

  it('a failed publish gives the claim back: the retry publishes at once, and only once', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z', 10));
    const { deps, publisher } = pipeline(objects);
    const last = objects.refs.at(-1) as ObjectRef;
    for (const ref of objects.refs.slice(0, -1)) await processLogObject(deps, ref, LIVE);
    publisher.failNext(1);

    // Act
    const failed = await processLogObject(deps, last, LIVE).catch((error: unknown) => error);
    const retry = await processLogObject(deps, last, LIVE);
    const later = await processLogObject(deps, objects.refs[0] as ObjectRef, LIVE);

    // Assess
    expect(failed).toMatchObject({ message: 'SNS unavailable' });
    expect(retry.status === 'processed' && retry.alerts.map((a) => a.outcome)).toEqual(['published']);
    expect(later.status === 'processed' && later.alerts.map((a) => a.outcome)).toEqual(['already-alerted']);
    expect(publisher.published).toHaveLength(1);
  });

  it('a crash after the claim: the replay waits out the lease, then publishes once', async () => {
    // Prepare: a claim left behind as by an invocation that died before publishing
    const { objects, deps, publisher, claimedAt } = await claimedWindow('crashed-invocation');

    // Act: the platform's retry of the last object, inside the lease
    const retry = await processLogObject(deps, objects.refs.at(-1) as ObjectRef, LIVE);

    // Assess
    expect(retry.status === 'processed' && retry.alerts.map((a) => a.outcome)).toEqual(['published']);
    expect(deps.clock()).toBeGreaterThanOrEqual(claimedAt + SETTINGS.alertLeaseMs);
    expect(publisher.published).toHaveLength(1);
  });

  it('a duplicate delivery meeting a claim that then publishes waits for it and publishes nothing', async () => {
    // Prepare: a claimant that records its alert while the duplicate waits
    const { objects, deps, publisher, windows, state } = await claimedWindow('live-invocation');
    const sleep = async (ms: number) => {
      await deps.sleep(ms);
      await windows.recordAlert(state, 'message-from-claimant');
    };

    // Act
    const duplicate = await processLogObject({ ...deps, sleep }, objects.refs.at(-1) as ObjectRef, LIVE);

    // Assess
    expect(duplicate.status === 'processed' && duplicate.alerts.map((a) => a.outcome)).toEqual([
      'already-alerted',
    ]);
    expect(publisher.published).toEqual([]);
  });

  it('a new contribution meeting a live claim leaves the alert to the claimant', async () => {
    // Prepare: nine regions applied, a claim in flight, then the tenth region's object arrives
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z', 11));
    const { deps, publisher, windows } = pipeline(objects);
    for (const ref of objects.refs.slice(0, 10))
      await processLogObject({ ...deps, alerts: undefined }, ref, LIVE);
    const [state] = windows.states();
    if (state === undefined) throw new Error('no window');
    await windows.claimAlert(
      state,
      'other-invocation',
      Date.parse('2026-11-28T10:10:00Z'),
      Date.parse('2026-11-28T10:10:00Z') + SETTINGS.alertLeaseMs,
    );

    // Act
    const outcome = await processLogObject(deps, objects.refs[10] as ObjectRef, LIVE);

    // Assess
    expect(outcome.status === 'processed' && outcome.alerts.map((a) => a.outcome)).toEqual(['leased']);
    expect(publisher.published).toEqual([]);
  });

  it('allowlisted callers write nothing', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z'));
    const settings = {
      ...SETTINGS,
      allowlist: { ...EMPTY_ALLOWLIST, arnPatterns: ['arn:aws:sts::*:assumed-role/recon/*'] },
    };
    const { deps, publisher, windows } = pipeline(objects, settings);

    // Act
    const outcome = await processLogObject(deps, objects.refs[0] as ObjectRef, LIVE);

    // Assess
    expect(outcome.status === 'processed' && outcome.allowlistedEvents).toBe(1);
    expect(windows.states()).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it('suppression: one alert per identity per period, the next alert counts what was suppressed', async () => {
    // Prepare
    const starts = [
      '2026-11-28T10:00:01Z',
      '2026-11-28T10:01:01Z',
      '2026-11-28T10:02:01Z',
      '2026-11-28T11:30:01Z',
    ];
    const objects = memoryObjects(Object.assign({}, ...starts.map((start) => sweepObjects(start))));
    const { deps, publisher, advance } = pipeline(objects, { ...SETTINGS, suppressionMs: 60 * 60_000 });

    // Act
    for (const [i, start] of starts.entries()) {
      if (i === 3) advance(90 * 60_000);
      for (const ref of objects.refs.filter((r) => r.key.endsWith(`${start}.json.gz`)))
        await processLogObject(deps, ref, LIVE);
    }

    // Assess
    expect(publisher.published.map((a) => [a.finding.windowStart, a.suppressedWindows])).toEqual([
      ['2026-11-28T10:00:00.000Z', 0],
      ['2026-11-28T11:30:00.000Z', 2],
    ]);
  });

  it('a backfill replay says so in the alert', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z'));
    const { deps, publisher } = pipeline(objects);

    // Act
    for (const ref of objects.refs)
      await processLogObject(deps, ref, { origin: 'backfill', keyMode: 'strict' });

    // Assess
    expect(publisher.published.map((a) => a.origin)).toEqual(['backfill']);
  });

  it.each([
    {
      case: 'digest file',
      key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/28/x.json.gz',
      reason: 'digest-file',
    },
    { case: 'folder marker', key: 'AWSLogs/111122223333/CloudTrail/', reason: 'folder-marker' },
  ])('$case is skipped without a read', async ({ key, reason }) => {
    // Prepare
    const { deps } = pipeline({ open: () => Promise.reject(new Error('must not be read')) });

    // Act
    const outcome = await processLogObject(deps, { bucket: 'trail', key }, LIVE);

    // Assess
    expect(outcome).toEqual({ status: 'skipped', reason });
  });

  it('a corrupt object is poison: nothing written, the error names it', async () => {
    // Prepare
    const key = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), 'bad');
    const { deps, windows } = pipeline({
      open: async () => Readable.from([gzipSync('{"Records":[').subarray(0, 12)]),
    });

    // Act
    const outcome = await processLogObject(deps, { bucket: 'trail', key }, LIVE);

    // Assess
    expect(outcome.status).toBe('poison');
    expect(outcome.status === 'poison' && outcome.error.message).toContain(`s3://trail/${key}`);
    expect(windows.states()).toEqual([]);
  });

  it('a window item that can hold no more contributors is a permanent failure returned as poison, not thrown', async () => {
    // Prepare
    const objects = memoryObjects(sweepObjects('2026-11-28T10:00:01Z', 1));
    const { deps } = pipeline(objects);
    const full = new WindowItemFullError('window 10:00:00 of arn: the contributor shard is full');
    const windows = Object.assign(Object.create(deps.windows) as WindowStore, {
      apply: async () => {
        throw full;
      },
    });
    const [ref] = objects.refs;
    if (ref === undefined) throw new Error('no object');

    // Act
    const outcome = await processLogObject({ ...deps, windows }, ref, LIVE);

    // Assess
    expect(outcome).toEqual({ status: 'poison', error: full });
  });
});
