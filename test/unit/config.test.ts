import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/config';
import { EC2_MULTI_REGION_DESCRIBE_INSTANCES } from '../../lambda/domain/built-in-rules';
import { ConfigError } from '../../lambda/domain/errors';

const VALID = { TABLE_NAME: 'windows', TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:regionsweep-alerts' };

describe('loadConfig', () => {
  it('defaults give Elastic parity: 10 regions, 10 events, 30 s, no suppression, 7 days', () => {
    // Act
    const config = loadConfig(VALID);

    // Assess
    expect(config.rules).toEqual([EC2_MULTI_REGION_DESCRIBE_INSTANCES]);
    expect({ suppressionMs: config.suppressionMs, retentionSeconds: config.retentionSeconds }).toEqual({
      suppressionMs: 0,
      retentionSeconds: 7 * 86_400,
    });
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
