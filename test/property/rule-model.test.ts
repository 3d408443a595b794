import { describe, expect, it } from 'vitest';
import { cloudTrailEvent, DEFAULT_REGIONS, type EventSpec } from '../fixtures/events';
import { evaluateRule, overlapping } from './rule-model';

const ARN = 'arn:aws:iam::111122223333:user/alice';
let serial = 0;
const event = (spec: Partial<EventSpec> = {}) => {
  serial += 1;
  return cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z', arn: ARN, eventID: `e${serial}`, ...spec });
};
/** `regions` DescribeInstances calls, one per region, `calls` in all (cycling through the regions). */
const sweep = (regions: number, calls: number, spec: Partial<EventSpec> = {}) =>
  Array.from({ length: calls }, (_, i) => event({ awsRegion: DEFAULT_REGIONS[i % regions], ...spec }));

describe('the rule model', () => {
  it.each([
    { case: '10 regions, 10 events: fires', records: () => sweep(10, 10), fires: true },
    { case: '9 regions, 12 events: does not fire', records: () => sweep(9, 12), fires: false },
    {
      case: 'failed calls count',
      records: () => sweep(10, 10, { errorCode: 'Client.UnauthorizedOperation' }),
      fires: true,
    },
    {
      case: 'other EC2 calls and DescribeInstances of other services are not counted',
      records: () => [
        ...sweep(10, 9),
        event({ awsRegion: 'sa-east-1', eventName: 'DescribeInstanceStatus' }),
        event({ awsRegion: 'sa-east-1', eventSource: 'opsworks.amazonaws.com' }),
      ],
      fires: false,
    },
  ])('$case', ({ records, fires }) => {
    // Act
    const { firing } = evaluateRule(records());

    // Assess
    expect(firing.length).toBe(fires ? 1 : 0);
  });

  it.each([
    { case: ':29.999 is in the window of :00', eventTime: '2026-11-28T10:00:29.999Z', window: '10:00:00' },
    { case: ':30.000 starts the next window', eventTime: '2026-11-28T10:00:30.000Z', window: '10:00:30' },
    { case: ':59 is in the window of :30', eventTime: '2026-11-28T10:00:59Z', window: '10:00:30' },
    { case: ':00 of the next minute starts a window', eventTime: '2026-11-28T10:01:00Z', window: '10:01:00' },
  ])('$case', ({ eventTime, window }) => {
    // Act
    const { groups } = evaluateRule([event({ eventTime })]);

    // Assess
    expect(groups.map((g) => new Date(g.windowStart).toISOString())).toEqual([`2026-11-28T${window}.000Z`]);
  });

  it('a record repeated in the corpus (same eventID) counts once', () => {
    // Prepare
    const calls = sweep(10, 10);

    // Act
    const { groups } = evaluateRule([...calls, ...calls.slice(0, 3)]);

    // Assess
    expect(groups.map((g) => g.eventCount)).toEqual([10]);
  });

  it('events without an ARN form one null group, apart from every ARN', () => {
    // Prepare
    const records = [event({ arn: null }), event({ arn: null, accountId: '444455556666' }), event()];

    // Act
    const { groups } = evaluateRule(records);

    // Assess
    expect(groups.map((g) => [g.arn, g.eventCount])).toEqual([
      [ARN, 1],
      [null, 2],
    ]);
  });

  it.each([
    {
      case: ':15.000 is in the windows of :00 and :15',
      eventTime: '2026-11-28T10:00:15.000Z',
      windows: ['10:00:00', '10:00:15'],
    },
    {
      case: ':14.999 is in the windows of :45 before and :00',
      eventTime: '2026-11-28T10:00:14.999Z',
      windows: ['09:59:45', '10:00:00'],
    },
    {
      case: ':44.999 is in the windows of :15 and :30',
      eventTime: '2026-11-28T10:00:44.999Z',
      windows: ['10:00:15', '10:00:30'],
    },
    {
      case: ':00 is in the windows of :45 before and :00',
      eventTime: '2026-11-28T10:01:00Z',
      windows: ['10:00:45', '10:01:00'],
    },
  ])('hopping: $case', ({ eventTime, windows }) => {
    // Act
    const { groups } = evaluateRule([event({ eventTime })], 'hopping');

    // Assess
    expect(groups.map((g) => new Date(g.windowStart).toISOString())).toEqual(
      windows.map((window) => `2026-11-28T${window}.000Z`),
    );
  });

  it('hopping: a sweep straddling :30 fires only in the offset window that holds it whole', () => {
    // Prepare
    const records = sweep(10, 10).map((record, i) => ({
      ...record,
      eventTime: new Date(Date.parse('2026-11-28T10:00:25Z') + i * 1000).toISOString(),
    }));

    // Act
    const { firing } = evaluateRule(records, 'hopping');

    // Assess
    expect(firing.map((g) => new Date(g.windowStart).toISOString())).toEqual(['2026-11-28T10:00:15.000Z']);
  });

  it.each([
    { case: 'windows 15 s apart overlap', a: 0, b: 15_000, arnB: ARN, overlaps: true },
    { case: 'a window overlaps itself', a: 0, b: 0, arnB: ARN, overlaps: true },
    { case: 'windows 30 s apart do not overlap', a: 0, b: 30_000, arnB: ARN, overlaps: false },
    { case: 'windows of other ARNs do not overlap', a: 0, b: 15_000, arnB: null, overlaps: false },
  ])('$case', ({ a, b, arnB, overlaps }) => {
    // Act
    const result = overlapping({ windowStart: a, arn: ARN }, { windowStart: b, arn: arnB });

    // Assess
    expect(result).toBe(overlaps);
  });
});
