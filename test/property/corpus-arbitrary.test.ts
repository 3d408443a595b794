import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseNamespace, corpusPlanArb, hoppingCorpusPlanArb, materialise } from './corpus-arbitrary';
import { evaluateRule, MODEL_RULE, windowKind } from './rule-model';

describe('the corpus arbitrary', () => {
  const corpora = fc
    .sample(corpusPlanArb, { numRuns: 100, seed: 7 })
    .map((plan) => materialise(plan, caseNamespace(1)))
    .map((objects) => ({ objects, outcome: evaluateRule(objects.flatMap((o) => o.records)) }));
  const allRecords = corpora.flatMap(({ objects }) => objects.flatMap((o) => o.records));

  it('generates firing windows, the null group firing, and near misses', () => {
    // Act
    const firing = corpora.flatMap(({ outcome }) => outcome.firing);
    const nearMisses = corpora.flatMap(({ outcome }) =>
      outcome.groups.filter(
        (g) =>
          !outcome.firing.includes(g) &&
          g.regions.length >= MODEL_RULE.minRegions - 1 &&
          g.eventCount >= MODEL_RULE.minEvents - 1,
      ),
    );

    // Assess
    expect(firing.length).toBeGreaterThan(50);
    expect(firing.filter((g) => g.arn === null).length).toBeGreaterThan(5);
    expect(nearMisses.length).toBeGreaterThan(20);
  });

  it('generates window-boundary times, failed calls, decoys and repeated eventIDs across objects', () => {
    // Act
    const times = allRecords.map((r) => String(r.eventTime).slice(17));
    const objectsPerId = new Map<unknown, Set<string>>();
    for (const { objects } of corpora) {
      for (const object of objects) {
        for (const record of object.records) {
          const keys = objectsPerId.get(record.eventID) ?? new Set<string>();
          keys.add(object.key);
          objectsPerId.set(record.eventID, keys);
        }
      }
    }

    // Assess
    expect(times).toEqual(expect.arrayContaining(['29.999Z', '30Z', '59.999Z', '00Z']));
    expect(allRecords.some((r) => r.errorCode !== undefined && r.eventSource === 'ec2.amazonaws.com')).toBe(
      true,
    );
    expect(allRecords.some((r) => r.eventSource !== 'ec2.amazonaws.com')).toBe(true);
    expect(allRecords.some((r) => r.eventName !== 'DescribeInstances')).toBe(true);
    expect([...objectsPerId.values()].some((keys) => keys.size > 1)).toBe(true);
  });

  it('keys every object as CloudTrail does, one per account, region and 5 minutes (and part)', () => {
    // Act
    const keys = corpora.map(({ objects }) => objects.map((o) => o.key));

    // Assess
    for (const key of keys.flat()) {
      expect(key).toMatch(
        /^AWSLogs\/\d{12}\/CloudTrail\/[a-z0-9-]+\/\d{4}\/\d{2}\/\d{2}\/\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_c\d{8}p[01]\.json\.gz$/,
      );
    }
    expect(keys.filter((inCorpus) => new Set(inCorpus).size !== inCorpus.length)).toEqual([]);
  });

  it('hopping corpora put calls on the :15 and :45 edges and fire offset windows whose aligned neighbours miss', () => {
    // Prepare
    const corpora = fc
      .sample(hoppingCorpusPlanArb, { numRuns: 100, seed: 7 })
      .map((plan) => materialise(plan, caseNamespace(1)).flatMap((o) => o.records));
    const records = corpora.flat();
    const hopping = corpora.map((corpus) => evaluateRule(corpus, 'hopping'));

    // Act
    const times = records.map((r) => String(r.eventTime).slice(17));
    const offsetOnly = hopping.flatMap(({ firing }) =>
      firing.filter(
        (g) =>
          windowKind(g.windowStart) === 'offset' &&
          !firing.some(
            (other) => other.arn === g.arn && Math.abs(other.windowStart - g.windowStart) === 15_000,
          ),
      ),
    );

    // Assess
    expect(times).toEqual(expect.arrayContaining(['14.999Z', '15Z', '44.999Z', '45Z']));
    expect(offsetOnly.length).toBeGreaterThan(10);
  });
});
