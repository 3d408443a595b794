import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineSettings } from '../../lambda/config';
import { processLogObject } from '../../lambda/process-log-object';
import { scanCommand } from '../../lib/cli/scan';
import { cloudTrailKey } from '../fixtures/corpus';
import { sweep } from '../fixtures/events';
import { memoryObjects, pipeline } from '../support/pipeline-harness';

/** An AWS service sweeping 10 regions (no ARN, as CloudTrail writes AWSService callers) and a role doing the same. */
const SERVICE_SWEEP = sweep(10, '2026-11-28T10:00:01Z', { arn: null, identityType: 'AWSService' });
const ROLE_SWEEP = sweep(10, '2026-11-28T10:00:01Z');
const KEY = cloudTrailKey('111122223333', 'us-east-1', new Date('2026-11-28T10:05:00Z'), 'identity-types');

const ROLE_ARN = 'arn:aws:sts::111122223333:assumed-role/recon/session';

describe('allowlist by identity type, for the EC2 rule', () => {
  it.each([
    {
      case: 'without it (default, Elastic parity) the service sweep alerts too',
      env: {},
      alerted: [null, ROLE_ARN],
    },
    {
      case: 'with identityTypes ["AWSService"] only the role alerts',
      env: { ALLOWLIST_JSON: '{"identityTypes":["AWSService"]}' },
      alerted: [ROLE_ARN],
    },
  ])('$case', async ({ env, alerted }) => {
    // Prepare
    const objects = memoryObjects({ [KEY]: [...SERVICE_SWEEP, ...ROLE_SWEEP] });
    const { deps, publisher } = pipeline(objects, loadPipelineSettings(env));

    // Act
    await processLogObject(deps, { bucket: 'trail', key: KEY }, { origin: 'live', keyMode: 'strict' });

    // Assess
    expect(new Set(publisher.published.map((alert) => alert.finding.arn))).toEqual(new Set(alerted));
  });
});

describe('regionsweep scan --allowlist with identityTypes', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'regionsweep-identity-types-'));
    await writeFile(join(folder, 'trail.json.gz'), gzipSync(JSON.stringify({ Records: SERVICE_SWEEP })));
    await writeFile(join(folder, 'allowlist.json'), '{"identityTypes":["AWSService"]}');
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function scan(args: readonly string[]): Promise<string> {
    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true } };
    await scanCommand([...args, '--format', 'json', join(folder, 'trail.json.gz')], io, []);
    return out.join('');
  }

  it('finds the service sweep without the allowlist and nothing with it', async () => {
    // Act
    const without = await scan([]);
    const withList = await scan(['--allowlist', join(folder, 'allowlist.json')]);

    // Assess
    expect(
      without
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { arn: unknown }).arn),
    ).toEqual([null]);
    expect(withList).toBe('');
  });
});
