import { type AlertDocument, fitDocument } from './alert-document';
import type { AlertToPublish } from './alert-to-publish';
import { type ChatbotCustomNotification, renderChatNotification } from './chat-notification';
import { renderEmail } from './email';
import { messageAttributes, type StringAttribute } from './message-attributes';
import { inertJson } from './neutralise';
import { renderSubject } from './subject';

/** Everything SNS Publish needs for one alert, already bounded and neutralised. */
export interface RenderedAlert {
  /** Single line, printable ASCII, shorter than 100 characters. */
  readonly subject: string;
  /** Plain-text body for email subscriptions. */
  readonly email: string;
  /** Body for Amazon Q Developer in chat applications, which subscribes with protocol `https`. */
  readonly slack: ChatbotCustomNotification;
  /** What machine subscribers (SQS, Lambda, and every protocol without its own key) receive: the finding as data. */
  readonly document: AlertDocument;
  /** The SNS `Message` for `MessageStructure: 'json'`: one body per protocol key (see MESSAGE_KEYS). */
  readonly message: string;
  readonly attributes: Readonly<Record<string, StringAttribute>>;
}

/**
 * Which body each SNS subscriber gets. SNS gives a subscription the value of its protocol's key, or `default`
 * when the message has none (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, `MessageStructure`):
 * - `https`: the custom notification, because Amazon Q Developer in chat applications subscribes with protocol
 *   https (endpoint https://global.sns-api.chatbot.amazonaws.com). A generic HTTPS webhook on the same topic
 *   gets it too; one that wants the finding as data reads it from an SQS queue or Lambda function instead.
 * - `email`: the plain-text email body.
 * - `sqs`, `lambda` and `default`: the machine document, so SIEM and ticketing queues and functions, and every
 *   protocol without a key of its own (http, email-json, firehose, sms, application), get the finding as data.
 */
const MESSAGE_KEYS = {
  https: 'notification',
  email: 'email',
  sqs: 'document',
  lambda: 'document',
  default: 'document',
} as const;

/** Renders one alert for SNS: subject, email body, chat notification, the JSON message and its attributes. */
export function renderAlert(alert: AlertToPublish): RenderedAlert {
  const subject = renderSubject(alert);
  const email = renderEmail(alert);
  const slack = renderChatNotification(alert);
  const document = fitDocument(alert);
  const bodies = { notification: JSON.stringify(slack), email, document: inertJson(document) };
  return {
    subject,
    email,
    slack,
    document,
    message: JSON.stringify(
      Object.fromEntries(Object.entries(MESSAGE_KEYS).map(([key, body]) => [key, bodies[body]])),
    ),
    attributes: messageAttributes(alert),
  };
}
