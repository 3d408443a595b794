import type { AlertToPublish } from './alert-to-publish';
import { inertJson } from './neutralise';
import { truncate } from './sizing';

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
 * Bytes one copy of the document may take inside the SNS message (after both JSON encodings). With three
 * copies plus the email and chat bodies the message stays far below SNS_LIMITS.maxMessageBytes whatever the
 * log held.
 */
export const DOCUMENT_BUDGET_BYTES = 16_384;

/**
 * How far the document cuts each string value (in UTF-16 units, at a code point: a SIEM gets no half of an emoji)
 * and each list, one step after another, until it fits.
 */
const DOCUMENT_STEPS = [
  { value: Number.POSITIVE_INFINITY, list: Number.POSITIVE_INFINITY },
  { value: 256, list: 20 },
  { value: 128, list: 10 },
  { value: 64, list: 5 },
  { value: 32, list: 2 },
  { value: 16, list: 1 },
] as const;

/** The alert as a document: string values and lists cut, step by step, until it fits its budget. */
export function fitDocument(alert: AlertToPublish): AlertDocument {
  let document: AlertDocument | undefined;
  for (const [index, step] of DOCUMENT_STEPS.entries()) {
    const cut = (value: string) => truncate(value, step.value, 'utf16Units');
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
        ...(finding.tags === undefined ? {} : { tags: cutList(finding.tags) }),
        distinctField: cut(finding.distinctField),
        distinctValues: cutList(finding.distinctValues),
        accountIds: cutList(finding.accountIds),
        identityTypes: cutList(finding.identityTypes),
        accessKeyIds: cutList(finding.accessKeyIds),
        sourceIps: cutList(finding.sourceIps),
        userAgents: cutList(finding.userAgents),
        sessionIssuers: cutList(finding.sessionIssuers),
        sampleEventIds: cutList(finding.sampleEventIds),
        ...(finding.contributingFindings === undefined
          ? {}
          : {
              contributingFindings: finding.contributingFindings.slice(0, step.list).map((f) => ({
                ...f,
                rule: cut(f.rule),
                title: cut(f.title),
                distinctNoun: cut(f.distinctNoun),
                eventNoun: cut(f.eventNoun),
              })),
            }),
      },
    };
    // The plain encoding is never longer than the inert one and far cheaper on megabytes of escapes.
    const fits = (json: string) => Buffer.byteLength(JSON.stringify(json)) <= DOCUMENT_BUDGET_BYTES;
    if (fits(JSON.stringify(document)) && fits(inertJson(document))) return document;
  }
  if (document === undefined) throw new Error('fitDocument: no step');
  return document;
}
