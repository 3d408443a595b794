/**
 * Writes the package-lock.json of a consumer app that depends on the packed regionsweep tarball and on the
 * given packages (`name@version`), using the exact versions, tarball URLs and integrity hashes this
 * repository's lockfile pins. With it, `npm ci --offline` installs everything from npm's cache (filled by
 * this repository's `npm ci`), which holds tarballs but not the registry metadata a version range needs.
 *
 * Usage: tsx scripts/consumer-lockfile.ts <app folder> <tarball> [name@version ...]
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

const [appFolder, tarball, ...direct] = process.argv.slice(2);
if (appFolder === undefined || tarball === undefined) {
  throw new Error('usage: consumer-lockfile.ts <app folder> <tarball> [name@version ...]');
}
const repoLock = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const packages = repoLock.packages;
const root = packages[''] ?? {};

/** Node's lookup: the nearest node_modules/<name> from `from` upwards, as npm lays the tree out. */
function resolveFrom(from: string, name: string): string | undefined {
  for (let folder = from; ; ) {
    const candidate = folder === '' ? `node_modules/${name}` : `${folder}/node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (folder === '') return undefined;
    const cut = folder.lastIndexOf('/node_modules/');
    folder = cut === -1 ? '' : folder.slice(0, cut);
  }
}

const included = new Map<string, LockEntry>();
function include(path: string): void {
  if (included.has(path)) return;
  const entry = packages[path];
  if (entry === undefined) throw new Error(`${path} is not in package-lock.json`);
  const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry;
  included.set(path, kept);
  const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta.optional === true)
    .map(([name]) => name);
  const required = [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.includes(name)),
  ];
  for (const name of required) {
    const target = resolveFrom(path, name);
    if (target === undefined) throw new Error(`${path} needs ${name}, which the lockfile does not hold`);
    include(target);
  }
  // Optional dependencies the lockfile lacks are for other platforms.
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    const target = resolveFrom(path, name);
    if (target !== undefined) include(target);
  }
}

const directDependencies: Record<string, string> = {};
for (const spec of direct) {
  const at = spec.lastIndexOf('@');
  const [name, version] = [spec.slice(0, at), spec.slice(at + 1)];
  const path = `node_modules/${name}`;
  if (packages[path]?.version !== version) {
    throw new Error(`the repository pins ${name}@${packages[path]?.version}, not ${version}`);
  }
  directDependencies[name] = version;
  include(path);
}
for (const name of Object.keys(root.dependencies ?? {})) include(`node_modules/${name}`);

const tarballSpec = `file:${relative(appFolder, tarball)}`;
const app = JSON.parse(readFileSync(join(appFolder, 'package.json'), 'utf8')) as Record<string, unknown>;
app.dependencies = { ...directDependencies, regionsweep: tarballSpec };
writeFileSync(join(appFolder, 'package.json'), `${JSON.stringify(app, null, 2)}\n`);

const lock = {
  name: app.name,
  version: app.version,
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: app.name, version: app.version, dependencies: app.dependencies },
    'node_modules/regionsweep': {
      version: root.version,
      resolved: tarballSpec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: root.license,
      dependencies: root.dependencies,
      peerDependencies: root.peerDependencies,
      peerDependenciesMeta: root.peerDependenciesMeta,
      bin: root.bin,
      engines: root.engines,
    },
    ...Object.fromEntries([...included].sort(([a], [b]) => a.localeCompare(b))),
  },
};
writeFileSync(join(appFolder, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
console.log(`consumer lockfile: regionsweep and ${included.size} packages pinned by the repository`);
