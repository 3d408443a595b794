import { ConfigError } from './errors';
import {
  type FieldCondition,
  IDENTITY_FIELD,
  type RuleDefinition,
  type RulePresentation,
  type UpstreamRule,
  validateRule,
} from './rule';
import type { ValueView } from './value-views';

/**
 * Where the four Elastic rules below were read: elastic/detection-rules at commit 14cf530f0d (2026-08-21).
 * Their TOML carries no version number (Elastic keeps it in a lock file), so that commit names the version.
 * Translations common to all four: `event.provider` is `eventSource`, `event.action` is `eventName`,
 * `cloud.region` is `awsRegion`, `aws.cloudtrail.user_identity.*` is `userIdentity.*`, `@timestamp` is
 * `eventTime`; `data_stream.dataset == "aws.cloudtrail"` holds for every CloudTrail record. Elastic's
 * pipeline drops empty values, and so does the rule language (an empty string is a missing value).
 */
const ELASTIC_RULES_VERSION = 'elastic/detection-rules@14cf530f0d';

/**
 * Elastic prebuilt rule 393ef120-63d1-11ef-8e38-f661ea17fbce (query of 2025-12-04): DescribeInstances in 10 or
 * more regions, 10 or more calls, in 30 s, by one ARN. Elastic now ships it as a building-block rule (too
 * noisy to alert on alone); the query is unchanged. The query does not test the outcome: failed calls count.
 */
export const EC2_MULTI_REGION_DESCRIBE_INSTANCES: RuleDefinition = {
  id: '393ef120-63d1-11ef-8e38-f661ea17fbce',
  slug: 'ec2-multi-region-describe-instances',
  name: 'AWS EC2 Multi-Region DescribeInstances API Calls',
  severity: 'low',
  // eventName first: the prefilter tests conditions in this order, and it is the rarer text of the two.
  filter: [
    { field: 'eventName', equals: ['DescribeInstances'] },
    { field: 'eventSource', equals: ['ec2.amazonaws.com'] },
  ],
  windowSeconds: 30,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD],
  distinctField: 'awsRegion',
  // Elastic: count_distinct(cloud.region) >= 10 and count(*) >= 10.
  minDistinct: 10,
  minEvents: 10,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'EC2 DescribeInstances sweep',
    distinctNoun: 'regions',
    eventNoun: 'DescribeInstances calls',
  },
  follows: {
    ruleId: '393ef120-63d1-11ef-8e38-f661ea17fbce',
    version: ELASTIC_RULES_VERSION,
    queryDate: '2025-12-04',
  },
};

/**
 * Elastic prebuilt rule 19be0164-63d2-11ef-8e38-f661ea17fbce (query of 2026-04-10): GetServiceQuota for the
 * EC2 on-demand vCPU quota (L-1216C47A) from 10 or more regions, 10 or more calls, in 30 s. Elastic dissects
 * the flattened request parameters with `{%{?}=%{service_code}, %{?}=%{quota_code}}`: the first value
 * must be `ec2` and the second `L-1216C47A`, whatever the keys, the second value running to the first `}`.
 * The `flattened` view gives that text (keys in Java HashMap order: serviceCode before quotaCode), and the
 * expression says what the dissect keeps: a third parameter (a `contextId`) makes the call not count.
 */
export const SERVICE_QUOTAS_MULTI_REGION_GET_SERVICE_QUOTA: RuleDefinition = {
  id: '19be0164-63d2-11ef-8e38-f661ea17fbce',
  slug: 'servicequotas-multi-region-get-service-quota',
  name: 'AWS Service Quotas Multi-Region GetServiceQuota Requests',
  severity: 'low',
  filter: [
    { field: 'eventName', equals: ['GetServiceQuota'] },
    { field: 'eventSource', equals: ['servicequotas.amazonaws.com'] },
    { field: 'requestParameters', as: 'flattened', matches: '^\\{[^=]*=ec2, [^=]*=L-1216C47A\\}' },
  ],
  windowSeconds: 30,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD],
  distinctField: 'awsRegion',
  // Elastic: count_distinct(cloud.region) >= 10 and count(*) >= 10.
  minDistinct: 10,
  minEvents: 10,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'EC2 vCPU quota lookups across regions',
    distinctNoun: 'regions',
    eventNoun: 'GetServiceQuota calls for L-1216C47A',
  },
  follows: {
    ruleId: '19be0164-63d2-11ef-8e38-f661ea17fbce',
    version: ELASTIC_RULES_VERSION,
    queryDate: '2026-04-10',
  },
};

