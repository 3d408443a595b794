import { describe, expect, it } from 'vitest';
import { compileAllowlist, EMPTY_ALLOWLIST } from '../../lambda/domain/allowlist';
import {
  DISCOVERY_API_CALLS_VIA_CLI,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
} from '../../lambda/domain/built-in-rules';
import { ObjectAggregator } from '../../lambda/domain/object-aggregator';
import { prefilterNeedles, type RuleDefinition, windowStartOf } from '../../lambda/domain/rule';
import {
  boundedDistinctValue,
  DEFAULT_STATE_LIMITS,
  type Finding,
  findingOf,
  mergeContribution,
  sampleOffers,
  type WindowState,
} from '../../lambda/domain/window-state';
import { cloudTrailEvent, DEFAULT_REGIONS, sweep } from '../fixtures/events';

const RULE = EC2_MULTI_REGION_DESCRIBE_INSTANCES;

/** Runs the rule over records split into objects, merging per group as the window store does. */
function evaluate(objects: readonly (readonly unknown[])[], rule: RuleDefinition = RULE): Finding[] {
  const states = new Map<string, WindowState>();
  objects.forEach((records, index) => {
    const aggregator = new ObjectAggregator(rule, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);
    for (const record of records) aggregator.add(record);
    for (const contribution of aggregator.contributions()) {
      const id = `${contribution.windowStart}|${contribution.arn}`;
      states.set(
        id,
        mergeContribution(states.get(id), contribution, `object-${index}`, DEFAULT_STATE_LIMITS).state,
      );
    }
  });
  return [...states.values()].flatMap((state) => findingOf(state, rule) ?? []);
}

