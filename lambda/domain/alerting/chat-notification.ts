import type { Finding } from '../detection/window-state';
import { fnv1a } from '../fnv1a';
import type { AlertToPublish } from './alert-to-publish';
import { neutralise } from './neutralise';
import * as shown from './shown-finding';
import { SHOWN_LIMITS, truncate } from './sizing';
import { addSeconds, utcSeconds } from './utc';

/**
 * A custom notification of Amazon Q Developer in chat applications (formerly AWS Chatbot): posted to Slack,
 * Teams or Chime when the body it receives from the topic parses as this shape
 * (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html). It subscribes with protocol
 * `https`, so the message carries this under the `https` key.
 */
export interface ChatbotCustomNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id?: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: readonly string[];
    readonly keywords?: readonly string[];
  };
  readonly metadata?: {
    readonly threadId?: string;
    readonly summary?: string;
    readonly eventType?: string;
    readonly relatedResources?: readonly string[];
    readonly additionalContext?: Readonly<Record<string, string>>;
  };
}

const EVENT_TYPE = 'RegionSweepFinding';

/**
 * Longest chat texts, in UTF-16 units (never fewer than a chat app counts characters). The custom notification
 * guide sets no field lengths; Slack shows at most 3000 characters in one section of a message
 * (https://api.slack.com/reference/block-kit/blocks#section), so the description stays within that.
 */
const CHAT_LIMITS = { title: 200, description: 3000, summary: 512 } as const;

/**
 * How far the chat description cuts values and lists, one step after another, until it fits: the first step
 * is the full description; the last one keeps even 8 group-by fields and every list within the limit.
 */
const CHAT_STEPS = [
  {
    arn: SHOWN_LIMITS.arn,
    value: SHOWN_LIMITS.value,
    name: 64,
    list: SHOWN_LIMITS.slackList,
    distinct: SHOWN_LIMITS.distinctValues,
    distinctValue: SHOWN_LIMITS.distinctValue,
    findings: 12,
  },
  { arn: 200, value: 100, name: 48, list: 3, distinct: 24, distinctValue: 64, findings: 6 },
  { arn: 100, value: 48, name: 32, list: 2, distinct: 8, distinctValue: 32, findings: 3 },
  { arn: 64, value: 24, name: 24, list: 1, distinct: 3, distinctValue: 24, findings: 1 },
] as const;

const WINDOW_NEXT_STEPS = [
  'Confirm the identity and whether it is expected to make these calls in a burst (inventory or security tooling).',
  'Check the source IP and user agent against your known networks and tools.',
  'Search CloudTrail around the window for other Describe/List/Get calls and for earlier credential activity (the email has the query).',
  'If unexplained: deactivate the access key or revoke the role sessions, then rotate.',
] as const;

/** For a rule alerting per event (a Sigma detection rule): one call to explain, no burst. */
const EVENT_NEXT_STEPS = [
  'Confirm the identity and whether it is expected to make this call (a change ticket, a pipeline, the owning team).',
  'Check the source IP and user agent against your known networks and tools.',
  'Search CloudTrail around the event for what the identity did before and after it, and for earlier credential activity (the email has the query).',
  'If unexplained: deactivate the access key or revoke the role sessions, then rotate.',
] as const;

/**
 * The chat notification: a headline title, a `*Label:* value` description cut step by step until it fits a
 * Slack section, next steps, and metadata that threads the alerts of one identity together.
 */