/** The services Elastic's discovery rule watches (Organizations since April 2026). */
const DISCOVERY_SERVICES = [
  'iam.amazonaws.com',
  'ec2.amazonaws.com',
  's3.amazonaws.com',
  'rds.amazonaws.com',
  'lambda.amazonaws.com',
  'dynamodb.amazonaws.com',
  'kms.amazonaws.com',
  'cloudfront.amazonaws.com',
  'elasticloadbalancing.amazonaws.com',
  'cloudtrail.amazonaws.com',
  'sts.amazonaws.com',
  'ses.amazonaws.com',
  'organizations.amazonaws.com',
];

/** Not an AWS service acting for itself (`user_identity.type != "AWSService"`: a missing type fails too). */
const NOT_AWS_SERVICE: FieldCondition = { field: 'userIdentity.type', notEquals: ['AWSService'] };

/** `source.ip IS NOT NULL`: Elastic sets `source.ip` only when `sourceIPAddress` is an IP address. */
const SOURCE_IS_AN_IP: FieldCondition = { field: 'sourceIPAddress', as: 'ip', present: true };

/** `aws.cloudtrail.session_credential_from_console IS NULL`: not a console (or CloudShell) session. */
const NOT_FROM_CONSOLE: FieldCondition = { field: 'sessionCredentialFromConsole', present: false };

/**
 * Elastic prebuilt rule 74f45152-9aee-11ef-b0a5-f661ea17fbcd (query of 2026-07-20): more than five distinct
 * Describe/Get/List/Generate calls by the AWS CLI in 10 s, by one ARN. Translations:
 * `user_agent.name == "aws-cli"` is the `userAgentName` view (Elastic's user-agent parser, unanchored, so
 * S3's bracketed `[aws-cli/...]` counts); `source.ip IS NOT NULL` is the `ip` view present;
 * `user.name != "AWSServiceRoleForConfig"` reads `userName`, else the session issuer's `userName` (the
 * pipeline's renames), and a record with neither is dropped, as ES|QL's `!=` on null is.
 */
export const DISCOVERY_API_CALLS_VIA_CLI: RuleDefinition = {
  id: '74f45152-9aee-11ef-b0a5-f661ea17fbcd',
  slug: 'discovery-api-calls-via-cli',
  name: 'AWS Discovery API Calls via CLI from a Single Resource',
  severity: 'low',
  // The agent first: its needle (`aws-cli`) is the rarest text, and the prefilter tests conditions in order.
  filter: [
    { field: 'userAgent', as: 'userAgentName', equals: ['aws-cli'] },
    {
      field: 'eventName',
      startsWith: ['Describe', 'Get', 'List', 'Generate'],
      notEquals: ['DescribeCapacityReservations'],
    },
    { field: 'eventSource', equals: DISCOVERY_SERVICES },
    NOT_AWS_SERVICE,
    SOURCE_IS_AN_IP,
    NOT_FROM_CONSOLE,
    {
      field: ['userIdentity.userName', 'userIdentity.sessionContext.sessionIssuer.userName'],
      notEquals: ['AWSServiceRoleForConfig'],
    },
  ],
  windowSeconds: 10,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD],
  distinctField: 'eventName',
  // Elastic: count_distinct(event.action) > 5.
  minDistinct: 6,
  minEvents: 1,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'AWS CLI discovery burst',
    distinctNoun: 'distinct discovery API calls',
    eventNoun: 'Describe/Get/List/Generate calls by the AWS CLI',
  },
  follows: {
    ruleId: '74f45152-9aee-11ef-b0a5-f661ea17fbcd',
    version: ELASTIC_RULES_VERSION,
    queryDate: '2026-07-20',
  },
};

