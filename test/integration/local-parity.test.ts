import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { loadPipelineSettings } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/detection/built-in-rules';
import { type Finding, findingUnder } from '../../lambda/domain/detection/window-state';
import { scanFiles } from '../../lib/cli/scan';
import { deliverNotifications } from '../../lib/local/delivery';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { type LocalFile, listLocalFiles } from '../../lib/local/file-object-source';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { writeCorpus } from '../fixtures/corpus';
import { sweepCorpus } from '../fixtures/sweep-corpus';

const SETTINGS = loadPipelineSettings({});
const silentIo = { stdout: { write: () => true }, stderr: { write: () => true } };
const keyOf = (f: Pick<Finding, 'windowStart' | 'arn'>) => `${f.windowStart} ${f.arn ?? '(null)'}`;

describe.each([
  { kind: 'dynamodb-local' as const, skip: !javaAvailable() },
  { kind: 'dynalite' as const, skip: false },
])('local alerts equal scan findings on $kind', ({ kind, skip }) => {
  let root: string;
  let files: LocalFile[];
  let findings: Finding[];

  beforeAll(async () => {
    if (skip) return;
    root = await mkdtemp(join(tmpdir(), 'regionsweep-parity-'));
    await writeCorpus(root, sweepCorpus(42));
    files = await listLocalFiles([root]);
    findings = (await scanFiles(files, SETTINGS, silentIo)).findings;
  });

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it.skipIf(skip)('the corpus has findings and near misses', () => {
    // Assess: a corpus without findings (or with nothing but findings) would prove nothing
    expect(findings.length).toBeGreaterThanOrEqual(3);
    expect(files.length).toBeGreaterThan(40);
  });

  it.skipIf(skip).each([
    { concurrency: 1, deliveries: 1, seed: 1 },
    { concurrency: 8, deliveries: 1, seed: 2 },
    { concurrency: 8, deliveries: 3, seed: 3 },
  ])(
    'concurrency $concurrency, $deliveries deliveries per object: one alert per finding, final counts exact',
    async ({ concurrency, deliveries, seed }) => {
      // Prepare
      const environment: LocalEnvironment = await startLocalEnvironment(kind);
      try {
        // Act
        const report = await deliverNotifications(environment, files, SETTINGS, {
          concurrency,
          deliveries,
          seed,
        });
        const alerts = publishedAlerts(environment.recorder.published());
        const store = new DynamoDbWindowStore({
          client: environment.dynamodb,
          tableName: environment.tableName,
          limits: SETTINGS.limits,
          retentionSeconds: SETTINGS.retentionSeconds,
        });
        const finalFindings = await Promise.all(
          alerts.map(async ({ finding }) => {
            const state = await store.get({
              ruleId: finding.ruleId,
              windowStart: Date.parse(finding.windowStart),
              arn: finding.arn,
            });
            return state === undefined ? undefined : findingUnder(state, SETTINGS.rules);
          }),
        );

        // Assess
        expect(report.failedInvocations).toBe(0);
        expect(alerts.map((a) => keyOf(a.finding)).sort()).toEqual(findings.map(keyOf).sort());
        expect(finalFindings.map((f) => f && { ...f, sampleEventIds: [] })).toEqual(
          alerts.map(({ finding }) => ({
            ...findings.find((f) => keyOf(f) === keyOf(finding)),
            sampleEventIds: [],
          })),
        );
        for (const { finding } of alerts)
          expect(finding.distinctCount).toBeGreaterThanOrEqual(
            EC2_MULTI_REGION_DESCRIBE_INSTANCES.minDistinct,
          );
      } finally {
        await environment.stop();
      }
    },
  );
});
