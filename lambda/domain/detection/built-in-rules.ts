import { ConfigError } from '../errors';
import { resolveCorrelations } from './correlation';
import { CORRELATION_DISTINCT_FIELD, type FieldCondition, IDENTITY_FIELD, type RuleDefinition } from './rule';

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
 * The discovery campaign, a correlation over findings (Elastic ships the EC2 rule as a building block and
 * recommends correlating it with the same principal's other discovery activity): one identity with a
 * finding of the EC2 sweep and of at least one other discovery rule (CLI discovery, S3 bucket posture,
 * Service Quotas) within one epoch-aligned hour. It alerts once per identity and hour, listing every
 * contributing finding. Every rule it names must be enabled (any may be a building block).
 */
export const DISCOVERY_CAMPAIGN: RuleDefinition = {
  id: 'regionsweep-discovery-campaign',
  slug: 'discovery-campaign',
  name: 'AWS Discovery Campaign by One Identity',
  severity: 'medium',
  filter: [],
  windowSeconds: 3_600,
  windowMode: 'tumbling',
  groupBy: [IDENTITY_FIELD],
  distinctField: CORRELATION_DISTINCT_FIELD,
  minDistinct: 2,
  minEvents: 1,
  technique: { id: 'T1580', name: 'Cloud Infrastructure Discovery' },
  presentation: {
    title: 'Discovery campaign',
    distinctNoun: 'discovery rules',
    eventNoun: 'discovery findings',
  },
  correlation: {
    rules: [
      EC2_MULTI_REGION_DESCRIBE_INSTANCES.slug,
      DISCOVERY_API_CALLS_VIA_CLI.slug,
      S3_RAPID_BUCKET_POSTURE_API_CALLS.slug,
      SERVICE_QUOTAS_MULTI_REGION_GET_SERVICE_QUOTA.slug,
    ],
    requires: [EC2_MULTI_REGION_DESCRIBE_INSTANCES.slug],
  },
};

/** The correlations over findings regionsweep ships (enabled by slug, like the rules). */
export const BUILT_IN_CORRELATIONS: readonly RuleDefinition[] = [DISCOVERY_CAMPAIGN];

/**
 * The enabled rules: the built-in rules and correlations named in `selection` (slugs or ids; the default
 * rule when empty), then every custom definition, with `buildingBlocks` (slugs or ids of enabled rules)
 * marked as building blocks. Throws ConfigError on an unknown name, two rules with one id or slug, or a
 * correlation naming a rule that is unknown, not enabled or a correlation (see resolveCorrelations).
 */
export function selectRules(
  selection: readonly string[],
  custom: readonly RuleDefinition[] = [],
  buildingBlocks: readonly string[] = [],
): RuleDefinition[] {
  const catalogue = [...BUILT_IN_RULES, ...BUILT_IN_CORRELATIONS, ...custom];
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
  const unknownBlocks = buildingBlocks.filter(
    (name) => !enabled.some((rule) => rule.slug === name || rule.id === name),
  );
  if (unknownBlocks.length > 0) {
    throw new ConfigError(
      `building blocks ${unknownBlocks.join(', ')} name no enabled rule; enabled: ${enabled.map((rule) => rule.slug).join(', ')}`,
    );
  }
  const marked = enabled.map((rule) =>
    buildingBlocks.includes(rule.slug) || buildingBlocks.includes(rule.id)
      ? { ...rule, buildingBlock: true }
      : rule,
  );
  return resolveCorrelations(marked, catalogue);
}
