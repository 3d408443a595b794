import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWindowStore } from '../../lambda/adapters/dynamodb/dynamodb-window-store';
import { loadPipelineSettings, type PipelineSettings } from '../../lambda/config';
import { type RuleDefinition, withOverrides } from '../../lambda/domain/detection/rule';
import { type Finding, findingUnder } from '../../lambda/domain/detection/window-state';
import { scanFiles } from '../../lib/cli/scan';
import { deliverNotifications } from '../../lib/local/delivery';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { startLocalEnvironment } from '../../lib/local/environment';
import { type LocalFile, listLocalFiles } from '../../lib/local/file-object-source';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { loadRuleFile } from '../../lib/rules/rule-files';
import { type CorpusObject, writeCorpus } from '../fixtures/corpus';
import { sweepCorpus } from '../fixtures/sweep-corpus';

const SETTINGS = loadPipelineSettings({});
const EXAMPLE = join(
  import.meta.dirname,
  '..',
  '..',
  'rules',
  'examples',
  'ec2-multi-region-describe-instances.yml',
);
const silentIo = { stdout: { write: () => true }, stderr: { write: () => true } };
const keyOf = (f: Pick<Finding, 'windowStart' | 'arn'>) => `${f.windowStart} ${f.arn ?? '(null)'}`;

/** What a finding says about the events, not about the rule that found them. */
function counts({ ruleId, ruleName, presentation, severity, tags, sampleEventIds, ...rest }: Finding) {
  return rest;
}

/** A Sigma detection rule alone: failed DescribeInstances calls, each alerting on its own. */
const FAILED_CALL_RULE = `title: Failed EC2 DescribeInstances call
id: failed-describe-instances
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName|cased: DescribeInstances
        eventSource: ec2.amazonaws.com
        errorCode|exists: true
    condition: selection
level: medium
tags:
    - attack.discovery
`;

describe.each([
  { kind: 'dynamodb-local' as const, skip: !javaAvailable() },
  { kind: 'dynalite' as const, skip: false },
])('Sigma rules on local ($kind)', ({ kind, skip }) => {
  let root: string;
  let corpus: CorpusObject[];
  let files: LocalFile[];

  beforeAll(async () => {
    if (skip) return;
    root = await mkdtemp(join(tmpdir(), 'regionsweep-sigma-'));
    corpus = sweepCorpus(42);
    await writeCorpus(join(root, 'trail'), corpus);
    files = await listLocalFiles([join(root, 'trail')]);
  });

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  /** Delivers every file to the real handler on the stand-ins; the alerts published and the store. */
  async function runLocal(settings: PipelineSettings) {
    const environment = await startLocalEnvironment(kind);
    try {
      const report = await deliverNotifications(environment, files, settings, {
        concurrency: 8,
        deliveries: 3,
        seed: 7,
      });
      const store = new DynamoDbWindowStore({
        client: environment.dynamodb,
        tableName: environment.tableName,
        limits: settings.limits,
        retentionSeconds: settings.retentionSeconds,
      });
      const alerts = publishedAlerts(environment.recorder.published());
      const finalFindings = await Promise.all(
        alerts.map(async ({ finding }) => {
          const state = await store.get({
            ruleId: finding.ruleId,
            windowStart: Date.parse(finding.windowStart),
            arn: finding.arn,
            ...(Object.keys(finding.groupedBy).length === 0 ? {} : { by: Object.values(finding.groupedBy) }),
          });
          return state === undefined ? undefined : findingUnder(state, settings.rules);
        }),
      );
      return { report, alerts, finalFindings };
    } finally {
      await environment.stop();
    }
  }

  it.skipIf(skip)(
    'the EC2 rule written as Sigma alerts for exactly the built-in rule findings of scan, with their counts',
    async () => {
      // Prepare
      const [sigmaRule] = await loadRuleFile(EXAMPLE);
      const builtIn = (await scanFiles(files, SETTINGS, silentIo)).findings;

      // Act
      const { report, alerts, finalFindings } = await runLocal({
        ...SETTINGS,
        rules: [sigmaRule as RuleDefinition],
      });

      // Assess
      expect(builtIn.length).toBeGreaterThanOrEqual(3);
      expect(report.failedInvocations).toBe(0);
      expect(alerts.map((a) => keyOf(a.finding)).sort()).toEqual(builtIn.map(keyOf).sort());
      expect(finalFindings.map((f) => f && counts(f))).toEqual(
        alerts.map(({ finding }) => counts(builtIn.find((f) => keyOf(f) === keyOf(finding)) as Finding)),
      );
    },
  );

  it.skipIf(skip).each(['tumbling', 'hopping'] as const)(
    'a Sigma detection rule without a correlation alerts exactly once per matching eventID, 3 deliveries each (%s)',
    async (windowMode) => {
      // Prepare
      const path = join(root, 'failed-describe-instances.yml');
      await writeFile(path, FAILED_CALL_RULE);
      const rules = (await loadRuleFile(path)).map((rule) => withOverrides(rule, { windowMode }));
      // The model: the distinct eventIDs of the corpus's failed DescribeInstances calls, duplicates once.
      const expected = [
        ...new Set(
          corpus
            .flatMap((object) => object.records)
            .filter((r) => r.eventName === 'DescribeInstances' && r.errorCode !== undefined)
            .map((r) => String(r.eventID)),
        ),
      ].sort();

      // Act
      const { report, alerts } = await runLocal({ ...SETTINGS, rules });

      // Assess
      expect(expected.length).toBeGreaterThanOrEqual(5);
      expect(report.failedInvocations).toBe(0);
      expect(alerts.map((a) => a.finding.groupedBy.eventID).sort()).toEqual(expected);
      expect(new Set(alerts.map((a) => a.finding.severity))).toEqual(new Set(['medium']));
    },
  );
});
