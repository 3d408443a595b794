/**
 * A key prefix as S3 expects it in a notification filter rule: "if you use any special characters in the
 * value of the prefix or suffix, you must enter them in URL-encoded (percent-encoded) format" (Amazon S3
 * User Guide, "Configuring event notifications using object key name filtering",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html). A prefix written
 * raw (`my logs/`) never matches. Path separators stay as they are; every prefix CloudTrail accepts
 * (letters, digits, `-`, `_`, `.`, `/`) reads the same either way.
 */
export function s3NotificationFilterPrefix(prefix: string): string {
  return prefix.split('/').map(encodeURIComponent).join('/');
}

/**
 * Every spelling a key prefix may take inside an event that names the object: as written, percent-encoded,
 * and form-encoded (`+` for a space, as in S3 event notifications). Unique, the plain spelling first.
 */
export function keyPrefixSpellings(prefix: string): string[] {
  const percent = s3NotificationFilterPrefix(prefix);
  const form = prefix
    .split('/')
    .map((segment) => segment.split(' ').map(encodeURIComponent).join('+'))
    .join('/');
  return [...new Set([prefix, percent, form])];
}
