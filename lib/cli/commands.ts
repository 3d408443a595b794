import { join } from 'node:path';
import { ConfigError, describeError } from '../../lambda/domain/errors';
import { BackfillSetupError } from '../backfill/errors';
import { LocalInputError } from '../local/file-object-source';
import { BACKFILL_HELP, backfillCommand } from './backfill';
import { type CliIo, UsageError } from './io';
import { LOCAL_HELP, localCommand } from './local';
import { RULES_HELP, rulesCommand } from './rules';
import { SCAN_HELP, scanCommand } from './scan';
import { TEST_RULE_HELP, testRuleCommand } from './test-rule';

/** The bundled, generated sample trail (see its README): the default input of `scan` and `local`. */
export const SAMPLE_TRAIL = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'sample-trail');

const HELP = `Usage: regionsweep <command> [options]

Commands:
  backfill           replay CloudTrail history from S3 (a date range) through the deployed detector, here
                     (--mode direct) or through the function's backfill queue (--mode queue)
  local [paths...]   run the real Lambda handler end to end on local stand-ins for DynamoDB, S3 and SNS,
                     and print the alerts it publishes (default: the bundled sample trail); --serve keeps
                     the stand-ins running for a backfill
  rules              list the built-in rules: slug, window, group-by and thresholds
  scan [paths...]    run the rule over local CloudTrail files and print findings
                     (default: the bundled sample trail)
  test-rule <rule> [tests.json...]
                     run a rule's test cases (events and expected findings) through the pipeline: a
                     built-in rule's shipped cases, or your rule file against your test files

Run 'regionsweep <command> --help' for a command's options.
`;

const COMMANDS: Record<
  string,
  { help: string; run: (argv: readonly string[], io: CliIo) => Promise<number> }
> = {
  scan: { help: SCAN_HELP, run: (argv, io) => scanCommand(argv, io, [SAMPLE_TRAIL]) },
  local: { help: LOCAL_HELP, run: (argv, io) => localCommand(argv, io, [SAMPLE_TRAIL]) },
  backfill: { help: BACKFILL_HELP, run: (argv, io) => backfillCommand(argv, io) },
  rules: { help: RULES_HELP, run: (argv, io) => rulesCommand(argv, io) },
  'test-rule': { help: TEST_RULE_HELP, run: (argv, io) => testRuleCommand(argv, io) },
};

/** Dispatches a command line; returns the exit code (2 for usage and configuration errors). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`regionsweep: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      io.stderr.write(`regionsweep ${name}: ${error.message}\n\n${command.help}`);
      return 2;
    }
    // Setup and configuration mistakes (bad dates, an unknown stack, a bad allowlist, a missing path): 2.
    if (
      error instanceof BackfillSetupError ||
      error instanceof ConfigError ||
      error instanceof LocalInputError
    ) {
      io.stderr.write(`regionsweep ${name}: ${error.message}\n`);
      return 2;
    }
    // Anything else failed while running (S3 access denied, a stand-in that would not start): 1.
    if (error instanceof Error) {
      io.stderr.write(`regionsweep ${name}: ${describeError(error)}\n`);
      return 1;
    }
    throw error;
  }
}
