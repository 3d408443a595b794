import type { App, Stack } from 'aws-cdk-lib';
import { PROP_PATTERNS, type RegionSweepDetectorProps } from '../detector-props';
import { StackContextError } from '../errors';
import { RegionSweepStack } from '../region-sweep-stack';
import { CONTEXT_KEYS, type ContextKey, type ContextReader, contextText } from '../stack-context';
import { LogArchiveNotificationsStack } from './log-archive-notifications-stack';
import { TrailTopicStack } from './trail-topic-stack';

/**
 * Where the parts of an organization deployment live (AWS Organizations, Control Tower): the trail's bucket
 * in a log-archive account, the trail (and its own SNS topic) in the management account, the detector in a
 * security account. Every stack deploys to `region`, the bucket's.
 */
export interface OrganizationSettings {
  readonly securityAccount: string;
  /** Owns the bucket; the detector checks it on every read (`expectedBucketOwner`). */
  readonly logArchiveAccount: string;
  readonly region: string;
  /**
   * Present: the detector reads the trail's own notifications from a topic in the trail's account
   * ({@link TrailTopicStack}). Absent: the bucket's object-created notifications, forwarded by
   * {@link LogArchiveNotificationsStack} in the log-archive account.
   */
  readonly trailArn?: string;
}

/** Fixed topic names: the detector derives the topic's ARN, since CloudFormation cannot export across accounts. */
export const FORWARDING_TOPIC_NAMES = {
  logArchive: 'regionsweep-trail-objects',
  trail: 'regionsweep-trail-notifications',
} as const;

const TRAIL_ARN = /^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail\/[\w.-]{3,128}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * Reads the organization keys (`securityAccount`, `logArchiveAccount`, `region`, `trailArn`) beside the
 * detector's settings; `undefined` when none is given (a single stack). Throws {@link StackContextError}
 * for a layout that cannot work, naming the key.
 */
export function parseOrganizationContext(
  read: ContextReader,
  detector: RegionSweepDetectorProps,
): OrganizationSettings | undefined {
  const securityAccount = contextText(read, CONTEXT_KEYS.securityAccount);
  const logArchiveAccount = contextText(read, CONTEXT_KEYS.logArchiveAccount);
  const region = contextText(read, CONTEXT_KEYS.region);
  const trailArn = contextText(read, CONTEXT_KEYS.trailArn);
  if ([securityAccount, logArchiveAccount, region, trailArn].every((value) => value === undefined)) {
    return undefined;
  }
  const required = (key: ContextKey, value: string | undefined, pattern: RegExp, what: string): string => {
    if (value === undefined) throw new StackContextError(key, 'is required for the organization layout');
    if (!pattern.test(value)) throw new StackContextError(key, `is not ${what}: ${value}`);
    return value;
  };
  const security = required(
    CONTEXT_KEYS.securityAccount,
    securityAccount,
    PROP_PATTERNS.accountId,
    'an account id',
  );
  const logArchive = required(
    CONTEXT_KEYS.logArchiveAccount,
    logArchiveAccount,
    PROP_PATTERNS.accountId,
    'an account id',
  );
  const stackRegion = required(CONTEXT_KEYS.region, region, REGION, 'an AWS Region');
  if (security === logArchive) {
    throw new StackContextError(
      CONTEXT_KEYS.logArchiveAccount,
      "equals securityAccount: with the bucket in the detector's account, deploy the single stack (no organization keys)",
    );
  }
  if (detector.existingBucketName === undefined) {
    throw new StackContextError(
      CONTEXT_KEYS.bucketName,
      "is required for the organization layout (the trail's bucket)",
    );
  }
  const mode = contextText(read, CONTEXT_KEYS.deliveryMode);
  if (mode !== undefined && mode !== 'sns') {
    throw new StackContextError(
      CONTEXT_KEYS.deliveryMode,
      `must be left out in the organization layout, which uses sns: "${mode}" cannot reach a detector in another account than the bucket`,
    );
  }
  if (detector.notificationTopicArn !== undefined) {
    throw new StackContextError(
      CONTEXT_KEYS.notificationTopicArn,
      'is derived in the organization layout (the forwarding topic); for a topic of your own, deploy the single stack with deliveryMode sns',
    );
  }
  if (detector.expectedBucketOwner !== undefined && detector.expectedBucketOwner !== logArchive) {
    throw new StackContextError(
      CONTEXT_KEYS.expectedBucketOwner,
      `is ${detector.expectedBucketOwner} but logArchiveAccount is ${logArchive}: the bucket has one owner`,
    );
  }
  if (trailArn !== undefined) {
    const match = TRAIL_ARN.exec(trailArn);
    if (match === null) throw new StackContextError(CONTEXT_KEYS.trailArn, `is not a trail ARN: ${trailArn}`);
    if (match[2] !== stackRegion) {
      throw new StackContextError(
        CONTEXT_KEYS.trailArn,
        `is in ${match[2]} but region is ${stackRegion}: the trail's topic, the detector and the bucket share one Region`,
      );
    }
  }
  return {
    securityAccount: security,
    logArchiveAccount: logArchive,
    region: stackRegion,
    ...(trailArn === undefined ? {} : { trailArn }),
  };
}

