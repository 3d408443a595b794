import { createReadStream } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ENV, type HandlerConfig, type PipelineSettings, settingsEnvironment } from '../../lambda/config';
import type { ClientOptions } from '../../lambda/pipeline';
import { createWindowTable, type DynamoDbStandInKind, startDynamoDb } from './dynamodb-standin';
import type { LocalFile } from './file-object-source';
import { S3RVER_CLIENT_SETTINGS, S3RVER_CREDENTIALS, startS3 } from './s3-standin';
import { AMAZON_Q_DEVELOPER_ENDPOINT, type SubscriptionProtocol } from './sns-delivery';
import { type SnsRecorder, startSnsRecorder } from './sns-recorder';

/** The names `regionsweep local` gives the stand-in resources (one of each, as the stack creates). */
export const LOCAL_NAMES = {
  bucket: 'regionsweep-local-trail',
  table: 'regionsweep-windows',
  topic: 'regionsweep-alerts',
} as const;

const REGION = 'us-east-1';

/**
 * One subscription of each kind on the local topic, so a run shows what each would receive (nothing is sent:
 * the endpoints are examples). The SQS queue takes raw delivery, as a SIEM queue usually does.
 */
export const LOCAL_SUBSCRIPTIONS: ReadonlyArray<{
  readonly protocol: SubscriptionProtocol;
  readonly endpoint: string;
  readonly rawMessageDelivery: boolean;
}> = [
  { protocol: 'email', endpoint: 'security-team@example.com', rawMessageDelivery: false },
  { protocol: 'email-json', endpoint: 'mail-archive@example.com', rawMessageDelivery: false },
  // Amazon Q Developer in chat applications (formerly AWS Chatbot), for Slack, Teams or Chime.
  { protocol: 'https', endpoint: AMAZON_Q_DEVELOPER_ENDPOINT, rawMessageDelivery: false },
  { protocol: 'sqs', endpoint: `arn:aws:sqs:${REGION}:000000000000:siem-alerts`, rawMessageDelivery: true },
  {
    protocol: 'lambda',
    endpoint: `arn:aws:lambda:${REGION}:000000000000:function:ticketing`,
    rawMessageDelivery: false,
  },
  { protocol: 'http', endpoint: 'http://webhook.example.com/regionsweep', rawMessageDelivery: false },
];

/** Stand-ins for S3, DynamoDB and SNS on loopback, with the bucket, table and topic (and its subscriptions) created. */
export interface LocalEnvironment {
  readonly dynamodbKind: DynamoDbStandInKind;
  readonly endpoints: { readonly s3: string; readonly dynamodb: string; readonly sns: string };
  readonly bucket: string;
  readonly tableName: string;
  readonly topicArn: string;
  readonly recorder: SnsRecorder;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  /** Where the pipeline's clients reach the stand-ins (region, endpoints, dummy credentials). */
  readonly clients: ClientOptions;
  /**
   * The process environment a command run beside the stand-ins needs (what `local --serve` prints to export,
   * for `backfill`): endpoint variables the SDK honours, dummy credentials, and the function's table and topic.
   */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts the stand-ins and creates the resources from the same definitions the CDK stack uses (the window
 * table from WINDOW_TABLE_SCHEMA). Everything listens on 127.0.0.1 and is gone after `stop`.
 */
export async function startLocalEnvironment(dynamodbKind: DynamoDbStandInKind): Promise<LocalEnvironment> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const s3StandIn = await startS3();
    stops.push(() => s3StandIn.stop());
    const dynamo = await startDynamoDb(dynamodbKind);
    stops.push(() => dynamo.stop());
    const recorder = await startSnsRecorder();
    stops.push(() => recorder.stop());

    const credentials = S3RVER_CREDENTIALS;
    const s3 = new S3Client({
      region: REGION,
      endpoint: s3StandIn.endpoint,
      credentials,
      ...S3RVER_CLIENT_SETTINGS,
    });
    const dynamodb = new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials });
    stops.unshift(async () => {
      s3.destroy();
      dynamodb.destroy();
    });
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_NAMES.bucket }));
    await createWindowTable(dynamodb, LOCAL_NAMES.table);
    const topicArn = recorder.createTopic(LOCAL_NAMES.topic);
    for (const { protocol, endpoint, rawMessageDelivery } of LOCAL_SUBSCRIPTIONS) {
      await recorder.subscribe(topicArn, protocol, endpoint, { rawMessageDelivery });
    }

    return {
      dynamodbKind,
      endpoints: { s3: s3StandIn.endpoint, dynamodb: dynamo.endpoint, sns: recorder.endpoint },
      bucket: LOCAL_NAMES.bucket,
      tableName: LOCAL_NAMES.table,
      topicArn,
      recorder,
      s3,
      dynamodb,
      clients: {
        region: REGION,
        credentials,
        endpoints: { s3: s3StandIn.endpoint, dynamodb: dynamo.endpoint, sns: recorder.endpoint },
        s3ForcePathStyle: true,
      },
      env: {
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_ENDPOINT_URL_S3: s3StandIn.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SNS: recorder.endpoint,
        [ENV.tableName]: LOCAL_NAMES.table,
        [ENV.topicArn]: topicArn,
      },
      async stop() {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

/** Uploads local files under their relative paths as keys (streamed, never read whole). */
export async function uploadFiles(environment: LocalEnvironment, files: readonly LocalFile[]): Promise<void> {
  for (const file of files) {
    await environment.s3.send(
      new PutObjectCommand({
        Bucket: environment.bucket,
        Key: file.relativePath,
        Body: createReadStream(file.path),
        ContentLength: file.size,
      }),
    );
  }
}

/** The function's configuration for a local run: the stand-in table and topic, and `settings`. */
export function localHandlerConfig(environment: LocalEnvironment, settings: PipelineSettings): HandlerConfig {
  return { ...settings, tableName: environment.tableName, topicArn: environment.topicArn };
}

/**
 * The function's environment on the stand-ins: endpoints plus the rule and noise settings, for whatever runs
 * the Lambda entry or its configuration parser there (the cost benchmark's handler child, tests of loadConfig).
 */
export function standInFunctionEnvironment(
  environment: LocalEnvironment,
  settings: PipelineSettings,
): Readonly<Record<string, string>> {
  return {
    ...environment.env,
    ...settingsEnvironment(settings),
  };
}
