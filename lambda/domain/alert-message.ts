import type { AlertToPublish } from '../ports';
import type { RulePresentation } from './rule';
import type { Finding } from './window-state';

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

/** One SNS message attribute of type String. */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

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
 * The machine-readable alert: the finding exactly as computed (values not neutralised: a SIEM wants the raw
 * user agent), with where it came from. Every list and value in a finding is already bounded. Its JSON text
 * (see inertJson) still shows no `<` `>` `&` and no control, bidi or invisible character to a reader.
 */
export interface AlertDocument {
  readonly regionsweep: 'alert';
  /** 2 since findings name their distinct values generically (`distinctCount`, `distinctValues`) and carry `presentation`. */
  readonly version: 2;
  readonly origin: AlertToPublish['origin'];
  readonly suppressedWindows: number;
  /** True when values or lists were cut to fit the message (counts are always exact). */
  readonly truncated: boolean;
  readonly finding: AlertToPublish['finding'];
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

/**
 * Bytes one copy of the document may take inside the SNS message (after both JSON encodings). With three
 * copies plus the email and chat bodies the message stays far below 262144 bytes whatever the log held.
 */
export const DOCUMENT_BUDGET_BYTES = 16_384;

/** Cuts string values and lists, step by step, until the document fits its budget. */
export function fitDocument(alert: AlertToPublish): AlertDocument {
  const steps = [
    { value: Number.POSITIVE_INFINITY, list: Number.POSITIVE_INFINITY },
    { value: 256, list: 20 },
    { value: 128, list: 10 },
    { value: 64, list: 5 },
    { value: 32, list: 2 },
    { value: 16, list: 1 },
  ];
  let document: AlertDocument | undefined;
  for (const [index, step] of steps.entries()) {
    const cut = (value: string) =>
      value.length <= step.value ? value : `${value.slice(0, step.value - 1)}…`;
    const cutList = (values: readonly string[]) => values.slice(0, step.list).map(cut);
    const { finding } = alert;
    document = {
      regionsweep: 'alert',
      version: 2,
      origin: alert.origin,
      suppressedWindows: alert.suppressedWindows,
      truncated: index > 0,
      finding: {
        ...finding,
        ruleName: cut(finding.ruleName),
        presentation: {
          title: cut(finding.presentation.title),
          distinctNoun: cut(finding.presentation.distinctNoun),
          eventNoun: cut(finding.presentation.eventNoun),
        },
        arn: finding.arn === null ? null : cut(finding.arn),
        // Group values come from the log uncut (like the ARN); the field names from the rule.
        groupedBy: Object.fromEntries(
          Object.entries(finding.groupedBy)
            .slice(0, step.list)
            .map(([name, value]) => [cut(name), value === null ? null : cut(value)]),
        ),
        distinctField: cut(finding.distinctField),
        distinctValues: cutList(finding.distinctValues),
        accountIds: cutList(finding.accountIds),
        identityTypes: cutList(finding.identityTypes),
        accessKeyIds: cutList(finding.accessKeyIds),
        sourceIps: cutList(finding.sourceIps),
        userAgents: cutList(finding.userAgents),
        sessionIssuers: cutList(finding.sessionIssuers),
        sampleEventIds: cutList(finding.sampleEventIds),
      },
    };
    // The plain encoding is never longer than the inert one and far cheaper on megabytes of escapes.
    const fits = (json: string) => Buffer.byteLength(JSON.stringify(json)) <= DOCUMENT_BUDGET_BYTES;
    if (fits(JSON.stringify(document)) && fits(inertJson(document))) return document;
  }
  if (document === undefined) throw new Error('fitDocument: no step');
  return document;
}

/** Longest subject SNS accepts is below 100 characters. */
export const MAX_SUBJECT_LENGTH = 99;

/** Longest value of the `arn` message attribute (ARNs may reach 2048 characters; filters need far less). */
export const MAX_ARN_ATTRIBUTE_LENGTH = 256;

/**
 * Caps on what one alert shows. Each list and each value is bounded, so the whole message stays far below the
 * SNS limit of 262144 bytes whatever the log contained: worst case every kept code point costs 4 bytes after
 * both JSON encodings, and the email holds at most about 40 000 code points of log values and rule words
 * (the worst case renders to about 157 KB in all).
 */
const LIMITS = {
  value: 200,
  arn: 300,
  /** Room for an S3 bucket ARN (up to 76 characters) after defanging its dots. */
  distinctValue: 128,
  distinctValues: 64,
  groupedBy: 8,
  list: 20,
  slackList: 5,
  sqlArn: 512,
  /** Presentation text is checked to be short when a rule is parsed; this bounds a Finding built otherwise. */
  presentation: 64,
} as const;

const NO_ARN = '(no identity ARN)';
const EVENT_TYPE = 'RegionSweepFinding';

/**
 * Every code point of Unicode's "Other" categories (`\p{C}`: controls, format characters such as bidi controls
 * and zero-width characters, unassigned code points, private use, lone surrogates) and the line and paragraph
 * separators (`\p{Zl}`, `\p{Zp}`). None may reach a reader: each is shown as a visible `\uXXXX` escape
 * instead. Chosen by general category, not by a list: a code point assigned an invisible meaning later
 * is unassigned (Cn) today, or a format character (Cf) once assigned, and is caught either way.
 */
const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/gu;

/**
 * Makes one attacker-controlled string (anything read from a log) safe to show in Slack/Teams markdown and in
 * a plain-text email, and at most `maxLength` code points long.
 *
 * Invariants of the result: no control, bidi or invisible character (each is shown as a `\uXXXX` escape, so
 * the value stays one line and reads in logical order); no `<` `>` `&` (no Slack mention, link or entity);
 * no `*` `~` or backtick and no `_` outside a word (no markdown formatting; `my_role` stays as is); no
 * `@here`/`@channel`/`@everyone`; no `scheme://`, no `](` and no dot between a name and a letter (no link
 * or auto-linked domain: `https://evil.example` reads `hxxps[:]//evil[.]example`).
 */
export function neutralise(value: string, maxLength: number): string {
  // Each character becomes at least one character of the result and no replacement looks more than 8
  // characters ahead, so the first maxLength + 16 code points decide the (cut) result: a 100 KB value costs
  // no more work than a short one.
  const room = 2 * (maxLength + 16);
  const safe = (value.length > room ? value.slice(0, room) : value)
    .replace(INVISIBLE, escapeCodePoint)
    .replace(/</g, '\u2039')
    .replace(/>/g, '\u203a')
    .replace(/&/g, '\uff06')
    .replace(/\*/g, '\u2217')
    .replace(/~/g, '\u223c')
    .replace(/`/g, '\u02cb')
    .replace(/_/g, (match, offset: number, whole: string) =>
      isWordChar(whole[offset - 1]) && isWordChar(whole[offset + 1]) ? match : '\uff3f',
    )
    .replace(/@(?=here|channel|everyone)/gi, '\uff20')
    .replace(/\b(h)tt(ps?):\/\//gi, '$1xx$2[:]//')
    .replace(/:\/\//g, '[:]//')
    .replace(/(?<=[A-Za-z0-9-])\.(?=[A-Za-z])/g, '[.]')
    .replace(/\]\(/g, '] (');
  return truncate(safe, maxLength);
}

/** Renders one alert for SNS: subject, email body, chat notification, the JSON message and its attributes. */
export function renderAlert(alert: AlertToPublish): RenderedAlert {
  const subject = renderSubject(alert);
  const email = renderEmail(alert);
  const slack = renderChatbot(alert);
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
    attributes: renderAttributes(alert),
  };
}

/** What inertJson writes as a `\uXXXX` escape: markup characters and everything INVISIBLE matches. */
const JSON_ESCAPED = new RegExp(`[<>&]|${INVISIBLE.source}`, 'gu');

/**
 * `JSON.stringify(value)` with `<` `>` `&` and every invisible character written as `\uXXXX` escapes (one per
 * UTF-16 unit). JSON.parse gives back exactly the same value; the text shows no mention, link or bidi trick to
 * whoever reads the raw message. Safe on the whole text: outside strings JSON has only ASCII punctuation,
 * digits and literals, and inside them no escape sequence contains any of these characters.
 */
function inertJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_ESCAPED, (char) =>
    char
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/**
 * `[regionsweep] <title>: <N> <distinct noun> by <identity> (<window start>)`, below 100 characters: when it is
 * too long the identity is cut first (to no fewer than 16 characters), then the noun (to 12), then the title
 * (to 16), and then whatever is still needed; the count and the window time are always whole.
 */
function renderSubject({ finding, origin }: AlertToPublish): string {
  const { title, distinctNoun } = shownPresentation(finding);
  const prefix = `${origin === 'backfill' ? '[backfill] ' : ''}[regionsweep] `;
  const count = `: ${finding.distinctCount} `;
  const by = ' by ';
  const when = ` (${utcSeconds(finding.windowStart)})`;
  const label = finding.arn === null ? NO_ARN : neutralise(identityLabel(finding.arn), 200);
  const room = MAX_SUBJECT_LENGTH - prefix.length - count.length - by.length - when.length;
  const [fittedTitle, fittedNoun, fittedLabel] = fitParts(
    [
      { text: asciiOnly(title), floor: 16, order: 2 },
      { text: asciiOnly(distinctNoun), floor: 12, order: 1 },
      { text: asciiOnly(label), floor: 16, order: 0 },
    ],
    room,
  );
  return `${prefix}${fittedTitle}${count}${fittedNoun}${by}${fittedLabel}${when}`.slice(
    0,
    MAX_SUBJECT_LENGTH,
  );
}

/**
 * Cuts texts (marking each cut with `...`) until their lengths add up to at most `room`: first each, by
 * `order`, down to its floor; then each, in the same order, as far as needed. Returns them in their given order.
 */
function fitParts(
  parts: readonly { readonly text: string; readonly floor: number; readonly order: number }[],
  room: number,
): string[] {
  const texts = parts.map((part) => part.text);
  const byOrder = [...parts.keys()].sort((a, b) => (parts[a]?.order ?? 0) - (parts[b]?.order ?? 0));
  for (const floors of [true, false]) {
    for (const index of byOrder) {
      const excess = texts.reduce((sum, text) => sum + text.length, 0) - room;
      const current = texts[index] ?? '';
      if (excess <= 0) return texts;
      const floor = floors ? Math.min(parts[index]?.floor ?? 0, current.length) : 0;
      texts[index] = cutWithDots(current, Math.max(current.length - excess, floor));
    }
  }
  return texts;
}

/**
 * `text` cut to at most `length` characters ending in `...`, at a space when one is in the second half of what
 * is kept (`distinct...`, not `distinct dis...`); nothing when there is no room for a letter and the dots.
 */
function cutWithDots(text: string, length: number): string {
  if (text.length <= length) return text;
  if (length < 4) return '';
  const kept = text.slice(0, length - 3);
  const space = kept.lastIndexOf(' ');
  return `${space >= kept.length / 2 ? kept.slice(0, space) : kept}...`;
}

/** The finding's presentation, neutralised and bounded: rule authors write it, but it is shown as text. */
function shownPresentation({ presentation }: Finding): RulePresentation {
  return {
    title: neutralise(presentation.title, LIMITS.presentation),
    distinctNoun: neutralise(presentation.distinctNoun, LIMITS.presentation),
    eventNoun: neutralise(presentation.eventNoun, LIMITS.presentation),
  };
}

/** Labels for group-by fields people know by another name. */
const GROUP_LABELS: Readonly<Record<string, string>> = { sourceIPAddress: 'Source IP' };

/** `[label, value]` of each further group-by field (the S3 posture rule's source IP), neutralised. */
function groupedByShown(
  finding: Finding,
  valueLength: number = LIMITS.value,
  nameLength = 64,
): Array<readonly [string, string]> {
  return Object.entries(finding.groupedBy)
    .slice(0, LIMITS.groupedBy)
    .map(([name, value]) => [
      `${GROUP_LABELS[name] ?? neutralise(name, nameLength)} (grouped by)`,
      value === null ? '(no value)' : neutralise(value, valueLength),
    ]);
}

/** ` window` or ` offset window (hopping mode)`, for prose about the finding's window. */
function windowWord(finding: Finding): string {
  return finding.window === 'offset' ? ' offset window (hopping mode)' : ' window';
}

/** The part of an ARN after the account (`assumed-role/Name/session` reads `role/Name/session`). */
function identityLabel(arn: string): string {
  const parts = arn.split(':');
  const resource = parts.length >= 6 ? parts.slice(5).join(':') : arn;
  return resource.replace(/^assumed-role\//, 'role/');
}

function renderEmail({ finding, origin, suppressedWindows }: AlertToPublish): string {
  const { title, distinctNoun, eventNoun } = shownPresentation(finding);
  const arn = finding.arn === null ? NO_ARN : neutralise(finding.arn, LIMITS.arn);
  const windowEnd = addSeconds(finding.windowStart, finding.windowSeconds);
  const lines = [
    `regionsweep alert: ${title} (${finding.distinctCount} ${distinctNoun} by one identity within ${finding.windowSeconds} seconds)`,
    '',
    'WHAT HAPPENED',
    wrap(
      `The identity below made ${finding.eventCount} ${eventNoun} across ${finding.distinctCount} ` +
        `${distinctNoun} in the ${finding.windowSeconds}-second${windowWord(finding)} starting ` +
        `${utcSeconds(finding.windowStart)}. Enumerating an account in a burst like this is how an intruder ` +
        'holding stolen credentials maps an estate; it is also what inventory, compliance and security tools ' +
        'do on a schedule.' +
        (origin === 'backfill'
          ? ' This alert comes from a backfill replay of stored logs, not from live delivery.'
          : ''),
    ),
    '',
    'IDENTITY',
    field('ARN', arn),
    ...groupedByShown(finding).map(([label, value]) => field(label, value)),
    field('Account(s)', list(finding.accountIds, LIMITS.list)),
    field('Identity type(s)', list(finding.identityTypes, LIMITS.list)),
    field('Access key id(s)', list(finding.accessKeyIds, LIMITS.list)),
    field('Session issuer(s)', list(finding.sessionIssuers, LIMITS.list)),
    '',
    'ACTIVITY',
    field(
      'Window',
      `${utcSeconds(finding.windowStart)} to ${utcSeconds(windowEnd)} (UTC)` +
        (finding.window === 'offset' ? ', offset window (hopping mode)' : ''),
    ),
    field('First event', utcSeconds(finding.firstEventTime)),
    field('Last event', utcSeconds(finding.lastEventTime)),
    field(`${capitalised(distinctNoun)} (${finding.distinctCount})`, distinctList(finding.distinctValues)),
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
    field('Source IPs', list(finding.sourceIps, LIMITS.list)),
    'User agents:',
    ...bullets(finding.userAgents, LIMITS.list),
    ...(suppressedWindows > 0
      ? [
          wrap(
            `${suppressedWindows} earlier window(s) of this identity crossed the rule since its previous alert and were not sent separately.`,
            ' '.repeat(20),
            'Suppressed:'.padEnd(20),
          ),
        ]
      : []),
    '',
    'TRIAGE',
    ...triageSteps(eventNoun).map((step, index) => wrap(`${index + 1}. ${step}`, '   ')),
    '',
    'CLOUDTRAIL PIVOT',
    wrap(
      'Athena, on a table made with the standard CloudTrail DDL (adjust the table name): every event of the identity, whatever the rule matched; the range pads the window by five minutes each side:',
    ),
    ...athenaQuery(finding, windowEnd).map((line) => `    ${line}`),
    ...consoleLines(finding),
    '',
    'RULE',
    field('Rule', `${neutralise(finding.ruleName, LIMITS.value)} (${neutralise(finding.ruleId, 64)})`),
    field('Counts distinct', neutralise(finding.distinctField, LIMITS.value)),
    field('Severity', finding.severity),
    field('Origin', origin),
    field('Sample event ids', list(finding.sampleEventIds, LIMITS.list)),
  ];
  return `${lines.join('\n')}\n`;
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

/** Athena SQL for the events of this identity around the window; the ARN is a string literal, never code. */
function athenaQuery(finding: Finding, windowEnd: string): string[] {
  const from = utcSeconds(addSeconds(finding.windowStart, -300));
  const to = utcSeconds(addSeconds(windowEnd, 300));
  return [
    'SELECT eventtime, awsregion, sourceipaddress, useragent, errorcode, eventsource, eventname',
    'FROM cloudtrail_logs',
    `WHERE ${arnPredicate(finding.arn)}`,
    `  AND eventtime BETWEEN '${from}' AND '${to}'`,
    'ORDER BY eventtime;',
  ];
}

/**
 * The SQL condition on `useridentity.arn`. An ARN made of the characters IAM allows in ARNs (every real ARN;
 * a single quote is also let through, doubled) is compared exactly. Anything else (a forged log) becomes a LIKE
 * pattern in which every other character is the one-character wildcard (as are the first slash of `://` and
 * the dot of `www.`, so no link forms): the query still finds the records while the email shows nothing unsafe.
 */
export function arnPredicate(arn: string | null): string {
  if (arn === null) return 'useridentity.arn IS NULL';
  const codePoints = Array.from(arn);
  // `.` and `@` are left out of the exact form: mail clients turn `name@host.tld` into a link.
  const plain = /^[A-Za-z0-9:/+=,_'-]*$/.test(arn) && !arn.includes('://');
  if (plain && codePoints.length <= LIMITS.sqlArn) return `useridentity.arn = ${sqlString(arn)}`;
  const kept = codePoints.slice(0, LIMITS.sqlArn);
  const pattern = kept
    .map((c) => (/^[A-Za-z0-9:/+=, -]$/.test(c) ? c : c === '_' || c === '%' ? `\\${c}` : '_'))
    .join('')
    .replace(/:\/\//g, ':_/');
  const suffix = kept.length < codePoints.length ? '%' : '';
  return `useridentity.arn LIKE ${sqlString(`${pattern}${suffix}`)} ESCAPE '\\'`;
}

/** A SQL string literal: single quotes are doubled, so the value can never end the literal. */
function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
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
    arn: LIMITS.arn,
    value: LIMITS.value,
    name: 64,
    list: LIMITS.slackList,
    distinct: LIMITS.distinctValues,
    distinctValue: LIMITS.distinctValue,
  },
  { arn: 200, value: 100, name: 48, list: 3, distinct: 24, distinctValue: 64 },
  { arn: 100, value: 48, name: 32, list: 2, distinct: 8, distinctValue: 32 },
  { arn: 64, value: 24, name: 24, list: 1, distinct: 3, distinctValue: 24 },
] as const;

function renderChatbot({ finding, origin, suppressedWindows }: AlertToPublish): ChatbotCustomNotification {
  const { title, distinctNoun } = shownPresentation(finding);
  const arn = finding.arn === null ? NO_ARN : neutralise(finding.arn, LIMITS.arn);
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
      title: cutUnits(
        `:rotating_light: ${origin === 'backfill' ? '[backfill] ' : ''}${headline}`,
        CHAT_LIMITS.title,
      ),
      description,
      nextSteps: [
        'Confirm the identity and whether it is expected to make these calls in a burst (inventory or security tooling).',
        'Check the source IP and user agent against your known networks and tools.',
        'Search CloudTrail around the window for other Describe/List/Get calls and for earlier credential activity (the email has the query).',
        'If unexplained: deactivate the access key or revoke the role sessions, then rotate.',
      ],
      keywords: ['regionsweep', finding.severity, origin],
    },
    metadata: {
      threadId: `regionsweep-${fnv1a(`${finding.ruleId}\u0000${finding.arn ?? ''}`)}`,
      summary: cutUnits(`${headline}, ${finding.eventCount} calls by ${arn}`, CHAT_LIMITS.summary),
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
  const { distinctNoun } = shownPresentation(finding);
  const arn = finding.arn === null ? NO_ARN : neutralise(finding.arn, step.arn);
  const windowEnd = addSeconds(finding.windowStart, finding.windowSeconds);
  return [
    `*Identity:* ${arn}`,
    ...groupedByShown(finding, step.value, step.name).map(([label, value]) => `*${label}:* ${value}`),
    `*Account:* ${list(finding.accountIds, step.list, ', ', step.value)}`,
    `*${capitalised(distinctNoun)} (${finding.distinctCount}):* ` +
      distinctList(finding.distinctValues, step.distinct, step.distinctValue),
    `*Calls:* ${finding.eventCount}, of which failed: ${finding.failedCount}` +
      (finding.failedCount > 0 ? ' (denied calls are still reconnaissance)' : ''),
    `*Window:* ${utcSeconds(finding.windowStart)} to ${utcSeconds(windowEnd)} UTC` +
      (finding.window === 'offset' ? ', offset window (hopping mode)' : ''),
    `*Source IPs:* ${list(finding.sourceIps, step.list, ', ', step.value)}`,
    `*User agents:* ${list(finding.userAgents, step.list, ' | ', step.value)}`,
    ...(suppressedWindows > 0 ? [`*Suppressed since previous alert:* ${suppressedWindows} window(s)`] : []),
    ...(origin === 'backfill' ? ['*Origin:* backfill replay of stored logs'] : []),
  ].join('\n');
}

/** At most `maxUnits` UTF-16 units, cut at a code point and marked with an ellipsis. */
function cutUnits(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  let kept = '';
  for (const char of text) {
    if (kept.length + char.length > maxUnits - 1) break;
    kept += char;
  }
  return `${kept}\u2026`;
}

function renderAttributes({ finding, origin }: AlertToPublish): Record<string, StringAttribute> {
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

function list(
  values: readonly string[],
  max: number,
  separator = ', ',
  valueLength: number = LIMITS.value,
): string {
  if (values.length === 0) return '(none recorded)';
  const shown = values.slice(0, max).map((v) => neutralise(v, valueLength));
  const more = values.length > max ? `${separator}... and ${values.length - max} more` : '';
  return `${shown.join(separator)}${more}`;
}

/** The distinct values, sorted, each neutralised and cut (a forged value can be long). */
function distinctList(
  values: readonly string[],
  max: number = LIMITS.distinctValues,
  valueLength: number = LIMITS.distinctValue,
): string {
  if (values.length === 0) return '(none recorded)';
  const shown = [...values]
    .sort()
    .slice(0, max)
    .map((value) => neutralise(value, valueLength));
  const more = values.length > max ? `, ... and ${values.length - max} more` : '';
  return `${shown.join(', ')}${more}`;
}

/** `regions` reads `Regions`; for labels built from a noun. */
function capitalised(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function bullets(values: readonly string[], max: number): string[] {
  if (values.length === 0) return ['  - (none recorded)'];
  const shown = values.slice(0, max).map((v) => `  - ${neutralise(v, LIMITS.value)}`);
  return values.length > max ? [...shown, `  - ... and ${values.length - max} more`] : shown;
}

/** `Label:` padded so values line up at column 20; a longer label is followed by one space. */
function field(label: string, value: string): string {
  const head = `${label}:`;
  return head.length < 20 ? `${head.padEnd(20)}${value}` : `${head} ${value}`;
}

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

/** `2026-11-28T10:00:00Z` (CloudTrail's own format); a value that is not a time is shown neutralised. */
function utcSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? neutralise(iso, 40) : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function addSeconds(iso: string, seconds: number): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms + seconds * 1000).toISOString();
}

function asciiOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, '?');
}

function escapeCodePoint(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9]$/.test(char);
}

/** At most `maxLength` code points (never splits a surrogate pair); a cut value ends with an ellipsis. */
function truncate(value: string, maxLength: number): string {
  if (maxLength < 1) return '';
  if (value.length <= maxLength) return value;
  const codePoints = Array.from(value);
  if (codePoints.length <= maxLength) return value;
  return `${codePoints.slice(0, maxLength - 1).join('')}\u2026`;
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits: a stable, short thread id per identity. */
function fnv1a(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i += 1) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
