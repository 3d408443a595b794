import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbWindowStore } from './adapters/dynamodb-window-store';
import { S3ObjectSource } from './adapters/s3-object-source';
import { SnsAlertPublisher } from './adapters/sns-alert-publisher';
import { loadConfig } from './config';
import { handleInvocation } from './invocation';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metric-names';

// Built once per execution environment: configuration errors fail the cold start, naming the variable.
const config = loadConfig(process.env);
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
const deps = {
  logger,
  metrics,
  settings: config,
  objects: new S3ObjectSource({
    client: new S3Client({}),
    ...(config.expectedBucketOwner === undefined ? {} : { expectedBucketOwner: config.expectedBucketOwner }),
  }),
  windows: new DynamoDbWindowStore({
    client: new DynamoDBClient({}),
    tableName: config.tableName,
    limits: config.limits,
    retentionSeconds: config.retentionSeconds,
  }),
  alerts: new SnsAlertPublisher({ client: new SNSClient({}), topicArn: config.topicArn }),
  clock: Date.now,
  newClaimToken: randomUUID,
};

/** Lambda entry point: S3, SNS, SQS, EventBridge and backfill deliveries of CloudTrail log objects. */
export const handler = (event: unknown) => handleInvocation(deps, event);
