import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_BUDGET_BYTES } from '../../lambda/domain/alerting/alert-document';
import { MAX_ARN_ATTRIBUTE_LENGTH } from '../../lambda/domain/alerting/message-attributes';
import { neutralise } from '../../lambda/domain/alerting/neutralise';
import { arnPredicate } from '../../lambda/domain/alerting/pivot-query';
import { renderAlert } from '../../lambda/domain/alerting/sns-message';
import { MAX_SUBJECT_LENGTH } from '../../lambda/domain/alerting/subject';
import {
  BUILT_IN_RULES,
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  S3_RAPID_BUCKET_POSTURE_API_CALLS,
} from '../../lambda/domain/detection/built-in-rules';
import type { RuleDefinition } from '../../lambda/domain/detection/rule';
import { PRESENTATION_LIMITS, toRule } from '../../lambda/domain/detection/rule-parser';
import { type Finding, presentationOf } from '../../lambda/domain/detection/window-state';
import type { AlertToPublish } from '../../lambda/ports';
import { propertyRuns } from '../support/property-seed';

const ARN = 'arn:aws:sts::111122223333:assumed-role/Ops_Admin/alice';

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    ruleId: '393ef120-63d1-11ef-8e38-f661ea17fbce',
    ruleName: 'AWS EC2 Multi-Region DescribeInstances API Calls',
    presentation: presentationOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES),
    severity: 'low',
    arn: ARN,
    groupedBy: {},
    windowStart: '2026-11-28T10:00:00.000Z',
    windowSeconds: 30,
    window: 'aligned',
    distinctField: 'awsRegion',
    distinctCount: 3,
    eventCount: 12,
    distinctValues: ['us-west-2', 'ap-south-1', 'eu-west-1'],
    failedCount: 4,
    firstEventTime: '2026-11-28T10:00:02.000Z',
    lastEventTime: '2026-11-28T10:00:27.000Z',
    accountIds: ['111122223333'],
    identityTypes: ['AssumedRole'],
    accessKeyIds: ['ASIAEXAMPLEKEY000001'],
    sourceIps: ['203.0.113.7'],
    userAgents: ['aws-cli/2.15.0 Python/3.11.6'],
    sessionIssuers: ['arn:aws:iam::111122223333:role/Ops_Admin'],
    sampleEventIds: ['8d9a0b1c-0000-4000-8000-000000000001'],
    ...overrides,
  };
}

function alert(overrides: Partial<Finding> = {}, extra: Partial<AlertToPublish> = {}): AlertToPublish {
  return { finding: finding(overrides), origin: 'live', suppressedWindows: 0, ...extra };
}

/** Characters that must never reach a reader from a log value. */
const INVISIBLE_OR_CONTROL = /[\p{C}\p{Zl}\p{Zp}]/u;

