import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../lambda/config';
import { buildHandler } from '../../lambda/handler';
import { SERVICE_NAME } from '../../lambda/metric-names';
import { awsClients } from '../../lambda/pipeline';
import type { DeliveryMode, RegionSweepDetectorProps } from '../../lib/cdk/detector-props';
import { NO_METRICS, s3Notification } from '../../lib/local/delivery';
import {
  detectorFunctionProperties,
  logicalIdOf,
  NOTIFICATION_TOPIC_ARN,
  synthDetector,
  TEST_ENV,
  TRAIL_KEY_ARN,
} from './synth-detector';

const BUCKET = 'trail-bucket';
const { account, region } = TEST_ENV;
/** The bucket owner: another account in sns mode (the organization layout), the stack's own otherwise. */
const ownerOf = (mode: DeliveryMode) => (mode === 'sns' ? '444455556666' : account);

/** One deployment shape: delivery mode, trail key prefix, trail KMS key, bucket owner. */
interface Shape {
  readonly mode: DeliveryMode;
  readonly demoBucket: boolean;
  readonly keyPrefix?: string;
  readonly kms: boolean;
  readonly owner: boolean;
}

// Every mode with and without a prefix and a key; the owner varies independently of each of them.
const SHAPES: readonly Shape[] = [
  ...(['s3', 'eventbridge', 'sns'] as const).flatMap((mode) =>
    [undefined, 'org/logs'].flatMap((keyPrefix) =>
      [false, true].map((kms) => ({
        mode,
        demoBucket: false,
        ...(keyPrefix === undefined ? {} : { keyPrefix }),
        kms,
        owner: (keyPrefix === undefined) !== kms,
      })),
    ),
  ),
  { mode: 'eventbridge', demoBucket: true, keyPrefix: 'org', kms: true, owner: true },
];

function propsOf(shape: Shape): RegionSweepDetectorProps {
  return {
    ...(shape.demoBucket ? { createDemoBucket: true } : { existingBucketName: BUCKET }),
    deliveryMode: shape.mode,
    ...(shape.mode === 'sns' ? { notificationTopicArn: NOTIFICATION_TOPIC_ARN } : {}),
    ...(shape.keyPrefix === undefined ? {} : { keyPrefix: shape.keyPrefix }),
    ...(shape.kms ? { kmsKeyArn: TRAIL_KEY_ARN } : {}),
    ...(shape.owner ? { expectedBucketOwner: ownerOf(shape.mode) } : {}),
  };
}

function nameOf(shape: Shape): string {
  return [
    shape.mode,
    shape.demoBucket ? 'demo bucket' : 'existing bucket',
    shape.keyPrefix === undefined ? 'no prefix' : `prefix ${shape.keyPrefix}`,
    shape.kms ? 'trail key' : 'no trail key',
    shape.owner ? 'owner' : 'no owner',
  ].join(', ');
}