describe('the Elastic rule, edge by edge', () => {
  it.each([
    { case: '10 regions in one window fire', events: sweep(10, '2026-11-28T10:00:05Z'), fires: true },
    { case: '9 regions do not fire', events: sweep(9, '2026-11-28T10:00:05Z'), fires: false },
    {
      case: 'burst from :20 to :29 stays in one window',
      events: sweep(10, '2026-11-28T10:00:20Z', {}, 1000),
      fires: true,
    },
    {
      case: 'burst straddling :29/:30 splits and does not fire',
      events: sweep(10, '2026-11-28T10:00:25Z', {}, 1000),
      fires: false,
    },
    {
      case: 'failed calls (UnauthorizedOperation) count',
      events: sweep(10, '2026-11-28T10:00:05Z', { errorCode: 'Client.UnauthorizedOperation' }),
      fires: true,
    },
    {
      case: 'other eventSource with the same eventName does not count',
      events: sweep(10, '2026-11-28T10:00:05Z', { eventSource: 'ec2-instance-connect.amazonaws.com' }),
      fires: false,
    },
    {
      case: 'other EC2 Describe calls do not count',
      events: sweep(10, '2026-11-28T10:00:05Z', { eventName: 'DescribeInstanceStatus' }),
      fires: false,
    },
    {
      case: 'decoy text in another event parameters does not count',
      events: sweep(10, '2026-11-28T10:00:05Z', {
        eventName: 'RunInstances',
        requestParameters: { note: '"eventName":"DescribeInstances"', tag: 'DescribeInstances' },
      }),
      fires: false,
    },
    {
      case: 'unknown region names count as distinct regions',
      events: Array.from({ length: 10 }, (_, i) =>
        cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z', awsRegion: `apiso-westcentral-${i}r` }),
      ),
      fires: true,
    },
    {
      case: 'one region called ten times does not fire',
      events: Array.from({ length: 10 }, () => cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z' })),
      fires: false,
    },
  ])('$case', ({ events, fires }) => {
    // Act
    const findings = evaluate([events]);

    // Assess
    expect(findings.length).toBe(fires ? 1 : 0);
  });

  it('window boundaries are :00-:29 and :30-:59, epoch-aligned UTC', () => {
    // Prepare
    const at = (time: string) => new Date(windowStartOf(Date.parse(time), 30)).toISOString();

    // Act / Assess
    expect(at('2026-11-28T10:00:29.999Z')).toBe('2026-11-28T10:00:00.000Z');
    expect(at('2026-11-28T10:00:30.000Z')).toBe('2026-11-28T10:00:30.000Z');
    expect(at('2026-11-28T10:00:59Z')).toBe('2026-11-28T10:00:30.000Z');
    expect(at('2026-11-28T12:00:10+02:00')).toBe('2026-11-28T10:00:00.000Z');
  });

  it('events without an ARN form one null-ARN group', () => {
    // Prepare
    const events = [
      ...sweep(5, '2026-11-28T10:00:05Z', { arn: null, accountId: '111111111111' }),
      ...sweep(10, '2026-11-28T10:00:05Z', { arn: null, accountId: '222222222222' }).slice(5),
    ];

    // Act
    const findings = evaluate([events]);

    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]?.arn).toBeNull();
    expect(findings[0]?.accountIds).toEqual(['111111111111', '222222222222']);
  });

  it('the same ARN text recorded in two accounts is one group, as ES|QL groups by the ARN alone', () => {
    // Prepare
    const arn = 'arn:aws:sts::333333333333:assumed-role/shared/session';
    const events = [
      ...sweep(5, '2026-11-28T10:00:05Z', { arn, accountId: '111111111111' }),
      ...sweep(10, '2026-11-28T10:00:05Z', { arn, accountId: '222222222222' }).slice(5),
    ];

    // Act
    const findings = evaluate([events]);

    // Assess
    expect(findings.map((f) => [f.arn, f.distinctCount, f.accountIds])).toEqual([
      [arn, 10, ['111111111111', '222222222222']],
    ]);
  });

  it('duplicate eventIDs count once, inside an object and across objects', () => {
    // Prepare: 10 distinct events, then two more objects repeating three of them (16 records in all)
    const events = sweep(10, '2026-11-28T10:00:05Z').map((e, i) => ({ ...e, eventID: `id-${i}` }));
    const rule = { ...RULE, minDistinct: 5, minEvents: 11 };
    const again = events.slice(0, 3);

    // Act
    const findings = evaluate([events, again, again], { ...rule, minEvents: 10 });
    const notEnough = evaluate([events, again], rule);

    // Assess
    expect(findings[0]?.eventCount).toBe(10);
    expect(notEnough).toEqual([]);
  });

  it('count threshold is separate from the region threshold', () => {
    // Prepare
    const events = sweep(10, '2026-11-28T10:00:05Z');

    // Act
    const findings = evaluate([events], { ...RULE, minEvents: 11 });

    // Assess
    expect(findings).toEqual([]);
  });

  it('a burst spread over several objects fires once with every region', () => {
    // Prepare
    const events = sweep(DEFAULT_REGIONS.length, '2026-11-28T10:00:05Z');
    const objects = events.map((event) => [event]);

    // Act
    const findings = evaluate(objects);

    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]?.distinctValues).toEqual([...DEFAULT_REGIONS].sort());
    expect(findings[0]?.eventCount).toBe(DEFAULT_REGIONS.length);
  });

  it('reports the context an analyst needs', () => {
    // Prepare
    const events: Record<string, unknown>[] = sweep(10, '2026-11-28T10:00:05Z', {}, 1000).map((event, i) => ({
      ...event,
      eventID: `event-${i}`,
    }));
    events[0] = { ...events[0], errorCode: 'Client.UnauthorizedOperation' };
    const ids = events.map((event) => String(event.eventID));

    // Act
    const [finding] = evaluate([events]);

    // Assess
    expect(finding).toMatchObject({
      windowStart: '2026-11-28T10:00:00.000Z',
      firstEventTime: '2026-11-28T10:00:05.000Z',
      lastEventTime: '2026-11-28T10:00:14.000Z',
      failedCount: 1,
      identityTypes: ['AssumedRole'],
      accessKeyIds: ['ASIAEXAMPLEKEY000001'],
      sourceIps: ['198.51.100.7'],
      sessionIssuers: ['arn:aws:iam::111122223333:role/recon'],
    });
    // One sample per filled slot: the first id of the window that lands in each.
    expect(finding?.sampleEventIds).toEqual([...sampleOffers(ids, DEFAULT_STATE_LIMITS).values()].sort());
  });
});

