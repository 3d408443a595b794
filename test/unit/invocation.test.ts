import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryWindowStore } from '../../lambda/adapters/memory-window-store';
import { loadPipelineSettings, type PipelineSettings } from '../../lambda/config';
import { handleInvocation } from '../../lambda/invocation';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/metric-names';
import { s3Notification } from '../../lib/local/delivery';
import { cloudTrailKey } from '../fixtures/corpus';
import { sweep } from '../fixtures/events';

const SETTINGS = loadPipelineSettings({});
const SWEEP_KEY = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), 'sweep');
const POISON_KEY = cloudTrailKey('111122223333', 'us-east-2', new Date('2026-11-28T10:05:00Z'), 'poison');
const DIGEST_KEY =
  'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/28/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261128T100000Z.json.gz';
const BODIES: Record<string, Buffer> = {
  [SWEEP_KEY]: gzipSync(JSON.stringify({ Records: sweep(12, '2026-11-28T10:00:01Z') })),
  [POISON_KEY]: gzipSync('{"Records":[').subarray(0, 15),
};

/** EMF documents Powertools printed: one JSON line per publish. */
function emfMetrics(lines: unknown[][]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [line] of lines) {
    const document = JSON.parse(String(line)) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    for (const directive of document._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      expect(directive.Dimensions.flat()).toContain('service');
      for (const { Name } of directive.Metrics) totals[Name] = (totals[Name] ?? 0) + Number(document[Name]);
    }
    expect(document.service).toBe(SERVICE_NAME);
  }
  return totals;
}

/**
 * Runs one invocation (a sweep, a poison object and a digest) with `settings` and returns the EMF metric
 * totals Powertools printed (through the global console in dev mode; metrics stay enabled).
 */
async function invocationMetrics(settings: PipelineSettings): Promise<Record<string, number>> {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'info').mockImplementation(() => undefined);
  const deps = {
    logger: new Logger({ serviceName: SERVICE_NAME }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
    settings,
    objects: {
      async open(ref: { key: string }) {
        const body = BODIES[ref.key];
        if (body === undefined) throw new Error(`unexpected read of ${ref.key}`);
        return Readable.from([body]);
      },
    },
    windows: new MemoryWindowStore(settings.limits),
    alerts: { publish: async () => 'message-1' },
    clock: () => Date.parse('2026-11-28T10:10:00Z'),
    newClaimToken: () => 'token',
    sleep: async () => undefined,
  };
  const records = [SWEEP_KEY, POISON_KEY, DIGEST_KEY].flatMap(
    (key) => (s3Notification('trail', key, 100) as { Records: unknown[] }).Records,
  );

  await handleInvocation(deps, { Records: records });

  const emf = printed.mock.calls.filter(([line]) => String(line).includes('"_aws"'));
  return emfMetrics(emf);
}

describe('handleInvocation metrics', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('counts processed, skipped and poison objects, events, matches, writes and alerts as EMF', async () => {
    // Act
    const metrics = await invocationMetrics(SETTINGS);

    // Assess
    expect(metrics).toMatchObject({
      [METRIC.objectsProcessed]: 1,
      [METRIC.objectsSkipped]: 1,
      [METRIC.poisonObjects]: 1,
      [METRIC.eventsRead]: 12,
      [METRIC.matchingEvents]: 12,
      [METRIC.itemsUpdated]: 1,
      [METRIC.conditionalConflicts]: 0,
      [METRIC.alertsPublished]: 1,
      [METRIC.deliveryLagSeconds]: 599,
    });
  });

  it("counts a hopping window covered by its overlapping neighbour's alert", async () => {
    // Act: the sweep lies in its aligned window and in the offset window before it: one alert, one covered.
    const metrics = await invocationMetrics(loadPipelineSettings({ WINDOW_MODE: 'hopping' }));

    // Assess
    expect(metrics).toMatchObject({ [METRIC.alertsPublished]: 1, [METRIC.alertsCovered]: 1 });
  });
});

describe('handleInvocation metrics of building blocks', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("counts a building block's finding and publishes nothing", async () => {
    // Act
    const metrics = await invocationMetrics(
      loadPipelineSettings({ BUILDING_BLOCKS: 'ec2-multi-region-describe-instances' }),
    );

    // Assess
    expect(metrics[METRIC.buildingBlockFindings]).toBe(1);
    expect(metrics[METRIC.alertsPublished]).toBeUndefined();
  });
});