/**
 * Elastic prebuilt rule a7577205-88a1-4a08-85d4-7b72a9a2e969 (query of 2026-07-20): successful bucket-posture
 * reads on more than 15 distinct buckets in 10 s by one ARN from one source IP, outside console sessions.
 * Translations: `event.outcome == "success"` is neither `errorCode` nor `errorMessage` (the pipeline's
 * outcome); `source.ip IS NOT NULL` is the `ip` view present (so IAM Access Analyzer, whose source is
 * `access-analyzer.amazonaws.com`, is out); `aws.cloudtrail.resources.arn` is `resources[].ARN`; the group's
 * `source.ip` is `sourceIPAddress` through the `ip` view, so spellings of one address are one group.
 */
export const S3_RAPID_BUCKET_POSTURE_API_CALLS: RuleDefinition = {
  id: 'a7577205-88a1-4a08-85d4-7b72a9a2e969',
  slug: 's3-rapid-bucket-posture',
  name: 'AWS S3 Rapid Bucket Posture API Calls from a Single Principal',
  severity: 'low',
  filter: [
    {
      field: 'eventName',
      equals: [
        'GetBucketAcl',
        'GetBucketPublicAccessBlock',
        'GetBucketPolicy',
        'GetBucketPolicyStatus',
        'GetBucketVersioning',
      ],
    },
    { field: 'eventSource', equals: ['s3.amazonaws.com'] },
    { field: 'errorCode', present: false },
    { field: 'errorMessage', present: false },
    NOT_AWS_SERVICE,
    SOURCE_IS_AN_IP,
    { field: 'resources.ARN', present: true },
    { field: IDENTITY_FIELD, present: true },
    NOT_FROM_CONSOLE,
  ],
  windowSeconds: 10,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD, 'sourceIPAddress'],
  groupAs: { sourceIPAddress: 'ip' },
  distinctField: 'resources.ARN',
  // Elastic: count_distinct(aws.cloudtrail.resources.arn) > 15.
  minDistinct: 16,
  minEvents: 1,
  technique: { id: 'T1619', name: 'Cloud Storage Object Discovery' },
  presentation: {
    title: 'S3 bucket posture sweep',
    distinctNoun: 'buckets',
    eventNoun: 'bucket posture reads',
  },
  follows: {
    ruleId: 'a7577205-88a1-4a08-85d4-7b72a9a2e969',
    version: ELASTIC_RULES_VERSION,
    queryDate: '2026-07-20',
  },
};

/** The rules regionsweep ships; the first is the default (Elastic parity for this product's own rule). */
export const BUILT_IN_RULES: readonly RuleDefinition[] = [
  EC2_MULTI_REGION_DESCRIBE_INSTANCES,
  SERVICE_QUOTAS_MULTI_REGION_GET_SERVICE_QUOTA,
  DISCOVERY_API_CALLS_VIA_CLI,
  S3_RAPID_BUCKET_POSTURE_API_CALLS,
];

/**
 * The enabled rules: the built-in rules named in `selection` (slugs or ids; the default rule when empty),
 * then every custom definition. Throws ConfigError on an unknown name or two rules with one id or slug.
 */
export function selectRules(
  selection: readonly string[],
  custom: readonly RuleDefinition[] = [],
): RuleDefinition[] {
  const catalogue = [...BUILT_IN_RULES, ...custom];
  const names =
    selection.length === 0 && custom.length === 0 ? [EC2_MULTI_REGION_DESCRIBE_INSTANCES.slug] : selection;
  const chosen = names.map((name) => {
    const rule = catalogue.find((candidate) => candidate.slug === name || candidate.id === name);
    if (rule === undefined) {
      const known = catalogue.map((candidate) => candidate.slug).join(', ');
      throw new ConfigError(`unknown rule ${JSON.stringify(name)}; known rules: ${known}`);
    }
    return rule;
  });
  const enabled = [...new Set([...chosen, ...custom])];
  for (const key of ['id', 'slug'] as const) {
    const seen = new Set<string>();
    for (const rule of enabled) {
      if (seen.has(rule[key])) throw new ConfigError(`two enabled rules share the ${key} ${rule[key]}`);
      seen.add(rule[key]);
    }
  }
  return enabled;
}