/** Every way a neutralised value could still format, mention, link or hide text. */
function inertnessViolations(text: string): string[] {
  const checks: Array<[string, RegExp]> = [
    ['control, bidi or invisible character', INVISIBLE_OR_CONTROL],
    ['angle bracket or ampersand', /[<>&]/],
    ['markdown emphasis, strike or code', /[*~`]/],
    ['underscore outside a word', /(^|[^A-Za-z0-9])_|_([^A-Za-z0-9]|$)/],
    ['broadcast mention', /@(here|channel|everyone)/i],
    ['url scheme', /:\/\//],
    ['markdown link', /\]\(/],
    ['domain-like dot', /[A-Za-z0-9-]\.[A-Za-z]/],
  ];
  return checks.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}

describe('neutralise', () => {
  it.each([
    { case: 'a plain ARN with intra-word underscores', input: ARN, expected: ARN },
    { case: 'channel mention', input: '<!channel> now', expected: '\u2039!channel\u203a now' },
    { case: 'user mention', input: '<@U123ABC>', expected: '\u2039@U123ABC\u203a' },
    { case: 'bare broadcast mention', input: 'ping @here', expected: 'ping \uff20here' },
    {
      case: 'slack link',
      input: '<https://evil.example|click>',
      expected: '\u2039hxxps[:]//evil[.]example|click\u203a',
    },
    { case: 'bare http link', input: 'http://x.example/a', expected: 'hxxp[:]//x[.]example/a' },
    { case: 'other url scheme', input: 'ftp://files', expected: 'ftp[:]//files' },
    { case: 'bare domain', input: 'see www.evil.example', expected: 'see www[.]evil[.]example' },
    { case: 'markdown link', input: '[docs](hxxp)', expected: '[docs] (hxxp)' },
    { case: 'bold', input: '*urgent*', expected: '\u2217urgent\u2217' },
    { case: 'italic', input: '_quiet_', expected: '\uff3fquiet\uff3f' },
    { case: 'strike', input: '~gone~', expected: '\u223cgone\u223c' },
    { case: 'inline code', input: '`rm -rf /`', expected: '\u02cbrm -rf /\u02cb' },
    { case: 'quote at line start', input: '> ignore this alert', expected: '\u203a ignore this alert' },
    { case: 'entity-encoded mention', input: '&lt;!here&gt;', expected: '\uff06lt;!here\uff06gt;' },
    { case: 'line feed', input: 'a\nFAKE: all clear', expected: 'a\\u000aFAKE: all clear' },
    { case: 'carriage return', input: 'a\rb', expected: 'a\\u000db' },
    { case: 'tab', input: 'a\tb', expected: 'a\\u0009b' },
    { case: 'NUL', input: 'a\u0000b', expected: 'a\\u0000b' },
    { case: 'C1 next line', input: 'a\u0085b', expected: 'a\\u0085b' },
    { case: 'line separator', input: 'a\u2028b', expected: 'a\\u2028b' },
    { case: 'right-to-left override', input: 'exe.\u202Etxt', expected: 'exe.\\u202etxt' },
    { case: 'isolate', input: 'a\u2066b\u2069', expected: 'a\\u2066b\\u2069' },
    { case: 'zero-width space', input: '@\u200Bhere', expected: '@\\u200bhere' },
    { case: 'byte order mark', input: '\uFEFFx', expected: '\\ufeffx' },
    { case: 'tag character', input: 'a\u{E0041}', expected: 'a\\u{e0041}' },
    { case: 'lone surrogate', input: 'a\uD800b', expected: 'a\\ud800b' },
    { case: 'emoji kept', input: 'ok \u{1F600}', expected: 'ok \u{1F600}' },
  ])('$case', ({ input, expected }) => {
    // Act
    const result = neutralise(input, 200);

    // Assess
    expect(result).toBe(expected);
  });

  it.each([
    { case: '10 KB user agent', input: 'A'.repeat(10_240), max: 200 },
    { case: 'astral characters are not split', input: '\u{1F600}'.repeat(500), max: 200 },
    { case: 'expansion by escapes is still capped', input: '\n'.repeat(300), max: 200 },
  ])('caps $case at the limit with an ellipsis', ({ input, max }) => {
    // Act
    const result = neutralise(input, max);

    // Assess
    expect({
      codePoints: Array.from(result).length,
      end: result.at(-1),
      wellFormed: result.isWellFormed(),
    }).toEqual({ codePoints: max, end: '\u2026', wellFormed: true });
  });

  it('leaves a value at the limit whole', () => {
    // Act
    const result = neutralise('b'.repeat(200), 200);

    // Assess
    expect(result).toBe('b'.repeat(200));
  });

  it('output of any input is inert and within the limit', () => {
    const fragments = fc.constantFrom(
      '<',
      '>',
      '&',
      '*',
      '_',
      '~',
      '`',
      '@here',
      'https://',
      'www.',
      'a.b',
      '](',
      '\n',
      '\u202E',
      '\u200B',
      '\uD800',
      'x',
      ' ',
    );
    const input = fc
      .array(fc.oneof(fragments, fc.string({ unit: 'binary' })), { maxLength: 40 })
      .map((parts) => parts.join(''));

    fc.assert(
      fc.property(input, fc.integer({ min: 1, max: 300 }), (value, max) => {
        const result = neutralise(value, max);
        expect(inertnessViolations(result)).toEqual([]);
        expect(Array.from(result).length).toBeLessThanOrEqual(max);
      }),
      { numRuns: propertyRuns(500) },
    );
  });
});

describe('subject', () => {
  it.each([
    { case: 'ordinary ARN', overrides: {} },
    { case: '2048-character ARN', overrides: { arn: `arn:aws:iam::111122223333:user/${'u'.repeat(2020)}` } },
    {
      case: 'ARN with newline and non-ASCII',
      overrides: { arn: 'arn:aws:iam::1:user/a\nSubject: b\u00e9\u202E' },
    },
    { case: 'null ARN', overrides: { arn: null } },
    { case: 'three-digit region count', overrides: { distinctCount: 640 } },
  ])('is one printable-ASCII line under 100 characters for $case', ({ overrides }) => {
    // Act
    const { subject } = renderAlert(alert(overrides, { origin: 'backfill' }));

    // Assess
    expect(subject).toMatch(new RegExp(`^[\\x20-\\x7e]{1,${MAX_SUBJECT_LENGTH}}$`));
  });

  it('names the sweep, region count, identity and window', () => {
    // Act
    const { subject } = renderAlert(alert({ arn: 'arn:aws:iam::111122223333:role/Name', distinctCount: 14 }));

    // Assess
    expect(subject).toBe(
      '[regionsweep] EC2 DescribeInstances sweep: 14 regions by role/Name (2026-11-28T10:00:00Z)',
    );
  });

  it('cuts a long identity with a visible marker and keeps the window time', () => {
    // Act
    const { subject } = renderAlert(alert({ arn: `arn:aws:iam::111122223333:user/${'u'.repeat(300)}` }));

    // Assess
    expect(subject).toMatch(/by user\/u+\.\.\. \(2026-11-28T10:00:00Z\)$/);
  });

  it('shows a null ARN as "(no identity ARN)"', () => {
    // Act
    const { subject } = renderAlert(alert({ arn: null }));

    // Assess
    expect(subject).toContain('by (no identity ARN) (');
  });

  it.each([
    { case: 'backfill', origin: 'backfill' as const, expected: true },
    { case: 'live', origin: 'live' as const, expected: false },
  ])('marks $case alerts in the subject: $expected', ({ origin, expected }) => {
    // Act
    const { subject } = renderAlert(alert({}, { origin }));

    // Assess
    expect(subject.startsWith('[backfill] ')).toBe(expected);
  });
});

