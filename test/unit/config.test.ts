import { describe, expect, it } from 'vitest';
import {
  FUNCTION_TIMEOUT_SECONDS,
  loadConfig,
  PUBLISH_TIMEOUT_MS,
  QUEUE_RETENTION_DAYS,
} from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/built-in-rules';
import { ConfigError } from '../../lambda/domain/errors';

const VALID = { TABLE_NAME: 'windows', TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:regionsweep-alerts' };

describe('loadConfig', () => {
  it('defaults give Elastic parity: 10 regions, 10 events, 30 s, no suppression; windows kept 15 days', () => {
    // Act
    const config = loadConfig(VALID);

    // Assess
    expect(config.rules).toEqual([EC2_MULTI_REGION_DESCRIBE_INSTANCES]);
    expect({ suppressionMs: config.suppressionMs, retentionSeconds: config.retentionSeconds }).toEqual({
      suppressionMs: 0,
      retentionSeconds: 15 * 86_400,
    });
  });

  it('keeps windows longer than the failure queue keeps a message, so a replay of it never alerts again', () => {
    // Act
    const config = loadConfig(VALID);

    // Assess
    expect(config.retentionSeconds).toBeGreaterThan(QUEUE_RETENTION_DAYS * 86_400 + 6 * 3600);
  });

  it('the default lease outlasts twice the longest publish and fits in half the function time-out', () => {
    // Act
    const { alertLeaseMs } = loadConfig(VALID);

    // Assess
    expect(alertLeaseMs).toBeGreaterThanOrEqual(2 * PUBLISH_TIMEOUT_MS);
    expect(alertLeaseMs).toBeLessThanOrEqual((FUNCTION_TIMEOUT_SECONDS * 1000) / 2);
  });

  it('reads overrides', () => {
    // Act
    const config = loadConfig({
      ...VALID,
      MIN_REGIONS: '5',
      MIN_EVENTS: '20',
      WINDOW_SECONDS: '60',
      SUPPRESSION_MINUTES: '60',
      EXPECTED_BUCKET_OWNER: '111122223333',
      ALLOWLIST_JSON: '{"arnPatterns":["*:assumed-role/Inventory/*"]}',
    });

    // Assess
    expect(config.rules[0]).toMatchObject({ minDistinct: 5, minEvents: 20, windowSeconds: 60 });
    expect(config.suppressionMs).toBe(3_600_000);
    expect(config.expectedBucketOwner).toBe('111122223333');
    expect(config.allowlist.arnPatterns).toEqual(['*:assumed-role/Inventory/*']);
  });

  it.each([
    { case: 'missing table', env: { TOPIC_ARN: VALID.TOPIC_ARN }, message: /TABLE_NAME must be set/ },
    { case: 'missing topic', env: { TABLE_NAME: 'w' }, message: /TOPIC_ARN must be set/ },
    {
      case: 'topic not an ARN',
      env: { ...VALID, TOPIC_ARN: 'alerts' },
      message: /TOPIC_ARN is not an SNS topic ARN/,
    },
    {
      case: 'owner not an account',
      env: { ...VALID, EXPECTED_BUCKET_OWNER: 'me' },
      message: /EXPECTED_BUCKET_OWNER/,
    },
    {
      case: 'threshold not a number',
      env: { ...VALID, MIN_REGIONS: 'ten' },
      message: /MIN_REGIONS must be a whole number/,
    },
    { case: 'threshold above what is tracked', env: { ...VALID, MIN_REGIONS: '65' }, message: /MIN_REGIONS/ },
    {
      case: 'windows expiring before the failure queue lets go of a message (the old default, 7)',
      env: { ...VALID, RETENTION_DAYS: '7' },
      message:
        /RETENTION_DAYS must be a whole number from 15 to 365, got "7": window items must outlive the 14 days/,
    },
    {
      case: 'a lease shorter than twice the longest publish (31 s)',
      env: { ...VALID, ALERT_LEASE_SECONDS: '30' },
      message:
        /ALERT_LEASE_SECONDS must be a whole number from 62 to 150, got "30": an alert claim must outlast/,
    },
    {
      case: 'a lease a replay could not wait out within the 300 s time-out',
      env: { ...VALID, ALERT_LEASE_SECONDS: '600' },
      message: /ALERT_LEASE_SECONDS must be a whole number from 62 to 150, got "600"/,
    },
    {
      case: 'an EC2 window longer than 30 minutes',
      env: { ...VALID, WINDOW_SECONDS: '3600' },
      message: /WINDOW_SECONDS must be a whole number from 1 to 1800, got "3600"/,
    },
    {
      case: 'bad allowlist',
      env: { ...VALID, ALLOWLIST_JSON: '[' },
      message: /ALLOWLIST_JSON: allowlist is not JSON/,
    },
  ])('$case is refused, naming the variable', ({ env, message }) => {
    // Act / Assess
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