/**
 * Parses user rule definitions from JSON text: one definition or an array of them. Every field is checked,
 * unknown fields are refused, and each definition is validated; errors name `source` and the rule.
 *
 * The format (see RuleDefinition and FieldCondition for the semantics):
 * - `id`, `name`, `filter`, `windowSeconds`, `distinctField`, `minDistinct`: required.
 * - `slug` (defaults to `id`), `severity` (`low`), `windowMode` (`tumbling`), `groupBy` (the identity alone;
 *   a string is one field; the first field is always `userIdentity.arn`), `minEvents` (1), `technique`,
 *   `presentation` (alerts then use the name and the distinct field).
 * - `groupAs`: `{ "<further groupBy field>": "<view>" }`, the view a group value is read through
 *   (`{ "sourceIPAddress": "ip" }`: spellings of one address are one group, a non-address a null group).
 * - `follows`: `{ "ruleId", "version", "queryDate": "YYYY-MM-DD" }`, the upstream rule the rule follows.
 * - A condition: `field` (a dotted path, or an array of paths: the first that holds a value), optionally
 *   `as` (a view: `ip`, `userAgentName`, `flattened`), and tests that must all hold: `equals`, `notEquals`,
 *   `startsWith` (lists of strings, never empty ones), `matches` (a regular expression, unanchored unless
 *   it says so), `present` (true or false). `as: "userAgentName"` allows `equals`, `notEquals` and `present`
 *   with AWS client names (AWS_CLIENT_NAMES); `as: "ip"` compares addresses written as Elastic prints them
 *   (`2001:db8::1`, not `2001:DB8:0::1`).
 */
export function parseRuleDefinitions(json: string, source: string): RuleDefinition[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`${source}: rule definitions are not JSON`, { cause: error });
  }
  return (Array.isArray(value) ? value : [value]).map((entry, index) => toRule(entry, `${source}[${index}]`));
}

const RULE_FIELDS = new Set([
  'groupAs',
  'follows',
  'id',
  'slug',
  'name',
  'severity',
  'filter',
  'windowSeconds',
  'windowMode',
  'groupBy',
  'distinctField',
  'minDistinct',
  'minEvents',
  'technique',
  'presentation',
]);
const CONDITION_FIELDS = new Set(['field', 'as', 'equals', 'notEquals', 'startsWith', 'matches', 'present']);
const FOLLOWS_FIELDS = new Set(['ruleId', 'version', 'queryDate']);

