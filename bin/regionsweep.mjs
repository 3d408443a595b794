#!/usr/bin/env node
// The `regionsweep` command: runs the TypeScript CLI through tsx, so no build step is needed after `npm ci`.
import { tsImport } from 'tsx/esm/api';

// The pinned AWS SDK supports Node 20, which the CLI runs on; its notice about future SDK releases needing
// Node 22 is not actionable here (the Lambda function itself runs on Node 22).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await tsImport('./cli.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
