// Cleanup when the test process fails or dies, and the sweep of leftovers of dead runs.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, listNetns, requireRoot, startTime } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { listOurNamespaces, runsRoot, sweepLeftovers } from '../src/index.js';
import { mountsWith, rootLinks } from './helpers/root.js';

requireRoot(t, 'network namespaces');

const FIXTURE = fileURLToPath(new URL('./fixtures/crash.js', import.meta.url));

interface Report {
  prefix: string;
  runDir: string;
  namespaces: string[];
  pids: number[];
}

/** Starts the fixture; resolves once it has printed what it made. */
function startFixture(
  mode: string,
): Promise<{ child: ChildProcess; report: Report; exit: Promise<[number | null, string | null]> }> {
  const child = spawn(process.execPath, [FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<[number | null, string | null]>((resolve) =>
    child.on('exit', (code, signal) => resolve([code, signal])),
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (b) => {
    err += b;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b) => {
      out += b;
      const m = /^REPORT (.*)$/m.exec(out);
      if (m) resolve({ child, report: JSON.parse(m[1]!) as Report, exit });
    });
    void exit.then(([code, signal]) =>
      reject(
        new Error(`fixture ${mode} ended (${code ?? signal}) before reporting:\n${out}\n${err}`),
      ),
    );
  });
}

const leftNamespaces = (r: Report) =>
  listOurNamespaces().filter((n) => n.startsWith(`${r.prefix}-`));

/** Checks the cluster of a report is gone (its processes may take a moment to be reaped). */
async function checkGone(t: Test, r: Report): Promise<void> {
  t.same(leftNamespaces(r), [], 'no namespace of the cluster is left');
  t.same(mountsWith(r.prefix), [], 'no namespace mount is left');
  // SIGKILL is immediate, but a process leaves /proc only when init has reaped it.
  for (let i = 0; i < 100 && r.pids.some(alive); i++) await new Promise((ok) => setTimeout(ok, 20));
  t.same(r.pids.filter(alive), [], 'every process it started is gone');
}

t.test('a failing tap test still cleans up (teardown), and keeps its logs', async (t) => {
  const before = rootLinks();
  const { report, exit } = await startFixture('tap-throw');
  t.teardown(() => rmSync(report.runDir, { recursive: true, force: true }));
  t.equal(
    report.namespaces.length,
    5,
    'it had made the switch, 2 hosts, the outside host and a container',
  );
  const [code] = await exit;
  t.equal(code, 1, 'the fixture failed');
  await checkGone(t, report);
  t.ok(
    existsSync(join(report.runDir, 'logs')),
    'the run dir of a failed test is kept for its logs',
  );
  t.match(
    readFileSync(join(report.runDir, 'state', 'h1-c1.txt'), 'utf8'),
    /### ip addr[\s\S]*inet 9\.0\.0\.2\/25/,
    "and holds the kernel's state of every namespace, taken before destroy",
  );
  t.same(rootLinks(), before, 'the root namespace has the same links');
});

