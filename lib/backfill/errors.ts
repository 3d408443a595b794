/** A backfill that cannot start as asked: the message says what to change. Exit code 2. */
export class BackfillSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `--start`/`--end` are not dates or times, or do not form a range. */
export class InvalidDateRangeError extends BackfillSetupError {}

/** The CloudFormation stack does not exist (in this account and region) or lacks an output the CLI needs. */
export class StackLookupError extends BackfillSetupError {}