describe('email body', () => {
  it.each([
    {
      case: 'headline',
      text: 'regionsweep alert: EC2 DescribeInstances sweep (3 regions by one identity within 30 seconds)\n',
    },
    {
      case: 'what happened',
      text: 'The identity below made 12 DescribeInstances calls across 3 regions in the 30-second window',
    },
    { case: 'identity ARN', text: `${'ARN:'.padEnd(20)}${ARN}` },
    { case: 'account', text: 'Account(s):         111122223333' },
    { case: 'identity type', text: 'Identity type(s):   AssumedRole' },
    { case: 'access key id', text: 'Access key id(s):   ASIAEXAMPLEKEY000001' },
    { case: 'session issuer', text: 'Session issuer(s):  arn:aws:iam::111122223333:role/Ops_Admin' },
    { case: 'window start and end', text: '2026-11-28T10:00:00Z to 2026-11-28T10:00:30Z' },
    { case: 'first event', text: 'First event:        2026-11-28T10:00:02Z' },
    { case: 'last event', text: 'Last event:         2026-11-28T10:00:27Z' },
    { case: 'sorted regions with count', text: 'Regions (3):        ap-south-1, eu-west-1, us-west-2' },
    { case: 'event count', text: 'Events:             12' },
    { case: 'failed calls', text: 'Failed calls:       4 of 12' },
    { case: 'what failures mean', text: 'a denied call is still reconnaissance' },
    { case: 'source IP', text: 'Source IPs:         203.0.113.7' },
    { case: 'user agent', text: '  - aws-cli/2.15.0 Python/3.11.6' },
    {
      case: 'rule id and name',
      text: 'AWS EC2 Multi-Region DescribeInstances API Calls (393ef120-63d1-11ef-8e38-f661ea17fbce)',
    },
    { case: 'sample event id', text: '8d9a0b1c-0000-4000-8000-000000000001' },
    { case: 'triage: confirm identity', text: '1. Confirm who this is' },
    { case: 'triage: expected tooling', text: 'expected to make DescribeInstances calls at this rate' },
    { case: 'triage: source and tooling', text: 'user agent the AWS CLI or an SDK' },
    { case: 'triage: related calls', text: 'other Describe*, List* and Get* calls' },
    { case: 'triage: containment', text: 'deactivate the access key' },
    { case: 'athena query', text: `WHERE useridentity.arn = '${ARN}'` },
    {
      case: 'padded time range',
      text: "eventtime BETWEEN '2026-11-28T09:55:00Z' AND '2026-11-28T10:05:30Z'",
    },
    {
      case: 'console link by access key',
      text: 'https://console.aws.amazon.com/cloudtrailv2/home#/events?AccessKeyId=ASIAEXAMPLEKEY000001',
    },
  ])('contains the $case', ({ text }) => {
    // Act
    const { email } = renderAlert(alert());

    // Assess
    expect(email).toContain(text);
  });

  it.each([
    { case: 'shown when above zero', suppressedWindows: 3, expected: true },
    { case: 'left out at zero', suppressedWindows: 0, expected: false },
  ])('suppressed windows are $case', ({ suppressedWindows }) => {
    // Act
    const { email } = renderAlert(alert({}, { suppressedWindows }));

    // Assess
    expect(email.includes('Suppressed:         3 earlier window(s)')).toBe(suppressedWindows > 0);
  });

  it('leaves out what failed calls mean when there were none', () => {
    // Act
    const { email } = renderAlert(alert({ failedCount: 0 }));

    // Assess
    expect(email).not.toContain('Failed calls count toward the rule');
  });

  it('says when the alert comes from a backfill', () => {
    // Act
    const { email } = renderAlert(alert({}, { origin: 'backfill' }));

    // Assess
    expect(email).toContain('backfill replay of stored logs');
  });

  it('links the console by user name when no access key id has the AWS format', () => {
    // Act
    const { email } = renderAlert(alert({ accessKeyIds: ['not a key'] }));

    // Assess
    expect(email).toContain('#/events?Username=alice');
  });

  it('leaves the console link out when neither value has an AWS format', () => {
    // Act
    const { email } = renderAlert(alert({ arn: null, accessKeyIds: [] }));

    // Assess
    expect(email).not.toContain('console.aws.amazon.com');
  });

  it('lists at most 20 user agents and says how many more there were', () => {
    // Act
    const { email } = renderAlert(alert({ userAgents: Array.from({ length: 25 }, (_, i) => `agent-${i}`) }));

    // Assess
    expect(email).toContain('  - ... and 5 more');
  });
});

