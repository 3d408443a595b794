import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../lambda/domain/detection/window-state';
import { enumerateSelection } from '../../lib/backfill/enumeration';
import type { Selection } from '../../lib/backfill/selection';
import { backfillCommand } from '../../lib/cli/backfill';
import { javaAvailable } from '../../lib/local/dynamodb-standin';
import { type LocalEnvironment, startLocalEnvironment, uploadFiles } from '../../lib/local/environment';
import { publishedAlerts } from '../../lib/local/published-alerts';
import { setProcessEnv } from '../support/process-env';
import {
  bufferIo,
  comparable,
  corpusOnDisk,
  keyOf,
  ORG_ACCOUNT,
  ORGANIZATION_ID,
  scanFindings,
  storedFindings,
} from './backfill-fixture';

/** Backfilling 11-27 reads the folders of 11-27 and, for late deliveries, 11-28. */
const RANGE = ['--start', '2026-11-27', '--end', '2026-11-27'];
const FOLDERS = ['2026/11/27', '2026/11/28'];

let corpus: Awaited<ReturnType<typeof corpusOnDisk>>;
let expected: Finding[];

beforeAll(async () => {
  corpus = await corpusOnDisk();
  expected = await scanFindings(corpus.inFolders(FOLDERS));
});

afterAll(async () => {
  await corpus?.remove();
});

/** Runs `regionsweep backfill` with the environment's endpoints in the process environment. */
async function backfill(environment: LocalEnvironment, args: readonly string[]) {
  const buffer = bufferIo();
  const restore = setProcessEnv(environment.env);
  try {
    const code = await backfillCommand(['--bucket', environment.bucket, ...RANGE, ...args], buffer.io);
    return { code, stdout: buffer.stdout(), stderr: buffer.stderr() };
  } finally {
    restore();
  }
}

const target = (environment: LocalEnvironment) => [
  '--table',
  environment.tableName,
  '--topic-arn',
  environment.topicArn,
];

describe('the corpus', () => {
  it('has findings in the range and outside it, so selecting by day is observable', async () => {
    // Act
    const all = await scanFindings(corpus.files);
    // Assess
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(all.length).toBeGreaterThan(expected.length);
  });
});

