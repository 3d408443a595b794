/**
 * Run in its own process by reader-bench.ts so that its peak RSS is that of one scan alone:
 * `node reader-rss-child.mjs <file.json.gz>` (bundled by the bench) prints one JSON line. Without a file it only loads
 * the modules, which gives the floor that Node and the bundle cost by themselves.
 */
import { scanLogFile } from './scan-log-file';

const path = process.argv[2];
const result = path === undefined ? undefined : await scanLogFile(path);
process.stdout.write(
  `${JSON.stringify({
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    records: result?.stats.records ?? 0,
    parsed: result?.stats.parsed ?? 0,
  })}\n`,
);