describe('CloudTrail pivot SQL', () => {
  it.each([
    {
      case: 'plain ARN compared exactly',
      arn: ARN,
      expected: `useridentity.arn = '${ARN}'`,
    },
    {
      case: 'single quote doubled',
      arn: "arn:aws:iam::111122223333:user/o'brien",
      expected: "useridentity.arn = 'arn:aws:iam::111122223333:user/o''brien'",
    },
    { case: 'null ARN', arn: null, expected: 'useridentity.arn IS NULL' },
    {
      case: 'newline and quote become wildcards',
      arn: "arn:aws:iam::1:user/a\n' OR 1=1 --",
      expected: "useridentity.arn LIKE 'arn:aws:iam::1:user/a__ OR 1=1 --' ESCAPE '\\'",
    },
    {
      case: 'link in a forged ARN is broken',
      arn: 'arn:aws:iam::1:user/https://evil',
      expected: "useridentity.arn LIKE 'arn:aws:iam::1:user/https:_/evil' ESCAPE '\\'",
    },
    {
      case: 'an address in a session name never forms a link',
      arn: 'arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin/bob@evil.example',
      expected:
        "useridentity.arn LIKE 'arn:aws:sts::1:assumed-role/AWSReservedSSO\\_Admin/bob_evil_example' ESCAPE '\\'",
    },
    {
      case: 'literal underscore escaped in a LIKE pattern',
      arn: 'arn:aws:iam::1:user/a_b*',
      expected: "useridentity.arn LIKE 'arn:aws:iam::1:user/a\\_b_' ESCAPE '\\'",
    },
  ])('$case', ({ arn, expected }) => {
    // Act
    const predicate = arnPredicate(arn);

    // Assess
    expect(predicate).toBe(expected);
  });

  it('matches a long ARN by prefix', () => {
    // Act
    const predicate = arnPredicate(`arn:aws:iam::1:user/${'x'.repeat(1000)}`);

    // Assess
    expect(predicate).toMatch(/^useridentity\.arn LIKE 'arn:aws:iam::1:user\/x+%' ESCAPE '\\'$/);
  });
});

describe('chatbot body', () => {
  it('uses only the custom notification field names', () => {
    // Act
    const { slack } = renderAlert(alert({}, { suppressedWindows: 2 }));

    // Assess
    expect({
      top: Object.keys(slack).every((k) => ['version', 'source', 'id', 'content', 'metadata'].includes(k)),
      version: slack.version,
      source: slack.source,
      content: Object.keys(slack.content).every((k) =>
        ['textType', 'title', 'description', 'nextSteps', 'keywords'].includes(k),
      ),
      textType: slack.content.textType,
      metadata: Object.keys(slack.metadata ?? {}).every((k) =>
        ['threadId', 'summary', 'eventType', 'relatedResources', 'additionalContext'].includes(k),
      ),
      strings: [
        slack.content.title,
        slack.content.description,
        ...(slack.content.nextSteps ?? []),
        ...(slack.content.keywords ?? []),
        ...Object.values(slack.metadata?.additionalContext ?? {}),
      ].every((v) => typeof v === 'string' && v.length > 0),
    }).toEqual({
      top: true,
      version: '1.0',
      source: 'custom',
      content: true,
      textType: 'client-markdown',
      metadata: true,
      strings: true,
    });
  });

  it('cuts a description that would not fit a Slack section, keeping its lines and saying how many more', () => {
    // Prepare
    const regions = Array.from(
      { length: 64 },
      (_, i) => `region-${String(i).padStart(2, '0')}-${'x'.repeat(120)}`,
    );

    // Act
    const { slack } = renderAlert(alert({ distinctValues: regions, distinctCount: 64 }));

    // Assess
    const lines = slack.content.description.split('\n');
    expect({
      fits: slack.content.description.length <= 3000,
      regionsLine: lines.find((line) => line.startsWith('*Regions (64):*'))?.endsWith('more'),
      identity: lines[0],
    }).toEqual({ fits: true, regionsLine: true, identity: `*Identity:* ${ARN}` });
  });

  it.each([
    { case: 'identity', text: ARN },
    { case: 'regions', text: 'ap-south-1, eu-west-1, us-west-2' },
    { case: 'counts', text: '*Calls:* 12, of which failed: 4' },
    { case: 'source IPs', text: '203.0.113.7' },
    { case: 'user agent', text: 'aws-cli/2.15.0 Python/3.11.6' },
    { case: 'window', text: '2026-11-28T10:00:00Z to 2026-11-28T10:00:30Z' },
  ])('description shows the $case', ({ text }) => {
    // Act
    const { slack } = renderAlert(alert());

    // Assess
    expect(slack.content.description).toContain(text);
  });

  it('the SNS message gives https (Amazon Q Developer) the notification, email its text, and machines the document', () => {
    // Act
    const rendered = renderAlert(alert());

    // Assess
    const parsed = JSON.parse(rendered.message) as Record<string, string>;
    expect({
      keys: Object.keys(parsed).sort(),
      https: JSON.parse(parsed.https ?? ''),
      email: parsed.email,
      sqs: JSON.parse(parsed.sqs ?? ''),
      lambda: parsed.lambda,
      default: parsed.default,
    }).toEqual({
      keys: ['default', 'email', 'https', 'lambda', 'sqs'],
      https: rendered.slack,
      email: rendered.email,
      sqs: rendered.document,
      lambda: parsed.sqs,
      default: parsed.sqs,
    });
  });

  it('the machine document carries the finding unneutralised when it fits', () => {
    // Prepare
    const input = alert({ userAgents: ['<!channel> *bold* https://evil.example'] });

    // Act
    const { document } = renderAlert(input);

    // Assess
    expect(document).toEqual({
      regionsweep: 'alert',
      version: 2,
      origin: input.origin,
      suppressedWindows: input.suppressedWindows,
      truncated: false,
      finding: input.finding,
    });
  });

  it('an oversized machine document is cut to its budget, counts kept, and says so', () => {
    // Prepare
    const long = (i: number) => `${i}${'"\\'.repeat(400)}`;
    const input = alert({ userAgents: Array.from({ length: 20 }, (_, i) => long(i)), eventCount: 123456 });

    // Act
    const { document } = renderAlert(input);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify(document)))).toBeLessThanOrEqual(
      DOCUMENT_BUDGET_BYTES,
    );
    expect(document.truncated).toBe(true);
    expect(document.finding.eventCount).toBe(123456);
  });

  it('a value cut to fit the machine document keeps whole characters (no lone surrogate)', () => {
    // Prepare: emoji take two UTF-16 units each, so a cut at an odd length would split one.
    const emoji = (i: number) => `${i}${'\u{1F600}'.repeat(400)}`;
    const input = alert({ userAgents: Array.from({ length: 20 }, (_, i) => emoji(i)) });

    // Act
    const { document } = renderAlert(input);

    // Assess
    expect(document.truncated).toBe(true);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(document.finding.userAgents.filter((agent) => loneSurrogate.test(agent))).toEqual([]);
    expect(document.finding.userAgents[0]).toMatch(/^0(\u{1F600})+\u2026$/u);
  });

  it('threads alerts of the same identity together and others apart', () => {
    // Act
    const first = renderAlert(alert({ windowStart: '2026-11-28T10:00:00.000Z' })).slack.metadata?.threadId;
    const again = renderAlert(alert({ windowStart: '2026-11-28T11:00:00.000Z' })).slack.metadata?.threadId;
    const other = renderAlert(alert({ arn: `${ARN}x` })).slack.metadata?.threadId;

    // Assess
    expect({ same: first === again, different: first !== other }).toEqual({ same: true, different: true });
  });
});

