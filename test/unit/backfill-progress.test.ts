import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatDuration,
  ProgressReporter,
  type ProgressSnapshot,
  progressLine,
} from '../../lib/backfill/progress';

const HALF: ProgressSnapshot = {
  objectsDone: 50,
  objectsTotal: 100,
  bytesDone: 5_000_000,
  bytesTotal: 10_000_000,
  failed: 0,
  findings: 3,
  verb: 'processed',
};

describe('progressLine', () => {
  it('shows objects, bytes, rate, ETA from the byte rate, and findings', () => {
    expect(progressLine(HALF, 10, false)).toBe(
      'backfill: 50% 50/100 objects processed, 5.0 MB/10.0 MB, 5.0 obj/s, ETA 0:10, 3 finding(s)',
    );
  });

  it('draws a bar on a terminal', () => {
    expect(progressLine(HALF, 10, true)).toMatch(/^\[#{12}-{12}\] {2}50% 50\/100 objects processed/);
  });

  it('shows failures when there are any', () => {
    expect(progressLine({ ...HALF, failed: 2 }, 10, false)).toMatch(/, 2 failed$/);
  });

  it('shows no ETA before anything is done', () => {
    expect(progressLine({ ...HALF, objectsDone: 0, bytesDone: 0 }, 1, false)).toContain('ETA -');
  });
});

describe('formatting', () => {
  it.each([
    { bytes: 0, text: '0 B' },
    { bytes: 1_500, text: '1.5 KB' },
    { bytes: 2_340_000_000, text: '2.3 GB' },
  ])('formats $bytes bytes as $text', ({ bytes, text }) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    { seconds: 59, text: '0:59' },
    { seconds: 3_725, text: '1:02:05' },
  ])('formats $seconds s as $text', ({ seconds, text }) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('ProgressReporter', () => {
  it('ends a terminal bar with a newline so later output starts on its own line', () => {
    // Prepare
    const written: string[] = [];
    const reporter = new ProgressReporter({ write: (t: string) => written.push(t) }, () => HALF, {
      interactive: true,
      clock: () => 0,
    });
    // Act
    reporter.finish();
    // Assess
    expect(written.length).toBe(1);
    expect(written[0]?.startsWith('\r\u001b[2K[')).toBe(true);
    expect(written[0]?.endsWith('\n')).toBe(true);
  });

  it('prints plain periodic lines when not on a terminal', async () => {
    // Prepare
    const written: string[] = [];
    const reporter = new ProgressReporter({ write: (t: string) => written.push(t) }, () => HALF, {
      interactive: false,
      lineMs: 5,
    });
    // Act
    reporter.start();
    await new Promise((resolve) => setTimeout(resolve, 40));
    reporter.finish();
    // Assess
    expect(written.length).toBeGreaterThanOrEqual(2);
    for (const line of written) expect(line).toMatch(/^backfill: 50% .*\n$/);
  });
});
