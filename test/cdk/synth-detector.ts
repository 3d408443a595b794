import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import { RegionSweepStack } from '../../lib/cdk/region-sweep-stack';

/** A fixed environment, so region-dependent values (kms:ViaService) are literal in the template. */
export const TEST_ENV = { account: '111122223333', region: 'eu-west-1' } as const;

export const TRAIL_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0b1c2d3e-aaaa-bbbb-cccc-123456789012';
export const NOTIFICATION_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:trail-bucket-events';

/**
 * App context that skips asset bundling (the template is the same apart from the asset hash): a synth takes
 * ~0.3 s instead of ~3 s. function-bundle.test.ts covers the real esbuild bundle.
 */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** The feature flags in cdk.json (those `cdk init` writes for this CDK version), as `cdk synth` applies them. */
export const FEATURE_FLAGS = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** What the tests synthesize with: the app's feature flags, bundling skipped. */
export const TEST_CONTEXT = { ...FEATURE_FLAGS, ...SKIP_BUNDLING };

/** Synthesizes one stack (feature flags of cdk.json, bundling skipped) and returns its template. */
export function synthDetector(detector: RegionSweepDetectorProps): {
  stack: RegionSweepStack;
  template: Template;
} {
  const app = new App({ context: TEST_CONTEXT });
  const stack = new RegionSweepStack(app, 'Test', { env: TEST_ENV, detector });
  return { stack, template: Template.fromStack(stack) };
}

/** Every Allow statement of the function role's policy. */
export function functionPolicyStatements(template: Template): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: logicalIdOf(template, 'AWS::IAM::Role', 'FunctionRole') }] },
  });
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
        .PolicyDocument.Statement,
  );
}

/** The logical id of the only resource of `type` whose id contains `fragment`. */
export function logicalIdOf(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${fragment}, found ${ids.join(', ')}`);
  return ids[0] as string;
}

/** Properties of the detector function (not the CDK-owned S3 notifications handler). */
export function detectorFunctionProperties(template: Template): {
  Environment?: { Variables?: Record<string, unknown> };
} {
  const id = logicalIdOf(template, 'AWS::Lambda::Function', 'DetectorFunction');
  const resources = template.toJSON().Resources as Record<string, { Properties: object }>;
  return resources[id]?.Properties ?? {};
}
