import { ConfigError } from './errors';
import {
  type FieldCondition,
  IDENTITY_FIELD,
  type RuleDefinition,
  type RulePresentation,
  validateRule,
} from './rule';

/** Elastic prebuilt rule 393ef120-63d1-11ef-8e38-f661ea17fbce, as Elastic defines it. */
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
  minDistinct: 10,
  minEvents: 10,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'EC2 DescribeInstances sweep',
    distinctNoun: 'regions',
    eventNoun: 'DescribeInstances calls',
  },
};

/**
 * Elastic prebuilt rule 19be0164-63d2-11ef-8e38-f661ea17fbce: GetServiceQuota for the EC2 on-demand vCPU
 * quota (L-1216C47A) from 10 or more regions in 30 s. Elastic dissects `serviceCode` and `quotaCode` out of
 * the flattened request parameters; CloudTrail's JSON has them as fields.
 */
export const SERVICE_QUOTAS_MULTI_REGION_GET_SERVICE_QUOTA: RuleDefinition = {
  id: '19be0164-63d2-11ef-8e38-f661ea17fbce',
  slug: 'servicequotas-multi-region-get-service-quota',
  name: 'AWS Service Quotas Multi-Region GetServiceQuota Requests',
  severity: 'low',
  filter: [
    { field: 'eventName', equals: ['GetServiceQuota'] },
    { field: 'eventSource', equals: ['servicequotas.amazonaws.com'] },
    { field: 'requestParameters.serviceCode', equals: ['ec2'] },
    { field: 'requestParameters.quotaCode', equals: ['L-1216C47A'] },
  ],
  windowSeconds: 30,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD],
  distinctField: 'awsRegion',
  minDistinct: 10,
  minEvents: 10,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'EC2 vCPU quota lookups across regions',
    distinctNoun: 'regions',
    eventNoun: 'GetServiceQuota calls for L-1216C47A',
  },
};

/** The services Elastic's discovery rule watches. */
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
];

/**
 * A pattern matching where the text does not continue with `word` (letters and digits): `(?!word)`, which
 * RE2 lacks, as "the text ends, or differs from `word` at some character".
 */
function notStartingWith(word: string): string {
  if (!/^[A-Za-z0-9]+$/.test(word))
    throw new RangeError(`notStartingWith takes letters and digits, got ${word}`);
  let pattern = '';
  for (const char of Array.from(word).reverse()) {
    pattern = pattern === '' ? `(?:$|[^${char}])` : `(?:$|[^${char}]|${char}${pattern})`;
  }
  return pattern;
}

/** Not an AWS service acting for itself (`user_identity.type != "AWSService"`: a missing type fails too). */
const NOT_AWS_SERVICE: FieldCondition = { field: 'userIdentity.type', notEquals: ['AWSService'] };

/**
 * Elastic prebuilt rule 74f45152-9aee-11ef-b0a5-f661ea17fbcd: more than five distinct Describe/Get/List/
 * Generate calls by the AWS CLI in 10 s. Elastic's `user_agent.name == "aws-cli"` is the parsed agent; the
 * raw CloudTrail `userAgent` of the CLI starts with `aws-cli/`. Elastic's dissect of the ARN
 * (`%{}::%{owner}:%{type}/%{roles}`) drops ARNs of another shape and the AWS Config service role: the
 * `matches` condition says the same.
 */
export const DISCOVERY_API_CALLS_VIA_CLI: RuleDefinition = {
  id: '74f45152-9aee-11ef-b0a5-f661ea17fbcd',
  slug: 'discovery-api-calls-via-cli',
  name: 'AWS Discovery API Calls via CLI from a Single Resource',
  severity: 'low',
  filter: [
    { field: 'userAgent', startsWith: ['aws-cli/'] },
    {
      field: 'eventName',
      startsWith: ['Describe', 'Get', 'List', 'Generate'],
      notEquals: ['DescribeCapacityReservations'],
    },
    { field: 'eventSource', equals: DISCOVERY_SERVICES },
    NOT_AWS_SERVICE,
    { field: IDENTITY_FIELD, matches: `^.*?::[^:]*:[^/]*/${notStartingWith('AWSServiceRoleForConfig')}` },
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
};

/**
 * Elastic prebuilt rule a7577205-88a1-4a08-85d4-7b72a9a2e969: successful bucket-posture reads on more than 15
 * distinct buckets in 10 s by one identity from one source IP, outside console sessions. `event.outcome ==
 * "success"` is a CloudTrail record without `errorCode`; `aws.cloudtrail.resources.arn` is `resources[].ARN`.
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
    NOT_AWS_SERVICE,
    { field: 'sourceIPAddress', present: true },
    { field: 'resources.ARN', present: true },
    { field: IDENTITY_FIELD, present: true },
    { field: 'sessionCredentialFromConsole', present: false },
  ],
  windowSeconds: 10,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD, 'sourceIPAddress'],
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
 * Parses user rule definitions from JSON text: one definition or an array of them. `windowMode` defaults to
 * tumbling, `groupBy` to the identity alone; a string `groupBy` is one field; `presentation` is optional (alerts
 * then use the name and the distinct field). Every field is checked, unknown fields are refused, and each definition is validated; errors name `source` and the rule.
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
const CONDITION_FIELDS = new Set(['field', 'equals', 'notEquals', 'startsWith', 'matches', 'present']);

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
    field: stringAt(record, 'field', source),
    ...(record.equals === undefined ? {} : { equals: stringListAt(record, 'equals', source) }),
    ...(record.notEquals === undefined ? {} : { notEquals: stringListAt(record, 'notEquals', source) }),
    ...(record.startsWith === undefined ? {} : { startsWith: stringListAt(record, 'startsWith', source) }),
    ...(record.matches === undefined ? {} : { matches: stringAt(record, 'matches', source) }),
    ...(present === undefined ? {} : { present }),
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
