import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, loadPipelineSettings } from '../../lambda/config';
import { loadRuleFile } from '../../lib/rules/rule-files';
import { detectorFunctionProperties, SKIP_BUNDLING, synthDetector } from './synth-detector';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'rules', 'examples', 'ec2-multi-region-describe-instances.yml');
const run = promisify(execFile);

describe('Sigma rule files at synth', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'regionsweep-sigma-synth-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("the example's rules reach the function, which reads them back with its own parser", async () => {
    // Prepare
    const customRules = await loadRuleFile(EXAMPLE);

    // Act
    const { template } = synthDetector({ createDemoBucket: true, customRules });
    const variables = detectorFunctionProperties(template).Environment?.Variables ?? {};
    const settings = loadPipelineSettings({ [ENV.customRules]: String(variables[ENV.customRules]) });

    // Assess
    expect(settings.rules).toEqual(customRules);
  });

  it('the app refuses a Sigma construct it cannot run, naming the construct and the file', async () => {
    // Prepare
    const file = join(folder, 'temporal-ordered.yml');
    await writeFile(
      file,
      'title: recon in order\nid: recon-order\ncorrelation:\n    type: temporal_ordered\n    rules: [a, b]\n    group-by: [userIdentity.arn]\n    timespan: 5m\n',
    );

    // Act: bin/app.ts as `cdk synth -c ruleFiles=...` runs it (the CLI passes context in CDK_CONTEXT_JSON)
    const synth = run(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'app.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: join(folder, 'cdk.out'),
        CDK_CONTEXT_JSON: JSON.stringify({ ruleFiles: file, ...SKIP_BUNDLING }),
      },
    });

    // Assess
    await expect(synth).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `${file}: correlation type temporal_ordered: document 1 (recon in order): temporal_ordered is not supported`,
      ),
    });
  });
});
