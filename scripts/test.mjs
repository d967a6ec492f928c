#!/usr/bin/env node
// `npm test`: set up (Debian packages, npm ci, build), lint, run every workspace's tap suite
// (scripts/suites.mjs: how results are counted), and end with one line "N passed, N failed".
//
//   node scripts/test.mjs [workspace-folder-or-name ...]   (default: all workspaces)
//
// The set-up and lint count as one result each.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newTally, printSummary, runSuites } from './suites.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tally = newTally();

function step(cmd, argv) {
  return spawnSync(cmd, argv, { stdio: 'inherit', cwd: root }).status === 0;
}

if (!step(process.execPath, [join(root, 'scripts', 'setup.mjs')])) {
  tally.failed++;
  tally.failures.push('  ✗ set-up failed: nothing was tested');
  process.exit(printSummary(tally));
}

process.stdout.write('\n== lint (biome check)\n');
if (step(join(root, 'node_modules', '.bin', 'biome'), ['check', '.'])) tally.passed++;
else {
  tally.failed++;
  tally.failures.push('  ✗ lint: biome check reported problems (fix with `npm run format`)');
}

await runSuites(root, process.argv.slice(2), tally);
process.exit(printSummary(tally));
