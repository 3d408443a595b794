/**
 * The function's side of `npm run bench:cost`, run by cost-bench.ts in a fresh process pinned to one core
 * (bundled by esbuild, as the function is; `node handler-cpu-child.mjs <request.json>`): builds the real Lambda handler against the stand-ins whose
 * environment it is given, invokes it once per notification, one at a time, and prints one HandlerCpuReport
 * JSON line: CPU time (every thread) and wall time per invocation, after `warmup` invocations that are not
 * counted (a warm Lambda execution environment has run the handler before).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

export interface HandlerCpuRequest {
  readonly env: Readonly<Record<string, string>>;
  readonly notifications: readonly unknown[];
  readonly warmup: number;
}

export interface HandlerCpuReport {
  readonly invocations: number;
  readonly cpuMsPerInvocation: number;
  readonly wallMsPerInvocation: number;
  readonly maxRssMb: number;
  readonly cpus: number;
}

const request = JSON.parse(await readFile(process.argv[2] ?? '', 'utf8')) as HandlerCpuRequest;
// The Lambda entry reads its configuration when loaded, as on Lambda.
Object.assign(process.env, request.env);
const { handler } = await import('../../lambda/entry');
const measured = request.notifications.slice(request.warmup);
for (const notification of request.notifications.slice(0, request.warmup)) await handler(notification);
const cpu = process.cpuUsage();
const start = performance.now();
for (const notification of measured) await handler(notification);
const wallMs = performance.now() - start;
const used = process.cpuUsage(cpu);
const report: HandlerCpuReport = {
  invocations: measured.length,
  cpuMsPerInvocation: (used.user + used.system) / 1000 / measured.length,
  wallMsPerInvocation: wallMs / measured.length,
  maxRssMb: (process.resourceUsage().maxRSS * 1024) / (1024 * 1024),
  cpus: availableParallelism(),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
