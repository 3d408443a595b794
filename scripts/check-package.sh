#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, then a fresh CDK app in a temporary folder installs the tarball
# offline (every dependency from npm's cache, filled by this repository's `npm ci`), synthesizes with plain
# Node.js (no esbuild, tsx or TypeScript loader installed or on PATH), and must deploy the packaged Lambda
# bundle byte for byte. The app's TypeScript twin is type-checked against the package's declarations as a
# Node16-resolving consumer sees them, and the installed `regionsweep` command runs the sample trail.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'check-package: FAIL: %s\n' "$*" >&2; exit 1; }

step "npm pack"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
mkdir "$work/extracted"
tar -xzf "$tarball" -C "$work/extracted"
packaged_bundle="$work/extracted/package/dist/function/index.mjs"
[[ -f $packaged_bundle ]] || fail "the tarball holds no prebuilt Lambda bundle (dist/function/index.mjs)"
[[ -f $work/extracted/package/dist/types/lib/index.d.ts ]] || fail "the tarball holds no type declarations"
[[ -f $work/extracted/package/samples/sample-trail/README.md ]] || fail "the tarball holds no sample trail (samples/)"
[[ ! -e $work/extracted/package/test ]] || fail "the tarball ships test/: the command's inputs belong in samples/"

step "a fresh CDK app installs the tarball offline"
app="$work/app"
mkdir -p "$app/bin"
cd "$app"
cdk_lib_version=$(node -p "require('$repo/package.json').devDependencies['aws-cdk-lib']")
constructs_version=$(node -p "require('$repo/package.json').devDependencies.constructs")
cat > package.json <<JSON
{ "name": "consumer-app", "version": "1.0.0", "private": true, "type": "module" }
JSON
# npm's cache holds the tarballs `npm ci` fetched but not the registry metadata that resolving a version
# needs offline: the app's lockfile pins what the repository's lockfile pins, and `npm ci` installs from it.
"$repo/node_modules/.bin/tsx" "$repo/scripts/consumer-lockfile.ts" "$app" "$tarball" \
  "aws-cdk-lib@$cdk_lib_version" "constructs@$constructs_version"
npm ci --offline --no-audit --no-fund --loglevel=error
for loader in esbuild tsx typescript ts-node; do
  [[ ! -e node_modules/$loader ]] || fail "the install brought $loader: the consumer must not need it"
done

cat > bin/app.mjs <<'JS'
import { App, Stack } from 'aws-cdk-lib';
import { RegionSweepDetector } from 'regionsweep';

const app = new App();
const stack = new Stack(app, 'ConsumerStack');
new RegionSweepDetector(stack, 'Detector', { createDemoBucket: true, alertEmails: ['secops@example.com'] });
app.synth();
JS
# The app runs under the feature flags `cdk init` writes, as the repository's own app does.
node -e "
  const { context } = require('$repo/cdk.json');
  require('node:fs').writeFileSync('cdk.json', JSON.stringify({ app: 'node bin/app.mjs', context }, null, 2));
"

step "cdk synth with plain Node.js"
# Only Node's own folder on PATH: no node_modules/.bin of the repository, so no esbuild or tsx to fall back on.
PATH="$(dirname "$(command -v node)"):/usr/bin:/bin" "$repo/node_modules/.bin/cdk" synth --quiet -o cdk.out

step "the function deploys the packaged bundle"
node - "$packaged_bundle" <<'JS'
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const template = JSON.parse(readFileSync('cdk.out/ConsumerStack.template.json', 'utf8'));
const functions = Object.values(template.Resources).filter(
  (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Runtime === 'nodejs22.x',
);
if (functions.length !== 1) throw new Error(`expected one nodejs22.x function, found ${functions.length}`);
const [detector] = functions;
const assetPath = detector.Metadata?.['aws:asset:path'];
if (assetPath === undefined) throw new Error('the function has no aws:asset:path metadata');
if (detector.Properties.Handler !== 'index.handler') throw new Error(`handler ${detector.Properties.Handler}`);
const deployed = sha256(join('cdk.out', assetPath, 'index.mjs'));
const packaged = sha256(process.argv[2]);
console.log(`deployed index.mjs sha256 ${deployed}\npackaged index.mjs sha256 ${packaged}`);
if (deployed !== packaged) throw new Error('the deployed code is not the packaged bundle');
JS

step "the declarations type-check TypeScript consumers, ES module and CommonJS (module nodenext)"
cat > app.ts <<'TS'
import { App, Stack } from 'aws-cdk-lib';
import { LogArchiveNotificationsStack, RegionSweepDetector, type RegionSweepDetectorProps } from 'regionsweep';

const props: RegionSweepDetectorProps = { existingBucketName: 'acme-cloudtrail', deliveryMode: 'eventbridge' };
const detector = new RegionSweepDetector(new Stack(new App(), 'Typed'), 'Detector', props);
export const names: string[] = [detector.function.functionName, detector.table.tableName, detector.logsPrefix];
export const dashboard: string = detector.dashboard.dashboard.dashboardName;
export const forwarding: typeof LogArchiveNotificationsStack = LogArchiveNotificationsStack;
TS
# `cdk init app --language typescript` makes a CommonJS project (module nodenext): the same code as a .cts file.
cp app.ts app.cts
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": true,
    "noEmit": true, "skipLibCheck": true, "types": []
  },
  "files": ["app.ts", "app.cts"]
}
JSON
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json

step "a CommonJS app can require() the package (Node.js 20.19 and later)"
node --no-warnings -e "
  const { RegionSweepDetector } = require('regionsweep');
  if (typeof RegionSweepDetector !== 'function') throw new Error('require(\'regionsweep\') gave no construct');
  console.log('require(\'regionsweep\').RegionSweepDetector is a class');
"

step "the installed regionsweep command runs compiled JavaScript"
grep -q "dist/cli/cli.js" node_modules/regionsweep/bin/regionsweep.mjs || fail "the command does not run dist/cli"
PATH="$(dirname "$(command -v node)"):/usr/bin:/bin" node_modules/.bin/regionsweep --help | head -n 1
scan_output=$(PATH="$(dirname "$(command -v node)"):/usr/bin:/bin" node_modules/.bin/regionsweep scan)
grep -q "assumed-role/ci-deployer" <<<"$scan_output" || fail "scan of the packaged sample trail found no sweep"
echo "scan of the packaged sample trail: finds assumed-role/ci-deployer"

printf '\ncheck-package: ok\n'
