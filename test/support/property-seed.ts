import fc from 'fast-check';
import { inject } from 'vitest';

/**
 * Runs in every test file before its tests (vitest `setupFiles`): every fast-check property starts from the
 * run's seed (see property-seed-global.ts), so CI is deterministic and a printed seed replays a failure.
 */
fc.configureGlobal({ seed: inject('fcSeed'), numRuns: propertyRuns(100) });

/** `numRuns` for a property: its own count in CI, many more under `npm run test:explore`. */
export function propertyRuns(numRuns: number): number {
  return numRuns * inject('fcRunsScale');
}