/** The stacks of one organization deployment, in deployment order. */
export interface OrganizationStacks {
  /** In the log-archive account or the trail's account: the topic the detector subscribes to. */
  readonly forwarding: LogArchiveNotificationsStack | TrailTopicStack;
  /** In the security account. */
  readonly detector: RegionSweepStack;
}

/**
 * Adds the organization layout to `app`: the forwarding stack in the account that owns the notifications'
 * source, and the detector stack (id `RegionSweepStack`, as the single-stack app) in the security account,
 * `sns` mode on the forwarding topic, checking the bucket's owner on every read. `cdk deploy --all` deploys
 * the forwarding stack first (the detector's subscription needs the topic and its policy).
 */
export function addOrganizationLayout(
  app: App,
  options: {
    readonly organization: OrganizationSettings;
    readonly detector: RegionSweepDetectorProps;
    readonly stackName: string;
  },
): OrganizationStacks {
  const { organization, stackName } = options;
  const { region } = organization;
  const forwarding = forwardingStack(app, organization, options.detector, stackName);
  const detectorStack = new RegionSweepStack(app, 'RegionSweepStack', {
    stackName,
    env: { account: organization.securityAccount, region },
    description: 'RegionSweep detector (security account)',
    detector: {
      ...options.detector,
      deliveryMode: 'sns',
      notificationTopicArn: topicArn(forwarding),
      expectedBucketOwner: organization.logArchiveAccount,
    },
  });
  detectorStack.addStackDependency(forwarding, 'the detector subscribes to the forwarding topic');
  return { forwarding, detector: detectorStack };
}

function forwardingStack(
  app: App,
  organization: OrganizationSettings,
  detector: RegionSweepDetectorProps,
  stackName: string,
): LogArchiveNotificationsStack | TrailTopicStack {
  const { region, securityAccount, trailArn } = organization;
  if (trailArn !== undefined) {
    const trailAccount = trailArn.split(':')[4] ?? '';
    return new TrailTopicStack(app, 'RegionSweepTrailTopicStack', {
      stackName: `${stackName}-TrailTopic`,
      env: { account: trailAccount, region },
      description: "RegionSweep: the trail's notifications for the security account (trail's account)",
      trailArn,
      subscriberAccount: securityAccount,
      topicName: FORWARDING_TOPIC_NAMES.trail,
    });
  }
  return new LogArchiveNotificationsStack(app, 'RegionSweepLogArchiveStack', {
    stackName: `${stackName}-LogArchive`,
    env: { account: organization.logArchiveAccount, region },
    description:
      "RegionSweep: the trail bucket's notifications for the security account (log-archive account)",
    bucketName: detector.existingBucketName ?? '',
    ...(detector.keyPrefix === undefined ? {} : { keyPrefix: detector.keyPrefix }),
    subscriberAccount: securityAccount,
    topicName: FORWARDING_TOPIC_NAMES.logArchive,
  });
}

/** The forwarding topic's ARN, spelled out: a token of another account's stack cannot cross to the detector. */
function topicArn(stack: Stack): string {
  const name =
    stack instanceof TrailTopicStack ? FORWARDING_TOPIC_NAMES.trail : FORWARDING_TOPIC_NAMES.logArchive;
  return `arn:${partitionOf(stack.region)}:sns:${stack.region}:${stack.account}:${name}`;
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
