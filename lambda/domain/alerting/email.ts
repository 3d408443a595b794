import type { Finding } from '../detection/window-state';
import type { AlertToPublish } from './alert-to-publish';
import { neutralise } from './neutralise';
import { athenaQuery } from './pivot-query';
import * as shown from './shown-finding';
import { SHOWN_LIMITS } from './sizing';
import { addSeconds, utcSeconds } from './utc';

/**
 * The plain-text email body: what happened, the identity, the activity, triage steps, the CloudTrail pivot
 * (Athena query and console links) and the rule. Log values stand on their own field lines, neutralised and
 * cut; only our own prose is wrapped.
 */
export function renderEmail({ finding, origin, suppressedWindows }: AlertToPublish): string {
  const { title, distinctNoun, eventNoun, perEvent, description } = shown.presentation(finding);
  const arn = shown.arn(finding, SHOWN_LIMITS.arn);
  const windowEnd = addSeconds(finding.windowStart, finding.windowSeconds);
  const backfill =
    origin === 'backfill'
      ? ' This alert comes from a backfill replay of stored logs, not from live delivery.'
      : '';
  const lines = [
    perEvent === true
      ? `regionsweep alert: ${title} (${eventCount(finding)} at ${utcSeconds(finding.firstEventTime)})`
      : `regionsweep alert: ${title} (${finding.distinctCount} ${distinctNoun} by one identity within ${finding.windowSeconds} seconds)`,
    '',
    'WHAT HAPPENED',
    // A per-event rule (a Sigma detection rule) has no burst to tell of: the event, and the rule's own words.
    perEvent === true
      ? wrap(
          `The identity below made ${eventCount(finding)} the rule matches, at ` +
            `${utcSeconds(finding.firstEventTime)}.${backfill}`,
        )
      : wrap(
          `The identity below made ${finding.eventCount} ${eventNoun} across ${finding.distinctCount} ` +
            `${distinctNoun} in the ${finding.windowSeconds}-second${windowWord(finding)} starting ` +
            `${utcSeconds(finding.windowStart)}. Enumerating an account in a burst like this is how an intruder ` +
            'holding stolen credentials maps an estate; it is also what inventory, compliance and security tools ' +
            `do on a schedule.${backfill}`,
        ),
    ...(description === undefined ? [] : [field('Rule description', description)]),
    '',
    'IDENTITY',
    field('ARN', arn),
    ...shown.groupedBy(finding).map(([label, value]) => field(label, value)),
    field('Account(s)', shown.list(finding.accountIds, SHOWN_LIMITS.list)),
    field('Identity type(s)', shown.list(finding.identityTypes, SHOWN_LIMITS.list)),
    field('Access key id(s)', shown.list(finding.accessKeyIds, SHOWN_LIMITS.list)),
    field('Session issuer(s)', shown.list(finding.sessionIssuers, SHOWN_LIMITS.list)),
    '',
    'ACTIVITY',
    ...(perEvent === true
      ? [field('Event time', utcSeconds(finding.firstEventTime))]
      : [
          field(
            'Window',
            `${utcSeconds(finding.windowStart)} to ${utcSeconds(windowEnd)} (UTC)` +
              (finding.window === 'offset' ? ', offset window (hopping mode)' : ''),
          ),
          field('First event', utcSeconds(finding.firstEventTime)),
          field('Last event', utcSeconds(finding.lastEventTime)),
        ]),
    field(
      `${shown.capitalised(distinctNoun)} (${finding.distinctCount})`,
      shown.distinctList(finding.distinctValues),
    ),
    ...(finding.contributingFindings === undefined
      ? eventLines(finding)
      : [
          field(
            'Findings',
            `${finding.eventCount} (a finding counts once however often its window is replayed)`,
          ),
        ]),
    field('Source IPs', shown.list(finding.sourceIps, SHOWN_LIMITS.list)),
    'User agents:',
    ...bullets(finding.userAgents, SHOWN_LIMITS.list),
    ...(suppressedWindows > 0
      ? [
          wrap(
            `${suppressedWindows} earlier window(s) of this identity crossed the rule since its previous alert and were not sent separately.`,
            ' '.repeat(20),
            'Suppressed:'.padEnd(20),
          ),
        ]
      : []),
    ...contributingSection(finding),
    '',
    'TRIAGE',
    ...(perEvent === true ? EVENT_TRIAGE_STEPS : triageSteps(eventNoun)).map((step, index) =>
      wrap(`${index + 1}. ${step}`, '   '),
    ),
    '',
    'CLOUDTRAIL PIVOT',
    wrap(
      'Athena, on a table made with the standard CloudTrail DDL (adjust the table name): every event of the identity, whatever the rule matched; the range pads the window by five minutes each side:',
    ),
    ...athenaQuery(finding, windowEnd).map((line) => `    ${line}`),
    ...consoleLines(finding),
    '',
    'RULE',
    field('Rule', `${neutralise(finding.ruleName, SHOWN_LIMITS.value)} (${neutralise(finding.ruleId, 64)})`),
    field('Counts distinct', neutralise(finding.distinctField, SHOWN_LIMITS.value)),
    field('Severity', finding.severity),
    ...optionalField('Tags', shown.tags(finding)),
    field('Origin', origin),
    field('Sample event ids', shown.list(finding.sampleEventIds, SHOWN_LIMITS.list)),
  ];
  return `${lines.join('\n')}\n`;
}

