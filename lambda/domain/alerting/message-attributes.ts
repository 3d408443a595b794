import type { AlertToPublish } from './alert-to-publish';
import { escapeCodePoint, INVISIBLE } from './neutralise';
import { truncate } from './sizing';

/** One SNS message attribute of type String. */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** Longest value of the `arn` message attribute (ARNs may reach 2048 characters; filters need far less). */
export const MAX_ARN_ATTRIBUTE_LENGTH = 256;

/**
 * The message attributes subscription filter policies select on: severity, rule, account, ARN and origin
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html).
 */
export function messageAttributes({ finding, origin }: AlertToPublish): Record<string, StringAttribute> {
  const account = finding.accountIds[0];
  const attribute = (value: string): StringAttribute => ({ DataType: 'String', StringValue: value });
  return {
    severity: attribute(finding.severity),
    rule_id: attribute(attributeValue(finding.ruleId, 64)),
    account: attribute(account === undefined ? 'unknown' : attributeValue(account, 64)),
    arn: attribute(finding.arn === null ? 'none' : attributeValue(finding.arn, MAX_ARN_ATTRIBUTE_LENGTH)),
    origin: attribute(origin),
    backfill: attribute(origin === 'backfill' ? 'true' : 'false'),
  };
}

/**
 * An attribute value for subscription filter policies: kept as close to the log value as possible (no
 * markdown defanging), but without invisible characters and cut at a code-point boundary, so SNS accepts it.
 */
function attributeValue(value: string, maxLength: number): string {
  const visible = value.replace(INVISIBLE, escapeCodePoint);
  return visible.length === 0 ? 'empty' : truncate(visible, maxLength);
}
