import { UsageError } from '../errors';

/**
 * What a command gets from its process: where it writes (the process streams, or buffers in tests) and the
 * environment, which bin/cli.ts passes in so that no command reads the process environment itself.
 */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** True when stderr is a terminal (progress bars); absent means not. */
  readonly interactive?: boolean;
  /** The process environment; absent means empty. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Parses a whole-number option; throws UsageError naming the option. */
export function integerOption(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

/** Terminal-safe text: control characters (which could rewrite the screen) shown as `?`. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '?');
}