describe('records the rule cannot use', () => {
  it.each([
    { case: 'unparseable eventTime', spec: { eventTime: 'yesterday' } },
    { case: 'non-string awsRegion', spec: { eventTime: '2026-11-28T10:00:05Z', awsRegion: 7 } },
    { case: 'date-only eventTime', spec: { eventTime: '2026-11-28' } },
    {
      case: 'a day the month does not have (V8 would roll it into March)',
      spec: { eventTime: '2026-02-30T10:00:00Z' },
    },
    { case: 'hour 24 (V8 would roll it into the next day)', spec: { eventTime: '2026-11-28T24:00:00Z' } },
    { case: 'minute 60', spec: { eventTime: '2026-11-28T10:60:00Z' } },
    { case: 'month 13', spec: { eventTime: '2026-13-01T10:00:00Z' } },
  ])('$case is invalid, not counted', ({ spec }) => {
    // Prepare
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    const outcome = aggregator.add(cloudTrailEvent(spec));

    // Assess
    expect(outcome.kind).toBe('invalid');
    expect(aggregator.contributions()).toEqual([]);
  });

  it.each([
    { case: 'leap day', eventTime: '2028-02-29T23:59:59Z' },
    { case: 'fractional seconds and an offset', eventTime: '2026-11-28T11:00:05.123+01:00' },
  ])('$case is a valid event time', ({ eventTime }) => {
    // Prepare
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    const outcome = aggregator.add(cloudTrailEvent({ eventTime }));

    // Assess
    expect(outcome.kind).toBe('counted');
  });

  it('a record with no awsRegion counts as an event but not as a region, like count_distinct on null', () => {
    // Prepare
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);
    const record = cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z' });
    delete record.awsRegion;

    // Act
    aggregator.add(record);

    // Assess
    expect(aggregator.contributions()[0]).toMatchObject({ eventCount: 1, distinctValues: [] });
  });
});

describe('bounded state', () => {
  it('a group keeps at most the configured number of context values and event id hashes', () => {
    // Prepare
    const limits = { ...DEFAULT_STATE_LIMITS, maxEventIds: 50, maxContextValues: 3 };
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), limits);
    for (let i = 0; i < 500; i++) {
      aggregator.add(
        cloudTrailEvent({
          eventTime: '2026-11-28T10:00:05Z',
          userAgent: `tool/${i}`,
          sourceIPAddress: `10.0.0.${i % 250}`,
        }),
      );
    }

    // Act
    const [contribution] = aggregator.contributions();

    // Assess
    expect(contribution?.eventCount).toBe(500);
    expect(contribution?.eventIdHashes).toHaveLength(50);
    expect(contribution?.context.userAgents).toHaveLength(3);
    expect(contribution?.context.sourceIps).toHaveLength(3);
  });

  it('past the hash bound, counts still add up per object', () => {
    // Prepare
    const limits = { ...DEFAULT_STATE_LIMITS, maxEventIds: 10 };
    const contributionOf = (n: number) => {
      const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), limits);
      for (let i = 0; i < n; i++) aggregator.add(cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z' }));
      const [contribution] = aggregator.contributions();
      if (contribution === undefined) throw new Error('no contribution');
      return contribution;
    };

    // Act
    const first = mergeContribution(undefined, contributionOf(25), 'a', limits).state;
    const second = mergeContribution(first, contributionOf(7), 'b', limits).state;

    // Assess
    expect(second.eventIdHashes.length + second.overflowEventCount).toBe(32);
  });

  it('a cut never splits a character in two', () => {
    // Prepare: the cut falls right after the first half of an emoji (a surrogate pair)
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);
    const userAgent = `${'a'.repeat(DEFAULT_STATE_LIMITS.maxValueLength - 2)}\u{1F600}tail`;

    // Act
    aggregator.add(cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z', userAgent }));

    // Assess
    const [agent] = aggregator.contributions()[0]?.context.userAgents ?? [];
    expect(agent?.isWellFormed()).toBe(true);
    expect(agent?.endsWith('a…')).toBe(true);
  });

  it('a long user agent is cut and marked', () => {
    // Prepare
    const aggregator = new ObjectAggregator(RULE, compileAllowlist(EMPTY_ALLOWLIST), DEFAULT_STATE_LIMITS);

    // Act
    aggregator.add(cloudTrailEvent({ eventTime: '2026-11-28T10:00:05Z', userAgent: 'x'.repeat(5000) }));

    // Assess
    const [agent] = aggregator.contributions()[0]?.context.userAgents ?? [];
    expect(Buffer.byteLength(agent ?? '')).toBe(DEFAULT_STATE_LIMITS.maxValueLength);
    expect(agent?.endsWith('…')).toBe(true);
  });
});