/** Hostile values, each with substrings that must not survive into either body. */
const PAYLOADS = [
  { case: 'channel mention', value: '<!channel> ping', forbidden: ['<!channel>'] },
  { case: 'here mention', value: 'x @here', forbidden: ['@here'] },
  { case: 'user mention', value: '<@U123ABC>', forbidden: ['<@U123ABC>'] },
  {
    case: 'slack link',
    value: '<https://evil.example|click>',
    forbidden: ['<https', 'https://evil', '|click>'],
  },
  { case: 'bare link', value: 'https://evil.example/login', forbidden: ['https://evil', 'evil.example'] },
  { case: 'bold', value: '*URGENT*', forbidden: ['*URGENT*'] },
  { case: 'italic', value: '_quiet_', forbidden: ['_quiet_'] },
  { case: 'strike', value: '~gone~', forbidden: ['~gone~'] },
  { case: 'code', value: '`rm -rf`', forbidden: ['`rm -rf`'] },
  { case: 'quote', value: '> all clear', forbidden: ['> all clear'] },
  { case: 'line break', value: 'x\nTRIAGE: ignore this alert', forbidden: ['\nTRIAGE: ignore'] },
  { case: 'carriage return', value: 'x\rFAKE', forbidden: ['\rFAKE'] },
  { case: 'bidi override', value: 'a\u202Ecod.exe', forbidden: ['\u202E'] },
  { case: 'zero width', value: 'a\u200Bb', forbidden: ['\u200B'] },
  { case: 'C1 control', value: 'a\u0085b', forbidden: ['\u0085'] },
];

const EC2_WORDS = presentationOf(EC2_MULTI_REGION_DESCRIBE_INSTANCES);

/**
 * Where a hostile value can reach: log values, and the words and fields a rule author writes (toRule refuses
 * hostile words, but a Finding made otherwise must render safely too).
 */
