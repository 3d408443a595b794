import { Token } from 'aws-cdk-lib';
import type { DeliveryMode } from './detector-props';
import { UnreachableDeliveryError } from './errors';

/** Where the README explains the layout that does work. */
const ORGANIZATION_LAYOUT =
  'use deliveryMode "sns": deploy the forwarding stack (lib/cdk/organization) in the bucket owner\'s account and ' +
  'the detector in this one (README, "Deploy: organization layout")';

/**
 * Refuses `s3` and `eventbridge` delivery when another account owns the bucket, when both accounts are known
 * at synth (`expectedBucketOwner` and a stack with an explicit account). Neither can work:
 * - `s3`: only the bucket owner may change a bucket's notification configuration
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-enable-disable-notification-intro.html),
 *   and the function's resource policy must let S3 invoke it for the bucket owner's account (CDK sets
 *   `SourceAccount` to the stack's account;
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
 * - `eventbridge`: S3 sends its events to the default event bus of the bucket owner's account in the
 *   bucket's Region (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html), so a rule on
 *   this stack's bus never matches: no invocation, no metric, no alarm.
 * An environment-agnostic stack (account unresolved) cannot be checked here; the deaf-detector alarm then
 * catches the silence after deployment.
 */
export function refuseUnreachableDelivery(
  mode: DeliveryMode,
  expectedBucketOwner: string | undefined,
  stackAccount: string,
): void {
  if (mode === 'sns' || expectedBucketOwner === undefined || Token.isUnresolved(stackAccount)) return;
  if (expectedBucketOwner === stackAccount) return;
  const accounts = `account ${expectedBucketOwner} owns the bucket and the stack deploys to ${stackAccount}`;
  if (mode === 's3') {
    throw new UnreachableDeliveryError(
      `deliveryMode "s3" cannot work across accounts (${accounts}): only the bucket owner configures its ` +
        `notifications, and S3 invokes a function only for the owner's account; ${ORGANIZATION_LAYOUT}`,
    );
  }
  throw new UnreachableDeliveryError(
    `deliveryMode "eventbridge" cannot work across accounts (${accounts}): S3 sends Object Created events ` +
      `to the default bus of account ${expectedBucketOwner}, so this stack's rule would never match; ` +
      ORGANIZATION_LAYOUT,
  );
}
