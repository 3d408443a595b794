import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillCommand } from '../../lib/cli/backfill';
import { localCommand } from '../../lib/cli/local';
import { setProcessEnv } from '../support/process-env';
import { bufferIo, corpusOnDisk, keyOf, scanFindings } from './backfill-fixture';

describe('regionsweep local --serve, then backfill against it', () => {
  let corpus: Awaited<ReturnType<typeof corpusOnDisk>>;
  beforeAll(async () => {
    corpus = await corpusOnDisk();
  });
  afterAll(async () => {
    await corpus?.remove();
  });

  it('prints the environment a backfill needs, keeps serving until stopped, then prints the alerts', async () => {
    // Prepare
    const served = bufferIo();
    const backfilled = bufferIo();
    const expected = await scanFindings(corpus.inFolders(['2026/11/27', '2026/11/28']));
    let backfillCode: number | undefined;
    const whileServing = async () => {
      const exports = Object.fromEntries(
        [...served.stdout().matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
      );
      const table = /table (\S+)/.exec(served.stdout())?.[1] ?? '';
      const topic = /topic (arn:\S+)/.exec(served.stdout())?.[1] ?? '';
      const bucket = /bucket (\S+)/.exec(served.stdout())?.[1] ?? '';
      const restore = setProcessEnv(exports);
      try {
        backfillCode = await backfillCommand(
          [
            '--bucket',
            bucket,
            '--table',
            table,
            '--topic-arn',
            topic,
            '--start',
            '2026-11-27',
            '--end',
            '2026-11-27',
            '--checkpoint',
            join(corpus.root, 'serve.json'),
          ],
          backfilled.io,
        );
      } finally {
        restore();
      }
    };
    // Act
    const code = await localCommand(
      ['--serve', '--dynamodb', 'dynalite', '--format', 'json', corpus.root],
      served.io,
      [],
      whileServing,
    );
    // Assess
    expect(code).toBe(0);
    expect(backfillCode).toBe(0);
    expect(served.stdout()).toMatch(/^export AWS_ENDPOINT_URL_S3=http:\/\/127\.0\.0\.1:\d+$/m);
    const alerts = served
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { windowStart: string; arn: string | null });
    expect(alerts.map(keyOf).sort()).toEqual(expected.map(keyOf).sort());
  });
});