t.test('an uncaught exception still cleans up (exit handler)', async (t) => {
  const { report, exit } = await startFixture('uncaught');
  t.teardown(() => rmSync(report.runDir, { recursive: true, force: true }));
  const [code] = await exit;
  t.equal(code, 1, 'the fixture crashed');
  await checkGone(t, report);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} to the test process still cleans up`, async (t) => {
    const { child, report, exit } = await startFixture('wait');
    t.teardown(() => rmSync(report.runDir, { recursive: true, force: true }));
    t.same(
      leftNamespaces(report).sort(),
      [...report.namespaces].sort(),
      'namespaces exist while it runs',
    );
    t.ok(report.pids.every(alive), 'its processes run');
    child.kill(signal);
    const [code] = await exit;
    t.equal(code, 128 + (signal === 'SIGTERM' ? 15 : 2), 'it exits as killed by the signal would');
    await checkGone(t, report);
  });
}

t.test(
  'SIGKILL leaves leftovers; the sweep removes them (processes by recorded pid)',
  async (t) => {
    const { child, report, exit } = await startFixture('wait');
    t.teardown(() => rmSync(report.runDir, { recursive: true, force: true }));
    child.kill('SIGKILL');
    await exit;
    t.same(leftNamespaces(report).sort(), [...report.namespaces].sort(), 'its namespaces are left');
    t.ok(report.pids.every(alive), 'and its processes still run');
    const swept = sweepLeftovers();
    t.ok(
      report.namespaces.every((n) => swept.namespaces.includes(n)),
      'the sweep deleted its namespaces',
    );
    t.ok(
      report.pids.every((p) => swept.processes.includes(p)),
      'and killed its processes',
    );
    // SIGKILL is delivered at once, but a process leaves /proc only when its parent (init) reaps it.
    for (let i = 0; i < 50 && report.pids.some(alive); i++)
      await new Promise((r) => setTimeout(r, 20));
    await checkGone(t, report);
  },
);

t.test('the sweep leaves live runs alone, and never kills a reused pid', async (t) => {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const pid = sleeper.pid!;
  const liveNs = `vc${pid}-1-live`;
  const liveDir = join(runsRoot(), `vc${pid}-1`);
  // A run whose owner is dead, recording a process whose pid now names another process.
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  const deadDir = join(runsRoot(), `vc${gone.pid}-1`);
  t.teardown(() => {
    execFileSync('ip', ['netns', 'del', liveNs], { stdio: 'ignore' });
    sleeper.kill('SIGKILL');
    rmSync(liveDir, { recursive: true, force: true });
    rmSync(deadDir, { recursive: true, force: true });
  });
  execFileSync('ip', ['netns', 'add', liveNs]);
  mkdirSync(liveDir, { recursive: true });
  mkdirSync(deadDir, { recursive: true });
  const start = startTime(pid)!;
  writeFileSync(
    join(liveDir, 'procs.jsonl'),
    `${JSON.stringify({ pid, start, argv: ['sleep'] })}\n`,
  );
  writeFileSync(
    join(deadDir, 'procs.jsonl'),
    `${JSON.stringify({ pid, start: String(Number(start) - 1), argv: ['sleep'] })}\n`,
  );
  const swept = sweepLeftovers();
  t.notOk(swept.namespaces.includes(liveNs), 'the namespace of a live pid is not swept');
  t.ok(listOurNamespaces().includes(liveNs), 'and still exists');
  t.notOk(swept.processes.includes(pid), 'a recorded pid with another start time is not killed');
  t.ok(alive(pid), 'the process runs on');
});

t.test('the sweep stops the tasks `vnet task run` left in a dead run', async (t) => {
  // A dead run whose host h2 ran one task: its namespace (named outside the harness's prefix)
  // and its process, recorded in the task's state file as `vnet task run` writes it.
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  const deadDir = join(runsRoot(), `vc${gone.pid}-1`);
  const netns = `vnet-${(gone.pid! * 7919).toString(16)}abc`;
  let sleeper: ChildProcess | undefined;
  t.teardown(() => {
    sleeper?.kill('SIGKILL');
    if (listNetns().includes(netns)) execFileSync('ip', ['netns', 'del', netns]);
    rmSync(deadDir, { recursive: true, force: true });
  });
  execFileSync('ip', ['netns', 'add', netns]);
  sleeper = spawn('ip', ['netns', 'exec', netns, 'sleep', '60'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 200));
  const pid = sleeper.pid!;
  mkdirSync(join(deadDir, 'hosts', 'h2', 'tasks'), { recursive: true });
  writeFileSync(
    join(deadDir, 'hosts', 'h2', 'tasks', 'abc.json'),
    JSON.stringify({ id: 'cni-abc', netns, pid, pidStart: startTime(pid) }),
  );
  const swept = sweepLeftovers();
  t.ok(swept.namespaces.includes(netns), 'its namespace is deleted');
  t.ok(swept.processes.includes(pid), 'its process is killed');
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(alive(pid));
});
