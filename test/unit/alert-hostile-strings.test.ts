import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_BUDGET_BYTES } from '../../lambda/domain/alerting/alert-document';
import type { ChatbotCustomNotification } from '../../lambda/domain/alerting/chat-notification';
import { neutralise } from '../../lambda/domain/alerting/neutralise';
import { type RenderedAlert, renderAlert } from '../../lambda/domain/alerting/sns-message';
import { DEFAULT_STATE_LIMITS } from '../../lambda/domain/detection/window-state';
import type { AlertToPublish } from '../../lambda/ports';
import { ARN_SHAPES, baseFinding, EXPLICIT, everywhere, SESSION_ROLE_ARN } from '../fixtures/hostile-alerts';
import { customNotificationViolations } from '../support/custom-notification-schema';
import { propertyRuns } from '../support/property-seed';

/** What SNS accepts in one Publish: message, subject and message attributes together, UTF-8. */
const SNS_MAX_PUBLISH_BYTES = 262_144;

/** SNS subjects: under 100 characters, ASCII, no line breaks or control characters. */
const SNS_MAX_SUBJECT_LENGTH = 99;

/**
 * Unicode's "Other" categories (controls, format characters such as bidi and zero-width ones, unassigned code
 * points, private use, lone surrogates) and the line and paragraph separators.
 */
const INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/** The same, except the line feed our own multi-line texts use. */
const INVISIBLE_EXCEPT_LF = /(?!\n)[\p{C}\p{Zl}\p{Zp}]/u;

/** Characters Slack (and HTML mail) treat as markup: `<!channel>`, `<@U1>`, `<http...|text>`, entities. */
const SLACK_CONTROL = /[<>&]/;

/**
 * How a value shown in Slack mrkdwn (or auto-linked by a mail client) could still do something. An underscore
 * counts when it can open italics (at the start of a word): one inside or at the end of a word cannot.
 */
