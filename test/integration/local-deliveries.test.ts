import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { customNotificationViolations } from '../support/custom-notification-schema';

const ROOT = join(import.meta.dirname, '..', '..');

interface AlertLine {
  readonly finding: unknown;
  readonly email: string;
  readonly deliveries: Record<string, { readonly body: unknown }>;
}

describe('npx regionsweep local --format json on the bundled sample', () => {
  let alerts: AlertLine[];
  beforeAll(async () => {
    // The command as a user runs it: the package's bin, default input (the sample), default stand-ins.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'bin', 'regionsweep.mjs'), 'local', '--format', 'json'],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    alerts = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as AlertLine);
  }, 180_000);

  it('prints alerts, each with what every subscriber kind received', () => {
    // Assess
    expect({
      some: alerts.length > 0,
      kinds: [...new Set(alerts.map((alert) => Object.keys(alert.deliveries).sort().join(' ')))],
    }).toEqual({ some: true, kinds: ['email email-json http https lambda sqs'] });
  });

  it('the https delivery (Amazon Q Developer) is an envelope whose Message is a valid custom notification', () => {
    // Act
    const violations = alerts.map((alert) => {
      const envelope = alert.deliveries.https?.body as { Type?: string; Message?: string };
      return { type: envelope.Type, violations: customNotificationViolations(envelope.Message ?? '') };
    });

    // Assess
    expect(violations).toEqual(alerts.map(() => ({ type: 'Notification', violations: [] })));
  });

  it('the sqs delivery (raw) is the machine document of the finding', () => {
    // Act
    const documents = alerts.map((alert) => {
      const { regionsweep, version, finding } = (alert.deliveries.sqs?.body ?? {}) as Record<string, unknown>;
      return { regionsweep, version, finding };
    });

    // Assess
    expect(documents).toEqual(
      alerts.map((alert) => ({ regionsweep: 'alert', version: 2, finding: alert.finding })),
    );
  });

  it('the email delivery is the email text', () => {
    // Assess
    expect(alerts.map((alert) => alert.deliveries.email?.body)).toEqual(alerts.map((alert) => alert.email));
  });
});