/** Checks one parsed definition (from JSON or a TypeScript module) and returns it as a RuleDefinition. */
export function toRule(value: unknown, source: string): RuleDefinition {
  const record = objectAt(value, source);
  refuseUnknown(record, RULE_FIELDS, source);
  const id = stringAt(record, 'id', source);
  const where = `${source} (${id})`;
  const groupBy = record.groupBy ?? [IDENTITY_FIELD];
  const technique = objectAt(
    record.technique ?? { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
    `${where}.technique`,
  );
  const severity = record.severity ?? 'low';
  if (
    typeof severity !== 'string' ||
    !['informational', 'low', 'medium', 'high', 'critical'].includes(severity)
  ) {
    throw new ConfigError(`${where}: severity must be informational, low, medium, high or critical`);
  }
  const filter = record.filter;
  if (!Array.isArray(filter)) throw new ConfigError(`${where}: filter must be an array of conditions`);
  const rule: RuleDefinition = {
    id,
    slug: record.slug === undefined ? id : stringAt(record, 'slug', where),
    name: stringAt(record, 'name', where),
    severity: severity as RuleDefinition['severity'],
    filter: filter.map((condition, index) => toCondition(condition, `${where}.filter[${index}]`)),
    windowSeconds: numberAt(record, 'windowSeconds', where),
    windowMode: (record.windowMode ?? 'tumbling') as RuleDefinition['windowMode'],
    groupBy: typeof groupBy === 'string' ? [groupBy] : stringListAt({ groupBy }, 'groupBy', where),
    distinctField: stringAt(record, 'distinctField', where),
    minDistinct: numberAt(record, 'minDistinct', where),
    minEvents: record.minEvents === undefined ? 1 : numberAt(record, 'minEvents', where),
    technique: { id: stringAt(technique, 'id', where), name: stringAt(technique, 'name', where) },
    ...(record.presentation === undefined
      ? {}
      : { presentation: toPresentation(record.presentation, `${where}.presentation`) }),
    ...(record.groupAs === undefined ? {} : { groupAs: toGroupAs(record.groupAs, `${where}.groupAs`) }),
    ...(record.follows === undefined ? {} : { follows: toFollows(record.follows, `${where}.follows`) }),
  };
  validateRule(rule);
  return rule;
}

function toCondition(value: unknown, source: string): FieldCondition {
  const record = objectAt(value, source);
  refuseUnknown(record, CONDITION_FIELDS, source);
  const present = record.present;
  if (present !== undefined && typeof present !== 'boolean') {
    throw new ConfigError(`${source}: present must be true or false`);
  }
  return {
    field: Array.isArray(record.field)
      ? stringListAt(record, 'field', source)
      : stringAt(record, 'field', source),
    ...(record.as === undefined ? {} : { as: stringAt(record, 'as', source) as ValueView }),
    ...(record.equals === undefined ? {} : { equals: stringListAt(record, 'equals', source) }),
    ...(record.notEquals === undefined ? {} : { notEquals: stringListAt(record, 'notEquals', source) }),
    ...(record.startsWith === undefined ? {} : { startsWith: stringListAt(record, 'startsWith', source) }),
    ...(record.matches === undefined ? {} : { matches: stringAt(record, 'matches', source) }),
    ...(present === undefined ? {} : { present }),
  };
}

/** Group-by field to view; each view is checked by validateRule. */
function toGroupAs(value: unknown, source: string): Record<string, ValueView> {
  const record = objectAt(value, source);
  return Object.fromEntries(
    Object.keys(record).map((field) => [field, stringAt(record, field, source) as ValueView]),
  );
}

function toFollows(value: unknown, source: string): UpstreamRule {
  const record = objectAt(value, source);
  refuseUnknown(record, FOLLOWS_FIELDS, source);
  return {
    ruleId: stringAt(record, 'ruleId', source),
    version: stringAt(record, 'version', source),
    queryDate: stringAt(record, 'queryDate', source),
  };
}

const PRESENTATION_FIELDS = new Set(['title', 'distinctNoun', 'eventNoun']);

/** Longest text of each presentation field: they go into a subject of fewer than 100 characters. */
export const PRESENTATION_LIMITS: Readonly<Record<keyof RulePresentation, number>> = {
  title: 48,
  distinctNoun: 32,
  eventNoun: 64,
};

/**
 * Plain words: ASCII letters and digits, single spaces and a little punctuation (`- / ( ) , . : ' + #`),
 * starting with a letter or digit and not ending in a space. Alerts neutralise it anyway; this keeps a rule
 * author from writing markup or line breaks that would only show up escaped.
 */
const PLAIN_TEXT = /^[A-Za-z0-9](?:[A-Za-z0-9\-/(),.:'+#]| (?! )(?!$))*$/;

function toPresentation(value: unknown, source: string): RulePresentation {
  const record = objectAt(value, source);
  refuseUnknown(record, PRESENTATION_FIELDS, source);
  const text = (name: keyof RulePresentation): string => {
    const entry = stringAt(record, name, source);
    const max = PRESENTATION_LIMITS[name];
    if (entry.length > max || !PLAIN_TEXT.test(entry)) {
      throw new ConfigError(
        `${source}: ${name} must be plain text of at most ${max} characters (letters, digits, single spaces and - / ( ) , . : ' + #), got ${JSON.stringify(entry.slice(0, max + 8))}`,
      );
    }
    return entry;
  };
  return { title: text('title'), distinctNoun: text('distinctNoun'), eventNoun: text('eventNoun') };
}

function objectAt(value: unknown, source: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source}: must be an object`);
  }
  return value as Record<string, unknown>;
}

function refuseUnknown(record: Record<string, unknown>, known: ReadonlySet<string>, source: string): void {
  const unknown = Object.keys(record).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new ConfigError(`${source}: unknown field(s) ${unknown.join(', ')}`);
}

function stringAt(record: Record<string, unknown>, name: string, source: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`${source}: ${name} must be a non-empty string`);
  return value;
}

function numberAt(record: Record<string, unknown>, name: string, source: string): number {
  const value = record[name];
  if (typeof value !== 'number') throw new ConfigError(`${source}: ${name} must be a number`);
  return value;
}

function stringListAt(record: Record<string, unknown>, name: string, source: string): string[] {
  const value = record[name];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new ConfigError(`${source}: ${name} must be an array of strings`);
  }
  return value as string[];
}