/** One synth per shape (a synth takes about a second), shared by the tests that read it. */
const templates = new Map<Shape, Template>();
function templateOf(shape: Shape): Template {
  const cached = templates.get(shape);
  if (cached !== undefined) return cached;
  const { template } = synthDetector(propsOf(shape));
  templates.set(shape, template);
  return template;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** One IAM statement with every intrinsic resolved to a plain string. */
interface Grant {
  readonly effect: unknown;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition: unknown;
  /** NotAction / NotResource / NotPrincipal keys the statement uses (each widens a grant to "all but"). */
  readonly negations: readonly string[];
}

/**
 * An intrinsic as the ARN it stands for. Template resources become ARNs named by their logical id (the table
 * `DetectorWindowTable...` is `arn:aws:dynamodb:eu-west-1:111122223333:table/DetectorWindowTable...`), so the
 * test compares plain strings. Anything it cannot resolve structurally fails the test.
 */
function resolveArn(node: unknown, resources: Resources): string {
  if (typeof node === 'string') return node;
  if (node === null || typeof node !== 'object') throw new Error(`not an ARN: ${JSON.stringify(node)}`);
  const record = node as Record<string, unknown>;
  const join = record['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map((part) => resolveArn(part, resources)).join(join[0]);
  }
  if (typeof record.Ref === 'string') {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const known = pseudo[record.Ref];
    if (known !== undefined) return known;
    // A topic's Ref is its ARN; no other Ref of this stack is one.
    if (resources[record.Ref]?.Type === 'AWS::SNS::Topic')
      return `arn:aws:sns:${region}:${account}:${record.Ref}`;
  }
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[1] === 'Arn') {
    const id = getAtt[0];
    const arns: Record<string, string> = {
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${id}`,
      'AWS::SQS::Queue': `arn:aws:sqs:${region}:${account}:${id}`,
      'AWS::KMS::Key': `arn:aws:kms:${region}:${account}:key/${id}`,
      'AWS::S3::Bucket': `arn:aws:s3:::${id}`,
      'AWS::Logs::LogGroup': `arn:aws:logs:${region}:${account}:log-group:${id}:*`,
    };
    const arn = arns[resources[id]?.Type ?? ''];
    if (arn !== undefined) return arn;
  }
  throw new Error(`cannot resolve ${JSON.stringify(node)}`);
}

function grantsOf(statements: unknown, resources: Resources): Grant[] {
  return ([statements].flat() as Array<Record<string, unknown>>).map((statement) => ({
    effect: statement.Effect,
    actions: [statement.Action ?? []].flat() as string[],
    resources: [statement.Resource ?? []].flat().map((r) => resolveArn(r, resources)),
    condition: statement.Condition,
    negations: ['NotAction', 'NotResource', 'NotPrincipal'].filter((key) => key in statement),
  }));
}

/**
 * Every statement that applies to the detector function's role: the role's inline policies, each
 * AWS::IAM::Policy and AWS::IAM::ManagedPolicy attached to it, and the policies its ManagedPolicyArns name
 * (one outside the template cannot be read, so it is returned as `external`).
 */
function roleGrants(template: Template): { grants: Grant[]; external: unknown[] } {
  const resources = template.toJSON().Resources as Resources;
  const functionId = logicalIdOf(template, 'AWS::Lambda::Function', 'DetectorFunction');
  const roleArn = resources[functionId]?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const roleId = roleArn?.['Fn::GetAtt']?.[0];
  if (roleId === undefined) throw new Error('the detector function has no role of this template');
  const role = resources[roleId]?.Properties ?? {};
  const attached = (properties: Record<string, unknown> | undefined) =>
    ([properties?.Roles ?? []].flat() as unknown[]).some(
      (r) => typeof r === 'object' && r !== null && (r as { Ref?: unknown }).Ref === roleId,
    );
  const documents: unknown[] = [
    ...((role.Policies ?? []) as Array<{ PolicyDocument: unknown }>).map((p) => p.PolicyDocument),
    ...Object.values(resources)
      .filter(
        (r) => ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(r.Type) && attached(r.Properties),
      )
      .map((r) => r.Properties?.PolicyDocument),
  ];
  const external: unknown[] = [];
  for (const arn of (role.ManagedPolicyArns ?? []) as unknown[]) {
    const ref = (arn as { Ref?: string }).Ref;
    const managed = ref === undefined ? undefined : resources[ref];
    if (managed?.Type === 'AWS::IAM::ManagedPolicy') documents.push(managed.Properties?.PolicyDocument);
    else external.push(arn);
  }
  const grants = documents.flatMap((document) =>
    grantsOf((document as { Statement: unknown }).Statement, resources),
  );
  return { grants, external };
}

const onService = (grants: readonly Grant[], service: string) =>
  grants.filter((g) => g.actions.some((a) => a.toLowerCase().startsWith(`${service}:`)));
const uniqueSorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** What each queue may be used for: the event-source consume set, or the on-failure destination send set. */
const CONSUME = uniqueSorted([
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
]);
const SEND = uniqueSorted(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);

describe.each(SHAPES.map((shape) => ({ shape, name: nameOf(shape) })))(
  'function role least privilege ($name)',
  ({ shape }) => {
    let template: Template;
    let grants: Grant[];
    let external: unknown[];
    let ids: Record<'table' | 'topic' | 'alertKey' | 'failure' | 'backfill' | 'logs', string>;
    const arnOf = {
      table: () => `arn:aws:dynamodb:${region}:${account}:table/${ids.table}`,
      topic: () => `arn:aws:sns:${region}:${account}:${ids.topic}`,
      alertKey: () => `arn:aws:kms:${region}:${account}:key/${ids.alertKey}`,
      queue: (id: string) => `arn:aws:sqs:${region}:${account}:${id}`,
    };
    beforeAll(() => {
      template = templateOf(shape);
      ({ grants, external } = roleGrants(template));
      ids = {
        table: logicalIdOf(template, 'AWS::DynamoDB::Table', 'WindowTable'),
        topic: logicalIdOf(template, 'AWS::SNS::Topic', 'AlertTopic'),
        alertKey: logicalIdOf(template, 'AWS::KMS::Key', 'AlertKey'),
        failure: logicalIdOf(template, 'AWS::SQS::Queue', 'FailureQueue'),
        backfill: logicalIdOf(template, 'AWS::SQS::Queue', 'BackfillQueue'),
        logs: logicalIdOf(template, 'AWS::Logs::LogGroup', 'FunctionLogs'),
      };
    });

    const bucketArnOf = () =>
      shape.demoBucket
        ? `arn:aws:s3:::${logicalIdOf(template, 'AWS::S3::Bucket', 'DemoBucket')}`
        : `arn:aws:s3:::${BUCKET}`;
    const logsPrefixOf = () => `${shape.keyPrefix === undefined ? '' : `${shape.keyPrefix}/`}AWSLogs/`;

    it('reads objects only under <bucket>/<keyPrefix>/AWSLogs/', () => {
      // Assess
      const reads = onService(grants, 's3').filter((g) => g.actions.includes('s3:GetObject'));
      expect(uniqueSorted(reads.flatMap((g) => g.resources))).toEqual([
        `${bucketArnOf()}/${logsPrefixOf()}*`,
      ]);
    });

    it('lists the bucket only under <keyPrefix>/AWSLogs/, so a missing object answers 404, not 403', () => {
      // Assess
      const lists = onService(grants, 's3').filter((g) => g.actions.includes('s3:ListBucket'));
      expect(
        lists.map((g) => ({ actions: g.actions, resources: g.resources, condition: g.condition })),
      ).toEqual([
        {
          actions: ['s3:ListBucket'],
          resources: [bucketArnOf()],
          condition: { StringLike: { 's3:prefix': `${logsPrefixOf()}*` } },
        },
      ]);
    });

    it('has only the S3 object reads and the prefix listing (no write, delete or other bucket action)', () => {
      // Assess
      expect(uniqueSorted(onService(grants, 's3').flatMap((g) => g.actions))).toEqual([
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
      ]);
    });

    it('allows only GetItem, Query and UpdateItem in DynamoDB (the calls the window store makes)', () => {
      // Assess
      expect(uniqueSorted(onService(grants, 'dynamodb').flatMap((g) => g.actions))).toEqual([
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
    });

    it('touches DynamoDB only on the window table (no index, no other table)', () => {
      // Assess
      expect(uniqueSorted(onService(grants, 'dynamodb').flatMap((g) => g.resources))).toEqual([
        arnOf.table(),
      ]);
    });

    it('may only publish, and only to the alert topic', () => {
      // Assess
      const sns = onService(grants, 'sns');
      expect({
        actions: uniqueSorted(sns.flatMap((g) => g.actions)),
        resources: uniqueSorted(sns.flatMap((g) => g.resources)),
      }).toEqual({ actions: ['sns:Publish'], resources: [arnOf.topic()] });
    });

    it('uses KMS on the alert key, and on the trail key only when given and only through S3 here', () => {
      // Prepare
      const expected = [
        {
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [arnOf.alertKey()],
          condition: undefined,
        },
        ...(shape.kms
          ? [
              {
                actions: ['kms:Decrypt'],
                resources: [TRAIL_KEY_ARN],
                condition: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
              },
            ]
          : []),
      ];

      // Act
      const kms = onService(grants, 'kms').map((g) => ({
        actions: uniqueSorted(g.actions),
        resources: [...g.resources],
        condition: g.condition,
      }));

      // Assess
      expect(kms).toEqual(expect.arrayContaining(expected));
      expect(kms).toHaveLength(expected.length);
    });

    it('uses SQS only on the queues it consumes, and sends only to its failure queue', () => {
      // Prepare
      const consumed = [
        ids.backfill,
        ...(shape.mode === 'sns' ? [logicalIdOf(template, 'AWS::SQS::Queue', 'NotificationQueue')] : []),
      ];
      // Lambda's on-failure destination sends as the function's role (s3 and eventbridge invoke asynchronously).
      const sentTo = shape.mode === 'sns' ? [] : [ids.failure];
      const expected = Object.fromEntries([
        ...consumed.map((id) => [arnOf.queue(id), CONSUME] as const),
        ...sentTo.map((id) => [arnOf.queue(id), SEND] as const),
      ]);

      // Act
      const byQueue: Record<string, string[]> = {};
      for (const grant of onService(grants, 'sqs')) {
        for (const resource of grant.resources) {
          byQueue[resource] = uniqueSorted([...(byQueue[resource] ?? []), ...grant.actions]);
        }
      }

      // Assess
      expect(byQueue).toEqual(expected);
    });

    it('writes logs only to its own log group', () => {
      // Assess
      const logs = onService(grants, 'logs');
      expect({
        actions: uniqueSorted(logs.flatMap((g) => g.actions)),
        resources: uniqueSorted(logs.flatMap((g) => g.resources)),
      }).toEqual({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`arn:aws:logs:${region}:${account}:log-group:${ids.logs}:*`],
      });
    });

    it('has no wildcard action', () => {
      // Assess
      expect(grants.flatMap((g) => g.actions).filter((a) => a.includes('*'))).toEqual([]);
    });

    it('has no statement on resource "*"', () => {
      // Assess
      expect(grants.filter((g) => g.resources.includes('*') || g.resources.length === 0)).toEqual([]);
    });

    it('has only Allow statements on s3, dynamodb, sns, kms, sqs and logs, none with NotAction or NotResource', () => {
      // Assess
      const services = new Set(['s3', 'dynamodb', 'sns', 'kms', 'sqs', 'logs']);
      expect(
        grants.filter(
          (g) =>
            g.effect !== 'Allow' ||
            g.negations.length > 0 ||
            g.actions.some((a) => !services.has(a.split(':')[0] ?? '')),
        ),
      ).toEqual([]);
    });

    it('has no managed policy from outside the template', () => {
      // Assess
      expect(external).toEqual([]);
    });

    it(`sets ${ENV.expectedBucketOwner} to the configured owner, and only when one is configured`, () => {
      // Act
      const variables = detectorFunctionProperties(template).Environment?.Variables ?? {};

      // Assess
      expect(variables[ENV.expectedBucketOwner]).toBe(shape.owner ? ownerOf(shape.mode) : undefined);
    });
  },
);

describe('the deployed bucket owner reaches S3', () => {
  const s3 = mockClient(S3Client);
  afterAll(() => {
    s3.restore();
  });

  it.each([
    { case: 'an owner is configured', owner: true, expected: ownerOf('s3') },
    { case: 'no owner is configured', owner: false, expected: undefined },
  ])('GetObject carries ExpectedBucketOwner $expected when $case', async ({ owner, expected }) => {
    // Prepare: the function's environment as synthesized, with the table and topic tokens filled in.
    const shape = SHAPES.find(
      (s) => s.mode === 's3' && !s.demoBucket && s.keyPrefix === undefined && s.owner === owner,
    );
    if (shape === undefined) throw new Error('no s3 shape with this owner setting');
    const synthesized = detectorFunctionProperties(templateOf(shape)).Environment?.Variables ?? {};
    const env: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries(synthesized).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      [ENV.tableName]: 'windows',
      [ENV.topicArn]: `arn:aws:sns:${region}:${account}:alerts`,
    };
    s3.reset();
    const body = gzipSync('{"Records":[]}');
    s3.on(GetObjectCommand).resolves({
      Body: (async function* () {
        yield body;
      })() as unknown as GetObjectCommandOutput['Body'],
      // S3 answers every GetObject with these: they identify the object read.
      ETag: '"d41d8cd98f00b204e9800998ecf8427e"',
      ContentLength: body.length,
    });
    // The entry's own build: the configuration parsed from the synthesized variables; logs stay quiet.
    const handler = buildHandler(loadConfig(env), awsClients(), {
      logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }),
      metrics: NO_METRICS,
    });
    const key = `AWSLogs/${account}/CloudTrail/${region}/2026/11/28/${account}_CloudTrail_${region}_20261128T1000Z_a.json.gz`;

    // Act
    await handler(s3Notification(BUCKET, key, 20));

    // Assess
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.ExpectedBucketOwner)).toEqual([
      expected,
    ]);
  });
});
