import { describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { WindowContentionError } from '../../lambda/domain/errors';
import type { HalfSlotKey, ObjectRef, WindowStore } from '../../lambda/ports';
import { type ProcessedObject, processLogObject } from '../../lambda/process-log-object';
import { cloudTrailEvent } from '../fixtures/events';
import { memoryObjects, pipeline } from '../support/pipeline-harness';

const ARN = 'arn:aws:sts::111122223333:assumed-role/recon/session';
const RULE_ID = '393ef120-63d1-11ef-8e38-f661ea17fbce';
const LIVE = { origin: 'live', keyMode: 'strict' } as const;
const HOPPING = loadPipelineSettings({ WINDOW_MODE: 'hopping' });
const TUMBLING = loadPipelineSettings({});

/** One DescribeInstances call per entry, each in its own region and its own object, in the order given. */
function callsAt(...times: readonly string[]) {
  return memoryObjects(
    Object.fromEntries(
      times.map((eventTime, index) => [
        `AWSLogs/111122223333/CloudTrail/region-${index}/2026/11/28/111122223333_CloudTrail_region-${index}_20261128T1005Z_${eventTime.replace(/\D/g, '')}.json.gz`,
        [cloudTrailEvent({ arn: ARN, eventTime, awsRegion: `region-${index}` })],
      ]),
    ),
  );
}

/** `count` calls one second apart from `start`. */
function secondsFrom(start: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => new Date(Date.parse(start) + i * 1000).toISOString());
}

