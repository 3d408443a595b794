import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { BUILT_IN_RULES } from '../../lambda/domain/detection/built-in-rules';
import { s3Notification } from '../../lib/local/delivery';
import { type LocalEnvironment, startLocalEnvironment } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { loadRuleTestFile, shippedTestFile } from '../../lib/rules/rule-tests';
import { cloudTrailKey } from '../fixtures/corpus';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { type StandInHandler, standInConfig, standInHandler } from '../support/stand-in-handler';

const ALL_RULES = BUILT_IN_RULES.map((rule) => rule.slug).join(',');

let environment: LocalEnvironment;
let s3Proxy: FaultProxy;

beforeAll(async () => {
  environment = await startLocalEnvironment('dynalite');
  s3Proxy = await startFaultProxy(environment.endpoints.s3);
});

afterAll(async () => {
  await s3Proxy?.close();
  await environment?.stop();
});

/** The real handler with the rules and window mode of one deployment (built-in rules only). */
function handlerWith(env: Readonly<Record<string, string>>): StandInHandler {
  const config = standInConfig(environment, loadPipelineSettings({}), { CUSTOM_RULES_JSON: '', ...env });
  return standInHandler(environment, config, { endpoints: { s3: s3Proxy.url } });
}

let counter = 0;
async function upload(records: readonly unknown[], region = 'us-east-1') {
  counter += 1;
  const key = cloudTrailKey('111122223333', region, new Date('2026-11-28T10:05:00Z'), `family${counter}`);
  const body = gzipSync(JSON.stringify({ Records: records }));
  await environment.s3.send(new PutObjectCommand({ Bucket: environment.bucket, Key: key, Body: body }));
  return { key, notification: s3Notification(environment.bucket, key, body.length) };
}

/** The events of a shipped rule test case, moved to their own identity so tests do not share windows. */
async function shippedCase(slug: string, caseName: string, tag: string): Promise<Record<string, unknown>[]> {
  const file = await loadRuleTestFile(shippedTestFile(slug));
  const found = file.cases.find((testCase) => testCase.name === caseName);
  if (found === undefined) throw new Error(`no case "${caseName}" in ${slug}`);
  return found.events.map((event) => retag(event, tag));
}

/** The same event by a user of its own: `user/x` becomes `user/x-<tag>` in every ARN of the record. */
function retag(event: Record<string, unknown>, tag: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event).replace(/(arn:aws:(?:iam|sts)::\d{12}:[^"]+)/g, `$1-${tag}`));
}

function alertsSince(index: number) {
  return publishedAlerts(environment.recorder.published().slice(index));
}

describe('several rules in one deployment', () => {
  it('one object read once gives one alert per rule it holds a burst for', async () => {
    // Prepare
    const records = [
      ...(await shippedCase('ec2-multi-region-describe-instances', 'fires at 10 regions and 10 events', 'a')),
      ...(await shippedCase(
        's3-rapid-bucket-posture',
        'fires at 16 distinct buckets (Elastic: more than 15)',
        'a',
      )),
      ...(await shippedCase(
        'discovery-api-calls-via-cli',
        'fires at 6 distinct calls (Elastic: more than five)',
        'a',
      )),
      ...(await shippedCase(
        'servicequotas-multi-region-get-service-quota',
        'fires at 10 regions and 10 events',
        'a',
      )),
    ];
    const object = await upload(records);
    const before = environment.recorder.published().length;
    let reads = 0;
    s3Proxy.onForwarded((request) => {
      if (request.method === 'GET' && request.path.includes(object.key.split('/').at(-1) ?? '')) reads += 1;
    });

    // Act
    await handlerWith({ RULES: ALL_RULES })(object.notification);

    // Assess
    expect(reads).toBe(1);
    expect(
      alertsSince(before)
        .map((alert) => alert.finding.ruleName)
        .sort(),
    ).toEqual(BUILT_IN_RULES.map((rule) => rule.name).sort());
  });

  it('the S3 posture alert is grouped by identity and source IP, kept apart in DynamoDB', async () => {
    // Prepare: the same identity from two addresses, each over the threshold.
    const events = await shippedCase(
      's3-rapid-bucket-posture',
      'two source IPs each over the threshold give two findings, one per IP',
      'b',
    );
    const object = await upload(events);
    const before = environment.recorder.published().length;

    // Act
    await handlerWith({ RULES: 's3-rapid-bucket-posture' })(object.notification);

    // Assess
    const alerts = alertsSince(before);
    expect(alerts.map((alert) => Object.values(alert.finding.groupedBy)).sort()).toEqual([
      ['198.51.100.201'],
      ['203.0.113.24'],
    ]);
  });

  it('a rule that is not enabled alerts nothing', async () => {
    // Prepare
    const object = await upload(
      await shippedCase(
        's3-rapid-bucket-posture',
        'fires at 16 distinct buckets (Elastic: more than 15)',
        'c',
      ),
    );
    const before = environment.recorder.published().length;

    // Act
    await handlerWith({ RULES: 'ec2-multi-region-describe-instances' })(object.notification);

    // Assess
    expect(alertsSince(before)).toEqual([]);
  });
});

describe('hopping windows on DynamoDB', () => {
  it('a burst straddling :30, one object per region, alerts once from the offset window', async () => {
    // Prepare
    const events = await shippedCase(
      'ec2-multi-region-describe-instances',
      'hopping: the same straddling burst fires in the offset window starting at :15',
      'd',
    );
    const objects = await Promise.all(events.map((event) => upload([event], String(event.awsRegion))));
    const before = environment.recorder.published().length;
    const handler = handlerWith({ WINDOW_MODE: 'hopping' });

    // Act
    for (const object of objects) await handler(object.notification);
    for (const object of objects) await handler(object.notification);

    // Assess
    expect(alertsSince(before).map((alert) => [alert.finding.windowStart, alert.finding.window])).toEqual([
      [expect.stringMatching(/:15\.000Z$/), 'offset'],
    ]);
  });

  it('a burst inside two overlapping windows alerts once, concurrently delivered', async () => {
    // Prepare
    const events = await shippedCase(
      'ec2-multi-region-describe-instances',
      'fires at 10 regions and 10 events',
      'e',
    );
    const objects = await Promise.all(events.map((event) => upload([event], String(event.awsRegion))));
    const before = environment.recorder.published().length;
    const handler = handlerWith({ WINDOW_MODE: 'hopping' });

    // Act
    await Promise.all(objects.map((object) => handler(object.notification)));

    // Assess
    expect(alertsSince(before)).toHaveLength(1);
  });
});