const FORMATTING_CHECKS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Slack control character < > &', SLACK_CONTROL],
  ['control, bidi or invisible character', INVISIBLE],
  ['bold, strike or code', /[*~`]/],
  ['underscore opening italics', /(^|[^A-Za-z0-9])_/],
  ['broadcast mention', /@(here|channel|everyone)/i],
  ['url scheme', /:\/\//],
  ['auto-linked domain', /[A-Za-z0-9-]\.[A-Za-z]/],
  ['markdown link', /\]\(/],
];

function formattingViolations(where: string, text: string): string[] {
  return FORMATTING_CHECKS.filter(([, pattern]) => pattern.test(text)).map(([name]) => `${where}: ${name}`);
}

function subjectViolations(subject: string): string[] {
  const checks: Array<[string, boolean]> = [
    [`longer than ${SNS_MAX_SUBJECT_LENGTH}`, subject.length > SNS_MAX_SUBJECT_LENGTH],
    ['not printable ASCII on one line', !/^[\x20-\x7e]+$/.test(subject)],
    ['does not begin with a letter, number or punctuation', !/^[A-Za-z0-9\p{P}]/u.test(subject)],
  ];
  return checks.filter(([, failed]) => failed).map(([name]) => `subject: ${name}`);
}

/** Email lines that show log values, by their label (values start at column 20), and user-agent bullets. */
const EMAIL_VALUE_LINE =
  /^(ARN:|Account\(s\):|Identity type\(s\):|Access key id\(s\):|Session issuer\(s\):|Source IPs:|Counts distinct:|Sample event ids:)/;

/**
 * Email lines whose label is built from a rule's words (the distinct values, labelled by the distinct noun)
 * or a group-by field: label and value are checked together.
 */
const EMAIL_WORDS_LABEL_LINE = / \((grouped by|\d+)\): /;

/** Our prose that carries a rule's words: the headline, what happened, and the triage step on the event noun. */
function proseWithRuleWords(lines: readonly string[]): string[] {
  const what = lines.indexOf('WHAT HAPPENED');
  const step2 = lines.findIndex((line) => line.startsWith('2. '));
  const step3 = lines.findIndex((line) => line.startsWith('3. '));
  const paragraph = lines.slice(what + 1, lines.indexOf('', what));
  return [lines[0] ?? '', ...paragraph, ...lines.slice(step2, step3)];
}

/** The two lines the email builds on purpose from log values: the SQL pivot and the console link. */
const CONSOLE_LINK =
  /^ {4}https:\/\/console\.aws\.amazon\.com\/cloudtrailv2\/home#\/events\?(AccessKeyId|Username)=[A-Za-z0-9%._-]+$/;

function emailViolations(email: string): string[] {
  const lines = email.split('\n');
  const whole: Array<[string, RegExp]> = [
    ['Slack control character < > &', SLACK_CONTROL],
    ['control, bidi or invisible character', INVISIBLE_EXCEPT_LF],
  ];
  const values = lines.flatMap((line, index) => {
    if (EMAIL_VALUE_LINE.test(line)) return [[index, line.slice(20)] as const];
    if (EMAIL_WORDS_LABEL_LINE.test(line)) return [[index, line] as const];
    if (line.startsWith('  - ')) return [[index, line.slice(4)] as const];
    return [];
  });
  const prose = proseWithRuleWords(lines).map((line) => [`prose "${line.slice(0, 30)}"`, line] as const);
  const links = lines.filter((line) => line.includes('://') && !CONSOLE_LINK.test(line));
  return [
    ...whole.filter(([, pattern]) => pattern.test(email)).map(([name]) => `email: ${name}`),
    ...values.flatMap(([index, value]) => formattingViolations(`email line ${index}`, value)),
    ...prose.flatMap(([where, line]) => formattingViolations(`email ${where}`, line)),
    ...links.map((line) => `email: link outside the console link: ${line.slice(0, 80)}`),
  ];
}

/** Every string of the Chatbot notification, with where it is. */
function chatbotStrings(slack: ChatbotCustomNotification): Array<[string, string]> {
  const walk = (node: unknown, path: string): Array<[string, string]> => {
    if (typeof node === 'string') return [[path, node]];
    if (node !== null && typeof node === 'object') {
      return Object.entries(node).flatMap(([key, child]) => walk(child, `${path}.${key}`));
    }
    return [];
  };
  return walk(slack, 'slack');
}

/**
 * Description lines are `*Label:* value`; the value came from the log, and a label may carry a rule's words
 * (the distinct noun): both are checked, and neither may hold a `*` of its own.
 */
const DESCRIPTION_LINE = /^\*([^*]+):\* ([^*]*)$/;

function chatbotViolations(slack: ChatbotCustomNotification): string[] {
  const everyString = chatbotStrings(slack).flatMap(([path, text]) => [
    ...(SLACK_CONTROL.test(text) ? [`${path}: Slack control character < > &`] : []),
    ...((path === 'slack.content.description' ? INVISIBLE_EXCEPT_LF : INVISIBLE).test(text)
      ? [`${path}: control, bidi or invisible character`]
      : []),
  ]);
  const descriptionValues = slack.content.description.split('\n').flatMap((line, index) => {
    const match = DESCRIPTION_LINE.exec(line);
    return match === null
      ? [`slack description line ${index} is not "*Label:* value"`]
      : formattingViolations(`slack description line ${index}`, `${match[1]}: ${match[2]}`);
  });
  const identity = [
    ...formattingViolations('slack title', slack.content.title),
    ...formattingViolations('slack summary', slack.metadata?.summary ?? ''),
    ...(slack.metadata?.relatedResources ?? []).flatMap((r) => formattingViolations('slack resource', r)),
  ];
  return [...everyString, ...descriptionValues, ...identity];
}

/** The SNS message as SNS parses it: one body per protocol. */
function bodies(rendered: RenderedAlert): Record<string, string> {
  return JSON.parse(rendered.message) as Record<string, string>;
}

function documentViolations(rendered: RenderedAlert): string[] {
  const machine = ['sqs', 'lambda', 'default'].map(
    (protocol) => [protocol, bodies(rendered)[protocol]] as const,
  );
  return machine.flatMap(([protocol, text]) => {
    if (text === undefined) return [`${protocol}: no body`];
    const checks: Array<[string, boolean]> = [
      ['raw Slack control character < > &', SLACK_CONTROL.test(text)],
      ['raw control, bidi or invisible character', INVISIBLE.test(text)],
      ['parses to something else than the document', !isDeepEqual(JSON.parse(text), rendered.document)],
      ['over its budget', Buffer.byteLength(JSON.stringify(text)) > DOCUMENT_BUDGET_BYTES],
    ];
    return checks.filter(([, failed]) => failed).map(([name]) => `${protocol}: ${name}`);
  });
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Bytes of the Publish call SnsAlertPublisher makes: Message, Subject and every attribute's name, type, value. */
function publishBytes(rendered: RenderedAlert): number {
  const attributes = Object.entries(rendered.attributes).reduce(
    (sum, [name, a]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue),
    0,
  );
  return Buffer.byteLength(rendered.message) + Buffer.byteLength(rendered.subject) + attributes;
}

const RENDERINGS = [
  { rendering: 'subject', violations: (r: RenderedAlert) => subjectViolations(r.subject) },
  { rendering: 'email body', violations: (r: RenderedAlert) => emailViolations(bodies(r).email ?? '') },
  {
    rendering: 'Slack (Amazon Q Developer, https) body',
    violations: (r: RenderedAlert) =>
      chatbotViolations(JSON.parse(bodies(r).https ?? '{}') as ChatbotCustomNotification),
  },
  {
    rendering: 'custom notification format (https)',
    violations: (r: RenderedAlert) => customNotificationViolations(bodies(r).https ?? ''),
  },
  { rendering: 'sqs/lambda/default document', violations: documentViolations },
  {
    rendering: 'SNS Publish size',
    violations: (r: RenderedAlert) =>
      publishBytes(r) > SNS_MAX_PUBLISH_BYTES ? [`publish of ${publishBytes(r)} bytes`] : [],
  },
] as const;

describe.each(RENDERINGS)('hostile strings in every log field: $rendering', ({ violations }) => {
  describe.each(ARN_SHAPES)('ARN as $shape', ({ arn }) => {
    it.each(EXPLICIT)('$case is neutralised', ({ value }) => {
      // Act
      const rendered = renderAlert(everywhere(value, arn, 'live'));

      // Assess
      expect(violations(rendered)).toEqual([]);
    });
  });
});

/**
 * What a value renders like when it can do nothing: its own neutralised text (neutralise leaves that text as
 * it is). Same length, so our prose that carries a rule's words wraps the same way; no line break of its own.
 */
function inertFormOf(value: string): string {
  return neutralise(value, Array.from(value).length * 10 + 16);
}

describe('hostile strings keep the email and Slack layout', () => {
  const session = (v: string) => `${SESSION_ROLE_ARN}${v}`;

  it.each(EXPLICIT)('$case adds no line to the email', ({ value }) => {
    // Prepare
    const inert = renderAlert(everywhere(inertFormOf(value), session, 'live'));

    // Act
    const hostile = renderAlert(everywhere(value, session, 'live'));

    // Assess
    expect(withoutConsoleLink(hostile.email).split('\n').length).toBe(
      withoutConsoleLink(inert.email).split('\n').length,
    );
  });

  it.each(EXPLICIT)('$case adds no line to the Slack description', ({ value }) => {
    // Prepare
    const inert = renderAlert(everywhere(inertFormOf(value), session, 'live'));

    // Act
    const hostile = renderAlert(everywhere(value, session, 'live'));

    // Assess
    expect(hostile.slack.content.description.split('\n').length).toBe(
      inert.slack.content.description.split('\n').length,
    );
  });

  it('the inert form of a value has no line break and is left as it is by neutralise', () => {
    // Act
    const forms = EXPLICIT.map(({ value }) => inertFormOf(value));

    // Assess
    expect(
      forms.filter((form) => /[\n\r\u2028\u2029\u0085]/.test(form) || inertFormOf(form) !== form),
    ).toEqual([]);
  });
});

/** The email without its console link (present only when a value has the AWS format, so it may come and go). */
function withoutConsoleLink(email: string): string {
  return email.replace(/\nCloudTrail console event history[^\n]*\n[^\n]*/, '');
}

describe('worst case of the window state', () => {
  /** The costliest characters per code point after both JSON encodings, plus markup and a bidi override. */
  const costly = (length: number, i: number) =>
    `${i}${'\u{1F600}"\\<\u202e'.repeat(length)}`.slice(0, length);
  const limits = DEFAULT_STATE_LIMITS;
  // A stored list holds at most its bound plus one object's contribution (see mergeContribution).
  const stored = (bound: number) =>
    Array.from({ length: 2 * bound }, (_, i) => costly(limits.maxValueLength, i));
  const worst: AlertToPublish = {
    finding: {
      ...baseFinding(),
      arn: `${SESSION_ROLE_ARN}${costly(2048, 0)}`,
      // Group values are not cut by the aggregator (they are part of the key, like the ARN).
      groupedBy: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`field${i}`, costly(2048, i)])),
      presentation: { title: costly(2048, 1), distinctNoun: costly(2048, 2), eventNoun: costly(2048, 3) },
      distinctField: costly(2048, 4),
      distinctCount: limits.maxDistinctValues,
      // Regions are not cut by the aggregator: a forged awsRegion can be long.
      distinctValues: Array.from({ length: limits.maxDistinctValues }, (_, i) => costly(2048, i)),
      accountIds: stored(limits.maxContextValues),
      identityTypes: stored(limits.maxContextValues),
      accessKeyIds: stored(limits.maxContextValues),
      sourceIps: stored(limits.maxContextValues),
      userAgents: stored(limits.maxContextValues),
      sessionIssuers: stored(limits.maxContextValues),
      sampleEventIds: stored(limits.maxSampleEventIds),
      eventCount: 1_000_000,
    },
    origin: 'backfill',
    suppressedWindows: limits.maxSuppressedWindows,
  };

  it('fits one SNS Publish of 262144 bytes', () => {
    // Act
    const rendered = renderAlert(worst);

    // Assess
    expect(publishBytes(rendered)).toBeLessThanOrEqual(SNS_MAX_PUBLISH_BYTES);
  });

  it('gives Amazon Q Developer (https) a custom notification within the format and its bounds', () => {
    // Act
    const rendered = renderAlert(worst);

    // Assess
    expect(customNotificationViolations(bodies(rendered).https ?? '')).toEqual([]);
  });

  it('fits one SNS Publish with 40 values of 100 KB in every list', () => {
    // Prepare
    const huge = (i: number) => `${i}${'\u{1F600}"\\<\u202e'.repeat(20_480)}`;
    const many = Array.from({ length: 40 }, (_, i) => huge(i));
    const input: AlertToPublish = {
      ...worst,
      finding: {
        ...worst.finding,
        arn: huge(0),
        groupedBy: Object.fromEntries(many.map((value, i) => [huge(i), value])),
        presentation: { title: huge(1), distinctNoun: huge(2), eventNoun: huge(3) },
        distinctField: huge(4),
        distinctValues: many,
        accountIds: many,
        identityTypes: many,
        accessKeyIds: many,
        sourceIps: many,
        userAgents: many,
        sessionIssuers: many,
        sampleEventIds: many,
      },
    };

    // Act
    const rendered = renderAlert(input);

    // Assess
    expect(publishBytes(rendered)).toBeLessThanOrEqual(SNS_MAX_PUBLISH_BYTES);
  });
});

describe('any unicode in every log field (property)', () => {
  const hostileToken = fc.constantFrom(
    '<!channel>',
    '<!here>',
    '<@U123>',
    '<!subteam^S1>',
    '<https://x|y>',
    'https://',
    'evil.example',
    '@here',
    '*',
    '_',
    '~',
    '`',
    '>',
    '&',
    '](',
    '\n',
    '\u0085',
    '\u202e',
    '\u2066',
    '\u200b',
    '\ufeff',
    '\u{e0041}',
    ' ',
    'a',
  );
  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
  const attackerString = fc
    .array(
      fc.oneof(
        hostileToken,
        loneSurrogate,
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ unit: 'binary-ascii', maxLength: 12 }),
      ),
      { maxLength: 24 },
    )
    .map((parts) => parts.join(''));
  const values = fc.array(attackerString, { maxLength: 2 * DEFAULT_STATE_LIMITS.maxContextValues });
  const alertArbitrary: fc.Arbitrary<AlertToPublish> = fc
    .record({
      finding: fc.record({
        arn: fc.oneof(
          fc.constant(null),
          attackerString.map((s) => `${SESSION_ROLE_ARN}${s}`),
          attackerString,
        ),
        presentation: fc.record({
          title: attackerString,
          distinctNoun: attackerString,
          eventNoun: attackerString,
        }),
        distinctField: attackerString,
        groupedBy: fc.dictionary(attackerString, fc.option(attackerString), { maxKeys: 3 }),
        distinctValues: values,
        accountIds: values,
        identityTypes: values,
        accessKeyIds: values,
        sourceIps: values,
        userAgents: values,
        sessionIssuers: values,
        sampleEventIds: values,
        distinctCount: fc.integer({ min: 1, max: DEFAULT_STATE_LIMITS.maxDistinctValues }),
      }),
      origin: fc.constantFrom('live' as const, 'backfill' as const),
      suppressedWindows: fc.nat({ max: DEFAULT_STATE_LIMITS.maxSuppressedWindows }),
    })
    .map((generated) => ({ ...generated, finding: { ...baseFinding(), ...generated.finding } }));

  it.each(RENDERINGS)('$rendering stays inert and within limits', ({ violations }) => {
    fc.assert(
      fc.property(alertArbitrary, (input) => {
        expect(violations(renderAlert(input))).toEqual([]);
      }),
      { numRuns: propertyRuns(150) },
    );
  });

  it('neutralise of a long value is the whole value neutralised, then cut', () => {
    const cut = (text: string, max: number) => {
      const codePoints = Array.from(text);
      return codePoints.length <= max ? text : `${codePoints.slice(0, max - 1).join('')}\u2026`;
    };
    const longString = fc.array(attackerString, { maxLength: 30 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), longString, (max, value) => {
        expect(neutralise(value, max)).toBe(cut(neutralise(value, 1_000_000), max));
      }),
      { numRuns: propertyRuns(500) },
    );
  });
});