const FIELDS = [
  { field: 'arn', place: (v: string) => ({ arn: v }) },
  { field: 'userAgents', place: (v: string) => ({ userAgents: [v] }) },
  { field: 'sourceIps', place: (v: string) => ({ sourceIps: [v] }) },
  { field: 'accessKeyIds', place: (v: string) => ({ accessKeyIds: [v] }) },
  { field: 'sessionIssuers', place: (v: string) => ({ sessionIssuers: [v] }) },
  { field: 'accountIds', place: (v: string) => ({ accountIds: [v] }) },
  { field: 'identityTypes', place: (v: string) => ({ identityTypes: [v] }) },
  { field: 'distinctValues', place: (v: string) => ({ distinctValues: [v, 'us-east-1'] }) },
  { field: 'sampleEventIds', place: (v: string) => ({ sampleEventIds: [v] }) },
  { field: 'groupedBy value', place: (v: string) => ({ groupedBy: { sourceIPAddress: v } }) },
  { field: 'groupedBy field name', place: (v: string) => ({ groupedBy: { [v]: '203.0.113.9' } }) },
  { field: 'distinctField', place: (v: string) => ({ distinctField: v }) },
  { field: 'presentation title', place: (v: string) => ({ presentation: { ...EC2_WORDS, title: v } }) },
  {
    field: 'presentation distinctNoun',
    place: (v: string) => ({ presentation: { ...EC2_WORDS, distinctNoun: v } }),
  },
  {
    field: 'presentation eventNoun',
    place: (v: string) => ({ presentation: { ...EC2_WORDS, eventNoun: v } }),
  },
] as const;

/**
 * The email without the WHERE line of the SQL pivot: that line deliberately carries the ARN as an exact SQL
 * literal (its own safety is tested in 'CloudTrail pivot SQL').
 */
function emailOutsidePivot(email: string): string {
  return email
    .split('\n')
    .filter((line) => !line.startsWith('    WHERE useridentity.arn'))
    .join('\n');
}

describe.each(FIELDS)('hostile $field', ({ place }) => {
  it.each(PAYLOADS)('$case is neutralised in the email', ({ value, forbidden }) => {
    // Act
    const { email } = renderAlert(alert(place(value)));

    // Assess
    const visible = emailOutsidePivot(email);
    expect(forbidden.filter((f) => visible.includes(f))).toEqual([]);
  });

  it.each(PAYLOADS)('$case is neutralised in the chatbot body', ({ value, forbidden }) => {
    // Act
    const { slack } = renderAlert(alert(place(value)));

    // Assess
    const shown = [
      slack.content.title,
      slack.content.description,
      slack.metadata?.summary ?? '',
      ...(slack.metadata?.relatedResources ?? []),
    ].join('\n');
    expect(forbidden.filter((f) => shown.includes(f))).toEqual([]);
  });

  it('cannot add lines to the email', () => {
    // Prepare: the baseline is the value's own inert text, so prose carrying it wraps the same way.
    const value = 'a\nb\r\nc\u2028d\u0085e';
    const baseline = renderAlert(alert(place(neutralise(value, 200)))).email.split('\n').length;

    // Act
    const lines = renderAlert(alert(place(value))).email.split('\n').length;

    // Assess
    expect(lines).toBe(baseline);
  });
});

describe('message attributes', () => {
  it('carries severity, rule, account, ARN and origin', () => {
    // Act
    const { attributes } = renderAlert(alert());

    // Assess
    expect(attributes).toEqual({
      severity: { DataType: 'String', StringValue: 'low' },
      rule_id: { DataType: 'String', StringValue: '393ef120-63d1-11ef-8e38-f661ea17fbce' },
      account: { DataType: 'String', StringValue: '111122223333' },
      arn: { DataType: 'String', StringValue: ARN },
      origin: { DataType: 'String', StringValue: 'live' },
      backfill: { DataType: 'String', StringValue: 'false' },
    });
  });

  it.each([
    { case: 'null ARN', overrides: { arn: null }, name: 'arn', expected: 'none' },
    { case: 'no account', overrides: { accountIds: [] }, name: 'account', expected: 'unknown' },
  ])('$case reads $expected', ({ overrides, name, expected }) => {
    // Act
    const { attributes } = renderAlert(alert(overrides));

    // Assess
    expect(attributes[name]?.StringValue).toBe(expected);
  });

  it('marks backfill alerts', () => {
    // Act
    const { attributes } = renderAlert(alert({}, { origin: 'backfill' }));

    // Assess
    expect([attributes.origin?.StringValue, attributes.backfill?.StringValue]).toEqual(['backfill', 'true']);
  });

  it('cuts a long ARN at a code-point boundary', () => {
    // Act
    const { attributes } = renderAlert(alert({ arn: `arn:aws:iam::1:user/${'\u{1F600}'.repeat(2000)}` }));

    // Assess
    const value = attributes.arn?.StringValue ?? '';
    expect({ length: Array.from(value).length, wellFormed: value.isWellFormed() }).toEqual({
      length: MAX_ARN_ATTRIBUTE_LENGTH,
      wellFormed: true,
    });
  });
});

/** A finding of `rule` as findingOf makes it: the rule's name, words, distinct field and group-by fields. */
function findingOfRule(rule: RuleDefinition, overrides: Partial<Finding> = {}): Finding {
  return finding({
    ruleId: rule.id,
    ruleName: rule.name,
    presentation: presentationOf(rule),
    arn: 'arn:aws:iam::111122223333:role/Name',
    groupedBy: Object.fromEntries(rule.groupBy.slice(1).map((field) => [field, '203.0.113.9'])),
    windowSeconds: rule.windowSeconds,
    distinctField: rule.distinctField,
    distinctCount: 16,
    ...overrides,
  });
}

const RULES = BUILT_IN_RULES.map((rule) => ({ case: rule.slug, rule }));