export function renderChatNotification({
  finding,
  origin,
  suppressedWindows,
}: AlertToPublish): ChatbotCustomNotification {
  const { title, distinctNoun } = shown.presentation(finding);
  const arn = shown.arn(finding, SHOWN_LIMITS.arn);
  const headline = `${title}: ${finding.distinctCount} ${distinctNoun}`;
  let description = '';
  for (const step of CHAT_STEPS) {
    description = chatDescription(finding, origin, suppressedWindows, step);
    if (description.length <= CHAT_LIMITS.description) break;
  }
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: truncate(
        `:rotating_light: ${origin === 'backfill' ? '[backfill] ' : ''}${headline}`,
        CHAT_LIMITS.title,
        'utf16Units',
      ),
      description,
      nextSteps: finding.presentation.perEvent === true ? [...EVENT_NEXT_STEPS] : [...WINDOW_NEXT_STEPS],
      // Keywords show as labels in the channel: the rule's tags (Sigma's ATT&CK tags) join them.
      keywords: [
        'regionsweep',
        finding.severity,
        origin,
        ...(finding.tags ?? []).slice(0, SHOWN_LIMITS.tags).map((tag) => neutralise(tag, SHOWN_LIMITS.tag)),
      ],
    },
    metadata: {
      threadId: `regionsweep-${threadHash(`${finding.ruleId}\u0000${finding.arn ?? ''}`)}`,
      summary: truncate(
        `${headline}, ${finding.eventCount} calls by ${arn}`,
        CHAT_LIMITS.summary,
        'utf16Units',
      ),
      eventType: EVENT_TYPE,
      relatedResources: [arn],
      additionalContext: {
        ruleId: neutralise(finding.ruleId, 64),
        windowStart: utcSeconds(finding.windowStart),
        window: finding.window,
        distinctField: neutralise(finding.distinctField, 64),
        distinctCount: String(finding.distinctCount),
        eventCount: String(finding.eventCount),
        failedCount: String(finding.failedCount),
        origin,
      },
    },
  };
}

/** The chat description, `*Label:* value` per line, with values and lists cut as far as `step` says. */
function chatDescription(
  finding: Finding,
  origin: AlertToPublish['origin'],
  suppressedWindows: number,
  step: (typeof CHAT_STEPS)[number],
): string {
  const { distinctNoun, perEvent } = shown.presentation(finding);
  const { description } = finding.presentation;
  const arn = shown.arn(finding, step.arn);
  const windowEnd = addSeconds(finding.windowStart, finding.windowSeconds);
  const tags = shown.tags(finding);
  return [
    ...(description === undefined ? [] : [`*Description:* ${neutralise(description, step.value)}`]),
    `*Identity:* ${arn}`,
    ...shown.groupedBy(finding, step.value, step.name).map(([label, value]) => `*${label}:* ${value}`),
    `*Account:* ${shown.list(finding.accountIds, step.list, ', ', step.value)}`,
    `*${shown.capitalised(distinctNoun)} (${finding.distinctCount}):* ` +
      shown.distinctList(finding.distinctValues, step.distinct, step.distinctValue),
    ...(finding.contributingFindings === undefined
      ? [
          `*Calls:* ${finding.eventCount}, of which failed: ${finding.failedCount}` +
            (finding.failedCount > 0 ? ' (denied calls are still reconnaissance)' : ''),
        ]
      : [
          `*Findings (${finding.eventCount}):*`,
          ...shown.contributingFindings(finding, step.findings, step.name).map((line) => `• ${line}`),
        ]),
    perEvent === true
      ? `*Event time:* ${utcSeconds(finding.firstEventTime)}`
      : `*Window:* ${utcSeconds(finding.windowStart)} to ${utcSeconds(windowEnd)} UTC` +
        (finding.window === 'offset' ? ', offset window (hopping mode)' : ''),
    `*Source IPs:* ${shown.list(finding.sourceIps, step.list, ', ', step.value)}`,
    `*User agents:* ${shown.list(finding.userAgents, step.list, ' | ', step.value)}`,
    ...(suppressedWindows > 0 ? [`*Suppressed since previous alert:* ${suppressedWindows} window(s)`] : []),
    ...(tags === undefined ? [] : [`*Tags:* ${tags}`]),
    ...(origin === 'backfill' ? ['*Origin:* backfill replay of stored logs'] : []),
  ].join('\n');
}

/** A stable, short thread id per identity: FNV-1a as 8 hex digits. */
function threadHash(value: string): string {
  return fnv1a(value).toString(16).padStart(8, '0');
}
