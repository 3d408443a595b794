import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type PipelineSettings, pipelineSettings, ruleSelection } from '../../lambda/config';
import { parseAllowlist } from '../../lambda/domain/detection/allowlist';
import { isWindowMode, MAX_WINDOW_SECONDS, windowModeMismatch } from '../../lambda/domain/detection/rule';
import type { Finding } from '../../lambda/domain/detection/window-state';
import { describeError } from '../../lambda/domain/errors';
import { memoryPipeline } from '../../lambda/pipeline';
import { processLogObject } from '../../lambda/process-log-object';
import { fileObjectSource, type LocalFile, listLocalFiles, localFileRef } from '../local/file-object-source';
import { loadRuleFiles } from '../rules/rule-files';
import { findingsAsJsonLines, findingsAsTable } from './findings-output';
import { type CliIo, integerOption, UsageError } from './io';

/** Rule options shared by `scan`, `local` and `backfill`. */
export const RULE_OPTIONS = {
  rules: { type: 'string' },
  'building-blocks': { type: 'string' },
  'rule-file': { type: 'string', multiple: true },
  'window-mode': { type: 'string' },
  'min-regions': { type: 'string' },
  'min-events': { type: 'string' },
  'window-seconds': { type: 'string' },
  allowlist: { type: 'string' },
} as const;

/** The rule options' help lines, shared by the commands that take them. */
export const RULE_OPTIONS_HELP = `  --rules LIST            enabled built-in rules, comma-separated slugs (default
                          ec2-multi-region-describe-instances; see 'regionsweep rules'), and
                          correlations such as discovery-campaign (every rule it names enabled too)
  --building-blocks LIST  enabled rules whose findings are kept, counted and fed to correlations but
                          never published (comma-separated slugs; marked in scan's output)
  --rule-file FILE        your own rules: JSON, Sigma YAML or TypeScript (repeatable; enabled too)
  --window-mode MODE      tumbling (default, Elastic parity) or hopping (also half-offset windows)
  --min-regions N         EC2 rule: distinct regions to fire (default 10)
  --min-events N          EC2 rule: events to fire (default 10)
  --window-seconds N      EC2 rule: window length (default 30)
  --allowlist FILE        JSON allowlist: {"arns":[],"arnPatterns":[],"userAgentPatterns":[],"accounts":[],
                          "identityTypes":[]} (e.g. "identityTypes":["AWSService"])`;

export const SCAN_HELP = `Usage: regionsweep scan [options] [files|dirs...]

Runs the enabled rules over local CloudTrail log files (.json or .json.gz, recursing into directories;
digest and Insights files are skipped) and prints the findings, newest window first. Default input: the
bundled sample.

Options:
  --format table|json     table (default) or one JSON object per line
${RULE_OPTIONS_HELP}

Exit code: 0 when every file was read, 1 when any file could not be read (reported on stderr), 2 on usage errors.
`;

/** Pipeline settings from the rule options, through the same typed choices as the function's variables. */
export async function settingsFromOptions(values: {
  rules?: string;
  'building-blocks'?: string;
  'rule-file'?: string[];
  'window-mode'?: string;
  'min-regions'?: string;
  'min-events'?: string;
  'window-seconds'?: string;
  allowlist?: string;
}): Promise<PipelineSettings> {
  const customRules = await loadRuleFiles(values['rule-file'] ?? []);
  const windowMode = values['window-mode'];
  if (windowMode !== undefined && !isWindowMode(windowMode)) {
    throw new UsageError(`--window-mode ${windowModeMismatch(windowMode)}`);
  }
  return pipelineSettings({
    rules: ruleSelection(values.rules),
    customRules,
    buildingBlocks: ruleSelection(values['building-blocks']),
    ec2: {
      minDistinct: integerOption('min-regions', values['min-regions'], 1, 64),
      minEvents: integerOption('min-events', values['min-events'], 1, 1_000_000),
      windowSeconds: integerOption('window-seconds', values['window-seconds'], 1, MAX_WINDOW_SECONDS),
    },
    windowMode,
    ...(values.allowlist === undefined
      ? {}
      : { allowlist: parseAllowlist(await readFile(values.allowlist, 'utf8'), values.allowlist) }),
  });
}

/** Totals of one run over many objects, for the summary line. */
export interface RunTotals {
  objects: number;
  skipped: number;
  bad: number;
  records: number;
  matching: number;
  invalidRecords: number;
}

/** `regionsweep scan`: the same processLogObject as the Lambda, over local files, with an in-memory store. */
export async function scanCommand(
  argv: readonly string[],
  io: CliIo,
  defaultPaths: readonly string[],
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { format: { type: 'string', default: 'table' }, ...RULE_OPTIONS },
  });
  if (values.format !== 'table' && values.format !== 'json') {
    throw new UsageError(`--format must be table or json, got "${values.format}"`);
  }
  const settings = await settingsFromOptions(values);
  const paths = positionals.length > 0 ? positionals : defaultPaths;
  const files = await listLocalFiles(paths);
  const { findings, totals } = await scanFiles(files, settings, io);
  io.stdout.write(values.format === 'json' ? findingsAsJsonLines(findings) : findingsAsTable(findings));
  io.stderr.write(
    `scan: ${totals.objects} files read, ${totals.skipped} skipped, ${totals.bad} unreadable; ` +
      `${totals.records} records, ${totals.matching} matching events, ${findings.length} finding(s)\n`,
  );
  return totals.bad > 0 ? 1 : 0;
}

/** Runs the pipeline over local files; unreadable files are reported on stderr and the rest still count. */
export async function scanFiles(
  files: readonly LocalFile[],
  settings: PipelineSettings,
  io: CliIo,
): Promise<{ findings: Finding[]; totals: RunTotals }> {
  const pipeline = memoryPipeline(settings, fileObjectSource);
  const totals: RunTotals = { objects: 0, skipped: 0, bad: 0, records: 0, matching: 0, invalidRecords: 0 };
  for (const file of files) {
    const outcome = await processLogObject(pipeline.deps, localFileRef(file), {
      origin: 'live',
      keyMode: 'lenient',
    }).catch((error: unknown) => ({ status: 'failed' as const, error }));
    if (outcome.status === 'skipped') totals.skipped += 1;
    else if (outcome.status === 'poison' || outcome.status === 'failed') {
      totals.bad += 1;
      io.stderr.write(`scan: cannot read ${file.path}: ${describeError(outcome.error)}\n`);
    } else {
      totals.objects += 1;
      totals.records += outcome.read.records;
      totals.matching += outcome.matchingEvents;
      totals.invalidRecords += outcome.invalidRecords;
      for (const example of outcome.invalidExamples)
        io.stderr.write(`scan: ${file.path}: skipped a record: ${example}\n`);
    }
  }
  return { findings: pipeline.findings(), totals };
}
