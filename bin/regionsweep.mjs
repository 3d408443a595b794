#!/usr/bin/env node
// The `regionsweep` command: runs the TypeScript CLI through tsx, so no build step is needed after `npm ci`.
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('./cli.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
