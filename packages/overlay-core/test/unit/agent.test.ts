// The agent's coordination in-process (no root): registration with backoff and failover, the
// allocation from the Register answer, stream restarts, a deleted node, a status echo that costs
// no reconcile, a master that comes back cutting a long backoff short, and two agents that find
// each other by gossip and program each other's routes. The kernel is the in-memory model and the
// masters are scripted (test/helpers/agent-harness.ts); gossip is real UDP on 127.0.0.x.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES } from '@vnet/swim';
import { pino } from 'pino';
import t from 'tap';
import { Gossip } from '../../src/agent/gossip.js';
import type { AgentHealth, AgentJson } from '../../src/protocol/documents.js';
import { gossipPort, ScriptedMaster, startTestAgent, until } from '../helpers/agent-harness.js';
import { dcosDefault } from '../helpers/configs.js';

const health = async (a: Awaited<ReturnType<typeof startTestAgent>>) =>
  (await a.get<AgentHealth>('/health')).body;

t.test('two agents register, find each other by gossip and program each other', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  const a = await startTestAgent(t, master, 2);
  const b = await startTestAgent(t, master, 3, {
    gossipSeeds: [{ host: '127.0.0.2', port: gossipPort }],
  });
  for (const [x, peer] of [
    [a, '9.0.1.0/24'],
    [b, '9.0.0.0/24'],
  ] as const) {
    await until(
      'the other node routed',
      () => x.kernel.routes(),
      (r) => r.some((l) => l.startsWith(peer)),
    );
    const h = await until(
      'healthy',
      () => health(x),
      (h) => h.reconciled && h.peers === 1,
    );
    t.equal(h.appliedIndex, h.allocationIndex, 'the kernel reflects the allocation it holds');
    t.ok(x.kernel.links().includes('m-dcos') && x.kernel.links().includes('vtep1024'));
  }
  const view = await a.get<AgentJson>('/overlay-agent/overlay');
  t.equal(
    view.body.overlays?.[0]?.state?.status,
    'STATUS_OK',
    'its own status, from its reconcile',
  );
  t.ok(master.reports.some((r) => r.ip === '127.0.0.2' && r.overlays[0]?.status === 'STATUS_OK'));
});

t.test('registration retries with backoff, and programs from the Register answer', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  master.failures = 3;
  // No stream message at all: the answer to Register is enough to program the node.
  master.watch = (_ip, _onUpdate, _onEnd) => ({ cancel() {} });
  const a = await startTestAgent(t, master, 4);
  await until(
    'the bridge',
    () => a.kernel.links(),
    (l) => l.includes('m-dcos'),
  );
  t.equal(master.registrations, 1);
  t.match(await a.metrics(), /vnet_agent_registrations_total\{result="failed"\} 3/);
});

t.test('a broken stream: the agent moves on to the next master and registers again', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  const a = await startTestAgent(t, master, 5);
  await until(
    'the stream',
    () => master.openStreams,
    (n) => n === 1,
  );
  master.endStreams();
  await until(
    'a new stream',
    () => master.openStreams,
    (n) => n === 1,
  );
  t.equal(master.rotations, 1, 'it rotated to another master');
  t.equal(master.registrations, 2, 'and registered again');
  const h = await health(a);
  t.ok(h.registered && h.allocation);
});

t.test('a deleted node registers again and takes its new allocation', async (t) => {
  const master = new ScriptedMaster({ ...dcosDefault() });
  const a = await startTestAgent(t, master, 6);
  await until(
    'the route to its block',
    () => a.kernel.links(),
    (l) => l.includes('m-dcos'),
  );
  const gw = () =>
    a.kernel.model.state.addresses
      .filter((x) => x.address.startsWith('9.0.'))
      .map((x) => x.address);
  t.same(gw(), ['9.0.0.1']);
  // Another node takes block 0 while this one is deleted: it comes back with block 1.
  master.ipam.remove('127.0.0.6');
  master.ipam.register('10.1.1.1');
  master.push('127.0.0.6', { deleted: true, index: ++master.index });
  await until('the new gateway', gw, (g) => g.length === 1 && g[0] === '9.0.1.1');
  t.equal(master.registrations, 2);
});

