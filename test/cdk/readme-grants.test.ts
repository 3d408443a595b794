import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { addOrganizationLayout } from '../../lib/cdk/organization/organization-layout';
import { SKIP_BUNDLING } from './synth-detector';

/**
 * The README's organization steps give the statements the other accounts add by hand. They must grant what
 * the function's own policy asks for (a cross-account read needs both sides), for the README's example
 * values; otherwise the documented deployment fails with AccessDenied.
 */
const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const EXAMPLE = {
  securityAccount: '222233334444',
  logArchiveAccount: '999988887777',
  region: 'eu-west-1',
  bucketName: 'org-cloudtrail-logs',
  keyPrefix: 'o-abc123',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

type Statement = Record<string, unknown>;

/** The README's JSON block holding the statement with this Sid (a block may list several, comma-separated). */
function readmeStatements(sid: string): Statement[] {
  const blocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  const block = blocks.find((text) => text.includes(`"Sid": "${sid}"`));
  if (block === undefined) throw new Error(`README has no statement ${sid}`);
  return JSON.parse(`[${block}]`) as Statement[];
}

/** Fn::Join of strings and AWS::Partition, as the template spells an ARN. */
function plain(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(plain);
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  const joined = record['Fn::Join'];
  if (Array.isArray(joined) && Array.isArray(joined[1])) {
    return joined[1].map((part) => (typeof part === 'string' ? part : 'aws')).join(String(joined[0]));
  }
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, plain(value)]));
}

describe('README: the statements other accounts add match what the function asks for', () => {
  let role: Statement[];
  beforeAll(() => {
    const app = new App({ context: SKIP_BUNDLING });
    const { detector } = addOrganizationLayout(app, {
      organization: {
        securityAccount: EXAMPLE.securityAccount,
        logArchiveAccount: EXAMPLE.logArchiveAccount,
        region: EXAMPLE.region,
      },
      detector: {
        existingBucketName: EXAMPLE.bucketName,
        keyPrefix: EXAMPLE.keyPrefix,
        kmsKeyArn: EXAMPLE.kmsKeyArn,
      },
      stackName: 'RegionSweep',
    });
    const policies = Template.fromStack(detector).findResources('AWS::IAM::Policy');
    role = Object.values(policies).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    );
  });

  const roleStatement = (sid: string) => {
    const statement = role.find((s) => s.Sid === sid);
    if (statement === undefined) throw new Error(`the function role has no statement ${sid}`);
    return plain(statement) as Statement;
  };

  it.each([
    { readme: 'RegionSweepReadTrailLogs', own: 'ReadTrailLogObjects' },
    { readme: 'RegionSweepListTrailPrefix', own: 'ListTrailLogPrefix' },
    { readme: 'RegionSweepDecryptTrailLogs', own: 'DecryptTrailLogObjects' },
  ])("$readme grants the actions, resource and condition of the role's $own", ({ readme, own }) => {
    // Prepare
    const documented = readmeStatements(readme).find((s) => s.Sid === readme) as Statement;
    const asked = roleStatement(own);
    const actions = (s: Statement) => [s.Action].flat().sort();

    // Assess: the key policy names its key as "*", the role names the key's ARN.
    expect({
      principal: documented.Principal,
      actions: actions(documented),
      resource: readme === 'RegionSweepDecryptTrailLogs' ? EXAMPLE.kmsKeyArn : documented.Resource,
      condition: documented.Condition,
    }).toEqual({
      principal: { AWS: '<FunctionRoleArn>' },
      actions: actions(asked),
      resource: asked.Resource,
      condition: asked.Condition,
    });
  });
});
