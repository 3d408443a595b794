import type { TestProject } from 'vitest/node';

/**
 * The seed every fast-check property of this run starts from, chosen once for the whole run and printed, so
 * that a failure in CI replays with `FC_SEED=<seed> npm test`. `FC_SEED` unset: the fixed CI seed;
 * `FC_SEED=random`: a fresh one (`npm run test:explore`). `FC_RUNS_SCALE` multiplies every property's number
 * of runs (1 unless exploring).
 */
export const CI_SEED = 20261201;

declare module 'vitest' {
  export interface ProvidedContext {
    fcSeed: number;
    fcRunsScale: number;
  }
}

export default function setup(project: TestProject): void {
  const given = process.env.FC_SEED;
  const seed =
    given === undefined || given === '' ? CI_SEED : given === 'random' ? freshSeed() : Number(given);
  const scale = Number(process.env.FC_RUNS_SCALE ?? '1');
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${given}`);
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(`FC_RUNS_SCALE must be a whole number from 1, got ${process.env.FC_RUNS_SCALE}`);
  }
  process.stdout.write(`fast-check seed ${seed}, runs x${scale} (replay: FC_SEED=${seed})\n`);
  project.provide('fcSeed', seed);
  project.provide('fcRunsScale', scale);
}

function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