describe('each built-in rule in its own words', () => {
  it.each([
    {
      case: EC2_MULTI_REGION_DESCRIBE_INSTANCES.slug,
      subject: '[regionsweep] EC2 DescribeInstances sweep: 16 regions by role/Name (2026-11-28T10:00:00Z)',
    },
    {
      case: 'servicequotas-multi-region-get-service-quota',
      subject:
        '[regionsweep] EC2 vCPU quota lookups across regions: 16 regions by role/Name (2026-11-28T10:00:00Z)',
    },
    {
      case: 'discovery-api-calls-via-cli',
      subject:
        '[regionsweep] AWS CLI discovery burst: 16 distinct discovery... by role/Name (2026-11-28T10:00:00Z)',
    },
    {
      case: S3_RAPID_BUCKET_POSTURE_API_CALLS.slug,
      subject: '[regionsweep] S3 bucket posture sweep: 16 buckets by role/Name (2026-11-28T10:00:00Z)',
    },
  ])('$case: the subject names its title and distinct noun', ({ case: slug, subject }) => {
    // Prepare
    const rule = BUILT_IN_RULES.find((candidate) => candidate.slug === slug);
    if (rule === undefined) throw new Error(`no built-in rule ${slug}`);

    // Act
    const rendered = renderAlert(alert(findingOfRule(rule)));

    // Assess
    expect(rendered.subject).toBe(subject);
  });

  it.each(RULES)('$case: the email headline names its title and distinct noun', ({ rule }) => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(rule)));

    // Assess
    expect(email.split('\n')[0]).toBe(
      `regionsweep alert: ${rule.presentation?.title} (16 ${rule.presentation?.distinctNoun} by one identity within ${rule.windowSeconds} seconds)`,
    );
  });

  it.each(RULES)('$case: the email counts its events by its event noun', ({ rule }) => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(rule)));

    // Assess
    expect(email.replace(/\n/g, ' ')).toContain(
      `made 12 ${rule.presentation?.eventNoun} across 16 ${rule.presentation?.distinctNoun}`,
    );
  });

  it.each(RULES)('$case: the email labels the distinct values by its noun', ({ rule }) => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(rule)));

    // Assess
    const noun = rule.presentation?.distinctNoun ?? '';
    expect(email).toContain(`${noun.charAt(0).toUpperCase()}${noun.slice(1)} (16):`);
  });

  it.each(RULES)('$case: the Slack title names its title and distinct noun', ({ rule }) => {
    // Act
    const { slack } = renderAlert(alert(findingOfRule(rule)));

    // Assess
    expect(slack.content.title).toBe(
      `:rotating_light: ${rule.presentation?.title}: 16 ${rule.presentation?.distinctNoun}`,
    );
  });

  it.each(RULES)('$case: the email names the field it counts', ({ rule }) => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(rule)));

    // Assess
    expect(email).toContain(`Counts distinct:    ${rule.distinctField.replace('.', '[.]')}\n`);
  });
});

describe('grouped-by values and windows', () => {
  it('an S3 posture alert shows the source IP it is grouped by in the email', () => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(S3_RAPID_BUCKET_POSTURE_API_CALLS)));

    // Assess
    expect(email).toContain('\nSource IP (grouped by): 203.0.113.9\n');
  });

  it('an S3 posture alert shows the source IP it is grouped by in Slack', () => {
    // Act
    const { slack } = renderAlert(alert(findingOfRule(S3_RAPID_BUCKET_POSTURE_API_CALLS)));

    // Assess
    expect(slack.content.description).toContain('\n*Source IP (grouped by):* 203.0.113.9\n');
  });

  it('an S3 posture alert lists the bucket ARNs', () => {
    // Prepare
    const buckets = ['arn:aws:s3:::audit-logs', 'arn:aws:s3:::billing-exports'];

    // Act
    const { email } = renderAlert(
      alert(findingOfRule(S3_RAPID_BUCKET_POSTURE_API_CALLS, { distinctValues: buckets, distinctCount: 2 })),
    );

    // Assess
    expect(email).toContain('Buckets (2):        arn:aws:s3:::audit-logs, arn:aws:s3:::billing-exports\n');
  });

  it('a missing group value reads "(no value)"', () => {
    // Act
    const { email } = renderAlert(
      alert(findingOfRule(S3_RAPID_BUCKET_POSTURE_API_CALLS, { groupedBy: { sourceIPAddress: null } })),
    );

    // Assess
    expect(email).toContain('Source IP (grouped by): (no value)');
  });

  it('a field without a friendly label is shown by its name', () => {
    // Act
    const { email } = renderAlert(alert({ groupedBy: { 'userIdentity.accountId': '111122223333' } }));

    // Assess
    expect(email).toContain('userIdentity[.]accountId (grouped by): 111122223333');
  });

  it('an alert grouped by identity alone shows no grouped-by line', () => {
    // Act
    const rendered = renderAlert(alert());

    // Assess
    expect([rendered.email, rendered.slack.content.description].join('\n')).not.toContain('grouped by');
  });

  it.each([
    {
      case: 'email window line',
      text: (r: ReturnType<typeof renderAlert>) => r.email,
      expected: '(UTC), offset window (hopping mode)\n',
    },
    {
      case: 'email prose',
      text: (r: ReturnType<typeof renderAlert>) => r.email.replace(/\n/g, ' '),
      expected: 'in the 30-second offset window (hopping mode) starting 2026-11-28T10:00:15Z',
    },
    {
      case: 'Slack window line',
      text: (r: ReturnType<typeof renderAlert>) => r.slack.content.description,
      expected: '*Window:* 2026-11-28T10:00:15Z to 2026-11-28T10:00:45Z UTC, offset window (hopping mode)',
    },
  ])('an offset window is named in the $case', ({ text, expected }) => {
    // Act
    const rendered = renderAlert(alert({ window: 'offset', windowStart: '2026-11-28T10:00:15.000Z' }));

    // Assess
    expect(text(rendered)).toContain(expected);
  });

  it('an aligned window is not called offset', () => {
    // Act
    const rendered = renderAlert(alert({ window: 'aligned' }));

    // Assess
    expect([rendered.email, rendered.slack.content.description].join('\n')).not.toContain('offset');
  });
});

