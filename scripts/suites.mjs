#!/usr/bin/env node
// Runs the workspaces' tap suites and counts what they did, honestly (Node built-ins only):
//
//   node scripts/suites.mjs [--root DIR] [workspace-folder-or-name ...]
//
// runs them without the set-up and lint of `npm test` (after a build of your own), in the repo
// this script is in or in DIR (a repo of the same layout, run with this repo's tap).
//
// The rules, counted from tap's machine-readable reporter:
// - every assertion is one result, passed or failed;
// - a test file that ends not ok without a failing assertion (a crash, a timeout, a non-zero
//   exit) is one failure;
// - a test file that runs no assertion is one failure, unless it skipped itself as a whole with
//   a reason (tap's `t.plan(0, reason)`, as @vnet/testkit's requireRoot does): a skipped file;
// - a workspace whose tap exits non-zero while none of its files failed is one failure;
// - before tap runs in a workspace, the compiled files under its dist/test and dist/bench whose
//   source is gone are removed: `tsc -b` never deletes them, and tap would run a stale test.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { removeStaleOutputs } from './stale-outputs.mjs';
import { listWorkspaces } from './workspaces.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TAP = join(here, '..', 'node_modules', '.bin', 'tap');
/** What tap says of a file that planned nothing and ran nothing (not a reason of the file's). */
const NO_TESTS = 'no tests found';

/** The counts of a run; `npm test` adds its set-up and lint to the same tally. */
export function newTally() {
  return {
    passed: 0,
    failed: 0,
    skippedAssertions: 0,
    todo: 0,
    /** "workspace file: reason" of every file that skipped itself as a whole. */
    skippedFiles: [],
    failures: [],
  };
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

/** Runs tap in one workspace and folds its jsonstream events into the tally. */
function runTap(root, { dir, pkg }, tally) {
  return new Promise((resolve) => {
    const failedBefore = tally.failed;
    const child = spawn(TAP, ['-R', 'jsonstream'], {
      cwd: join(root, dir),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const perFile = new Map();
    const fail = (file, message) => {
      tally.failed++;
      perFile.get(file).failed++;
      tally.failures.push(message);
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
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
        tally.passed++;
        f.passed++;
      } else if (kind === 'fail') fail(file, describeFailure(data));
      else if (kind === 'skip') tally.skippedAssertions++;
      else if (kind === 'todo') tally.todo++;
      else if (kind === 'end' && data.level === 1) {
        const secs = ((data.time ?? 0) / 1000).toFixed(1);
        const reason = data.plan?.skipAll ? data.plan.skipReason : undefined;
        let mark = 'ok  ';
        if (!data.ok && f.failed === 0) {
          const why = reason ?? `exit code ${data.diag?.exitCode}`;
          fail(file, `  ✗ ${file}: the test file failed without a failing assertion (${why})`);
        } else if (f.passed === 0 && f.failed === 0) {
          if (reason && reason !== NO_TESTS) {
            tally.skippedFiles.push(`${pkg.name} ${file}: ${reason}`);
            mark = 'skip';
          } else {
            fail(file, `  ✗ ${file}: ran no assertion (and did not skip itself with a reason)`);
          }
        }
        if (f.failed) mark = 'FAIL';
        const counts = mark === 'skip' ? reason : `${f.passed} passed, ${f.failed} failed`;
        process.stdout.write(`${mark} ${file}  ${counts}, ${secs}s\n`);
      }
    });
    child.on('error', (e) => {
      tally.failed++;
      tally.failures.push(`  ✗ ${pkg.name}: tap could not start: ${e.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      if (code !== 0 && tally.failed === failedBefore) {
        tally.failed++;
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        tally.failures.push(`  ✗ ${pkg.name} (${dir}): tap ${how} with no failing test`);
      }
      resolve();
    });
  });
}

/** Runs the suites of every workspace with a test script (or of those named in `only`). */
export async function runSuites(root, only, tally) {
  const all = listWorkspaces(root).filter(({ pkg }) => pkg.scripts?.test);
  const unknown = only.filter((o) => !all.some(({ dir, pkg }) => o === dir || o === pkg.name));
  for (const name of unknown) {
    tally.failed++;
    tally.failures.push(`  ✗ ${name}: no workspace with a test script by that folder or name`);
  }
  for (const ws of all) {
    if (only.length && !only.includes(ws.dir) && !only.includes(ws.pkg.name)) continue;
    const dist = join(root, ws.dir, 'dist');
    if (!existsSync(join(dist, 'test'))) {
      tally.failed++;
      tally.failures.push(`  ✗ ${ws.pkg.name}: no compiled tests in ${ws.dir}/dist/test`);
      continue;
    }
    process.stdout.write(`\n== ${ws.pkg.name} (${ws.dir})\n`);
    const removed = removeStaleOutputs(join(root, ws.dir), ['test', 'bench']);
    if (removed.length) {
      const list = removed.map((p) => relative(root, p)).join(', ');
      process.stdout.write(`removed compiled files whose source is gone: ${list}\n`);
    }
    await runTap(root, ws, tally);
  }
}

/** Prints the failures, the skips and the closing "N passed, N failed" line; returns the exit code. */
export function printSummary(tally) {
  const out = (s) => process.stdout.write(`${s}\n`);
  if (tally.failures.length) out(`\nFailures:\n${tally.failures.join('\n')}`);
  if (tally.skippedFiles.length) {
    out(`\nSkipped files:\n${tally.skippedFiles.map((s) => `  - ${s}`).join('\n')}`);
  }
  const files = tally.skippedFiles.length;
  const todo = tally.todo ? `; ${tally.todo} todo` : '';
  out(
    `\nskipped: ${files} file${files === 1 ? '' : 's'}, ${tally.skippedAssertions} assertion${tally.skippedAssertions === 1 ? '' : 's'}${todo}`,
  );
  out(`${tally.passed} passed, ${tally.failed} failed`);
  return tally.failed === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root = at >= 0 ? args.splice(at, 2)[1] : join(here, '..');
  const tally = newTally();
  await runSuites(root, args, tally);
  process.exit(printSummary(tally));
}
