import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder holding regionsweep's package.json: the repository when running from source, the installed
 * package when running compiled. Files shipped beside the code (the sample trail, the rule test cases) are
 * found from here, since compiled modules live in a different folder depth than their sources.
 */
export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

function findPackageRoot(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`regionsweep: no package.json above ${start}`);
  }
}
