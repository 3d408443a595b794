import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StackLookupError } from '../../lib/backfill/errors';
import { backfillCommand } from '../../lib/cli/backfill';
import { runCli } from '../../lib/cli/commands';
import { bufferIo } from './backfill-fixture';

const RANGE = ['--start', '2026-11-27', '--end', '2026-11-28'];

describe('backfill usage errors (exit code 2)', () => {
  it.each([
    {
      case: 'a date that is not a date',
      args: ['--start', '2026-13-01', '--end', '2026-12-02'],
      message: '--start must be a UTC date',
    },
    {
      case: 'a day that does not exist',
      args: ['--start', '2026-02-30', '--end', '2026-03-02'],
      message: '--start must be a UTC date',
    },
    {
      case: 'start after end',
      args: ['--start', '2026-11-28', '--end', '2026-11-27'],
      message: 'is after --end',
    },
    { case: 'no --end', args: ['--start', '2026-11-28'], message: '--start and --end are required' },
    {
      case: 'an account that is not 12 digits',
      args: [...RANGE, '--accounts', '1234'],
      message: '--accounts takes 12-digit',
    },
    {
      case: 'a bucket owner that is not an account id',
      args: [...RANGE, '--expected-bucket-owner', 'me'],
      message: '--expected-bucket-owner must be a 12-digit account id',
    },
    {
      case: 'a suppression period out of range',
      args: [...RANGE, '--suppression-minutes', 'ten'],
      message: '--suppression-minutes must be a whole number',
    },
    {
      case: 'an unknown mode',
      args: [...RANGE, '--mode', 'lambda'],
      message: '--mode must be direct or queue',
    },
    {
      case: '--no-alerts in queue mode',
      args: [...RANGE, '--mode', 'queue', '--no-alerts'],
      message: '--no-alerts applies to --mode direct',
    },
    {
      case: 'no bucket and no stack',
      args: [...RANGE, '--dry-run'],
      message: 'give --bucket or --stack-name',
    },
  ])('rejects $case', async ({ args, message }) => {
    // Prepare
    const buffer = bufferIo();
    // Act
    const code = await runCli(['backfill', ...args], buffer.io);
    // Assess
    expect(code).toBe(2);
    expect(buffer.stderr()).toContain(message);
  });
});

describe('stack lookups', () => {
  const cloudformation = mockClient(CloudFormationClient);
  afterEach(() => cloudformation.reset());
  const client = () => new CloudFormationClient({ region: 'eu-west-1' });

  it('names an unknown stack', async () => {
    // Prepare
    const error = Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' });
    cloudformation.on(DescribeStacksCommand).rejects(error);
    // Act
    const run = backfillCommand([...RANGE, '--stack-name', 'Nope'], bufferIo().io, {
      cloudformation: client(),
    });
    // Assess
    await expect(run).rejects.toThrow(StackLookupError);
    await expect(run).rejects.toThrow('stack "Nope" does not exist');
  });

  it('names the missing output and the flag that replaces it', async () => {
    // Prepare: a stack deployed before the backfill queue existed
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'RegionSweep',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'BucketName', OutputValue: 'trail-bucket' }],
        },
      ],
    });
    // Act
    const run = backfillCommand([...RANGE, '--stack-name', 'RegionSweep', '--mode', 'queue'], bufferIo().io, {
      cloudformation: client(),
    });
    // Assess
    await expect(run).rejects.toThrow(
      'has no output BackfillQueueUrl: deploy the current version (npx cdk deploy) or pass --queue-url',
    );
  });

  it('exits 2 with the message through the CLI', async () => {
    // Prepare
    const error = Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' });
    cloudformation.on(DescribeStacksCommand).rejects(error);
    const buffer = bufferIo();
    // Act
    const code = await runCli(['backfill', ...RANGE, '--stack-name', 'Nope'], buffer.io);
    // Assess
    expect(code).toBe(2);
    expect(buffer.stderr()).toContain('stack "Nope" does not exist');
  });
});