describe('hopping windows', () => {
  it('a burst straddling the :30 boundary is missed by tumbling windows, as by Elastic', async () => {
    // Prepare
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:25Z', 10));
    const { deps, publisher } = pipeline(objects, TUMBLING);

    // Act
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);

    // Assess
    expect(publisher.published).toEqual([]);
  });

  it('the same burst is caught by the offset window, and the alert says so', async () => {
    // Prepare
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:25Z', 10));
    const { deps, publisher } = pipeline(objects, HOPPING);

    // Act
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);

    // Assess
    expect(
      publisher.published.map(({ finding }) => [finding.windowStart, finding.window, finding.eventCount]),
    ).toEqual([['2026-11-28T10:00:15.000Z', 'offset', 10]]);
  });

  it('a burst inside two overlapping windows gives one alert; the other window is covered', async () => {
    // Prepare
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:16Z', 10));
    const { deps, publisher } = pipeline(objects, HOPPING);

    // Act
    const outcomes: ProcessedObject[] = [];
    for (const ref of objects.refs) {
      const outcome = await processLogObject(deps, ref, LIVE);
      if (outcome.status === 'processed') outcomes.push(outcome);
    }

    // Assess
    expect(publisher.published.map(({ finding }) => finding.window)).toEqual(['aligned']);
    expect(
      outcomes.flatMap((o) => o.alerts.map((a) => [new Date(a.key.windowStart).toISOString(), a.outcome])),
    ).toEqual([
      ['2026-11-28T10:00:00.000Z', 'published'],
      ['2026-11-28T10:00:15.000Z', 'covered'],
    ]);
  });

  it('whichever overlapping window crosses first alerts, whatever the arrival order', async () => {
    // Prepare: the offset window [:15, :45) reaches 10 calls first; the aligned [:00, :30) only with the last.
    const objects = callsAt(
      '2026-11-28T10:00:35Z',
      ...secondsFrom('2026-11-28T10:00:16Z', 9),
      '2026-11-28T10:00:05Z',
    );
    const { deps, publisher } = pipeline(objects, HOPPING);

    // Act
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);

    // Assess
    expect(publisher.published.map(({ finding }) => [finding.windowStart, finding.window])).toEqual([
      ['2026-11-28T10:00:15.000Z', 'offset'],
    ]);
  });

  it('two bursts a minute apart are two alerts: windows that do not overlap alert apart', async () => {
    // Prepare
    const objects = callsAt(
      ...secondsFrom('2026-11-28T10:00:01Z', 10),
      ...secondsFrom('2026-11-28T10:01:01Z', 10),
    );
    const { deps, publisher } = pipeline(objects, HOPPING);

    // Act
    for (const ref of objects.refs) await processLogObject(deps, ref, LIVE);

    // Assess: each burst alerts once, from the first of its two windows to cross (an object's windows are
    // written in time order, so the earlier one).
    expect(publisher.published.map(({ finding }) => [finding.windowStart, finding.firstEventTime])).toEqual([
      ['2026-11-28T09:59:45.000Z', '2026-11-28T10:00:01.000Z'],
      ['2026-11-28T10:00:45.000Z', '2026-11-28T10:01:01.000Z'],
    ]);
  });

  it('every object processed at once still gives one alert for one burst', async () => {
    // Prepare
    const objects = callsAt(
      ...secondsFrom('2026-11-28T10:00:16Z', 10),
      ...secondsFrom('2026-11-28T10:00:17Z', 10),
    );
    const { deps, publisher } = pipeline(objects, HOPPING);

    // Act
    await Promise.all(objects.refs.map((ref) => processLogObject(deps, ref, LIVE)));

    // Assess
    expect(publisher.published).toHaveLength(1);
  });

  it('a failed publish keeps the half-slots for its own retry: it publishes, the overlapping window stays covered', async () => {
    // Prepare
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:16Z', 10));
    const { deps, publisher } = pipeline(objects, HOPPING);
    const last = objects.refs.at(-1);
    if (last === undefined) throw new Error('no object');
    for (const ref of objects.refs.slice(0, -1)) await processLogObject(deps, ref, LIVE);
    publisher.failNext(1);
    await expect(processLogObject(deps, last, LIVE)).rejects.toThrow('SNS unavailable');

    // Act
    await processLogObject(deps, last, LIVE);

    // Assess
    expect(publisher.published.map(({ finding }) => finding.window)).toEqual(['aligned']);
  });

  it('a window whose claimant crashed holding a shared half-slot is taken over after the lease', async () => {
    // Prepare: the aligned window [:00, :30) crossed and its claimant died holding both half-slots.
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:16Z', 10));
    const { deps, publisher, windows } = pipeline(objects, HOPPING);
    for (const ref of objects.refs) await processLogObject({ ...deps, alerts: undefined }, ref, LIVE);
    const aligned = Date.parse('2026-11-28T10:00:00Z');
    const crashedAt = deps.clock();
    const leaseUntil = crashedAt + HOPPING.alertLeaseMs;
    await windows.claimAlert(
      { ruleId: RULE_ID, windowStart: aligned, arn: ARN },
      'crashed',
      crashedAt,
      leaseUntil,
    );
    for (const slotStart of [aligned, aligned + 15_000]) {
      const slot: HalfSlotKey = { ruleId: RULE_ID, arn: ARN, slotStart, slotEnd: slotStart + 15_000 };
      await windows.claimHalfSlot(slot, aligned, crashedAt, leaseUntil);
    }
    const first = objects.refs[0];
    if (first === undefined) throw new Error('no object');

    // Act: a redelivery waits out the dead claims, then publishes one alert.
    const outcome = await processLogObject(deps, first, LIVE);

    // Assess
    expect(publisher.published).toHaveLength(1);
    expect(deps.clock()).toBeGreaterThanOrEqual(leaseUntil);
    expect(outcome.status === 'processed' && outcome.alerts.map((a) => a.outcome)).toContain('published');
  });

  it('a shared half-slot held past this claim fails the object for a retry, giving its own claim back', async () => {
    // Prepare: a burst in [:15, :30) counted, its aligned window [:00, :30) claimed by an invocation that
    // died holding the shared half-slot [:15, :30) with a lease longer than a new claim's.
    const burst = callsAt(...secondsFrom('2026-11-28T10:00:16Z', 9));
    const { deps, publisher, windows, advance } = pipeline(burst, HOPPING);
    for (const ref of burst.refs) await processLogObject({ ...deps, alerts: undefined }, ref, LIVE);
    const aligned = Date.parse('2026-11-28T10:00:00Z');
    const longLease = deps.clock() + 3 * HOPPING.alertLeaseMs;
    const shared: HalfSlotKey = {
      ruleId: RULE_ID,
      arn: ARN,
      slotStart: aligned + 15_000,
      slotEnd: aligned + 30_000,
    };
    await windows.claimHalfSlot(shared, aligned, deps.clock(), longLease);
    const late = memoryObjects({
      'AWSLogs/111122223333/CloudTrail/region-9/2026/11/28/111122223333_CloudTrail_region-9_20261128T1005Z_late.json.gz':
        [cloudTrailEvent({ arn: ARN, eventTime: '2026-11-28T10:00:35Z', awsRegion: 'region-9' })],
    });
    const lateRef = late.refs[0];
    if (lateRef === undefined) throw new Error('no object');
    const offset = { ruleId: RULE_ID, windowStart: Date.parse('2026-11-28T10:00:15Z'), arn: ARN };
    const both = {
      ...deps,
      objects: { open: (ref: ObjectRef) => (ref.key === lateRef.key ? late : burst).open(ref) },
    };

    // Act
    const failed = processLogObject(both, lateRef, LIVE);
    await expect(failed).rejects.toThrow(WindowContentionError);
    const afterFailure = await windows.get(offset);
    advance(3 * HOPPING.alertLeaseMs);
    await processLogObject(both, lateRef, LIVE);

    // Assess
    expect(afterFailure?.alert.leaseUntil).toBeUndefined();
    expect(publisher.published.map(({ finding }) => [finding.windowStart, finding.eventCount])).toEqual([
      ['2026-11-28T10:00:15.000Z', 10],
    ]);
  });

  it('a crash after the publish, before its message id is recorded, still leaves the overlapping window covered', async () => {
    // Prepare: the aligned window [:00, :30) publishes, then its invocation dies before recording the alert.
    const objects = callsAt(...secondsFrom('2026-11-28T10:00:16Z', 10));
    const { deps, publisher, windows } = pipeline(objects, HOPPING);
    let crashes = 1;
    const crashing: WindowStore = Object.assign(Object.create(windows) as WindowStore, {
      recordAlert: async (...args: Parameters<WindowStore['recordAlert']>) => {
        if (crashes-- > 0) throw new Error('the process died');
        return windows.recordAlert(...args);
      },
    });
    const last = objects.refs.at(-1);
    if (last === undefined) throw new Error('no object');
    for (const ref of objects.refs.slice(0, -1)) await processLogObject(deps, ref, LIVE);
    await expect(processLogObject({ ...deps, windows: crashing }, last, LIVE)).rejects.toThrow(
      'the process died',
    );
    const late = memoryObjects({
      'AWSLogs/111122223333/CloudTrail/region-9/2026/11/28/111122223333_CloudTrail_region-9_20261128T1005Z_late.json.gz':
        [cloudTrailEvent({ arn: ARN, eventTime: '2026-11-28T10:00:40Z', awsRegion: 'region-late' })],
    });
    const lateRef = late.refs[0];
    if (lateRef === undefined) throw new Error('no object');

    // Act: after the dead claim's lease, a late object adds to the offset window [:15, :45).
    await deps.sleep(2 * HOPPING.alertLeaseMs);
    const outcome = await processLogObject({ ...deps, objects: late }, lateRef, LIVE);

    // Assess: the offset window is covered by the aligned window's alert (the crashing invocation already
    // recorded it so: a failing group does not stop the object's others); only that one message went out.
    expect(outcome.status === 'processed' && outcome.alerts.map((a) => a.outcome)).toEqual([
      'already-alerted',
    ]);
    expect(publisher.published.map(({ finding }) => finding.window)).toEqual(['aligned']);
  });
});
