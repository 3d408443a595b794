import type { AlertDocument } from '../../lambda/domain/alerting/alert-document';
import type { ChatbotCustomNotification } from '../../lambda/domain/alerting/chat-notification';
import type { Finding } from '../../lambda/domain/detection/window-state';
import { type Delivery, messageFor } from './sns-delivery';
import type { RecordedPublish } from './sns-recorder';

/** One alert as the topic received it, read back from the SNS message the way each subscriber reads it. */
export interface PublishedAlert {
  readonly messageId: string;
  readonly subject: string;
  readonly finding: Finding;
  readonly origin: AlertDocument['origin'];
  /** What an email subscription shows. */
  readonly email: string;
  /** What Amazon Q Developer in chat applications (an `https` subscription) posts to the chat channel. */
  readonly slack: ChatbotCustomNotification;
  readonly attributes: Readonly<Record<string, string | undefined>>;
  /** What each subscription of the topic received, in subscription order. */
  readonly deliveries: readonly Delivery[];
}

/**
 * Reads regionsweep alerts out of recorded publishes, each body chosen as SNS chooses it for a protocol: the
 * finding from what an `sqs` subscriber gets (the machine document), the email text from `email`, the custom
 * notification from `https`. Oldest first.
 */
export function publishedAlerts(published: readonly RecordedPublish[]): PublishedAlert[] {
  return published.map((publish) => {
    const document = JSON.parse(messageFor(publish, 'sqs')) as AlertDocument | null;
    if (document?.regionsweep !== 'alert') {
      throw new Error(`message ${publish.messageId} on ${publish.topicArn} is not a regionsweep alert`);
    }
    return {
      messageId: publish.messageId,
      subject: publish.subject ?? '',
      finding: document.finding,
      origin: document.origin,
      email: messageFor(publish, 'email'),
      slack: JSON.parse(messageFor(publish, 'https')) as ChatbotCustomNotification,
      attributes: Object.fromEntries(
        Object.entries(publish.attributes).map(([name, a]) => [name, a.StringValue]),
      ),
      deliveries: publish.deliveries,
    };
  });
}