describe('a user rule without presentation', () => {
  const rule = toRule(
    {
      id: 'kms-key-sweep',
      name: 'Many KMS keys described',
      filter: [{ field: 'eventName', equals: ['DescribeKey'] }],
      windowSeconds: 60,
      distinctField: 'requestParameters.keyId',
      minDistinct: 5,
    },
    'rules.json[0]',
  );

  it('is titled by its name in the subject', () => {
    // Act
    const { subject } = renderAlert(alert(findingOfRule(rule, { distinctCount: 5 })));

    // Assess
    expect(subject).toBe(
      '[regionsweep] Many KMS keys described: 5 distinct requestPar... by role/Name (2026-11-28T10:00:00Z)',
    );
  });

  it('counts matching events across its distinct field values in the email', () => {
    // Act
    const { email } = renderAlert(alert(findingOfRule(rule, { distinctCount: 5 })));

    // Assess
    expect(email.replace(/\n/g, ' ')).toContain(
      'made 12 matching events across 5 distinct requestParameters[.]keyId values in the 60-second window',
    );
  });
});

describe('subject fitting', () => {
  const longest = {
    title: 'T'.repeat(PRESENTATION_LIMITS.title),
    distinctNoun: 'n'.repeat(PRESENTATION_LIMITS.distinctNoun),
    eventNoun: 'e'.repeat(PRESENTATION_LIMITS.eventNoun),
  };

  it.each([
    { case: 'live, short identity', origin: 'live' as const, arn: 'arn:aws:iam::1:role/R' },
    { case: 'backfill, short identity', origin: 'backfill' as const, arn: 'arn:aws:iam::1:role/R' },
    {
      case: 'backfill, long identity',
      origin: 'backfill' as const,
      arn: `arn:aws:iam::1:user/${'u'.repeat(300)}`,
    },
    { case: 'no identity', origin: 'backfill' as const, arn: null },
  ])('keeps the count and the window time with the longest presentation: $case', ({ origin, arn }) => {
    // Act
    const { subject } = renderAlert(alert({ presentation: longest, arn, distinctCount: 640 }, { origin }));

    // Assess
    expect({
      length: subject.length <= MAX_SUBJECT_LENGTH,
      tail: /: 640 \S*( by .*)? \(2026-11-28T10:00:00Z\)$/.test(subject),
    }).toEqual({
      length: true,
      tail: true,
    });
  });

  it('cuts the identity before the title', () => {
    // Act
    const { subject } = renderAlert(alert({ arn: `arn:aws:iam::111122223333:user/${'u'.repeat(300)}` }));

    // Assess
    expect(subject).toMatch(/^\[regionsweep\] EC2 DescribeInstances sweep: 3 regions by user\/u+\.\.\. /);
  });
});

describe('size bound', () => {
  it('the worst-case alert stays well within the SNS limit of 262144 bytes', () => {
    // Prepare: every list long, every value long and made of the most expensive characters to encode.
    const costly = (i: number) => `${i}"\\\u{1F600}\n`.repeat(2500);
    const many = (n: number) => Array.from({ length: n }, (_, i) => costly(i));
    const worst = alert(
      {
        arn: costly(0),
        distinctCount: 64,
        distinctValues: many(64),
        accountIds: many(100),
        identityTypes: many(100),
        accessKeyIds: many(100),
        sourceIps: many(100),
        userAgents: many(100),
        sessionIssuers: many(100),
        sampleEventIds: many(100),
        ruleName: costly(0),
      },
      { suppressedWindows: 1_000_000, origin: 'backfill' },
    );

    // Act
    const rendered = renderAlert(worst);

    // Assess
    const attributeBytes = Object.entries(rendered.attributes).reduce(
      (sum, [name, a]) =>
        sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue),
      0,
    );
    expect(Buffer.byteLength(rendered.message) + attributeBytes).toBeLessThan(200_000);
  });
});
