import { describe, expect, it } from 'vitest';
import { javaAvailable } from '../../lib/local/dynamodb-standin';

/**
 * The DynamoDB Local suites skip themselves on a machine without Java, so a developer without it still runs
 * everything else. CI must not: the guarantees are stated for DynamoDB Local as well as dynalite, and a
 * skipped suite proves nothing. `.ci/run` installs Java when it is missing and sets CI.
 */
describe.runIf(process.env.CI === 'true')('CI runs every stand-in', () => {
  it('finds Java 17+, so the DynamoDB Local suites run instead of being skipped', () => {
    expect(javaAvailable()).toBe(true);
  });
});
