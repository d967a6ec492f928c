#!/usr/bin/env node
// Set-up step shared by `npm test`, `npm start` and the benches. Node built-ins only, because it
// runs before anything is installed: it installs the Debian packages the workspaces declare,
// runs `npm ci` when node_modules is missing or older than package-lock.json, then builds.
//
//   node scripts/setup.mjs [--bench] [--no-build]
//
// A workspace declares what it needs from Debian in its package.json:
//   "vnet": { "debian": ["iproute2"], "benchDebian": ["etcd-server"] }
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listWorkspaces } from './workspaces.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const log = (msg) => process.stderr.write(`setup: ${msg}\n`);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status}`);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every package.json of the repo: the root and its workspaces. */
function manifests() {
  return [readJson(join(root, 'package.json')), ...listWorkspaces(root).map((w) => w.pkg)];
}

function wantedDebianPackages(forBench) {
  const set = new Set();
  for (const pkg of manifests()) {
    for (const d of pkg.vnet?.debian ?? []) set.add(d);
    if (forBench) for (const d of pkg.vnet?.benchDebian ?? []) set.add(d);
  }
  return [...set].sort();
}

function missingDebianPackages(wanted) {
  if (wanted.length === 0) return [];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...wanted], {
    encoding: 'utf8',
  });
  if (r.error) return null; // not a Debian system
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return wanted.filter((p) => !installed.has(p));
}

function ensureDebianPackages(forBench) {
  const wanted = wantedDebianPackages(forBench);
  const missing = missingDebianPackages(wanted);
  if (missing === null) {
    log(`no dpkg here; make sure these are installed: ${wanted.join(' ')}`);
    return;
  }
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}\nrun as root:\n  ${cmd}`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.vnet-lock-sha256');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return;
  log('node_modules missing or older than package-lock.json: npm ci');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  // tap compiles its plugin set into node_modules on first use; do it now, not mid-test-run.
  run('npx', ['--no-install', 'tap', 'build']);
  writeFileSync(stamp, `${hash}\n`);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node.js >= 20.19 is required, this is ${process.versions.node}`);
  }
}

try {
  checkNode();
  ensureDebianPackages(args.has('--bench'));
  ensureNodeModules();
  if (!args.has('--no-build')) run('npx', ['--no-install', 'tsc', '-b']);
} catch (err) {
  log(err.message);
  process.exit(1);
}
