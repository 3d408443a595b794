import type { AlertDocument, ChatbotCustomNotification } from '../../lambda/domain/alert-message';
import type { Finding } from '../../lambda/domain/window-state';
import type { RecordedPublish } from './sns-recorder';

/** One alert as the topic received it, read back from the SNS message. */
export interface PublishedAlert {
  readonly messageId: string;
  readonly subject: string;
  readonly finding: Finding;
  readonly origin: AlertDocument['origin'];
  readonly email: string;
  readonly slack: ChatbotCustomNotification;
  readonly attributes: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads regionsweep alerts out of recorded publishes: the `sqs` entry of the JSON message holds the
 * finding as data, the `email` and `default` entries what people see. Oldest first.
 */
export function publishedAlerts(published: readonly RecordedPublish[]): PublishedAlert[] {
  return published.map((publish) => {
    const message = JSON.parse(publish.message) as Record<string, string | undefined>;
    const document = JSON.parse(message.sqs ?? 'null') as AlertDocument | null;
    if (document?.regionsweep !== 'alert') {
      throw new Error(`message ${publish.messageId} on ${publish.topicArn} is not a regionsweep alert`);
    }
    return {
      messageId: publish.messageId,
      subject: publish.subject ?? '',
      finding: document.finding,
      origin: document.origin,
      email: message.email ?? '',
      slack: JSON.parse(message.default ?? '{}') as ChatbotCustomNotification,
      attributes: Object.fromEntries(
        Object.entries(publish.attributes).map(([name, a]) => [name, a.StringValue]),
      ),
    };
  });
}