/** Reconcile runs the allocation stream caused, from the agent's metrics. */
const allocationRuns = async (a: Awaited<ReturnType<typeof startTestAgent>>) => {
  const m = /vnet_agent_reconcile_runs_total\{trigger="allocation",result="ok"\} (\d+)/.exec(
    await a.metrics(),
  );
  return Number(m?.[1] ?? 0);
};

t.test('a status echo costs no reconcile; a real change does', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  const a = await startTestAgent(t, master, 7);
  const settled = await until(
    'settled',
    () => health(a),
    (h) => h.reconciled && h.appliedIndex === h.allocationIndex,
  );
  const runs = await allocationRuns(a);
  const allRuns = (await health(a)).reconcileRuns;
  // What an older master pushed back after every report: the same allocation with the node's
  // own status in it, at a newer index.
  master.ipam.setStatus('127.0.0.7', 'dcos', {
    status: 'STATUS_OK',
    used: { mesos: 0, docker: 0 },
  });
  master.index += 5;
  master.push('127.0.0.7');
  const after = await until(
    'the echo seen',
    () => health(a),
    (h) => h.allocationIndex === master.index,
  );
  t.equal(await allocationRuns(a), runs, 'no reconcile for it');
  t.equal(after.appliedIndex, after.allocationIndex, 'and the kernel still reflects it');
  t.ok(after.allocationIndex > settled.allocationIndex);
  master.ipam.addOverlay({ name: 'blue', subnet: '10.9.0.0/16', prefix: 24 });
  master.ipam.fillNodes();
  master.index++;
  master.push('127.0.0.7');
  await until(
    'the new overlay',
    () => a.kernel.links(),
    (l) => l.includes('m-blue'),
  );
  const done = await until(
    'applied',
    () => health(a),
    (h) => h.appliedIndex === master.index,
  );
  t.ok(done.reconcileRuns > allRuns, 'a new overlay is reconciled');
});

t.test('restarted with its saved allocation, the agent reports its status at once', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  const dataDir = mkdtempSync(join(tmpdir(), 'vnet-agent-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestAgent(t, master, 10, { dataDir });
  await until(
    'reported',
    () => master.reports.length,
    (n) => n > 0,
  );
  await first.agent.stop();
  master.reports.length = 0;
  // The same allocation comes back: no reconcile for it, but the status still reaches the
  // masters (the start reconcile ran before the agent had heard from them).
  await startTestAgent(t, master, 10, { dataDir });
  const r = await until(
    'a report',
    () => master.reports,
    (l) => l.length > 0,
  );
  t.equal(r[0]?.overlays[0]?.status, 'STATUS_OK');
});

t.test('a master back from an outage cuts a long backoff short', async (t) => {
  const master = new ScriptedMaster(dcosDefault());
  master.failures = 1;
  // Every random wait at its ceiling, and ceilings of a minute or more: without the reconnect the
  // second attempt would come a minute later.
  const a = await startTestAgent(
    t,
    master,
    8,
    { backoff: { initialMs: 60_000, maxMs: 120_000 } },
    { random: () => 0.999 },
  );
  const retry = await until(
    'the failed attempt',
    () => a.logs.find((l) => l.msg === 'registration failed; retrying'),
    (l) => l !== undefined,
  );
  t.ok(Number(retry?.waitMs) > 59_000, `the backoff says ${retry?.waitMs} ms`);
  master.reconnect();
  const cut = a.logs.find((l) => l.msg === 'a master is reachable again; registering');
  t.ok(cut, 'the wait is cut short when a master is reachable again');
  t.ok(Number(cut?.inMs) <= 2_000, `to a random moment within the jitter (${cut?.inMs} ms)`);
  await until(
    'registered',
    () => health(a),
    (h) => h.registered,
  );
  t.equal(master.registrations, 1);
});

t.test('--gossip-profile passes @vnet/swim its own profile', async (t) => {
  const gossip = await Gossip.start({
    ip: '127.0.0.9',
    port: gossipPort,
    seeds: [],
    graceMs: 100,
    profile: 'wan',
    log: pino({ level: 'silent' }),
  });
  t.teardown(() => gossip.stop());
  t.same(
    gossip.swim.settings,
    PROFILES.wan,
    "wan's suspicion, push-pull and TCP timings, all of them",
  );
});