describe('enumeration against s3rver, --dry-run and --no-alerts', () => {
  let environment: LocalEnvironment;
  let noAlerts: Awaited<ReturnType<typeof backfill>>;
  const selection = (overrides: Partial<Selection> = {}): Selection => ({
    bucket: environment.bucket,
    prefix: '',
    accounts: [],
    regions: [],
    startDay: '2026-11-27',
    endDay: '2026-11-27',
    ...overrides,
  });

  beforeAll(async () => {
    environment = await startLocalEnvironment('dynalite');
    await uploadFiles(environment, corpus.files);
    noAlerts = await backfill(environment, ['--no-alerts']);
  });
  afterAll(async () => {
    await environment?.stop();
  });

  it('lists exactly the objects of the range and the day after, in both layouts', async () => {
    // Act
    const { objects } = await enumerateSelection(environment.s3, selection());
    // Assess
    expect(objects.map((o) => o.ref.key).sort()).toEqual(
      corpus
        .inFolders(FOLDERS)
        .map((f) => f.relativePath)
        .sort(),
    );
  });

  it('discovers the organization-trail account under AWSLogs/<o-id>/', async () => {
    // Act
    const { prefixes } = await enumerateSelection(environment.s3, selection({ accounts: [ORG_ACCOUNT] }));
    // Assess
    expect(prefixes.length).toBeGreaterThan(0);
    for (const prefix of prefixes)
      expect(prefix.prefix).toMatch(`AWSLogs/${ORGANIZATION_ID}/${ORG_ACCOUNT}/`);
  });

  it('reads only the given regions without discovering any', async () => {
    // Act
    const { objects } = await enumerateSelection(environment.s3, selection({ regions: ['us-east-1'] }));
    // Assess
    expect(objects.length).toBeGreaterThan(0);
    expect(new Set(objects.map((o) => o.region))).toEqual(new Set(['us-east-1']));
  });

  it('reports the size of every object', async () => {
    // Act
    const { objects } = await enumerateSelection(environment.s3, selection());
    // Assess
    const sizes = new Map(corpus.files.map((f) => [f.relativePath, f.size]));
    for (const { ref } of objects) expect(ref.size).toBe(sizes.get(ref.key));
  });

  it('--dry-run prints objects and bytes per account, region and day, and a total', async () => {
    // Act
    const { code, stdout } = await backfill(environment, ['--dry-run']);
    // Assess
    const files = corpus.inFolders(FOLDERS);
    const total = files.reduce((sum, f) => sum + f.size, 0);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^total\\s+${files.length}\\s+${total}$`, 'm'));
    const rows = stdout.split('\n').filter((line) => /^\d{12} /.test(line));
    expect(rows.reduce((sum, row) => sum + Number(row.split(/\s+/)[3]), 0)).toBe(files.length);
    expect(environment.recorder.published()).toEqual([]);
  });

  it('--no-alerts prints the findings of scan for the range as JSON lines', async () => {
    // Act
    const run = noAlerts;
    const findings = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Finding);
    // Assess
    expect(run.code).toBe(0);
    expect(findings.map(comparable)).toEqual(expected.map(comparable));
  });

  it('--no-alerts publishes nothing', () => {
    expect(environment.recorder.published()).toEqual([]);
  });

  it('--no-alerts writes nothing to the table', async () => {
    // Act
    const scan = await environment.dynamodb.send(new ScanCommand({ TableName: environment.tableName }));
    // Assess
    expect(scan.Count).toBe(0);
  });
});

describe.each([
  { kind: 'dynalite' as const, skip: false },
  { kind: 'dynamodb-local' as const, skip: !javaAvailable() },
])('direct mode on $kind', ({ kind, skip }) => {
  let environment: LocalEnvironment;
  let first: Awaited<ReturnType<typeof backfill>>;
  let checkpoint: string;

  beforeAll(async () => {
    if (skip) return;
    environment = await startLocalEnvironment(kind);
    await uploadFiles(environment, corpus.files);
    checkpoint = join(corpus.root, `checkpoint-${kind}.json`);
    first = await backfill(environment, [...target(environment), '--checkpoint', checkpoint]);
  });
  afterAll(async () => {
    await environment?.stop();
  });

  it.skipIf(skip)('publishes one backfill alert per scan finding of the range', () => {
    // Act
    const alerts = publishedAlerts(environment.recorder.published());
    // Assess
    expect(first.code).toBe(0);
    expect(alerts.map((a) => keyOf(a.finding)).sort()).toEqual(expected.map(keyOf).sort());
    expect(alerts.map((a) => a.attributes.backfill)).toEqual(alerts.map(() => 'true'));
  });

  it.skipIf(skip)('leaves the final window counts equal to scan', async () => {
    // Act
    const stored = await storedFindings(environment, expected);
    // Assess
    expect(stored.map(comparable)).toEqual(expected.map(comparable));
  });

  it.skipIf(skip)('prints each published alert as a JSON line', () => {
    // Act
    const lines = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { windowStart: string; arn: string | null });
    // Assess
    expect(lines.map(keyOf).sort()).toEqual(expected.map(keyOf).sort());
  });

  it.skipIf(skip)('records every object in the checkpoint, so a re-run processes none', async () => {
    // Act
    const again = await backfill(environment, [...target(environment), '--checkpoint', checkpoint]);
    // Assess
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${corpus.inFolders(FOLDERS).length} already finished`);
    expect(again.stderr).toContain('0 processed, 0 skipped, 0 failed');
  });

  it.skipIf(skip)(
    're-running without the checkpoint publishes no second alert and changes no count',
    async () => {
      // Prepare
      const published = environment.recorder.published().length;
      // Act
      const again = await backfill(environment, [
        ...target(environment),
        '--checkpoint',
        join(corpus.root, `fresh-${kind}.json`),
      ]);
      // Assess
      expect(again.code).toBe(0);
      expect(again.stderr).toContain(`${corpus.inFolders(FOLDERS).length} processed`);
      expect(environment.recorder.published().length).toBe(published);
      expect((await storedFindings(environment, expected)).map(comparable)).toEqual(expected.map(comparable));
    },
  );

  it.skipIf(skip)(
    'resumes from a checkpoint: skips what an interrupted run finished (and a torn last line)',
    async () => {
      // Prepare: the first ten objects finished, then the process died mid-line
      const files = corpus.inFolders(FOLDERS).sort((a, b) => a.relativePath.localeCompare(b.relativePath));
      const path = join(corpus.root, `interrupted-${kind}.json`);
      const finished = files.slice(0, 10).map((f) => JSON.stringify({ key: f.relativePath }));
      await writeFile(path, `${finished.join('\n')}\n{"key":"AWSLogs/1111`);
      // Act
      const run = await backfill(environment, [...target(environment), '--checkpoint', path]);
      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`10 already finished per ${path}, ${files.length - 10} to go`);
      expect(run.stderr).toContain(`${files.length - 10} processed`);
      const recorded = (await readFile(path, 'utf8'))
        .split('\n')
        .filter((line) => line.startsWith('{"key"') && line.endsWith('}'));
      expect(recorded.length).toBe(files.length);
    },
  );
});
