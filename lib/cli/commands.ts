import { join } from 'node:path';
import { ConfigError, describeError } from '../../lambda/domain/errors';
import { BackfillSetupError } from '../backfill/errors';
import { LocalInputError } from '../local/file-object-source';
import { PACKAGE_ROOT } from '../package-root';
import { type CliIo, UsageError } from './io';

/** The bundled, generated sample trail (see its README): the default input of `scan` and `local`. */
export const SAMPLE_TRAIL = join(PACKAGE_ROOT, 'samples', 'sample-trail');

const HELP = `Usage: regionsweep <command> [options]

Commands:
  backfill           replay CloudTrail history from S3 (a date range) through the deployed detector, here
                     (--mode direct) or through the function's backfill queue (--mode queue)
  local [paths...]   run the real Lambda handler end to end on local stand-ins for DynamoDB, S3 and SNS,
                     and print the alerts it publishes (default: the bundled sample trail); --serve keeps
                     the stand-ins running for a backfill
  rules              list the built-in rules: slug, window, group-by and thresholds
  scan [paths...]    run the rules over local CloudTrail files and print findings
                     (default: the bundled sample trail)
  test-rule <rule> [tests.json...]
                     run a rule's test cases (events and expected findings) through the pipeline: a
                     built-in rule's shipped cases, or your rule file against your test files

Run 'regionsweep <command> --help' for a command's options.
`;

interface Command {
  readonly help: string;
  readonly run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

/**
 * Each command's module is imported only when that command runs (or prints its help): `backfill` and
 * `local` load the AWS SDK and the stand-ins, which would otherwise delay every command's first output by
 * hundreds of milliseconds (`npm run bench:startup`).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  scan: async () => {
    const { SCAN_HELP, scanCommand } = await import('./scan');
    return { help: SCAN_HELP, run: (argv, io) => scanCommand(argv, io, [SAMPLE_TRAIL]) };
  },
  local: async () => {
    const { LOCAL_HELP, localCommand } = await import('./local');
    return { help: LOCAL_HELP, run: (argv, io) => localCommand(argv, io, [SAMPLE_TRAIL]) };
  },
  backfill: async () => {
    const { BACKFILL_HELP, backfillCommand } = await import('./backfill');
    return { help: BACKFILL_HELP, run: backfillCommand };
  },
  rules: async () => {
    const { RULES_HELP, rulesCommand } = await import('./rules');
    return { help: RULES_HELP, run: rulesCommand };
  },
  'test-rule': async () => {
    const { TEST_RULE_HELP, testRuleCommand } = await import('./test-rule');
    return { help: TEST_RULE_HELP, run: testRuleCommand };
  },
};

/** Dispatches a command line; returns the exit code (2 for usage and configuration errors). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const loadCommand = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (loadCommand === undefined) {
    io.stderr.write(`regionsweep: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  const command = await loadCommand();
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
