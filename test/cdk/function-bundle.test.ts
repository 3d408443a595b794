import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectorFunction } from '../../lib/cdk/detector-function';
import { RegionSweepStack } from '../../lib/cdk/region-sweep-stack';
import { FEATURE_FLAGS } from './synth-detector';

interface StackResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Metadata?: Record<string, string>;
}

/** Imports the bundle in a fresh Node process with only `env`, and reports how the import ended. */
function importBundle(file: string, env: Record<string, string>): { exports?: string[]; error?: string } {
  const script = `import(${JSON.stringify(file)}).then(
    (m) => console.log(JSON.stringify({ exports: Object.keys(m).sort() })),
    (e) => console.log(JSON.stringify({ error: e.name + ': ' + e.message })))`;
  const out = execFileSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
}

describe('function bundle (local esbuild, no Docker)', () => {
  let bundle: string;
  beforeAll(() => {
    // Asset metadata (on by default in the CLI) records where the bundle was staged.
    const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:enable-asset-metadata': true } });
    new RegionSweepStack(app, 'Bundle', { detector: { createDemoBucket: true } });
    const assembly = app.synth();
    const resources = Object.values(assembly.getStackByName('Bundle').template.Resources) as StackResource[];
    const detectorFunction = resources.find(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Runtime === 'nodejs22.x',
    );
    bundle = join(
      assembly.directory,
      detectorFunction?.Metadata?.['aws:asset:path'] ?? 'missing',
      'index.mjs',
    );
  });

  it('loads as an ES module and exports handler', () => {
    // Act
    const result = importBundle(bundle, {
      TABLE_NAME: 'windows',
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:alerts',
    });
    // Assess
    expect(result).toEqual({ exports: expect.arrayContaining(['handler']) });
  });

  it('keeps error class names through minification', () => {
    // Act
    const result = importBundle(bundle, {});
    // Assess
    expect(result).toEqual({ error: 'ConfigError: TABLE_NAME must be set' });
  });
});

describe('prebuilt function bundle (the compiled construct of the package)', () => {
  it('deploys the folder holding index.mjs as it is, with handler index.handler', async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), 'regionsweep-prebuilt-'));
    const code = 'export const handler = async () => "prebuilt";\n';
    await writeFile(join(folder, 'index.mjs'), code);
    const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Prebuilt');
    // Act
    detectorFunction(stack, 'Function', { runtime: lambda.Runtime.NODEJS_22_X }, folder);
    const assembly = app.synth();
    // Assess
    const resources = Object.values(
      assembly.getStackByName('Prebuilt').template.Resources,
    ) as StackResource[];
    const deployed = resources.find((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(deployed?.Properties.Handler).toBe('index.handler');
    const staged = join(assembly.directory, deployed?.Metadata?.['aws:asset:path'] ?? 'missing', 'index.mjs');
    expect(await readFile(staged, 'utf8')).toBe(code);
    await rm(folder, { recursive: true, force: true });
  });
});