describe('bounded distinct values', () => {
  it('long distinct values are kept to the value bound and still counted apart', () => {
    // Prepare: 64 distinct 7 KB values that share their first 7 KB.
    const limits = { ...DEFAULT_STATE_LIMITS, maxDistinctValues: 64 };
    const values = Array.from({ length: 64 }, (_, i) => `${'r'.repeat(7 * 1024)}${i}`);
    // Act
    const bounded = values.map((value) => boundedDistinctValue(value, limits.maxValueLength));
    // Assess
    expect(new Set(bounded).size).toBe(64);
    expect(bounded.every((value) => Buffer.byteLength(value) <= limits.maxValueLength)).toBe(true);
  });

  it('a value within the bound is kept as it is', () => {
    // Prepare
    const value = 'é'.repeat(DEFAULT_STATE_LIMITS.maxValueLength / 2);
    // Act
    const bounded = boundedDistinctValue(value, DEFAULT_STATE_LIMITS.maxValueLength);
    // Assess
    expect(bounded).toBe(value);
  });
});

describe('prefilter needles', () => {
  const text = (groups: Buffer[][]) => groups.map((group) => group.map(String));

  it('gives one group per condition with values, as the JSON text of each value or a unicode escape', () => {
    // Act
    const needles = prefilterNeedles(EC2_MULTI_REGION_DESCRIBE_INSTANCES);

    // Assess
    expect(text(needles)).toEqual([
      ['"DescribeInstances"', '\\u'],
      ['"ec2.amazonaws.com"', '\\u'],
    ]);
  });

  it.each([
    { case: 'a prefix', condition: { field: 'eventName', startsWith: ['List'] }, needle: '"List' },
    {
      case: "a prefix with '/' (JSON may write \\/)",
      condition: { field: 'userAgent', startsWith: ['aws-cli/'] },
      needle: '"aws-cli',
    },
    { case: 'a value with a quote', condition: { field: 'x', equals: ['say "hi"'] }, needle: '"say ' },
    { case: 'a value with a line feed', condition: { field: 'x', equals: ['a\nb'] }, needle: '"a' },
  ])('cuts $case at the first character with a short escape', ({ condition, needle }) => {
    // Prepare
    const rule = { ...EC2_MULTI_REGION_DESCRIBE_INSTANCES, filter: [condition] };

    // Act
    const needles = prefilterNeedles(rule);

    // Assess
    expect(text(needles)).toEqual([[needle, '\\u']]);
  });

  it('keeps a non-ASCII value whole, as its UTF-8 bytes: without \\u escapes JSON has no other spelling', () => {
    // Prepare
    const rule = { ...EC2_MULTI_REGION_DESCRIBE_INSTANCES, filter: [{ field: 'x', equals: ['café'] }] };

    // Act
    const needles = prefilterNeedles(rule);

    // Assess
    expect(needles).toEqual([[Buffer.from('"café"', 'utf8'), Buffer.from('\\u')]]);
  });

  it('gives no needle for a condition where a value starts with such a character, or tests no value', () => {
    // Prepare
    const rule = {
      ...EC2_MULTI_REGION_DESCRIBE_INSTANCES,
      filter: [
        { field: 'x', equals: ['plain', '/rooted'] },
        { field: 'errorCode', present: false },
        { field: 'userIdentity.type', notEquals: ['AWSService'] },
      ],
    };

    // Act
    const needles = prefilterNeedles(rule);

    // Assess
    expect(needles).toEqual([]);
  });

  it("with several rules, needs a needle of any rule: one group of each rule's first group", () => {
    // Act
    const needles = prefilterNeedles([EC2_MULTI_REGION_DESCRIBE_INSTANCES, DISCOVERY_API_CALLS_VIA_CLI]);

    // Assess
    expect(text(needles)).toEqual([['"DescribeInstances"', 'aws-cli', '\\u']]);
  });

  it('with several rules, one without needles turns the prefilter off', () => {
    // Prepare
    const bare = {
      ...EC2_MULTI_REGION_DESCRIBE_INSTANCES,
      id: 'bare',
      slug: 'bare',
      filter: [{ field: 'errorCode', present: true }],
    };

    // Act
    const needles = prefilterNeedles([EC2_MULTI_REGION_DESCRIBE_INSTANCES, bare]);

    // Assess
    expect(needles).toEqual([]);
  });
});
