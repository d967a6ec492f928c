// Probe scheduling and refused connections in the simulator: the shared probe ring reaches a
// crashed member within two probe intervals, whatever its place; a refused TCP connection starts
// the suspicion at the direct-probe timeout; a silent (partitioned) member is judged by the usual
// probe period, with no refusal counted.

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { Simulator } from '../src/sim/simulator.js';
import { allSee, converged, startGroup } from './helpers/group.js';
import { withSeed } from './helpers/seed.js';

t.test('a crash is probed within two intervals and suspected at the direct timeout', async (t) => {
  for (const seed of testSeeds(40, 6)) {
    await withSeed(t, seed, '50 members', async (t) => {
      const sim = new Simulator({ seed, maxDelay: 2 });
      const nodes = await startGroup(sim, 50);
      t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
      await sim.run(5_000 + seed * 137);
      const victim = nodes[seed % 50]!;
      const rest = nodes.filter((s) => s !== victim);
      let suspectedAt: number | undefined;
      for (const s of rest) {
        s.on('suspect', (m) => {
          if (m.name === victim.name) suspectedAt ??= sim.now;
        });
      }
      const t0 = sim.now;
      sim.crash(victim);
      t.ok(
        await sim.runUntil(() => allSee(rest, victim.name, 'dead'), 60_000, 10),
        'all mark it dead',
      );
      const after = (suspectedAt ?? Number.POSITIVE_INFINITY) - t0;
      // First probe within two 1 s slots, then the 500 ms direct timeout and a round trip.
      t.ok(after <= 2_600, `suspected ${Math.round(after)} ms after the crash`);
      const refused = rest.reduce((n, s) => n + s.stats().membership.probesRefused, 0);
      t.ok(refused > 0, `refused connections counted (${refused})`);
      t.equal(
        rest.reduce((n, s) => n + s.stats().health, 0),
        0,
        'refusals do not count against the prober’s own health',
      );
    });
  }
});

t.test('a silent member is suspected by the probe period, without refusals', async (t) => {
  const sim = new Simulator({ seed: 7, maxDelay: 2 });
  const nodes = await startGroup(sim, 10);
  t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
  const [alone, ...rest] = nodes as [(typeof nodes)[0], ...typeof nodes];
  sim.partition([alone], rest);
  t.ok(await sim.runUntil(() => allSee(rest, alone.name, 'dead'), 60_000), 'declared dead');
  t.equal(
    rest.reduce((n, s) => n + s.stats().membership.probesRefused, 0),
    0,
    'a timeout is not a refusal',
  );
});

t.test('every member probes every other once per n - 1 probe intervals', async (t) => {
  const sim = new Simulator({ seed: 3, maxDelay: 2 });
  const nodes = await startGroup(sim, 12);
  t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
  await sim.run(3_000);
  const before = nodes.map((s) => s.stats().membership.probes);
  const pings = new Map<string, Set<string>>();
  const deliver = sim.deliver.bind(sim);
  sim.deliver = (from, to, data) => {
    const set = pings.get(from.address) ?? new Set<string>();
    pings.set(from.address, set);
    set.add(to);
    deliver(from, to, data);
  };
  await sim.run(11 * 1000);
  const after = nodes.map((s) => s.stats().membership.probes);
  t.ok(
    after.every((n, i) => n - before[i]! >= 10),
    'about one probe per interval',
  );
  for (const s of nodes) {
    const reached = pings.get(s.address) ?? new Set();
    const others = nodes.filter((o) => o !== s).map((o) => o.address);
    t.same(
      others.filter((a) => !reached.has(a)),
      [],
      `${s.name} sent to every other member within 11 intervals`,
    );
  }
});
