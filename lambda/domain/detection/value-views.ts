/**
 * Values a rule reads through a view (`as` in a condition, `groupAs` for a group-by field): what Elastic's
 * CloudTrail ingest pipeline derives from a raw field before its rules see it. The pipeline is
 * https://github.com/elastic/integrations/blob/main/packages/aws/data_stream/cloudtrail/elasticsearch/ingest_pipeline/default.yml.
 * Pure functions of one value; undefined when the view gives no value (Elastic's field is then null).
 */

/** The views a rule may name. */
export type ValueView = 'ip' | 'userAgentName' | 'flattened';

export const VALUE_VIEWS: readonly ValueView[] = ['ip', 'userAgentName', 'flattened'];

/** The value of `value` through `view`, or undefined when the view has none. */
export function viewValue(view: ValueView, value: unknown): string | undefined {
  switch (view) {
    case 'ip':
      return typeof value === 'string' ? canonicalIp(value) : undefined;
    case 'userAgentName':
      return typeof value === 'string' ? userAgentName(value) : undefined;
    case 'flattened':
      return isEmpty(value) ? undefined : flattenedText(value);
  }
}

// ---- ip --------------------------------------------------------------------------------------------------

/**
 * `value` as Elastic's `source.ip` holds it, or undefined when it is not an IP address. The pipeline copies
 * `sourceIPAddress` to `source.ip` only when the whole text is an IP address (grok `^%{IP}$`), and an `ip`
 * field compares addresses, not spellings: `2001:DB8:0:0::1` and `2001:db8::1` are one value, and so are
 * `::ffff:192.0.2.1` and `192.0.2.1`. Parsing follows Elasticsearch's InetAddresses: dotted-quad IPv4
 * without leading zeros; IPv6 of 1-4 hex digits a group, one `::`, an optional trailing dotted quad and an
 * ignored `%scope`. The text returned is the address as Elasticsearch prints it: IPv4 (IPv4-mapped IPv6
 * included) as a dotted quad, IPv6 in RFC 5952 form (lower case, the longest run of two or more zero groups
 * as `::`, the leftmost on a tie).
 */
export function canonicalIp(value: string): string | undefined {
  const v4 = parseIpv4(value);
  if (v4 !== undefined) return v4.join('.');
  const v6 = parseIpv6(value);
  if (v6 === undefined) return undefined;
  const mapped = v6.slice(0, 5).every((group) => group === 0) && v6[5] === 0xffff;
  if (mapped) {
    const [high = 0, low = 0] = v6.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return formatIpv6(v6);
}

/**
 * The 16 bytes of the IP address `value` is (parsed as canonicalIp parses it), IPv4 as IPv4-mapped IPv6
 * (`::ffff:a.b.c.d`), so that a network and an address compare whatever family they were written in; undefined
 * when `value` is not an IP address.
 */
export function ipAddressBytes(value: string): number[] | undefined {
  const v4 = parseIpv4(value);
  if (v4 !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    return [...new Array<number>(10).fill(0), 0xff, 0xff, a, b, c, d];
  }
  return parseIpv6(value)?.flatMap((group) => [group >> 8, group & 0xff]);
}

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/;

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => IPV4_OCTET.test(part))) return undefined;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

/** Eight 16-bit groups, or undefined. */
function parseIpv6(input: string): number[] | undefined {
  const percent = input.indexOf('%');
  if (percent === input.length - 1) return undefined;
  const text = percent === -1 ? input : input.slice(0, percent);
  if (!text.includes(':')) return undefined;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    tail = [(a << 8) | b, (c << 8) | d];
    body = text.endsWith('::', lastColon + 1) ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups = half.split(':');
    return groups.every((group) => HEXTET.test(group))
      ? groups.map((group) => Number.parseInt(group, 16))
      : undefined;
  };
  const head = groupsOf(halves[0] ?? '');
  if (head === undefined) return undefined;
  if (halves.length === 1) {
    const groups = [...head, ...tail];
    return groups.length === 8 ? groups : undefined;
  }
  const rest = groupsOf(halves[1] ?? '');
  if (rest === undefined) return undefined;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return undefined;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
}