/** Events and failed calls of an event rule's finding. */
function eventLines(finding: Finding): string[] {
  return [
    field('Events', `${finding.eventCount} (an event id seen twice counts once)`),
    field('Failed calls', `${finding.failedCount} of ${finding.eventCount}`),
    // Only said when there are some: a rule may match successful calls alone (the S3 posture rule does).
    ...(finding.failedCount > 0
      ? [
          indent(
            'Failed calls count toward the rule: a denied call is still reconnaissance, and credentials ' +
              'being probed for what they can reach produce exactly such errors.',
          ),
        ]
      : []),
  ];
}

/** A correlation's findings, one line each, under a heading of their own (nothing for other findings). */
function contributingSection(finding: Finding): string[] {
  const lines = shown.contributingFindings(finding);
  if (lines.length === 0) return [];
  return [
    '',
    'CONTRIBUTING FINDINGS',
    wrap(
      'Each finding the correlation counted: its rule, its window, and its counts when it joined (they may have grown since).',
    ),
    ...lines.map((line) => `  - ${line}`),
  ];
}

/**
 * The investigation steps, written for this project from the logic of the rules' investigation guides; only
 * the neutralised event noun comes from the rule.
 */
function triageSteps(eventNoun: string): string[] {
  return [
    'Confirm who this is: the ARN, the account and, for a role session, the session issuer (which role, assumed by whom).',
    `Decide whether this identity is expected to make ${eventNoun} at this rate: inventory, CSPM, backup or cost tools do; people and most application roles do not. Ask the owning team if unsure.`,
    'Check where the calls came from: is the source IP one of your networks, a known CI runner or an AWS service, and is the user agent the AWS CLI or an SDK your tooling uses, or an unusual client?',
    'Look around the window in CloudTrail: other Describe*, List* and Get* calls across services (wider enumeration), and sign-ins, AssumeRole, GetSessionToken or new access keys for this identity just before it (how the credentials were obtained).',
    'If it is not explained, contain it: deactivate the access key of an IAM user, or revoke the active sessions of the role, then rotate the credentials and narrow the permissions that allowed the calls.',
  ];
}

/** The investigation steps for one event (a per-event rule): no rate or burst to judge. */
const EVENT_TRIAGE_STEPS: readonly string[] = [
  'Confirm who this is: the ARN, the account and, for a role session, the session issuer (which role, assumed by whom).',
  'Decide whether this identity is expected to make this call: a change ticket, a deployment pipeline or the owning team may explain it.',
  'Check where the call came from: is the source IP one of your networks, a known CI runner or an AWS service, and is the user agent a client your tooling uses?',
  'Look around the event in CloudTrail: what the identity did just before and after it, and sign-ins, AssumeRole, GetSessionToken or new access keys for it shortly before (how the credentials were obtained).',
  'If it is not explained, contain it: deactivate the access key of an IAM user, or revoke the active sessions of the role, then rotate the credentials and narrow the permissions that allowed the call.',
];

/** `1 event` or `N events` (a per-event rule counts more only for events without an eventID). */
function eventCount(finding: Finding): string {
  return finding.eventCount === 1 ? '1 event' : `${finding.eventCount} events`;
}

/** Console event-history links, only for values that match the format AWS gives them (never free text). */
function consoleLines(finding: Finding): string[] {
  const base = 'https://console.aws.amazon.com/cloudtrailv2/home#/events';
  const accessKey = finding.accessKeyIds.find((id) => /^[A-Z0-9]{16,128}$/.test(id));
  const userName = finding.arn === null ? undefined : finding.arn.split('/').at(-1);
  const lookup =
    accessKey !== undefined
      ? `AccessKeyId=${encodeURIComponent(accessKey)}`
      : userName !== undefined && /^[A-Za-z0-9+=,.@_-]{1,128}$/.test(userName)
        ? `Username=${encodeURIComponent(userName)}`
        : undefined;
  if (lookup === undefined) return [];
  return [
    'CloudTrail console event history (one region at a time; switch region to see the others):',
    `    ${base}?${lookup}`,
  ];
}

/** ` window` or ` offset window (hopping mode)`, for prose about the finding's window. */
function windowWord(finding: Finding): string {
  return finding.window === 'offset' ? ' offset window (hopping mode)' : ' window';
}

/** One `  - value` line per value (at most `max`, neutralised), then how many more there were. */
function bullets(values: readonly string[], max: number): string[] {
  if (values.length === 0) return ['  - (none recorded)'];
  const shown = values.slice(0, max).map((v) => `  - ${neutralise(v, SHOWN_LIMITS.value)}`);
  return values.length > max ? [...shown, `  - ... and ${values.length - max} more`] : shown;
}

/** The field line, or nothing when there is no value to show. */
function optionalField(label: string, value: string | undefined): string[] {
  return value === undefined ? [] : [field(label, value)];
}

/** `Label:` padded so values line up at column 20; a longer label is followed by one space. */
function field(label: string, value: string): string {
  const head = `${label}:`;
  return head.length < 20 ? `${head.padEnd(20)}${value}` : `${head} ${value}`;
}

/** Our prose under a field, wrapped and indented to the column of the field values. */
function indent(text: string): string {
  return wrap(text, ' '.repeat(20), ' '.repeat(20));
}

/** Wraps our own prose at 100 columns (log values are never wrapped: they are on their own field lines). */
function wrap(text: string, continuation = '', first = ''): string {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > 100) {
      out.push(line);
      line = `${continuation}${word}`;
    } else {
      line = empty ? `${line}${word}` : `${line} ${word}`;
    }
    empty = false;
  }
  out.push(line);
  return out.join('\n');
}
