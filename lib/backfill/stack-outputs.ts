import { DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { StackLookupError } from './errors';

/** The one CloudFormation call the backfill makes: `CloudFormationClient` satisfies it. */
export interface DescribeStacksPort {
  send(command: DescribeStacksCommand): Promise<DescribeStacksCommandOutput>;
}

/**
 * The outputs of a deployed RegionSweep stack, by key (see RegionSweepStack for the keys). Throws
 * StackLookupError when the stack does not exist; every other error (credentials, network) propagates.
 */
export async function readStackOutputs(
  client: DescribeStacksPort,
  stackName: string,
): Promise<Readonly<Record<string, string>>> {
  let output: DescribeStacksCommandOutput;
  try {
    output = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    // CloudFormation answers an unknown stack with a ValidationError "Stack with id X does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new StackLookupError(
        `stack "${stackName}" does not exist in this account and region (check --stack-name, AWS_REGION, AWS_PROFILE)`,
        { cause: error },
      );
    }
    throw error;
  }
  const stack = output.Stacks?.[0];
  if (stack === undefined) throw new StackLookupError(`stack "${stackName}" does not exist`);
  return Object.fromEntries(
    (stack.Outputs ?? []).flatMap((o) =>
      o.OutputKey === undefined || o.OutputValue === undefined ? [] : [[o.OutputKey, o.OutputValue]],
    ),
  );
}

/** The output `key`, or a StackLookupError that says which flag gives the value instead. */
export function requireOutput(
  outputs: Readonly<Record<string, string>>,
  stackName: string,
  key: string,
  flag: string,
): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new StackLookupError(
      `stack "${stackName}" has no output ${key}: deploy the current version (npx cdk deploy) or pass ${flag}`,
    );
  }
  return value;
}