function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

// ---- userAgentName ----------------------------------------------------------------------------------------

/**
 * The AWS clients Elastic's user-agent parser names (its pattern for AWS S3 clients, from uap-core):
 * the product token, then `/` and a version of at least two numbers. The pattern is not anchored, so
 * `[aws-cli/2.15.30 ...]` (as S3 logs the CLI's agent) is `aws-cli`; the leftmost token wins.
 */
const AWS_CLIENT = /\b(Boto3?|JetS3t|aws-(?:cli|sdk-(?:cpp|go|java|nodejs|ruby2?))|s3fs)\/\d+\.\d+/;

/** Every name the AWS clients pattern gives: the only values a `userAgentName` condition may test. */
export const AWS_CLIENT_NAMES: readonly string[] = [
  'Boto',
  'Boto3',
  'JetS3t',
  'aws-cli',
  'aws-sdk-cpp',
  'aws-sdk-go',
  'aws-sdk-java',
  'aws-sdk-nodejs',
  'aws-sdk-ruby',
  'aws-sdk-ruby2',
  's3fs',
];

/** What the view gives an agent that names no AWS client: for Elastic a browser, bot or library name, or `Other`. */
export const NOT_AN_AWS_CLIENT = 'Other';

/**
 * Elastic's `user_agent.name` for `agent`, as far as AWS clients go: the AWS client the agent names, else
 * `Other`. Elastic's parser tries its patterns for browsers, crawlers and HTTP libraries first; an agent
 * that one of those claims (one that also names a crawler, `okhttp` or `CFNetwork`, say) is named by it
 * there. Conditions may only test AWS client names, so `Other` never decides a comparison.
 */
export function userAgentName(agent: string): string {
  return AWS_CLIENT.exec(agent)?.[1] ?? NOT_AN_AWS_CLIENT;
}

// ---- flattened --------------------------------------------------------------------------------------------

/**
 * `value` as the pipeline flattens an object into text (`aws.cloudtrail.request_parameters` is
 * `requestParameters.toString()`): Java's map rendering `{key=value, key=value}`, lists as `[a, b]`, after the
 * pipeline dropped every null, empty string and empty object or list. The JSON is parsed into a Java HashMap,
 * so keys come in HashMap order (by hash bucket, then insertion order), not in the order of the JSON: ES|QL's
 * `dissect` of this text, like the Service Quotas rule's, depends on it. Numbers print as JavaScript prints
 * them (Java would print a JSON `1.0` as `1.0`).
 */
export function flattenedText(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value
      .filter((item) => !isEmpty(item))
      .map(flattenedText)
      .join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const capacity = hashMapCapacity(entries.length);
    const kept = entries
      .map(([key, item], order) => ({ key, item, order, bucket: bucketOf(key, capacity) }))
      .filter(({ item }) => !isEmpty(item))
      .sort((a, b) => a.bucket - b.bucket || a.order - b.order);
    return `{${kept.map(({ key, item }) => `${key}=${flattenedText(item)}`).join(', ')}}`;
  }
  return String(value);
}

/**
 * True for what the pipeline's first script drops: null, the empty string, and objects or lists left empty
 * once their own empty members are dropped.
 */
export function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.every(isEmpty);
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>).every(isEmpty);
  return false;
}

/**
 * The table size of a java.util.HashMap after `size` insertions: 16, doubled whenever the size passes three
 * quarters of it. Entries the pipeline drops later were inserted first, so they count.
 */
function hashMapCapacity(size: number): number {
  let capacity = 16;
  while (size > capacity * 0.75) capacity *= 2;
  return capacity;
}

/** The bucket of `key` in a HashMap table of `capacity`: String.hashCode, spread as HashMap.hash does. */
function bucketOf(key: string, capacity: number): number {
  let hash = 0;
  for (let index = 0; index < key.length; index += 1)
    hash = (Math.imul(hash, 31) + key.charCodeAt(index)) | 0;
  return (hash ^ (hash >>> 16)) & (capacity - 1);
}
