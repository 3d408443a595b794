import { PublishCommand, type PublishCommandOutput } from '@aws-sdk/client-sns';
import { renderAlert } from '../domain/alerting/sns-message';
import { SnsMissingMessageIdError } from '../domain/errors';
import type { AlertPublisher, AlertToPublish } from '../ports';

/** The one SNS call the publisher makes: `SNSClient` satisfies it. */
export interface SnsPublishPort {
  send(command: PublishCommand): Promise<PublishCommandOutput>;
}

/**
 * Publishes alerts to one SNS topic as a `MessageStructure: 'json'` message with one body per subscriber kind
 * (see renderAlert): the custom notification for Amazon Q Developer in chat applications (`https`), a
 * plain-text body for email, the finding as data for everything else. Every SDK error propagates unchanged
 * (the caller treats them as transient and retries; the window's claim makes a retry publish at most once more).
 */
export class SnsAlertPublisher implements AlertPublisher {
  private readonly client: SnsPublishPort;
  private readonly topicArn: string;

  constructor(options: { readonly client: SnsPublishPort; readonly topicArn: string }) {
    this.client = options.client;
    this.topicArn = options.topicArn;
  }

  async publish(alert: AlertToPublish): Promise<string> {
    const rendered = renderAlert(alert);
    const output = await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        MessageStructure: 'json',
        Subject: rendered.subject,
        Message: rendered.message,
        MessageAttributes: { ...rendered.attributes },
      }),
    );
    if (output.MessageId === undefined || output.MessageId === '') {
      throw new SnsMissingMessageIdError(`SNS Publish to ${this.topicArn} returned no MessageId`);
    }
    return output.MessageId;
  }
}
