#!/usr/bin/env node
// `npm test`: set up (Debian packages, npm ci, build), lint, run every workspace's tap suite,
// and end with one line "N passed, N failed" counted from tap's machine-readable reporter.
//
//   node scripts/test.mjs [workspace-folder-or-name ...]   (default: all workspaces)
//
// Counting: every assertion tap reports is one result; a test file that dies without reporting a
// failure (crash, no tests found) counts as one failure; lint counts as one result.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { listWorkspaces } from './workspaces.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0, todo: 0 };
const failures = [];

function step(cmd, argv) {
  return spawnSync(cmd, argv, { stdio: 'inherit', cwd: root }).status === 0;
}

function workspaces() {
  return listWorkspaces(root)
    .filter(({ pkg }) => pkg.scripts?.test)
    .filter(({ dir, pkg }) => only.length === 0 || only.includes(dir) || only.includes(pkg.name));
}

function describeFailure(data) {
  const d = data.diag ?? {};
  const lines = [`  ✗ ${data.fullname ?? data.name}`];
  if (d.at?.fileName) lines.push(`    at ${d.at.fileName}:${d.at.lineNumber}:${d.at.columnNumber}`);
  if (d.diff)
    lines.push(
      ...d.diff
        .split('\n')
        .slice(0, 20)
        .map((l) => `    ${l}`),
    );
  else if (d.found !== undefined || d.wanted !== undefined) {
    lines.push(`    found:  ${JSON.stringify(d.found)}`, `    wanted: ${JSON.stringify(d.wanted)}`);
  }
  if (d.stack && !d.diff)
    lines.push(
      ...String(d.stack)
        .split('\n')
        .slice(0, 6)
        .map((l) => `    ${l}`),
    );
  return lines.join('\n');
}

/** Runs tap in one workspace and folds its jsonstream events into the totals. */
function runTap({ dir, pkg }) {
  return new Promise((resolve) => {
    process.stdout.write(`\n== ${pkg.name} (${dir})\n`);
    const tap = join(root, 'node_modules', '.bin', 'tap');
    const child = spawn(tap, ['-R', 'jsonstream'], {
      cwd: join(root, dir),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const perFile = new Map();
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        process.stdout.write(`${line}\n`);
        return;
      }
      const [kind, data] = event;
      const file = String(data.fullname ?? data.name ?? '').split(' > ')[0];
      const f = perFile.get(file) ?? { passed: 0, failed: 0 };
      perFile.set(file, f);
      if (kind === 'pass') {
        totals.passed++;
        f.passed++;
      } else if (kind === 'fail') {
        totals.failed++;
        f.failed++;
        failures.push(describeFailure(data));
      } else if (kind === 'skip') totals.skipped++;
      else if (kind === 'todo') totals.todo++;
      else if (kind === 'end' && data.level === 1) {
        const secs = ((data.time ?? 0) / 1000).toFixed(1);
        if (!data.ok && f.failed === 0) {
          totals.failed++;
          f.failed++;
          const why = data.plan?.skipReason ?? `exit code ${data.diag?.exitCode}`;
          failures.push(`  ✗ ${file}: the test file failed without a failing assertion (${why})`);
        }
        const mark = f.failed ? 'FAIL' : 'ok  ';
        process.stdout.write(`${mark} ${file}  ${f.passed} passed, ${f.failed} failed, ${secs}s\n`);
      }
    });
    child.on('close', resolve);
  });
}

const setupOk = step(process.execPath, [join(root, 'scripts', 'setup.mjs')]);
if (!setupOk) {
  process.stdout.write('set-up failed: nothing was tested\n0 passed, 1 failed\n');
  process.exit(1);
}

process.stdout.write('\n== lint (biome check)\n');
if (step(join(root, 'node_modules', '.bin', 'biome'), ['check', '.'])) totals.passed++;
else {
  totals.failed++;
  failures.push('  ✗ lint: biome check reported problems (fix with `npm run format`)');
}

for (const ws of workspaces()) {
  if (!existsSync(join(root, ws.dir, 'dist', 'test'))) {
    totals.failed++;
    failures.push(`  ✗ ${ws.pkg.name}: no compiled tests in ${ws.dir}/dist/test`);
    continue;
  }
  await runTap(ws);
}

if (failures.length) process.stdout.write(`\nFailures:\n${failures.join('\n')}\n`);
const extra = [totals.skipped && `${totals.skipped} skipped`, totals.todo && `${totals.todo} todo`]
  .filter(Boolean)
  .join(', ');
if (extra) process.stdout.write(`(${extra})\n`);
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed\n`);
process.exit(totals.failed === 0 ? 0 : 1);
