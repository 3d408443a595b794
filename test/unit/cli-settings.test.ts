import { describe, expect, it } from 'vitest';
import { settingsFromOptions } from '../../lib/cli/scan';
import { UsageError } from '../../lib/errors';

describe('settingsFromOptions', () => {
  it.each([
    { case: 'absent: every window alerts', given: {}, suppressionMs: 0 },
    { case: '15 minutes', given: { 'suppression-minutes': '15' }, suppressionMs: 15 * 60_000 },
    { case: 'a week, the most', given: { 'suppression-minutes': '10080' }, suppressionMs: 10_080 * 60_000 },
  ])('folds --suppression-minutes into the settings: $case', async ({ given, suppressionMs }) => {
    // Act
    const settings = await settingsFromOptions(given);
    // Assess
    expect(settings.suppressionMs).toBe(suppressionMs);
  });

  it('refuses a suppression period past a week, naming the option', async () => {
    // Act
    const settings = settingsFromOptions({ 'suppression-minutes': '10081' });
    // Assess
    await expect(settings).rejects.toThrow(UsageError);
    await expect(settings).rejects.toThrow('--suppression-minutes must be a whole number from 0 to 10080');
  });
});
