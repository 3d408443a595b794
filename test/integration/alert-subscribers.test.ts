import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsAlertPublisher } from '../../lambda/adapters/sns-alert-publisher';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
import { BUILT_IN_RULES } from '../../lambda/domain/detection/built-in-rules';
import { presentationOf } from '../../lambda/domain/detection/window-state';
import type { AlertToPublish } from '../../lambda/ports';
import { LOCAL_SUBSCRIPTIONS } from '../../lib/local/environment';
import type { Delivery, SubscriptionProtocol } from '../../lib/local/sns-delivery';
import { type SnsRecorder, startSnsRecorder } from '../../lib/local/sns-recorder';
import { ARN_SHAPES, baseFinding, EXPLICIT, everywhere } from '../fixtures/hostile-alerts';
import { customNotificationViolations } from '../support/custom-notification-schema';

let recorder: SnsRecorder;
let client: SNSClient;
let publisher: SnsAlertPublisher;

beforeAll(async () => {
  recorder = await startSnsRecorder();
  const topicArn = recorder.createTopic('regionsweep-alerts');
  for (const { protocol, endpoint, rawMessageDelivery } of LOCAL_SUBSCRIPTIONS) {
    await recorder.subscribe(topicArn, protocol, endpoint, { rawMessageDelivery });
  }
  client = new SNSClient({
    region: 'us-east-1',
    endpoint: recorder.endpoint,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });
  publisher = new SnsAlertPublisher({ client, topicArn });
});

afterAll(async () => {
  client?.destroy();
  await recorder?.stop();
});

/** Publishes the alert as the Lambda does and returns what each subscription received, by protocol. */
async function deliveriesOf(alert: AlertToPublish): Promise<Record<SubscriptionProtocol, Delivery>> {
  const messageId = await publisher.publish(alert);
  const publish = recorder.published().find((candidate) => candidate.messageId === messageId);
  if (publish === undefined) throw new Error(`publish ${messageId} was not recorded`);
  return Object.fromEntries(publish.deliveries.map((d) => [d.protocol, d])) as Record<
    SubscriptionProtocol,
    Delivery
  >;
}

/** The `Message` of a JSON envelope (https, http, email-json and non-raw sqs bodies). */
function messageOf(delivery: Delivery): string {
  return (JSON.parse(delivery.body) as { Message: string }).Message;
}

/** An alert of each built-in rule, in that rule's words and with its group-by fields. */
const RULE_ALERTS = BUILT_IN_RULES.map((rule) => ({
  case: rule.slug,
  alert: {
    finding: {
      ...baseFinding(),
      ruleId: rule.id,
      ruleName: rule.name,
      presentation: presentationOf(rule),
      severity: rule.severity,
      groupedBy: Object.fromEntries(rule.groupBy.slice(1).map((field) => [field, '203.0.113.9'])),
      windowSeconds: rule.windowSeconds,
      distinctField: rule.distinctField,
    },
    origin: 'live',
    suppressedWindows: 0,
  } satisfies AlertToPublish,
}));

describe('Amazon Q Developer in chat applications (an https subscription) receives a custom notification', () => {
  it.each(RULE_ALERTS)('$case: the https Message is a valid custom notification', async ({ alert }) => {
    // Act
    const { https } = await deliveriesOf(alert);

    // Assess
    expect(customNotificationViolations(messageOf(https))).toEqual([]);
  });

  describe.each(ARN_SHAPES)('hostile values in every field, ARN as $shape', ({ arn }) => {
    it.each(EXPLICIT)('$case: the https Message is a valid custom notification', async ({ value }) => {
      // Act
      const { https } = await deliveriesOf(everywhere(value, arn, 'backfill'));

      // Assess
      expect(customNotificationViolations(messageOf(https))).toEqual([]);
    });
  });
});

describe('the other subscribers', () => {
  it.each(RULE_ALERTS)('$case: email receives the email text under the subject', async ({ alert }) => {
    // Prepare
    const rendered = renderAlert(alert);

    // Act
    const { email } = await deliveriesOf(alert);

    // Assess
    expect({ subject: email.subject, body: email.body }).toEqual({
      subject: rendered.subject,
      body: rendered.email,
    });
  });

  it.each(RULE_ALERTS)('$case: sqs (raw) and lambda receive the machine document', async ({ alert }) => {
    // Prepare
    const { document } = renderAlert(alert);

    // Act
    const { sqs, lambda } = await deliveriesOf(alert);

    // Assess
    const event = JSON.parse(lambda.body) as { Records: Array<{ Sns: { Message: string } }> };
    expect({
      sqs: JSON.parse(sqs.body),
      lambda: JSON.parse(event.Records[0]?.Sns.Message ?? 'null'),
    }).toEqual({ sqs: document, lambda: document });
  });

  it('http and email-json, having no key of their own, receive the machine document as default', async () => {
    // Prepare
    const [first] = RULE_ALERTS;
    if (first === undefined) throw new Error('no built-in rule');
    const { document } = renderAlert(first.alert);

    // Act
    const deliveries = await deliveriesOf(first.alert);

    // Assess
    expect({
      http: JSON.parse(messageOf(deliveries.http)),
      'email-json': JSON.parse(messageOf(deliveries['email-json'])),
    }).toEqual({ http: document, 'email-json': document });
  });
});
