#!/usr/bin/env node
// The `regionsweep` command: runs the compiled CLI (dist/cli, built by `npm run build`, which `npm ci` runs).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const LEGACY = '--openssl-legacy-provider';

// The pinned AWS SDK supports Node 20, which the CLI runs on; its notice about future SDK releases needing
// Node 22 is not actionable here (the Lambda function itself runs on Node 22).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

if (args[0] === 'local' && args.includes('--serve') && !process.execArgv.includes(LEGACY)) {
  // s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its legacy
  // provider: a served stand-in must list past one page for `backfill`, so run it with that provider.
  const child = spawn(
    process.execPath,
    [LEGACY, ...process.execArgv, fileURLToPath(import.meta.url), ...args],
    {
      stdio: 'inherit',
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128);
  });
} else {
  const compiled = new URL('../dist/cli/cli.js', import.meta.url);
  const { main } = await import(compiled.href).catch((error) => {
    // A checkout installed with --ignore-scripts has no dist/ yet (npm ci builds it through `prepare`).
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && error.message.includes(fileURLToPath(compiled))) {
      process.stderr.write('regionsweep: the compiled command is missing (dist/cli): run `npm run build`\n');
      process.exit(2);
    }
    throw error;
  });
  process.exitCode = await main(args);
}
