import { runCli } from '../lib/cli/commands';

/** Entry point of the `regionsweep` command; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  return runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stderr.isTTY === true,
    env: process.env,
  });
}
