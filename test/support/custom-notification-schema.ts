/**
 * The custom notification format of Amazon Q Developer in chat applications (formerly AWS Chatbot), as its
 * guide documents it: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("Event schema",
 * "Parameter details"). A body that does not have this shape is not posted to the chat channel.
 *
 * Documented: `version` must be "1.0" and `source` must be "custom" (both required); `content` carries the
 * text, `description` being the one text every sample has; `textType`, when given, can only be
 * "client-markdown"; `title`, `description`, `summary`, `threadId`, `eventType` and `id` are strings;
 * `nextSteps`, `keywords` and `relatedResources` lists of strings; `additionalContext` an object of strings;
 * `enableCustomActions` a boolean. Nothing else is part of the format, so any other field fails here.
 *
 * Sizes: the guide names no per-field maximum. Amazon Q Developer posts to Slack, where one section of a
 * message holds at most 3000 characters of text (https://api.slack.com/reference/block-kit/blocks#section),
 * and a custom action can read `additionalContext` values of at most 1024 characters
 * (https://docs.aws.amazon.com/chatbot/latest/APIReference/API_CustomActionAttachment.html, `Variables`). The
 * remaining bounds are ours: short enough to read as a chat message, far above what an alert needs.
 */
export const CUSTOM_NOTIFICATION_BOUNDS = {
  title: 256,
  description: 3000,
  nextSteps: 5,
  nextStep: 300,
  keywords: 10,
  keyword: 64,
  id: 256,
  threadId: 256,
  summary: 1024,
  eventType: 128,
  relatedResources: 10,
  relatedResource: 2048,
  additionalContext: 20,
  additionalContextValue: 1024,
  /** The whole notification as JSON, UTF-8: well inside one SNS message whatever else the message holds. */
  notificationBytes: 16_384,
} as const;

const TOP_FIELDS = ['version', 'source', 'id', 'content', 'metadata'];
const CONTENT_FIELDS = ['textType', 'title', 'description', 'nextSteps', 'keywords'];
const METADATA_FIELDS = [
  'threadId',
  'summary',
  'eventType',
  'relatedResources',
  'additionalContext',
  'enableCustomActions',
];

/** Every way `body` (the text an `https` subscriber receives as `Message`) fails the format; empty when valid. */
export function customNotificationViolations(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return ['not JSON'];
  }
  if (!isObject(parsed)) return ['not a JSON object'];
  const bounds = CUSTOM_NOTIFICATION_BOUNDS;
  const violations = [
    ...unknownFields(parsed, TOP_FIELDS, ''),
    ...(parsed.version === '1.0' ? [] : [`version is ${JSON.stringify(parsed.version)}, not "1.0"`]),
    ...(parsed.source === 'custom' ? [] : [`source is ${JSON.stringify(parsed.source)}, not "custom"`]),
    ...optionalText(parsed.id, 'id', bounds.id),
    ...(Buffer.byteLength(body) > bounds.notificationBytes
      ? [`notification of ${Buffer.byteLength(body)} bytes`]
      : []),
  ];
  const { content, metadata } = parsed;
  if (!isObject(content)) return [...violations, 'content is not an object'];
  violations.push(
    ...unknownFields(content, CONTENT_FIELDS, 'content.'),
    ...(content.textType === undefined || content.textType === 'client-markdown'
      ? []
      : [`content.textType is ${JSON.stringify(content.textType)}, not "client-markdown"`]),
    ...optionalText(content.title, 'content.title', bounds.title),
    ...(content.description === undefined || content.description === ''
      ? ['content.description is missing or empty: the notification would show nothing']
      : optionalText(content.description, 'content.description', bounds.description)),
    ...optionalTexts(content.nextSteps, 'content.nextSteps', bounds.nextSteps, bounds.nextStep),
    ...optionalTexts(content.keywords, 'content.keywords', bounds.keywords, bounds.keyword),
  );
  if (metadata === undefined) return violations;
  if (!isObject(metadata)) return [...violations, 'metadata is not an object'];
  violations.push(
    ...unknownFields(metadata, METADATA_FIELDS, 'metadata.'),
    ...optionalText(metadata.threadId, 'metadata.threadId', bounds.threadId),
    ...optionalText(metadata.summary, 'metadata.summary', bounds.summary),
    ...optionalText(metadata.eventType, 'metadata.eventType', bounds.eventType),
    ...optionalTexts(
      metadata.relatedResources,
      'metadata.relatedResources',
      bounds.relatedResources,
      bounds.relatedResource,
    ),
    ...(metadata.enableCustomActions === undefined || typeof metadata.enableCustomActions === 'boolean'
      ? []
      : ['metadata.enableCustomActions is not a boolean']),
  );
  const context = metadata.additionalContext;
  if (context === undefined) return violations;
  if (!isObject(context)) return [...violations, 'metadata.additionalContext is not an object'];
  const entries = Object.entries(context);
  return [
    ...violations,
    ...(entries.length > bounds.additionalContext
      ? [`metadata.additionalContext has ${entries.length} entries`]
      : []),
    ...entries.flatMap(([key, value]) =>
      optionalText(value, `metadata.additionalContext.${key}`, bounds.additionalContextValue),
    ),
  ];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownFields(value: Record<string, unknown>, known: readonly string[], path: string): string[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => `${path}${key} is not a field of the format`);
}

/** Absent, or a string of at most `max` characters (UTF-16 units: never fewer than Slack counts). */
function optionalText(value: unknown, path: string, max: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'string') return [`${path} is not a string`];
  return value.length > max ? [`${path} has ${value.length} characters (at most ${max})`] : [];
}

function optionalTexts(value: unknown, path: string, maxItems: number, maxLength: number): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [`${path} is not a list`];
  return [
    ...(value.length > maxItems ? [`${path} has ${value.length} items (at most ${maxItems})`] : []),
    ...value.flatMap((item, index) => optionalText(item, `${path}[${index}]`, maxLength)),
  ];
}
