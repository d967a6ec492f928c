// The replicated store over the simulated group: convergence under loss and partitions,
// liveness-bound keys, large values, subscriptions and tombstone collection.

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { seededRandom } from '../src/random.js';
import { Simulator } from '../src/sim/simulator.js';
import type { StoreEvent } from '../src/store/store.js';
import type { Swim } from '../src/swim.js';
import { converged, startGroup } from './helpers/group.js';
import { withSeed } from './helpers/seed.js';

function sameStores(nodes: readonly Swim[]): boolean {
  const first = JSON.stringify(nodes[0]!.store.entries());
  return nodes.every((s) => JSON.stringify(s.store.entries()) === first);
}

t.test('the store converges to one value per key whatever the order of updates', async (t) => {
  for (const seed of testSeeds(200, 4)) {
    await withSeed(t, seed, '12 members, writes everywhere, 5% loss, a partition', async (t) => {
      const sim = new Simulator({ seed, loss: 0.05, maxDelay: 30 });
      const nodes = await startGroup(sim, 12, { settings: { pushPullInterval: 5000 } });
      t.ok(await sim.runUntil(() => converged(nodes), 60_000));
      const r = seededRandom(seed);
      const keys = ['r/1', 'r/2', 'r/3', 's/1', 's/2', 'm/1', 'm/2'];
      for (let step = 0; step < 400; step++) {
        if (step === 100) sim.partition(nodes.slice(0, 5), nodes.slice(5));
        if (step === 300) sim.heal();
        const s = nodes[Math.floor(r() * nodes.length)]!;
        const key = keys[Math.floor(r() * keys.length)]!;
        const v = Math.floor(r() * 10);
        if (key.startsWith('r/'))
          r() < 0.85 ? s.store.put(key, { v, by: s.name }) : s.store.delete(key);
        else if (key.startsWith('s/')) r() < 0.6 ? s.store.add(key, [v]) : s.store.remove(key, [v]);
        else
          r() < 0.7 ? s.store.setField(key, `f${v % 4}`, v) : s.store.deleteField(key, `f${v % 4}`);
        await sim.run(Math.floor(r() * 100), 10);
      }
      t.ok(await sim.runUntil(() => converged(nodes), 120_000), 'membership healed');
      t.ok(
        await sim.runUntil(() => sameStores(nodes), 120_000, 500),
        'every member holds the same entries',
      );
      const digest = Buffer.from(nodes[0]!.store.digest()).toString('hex');
      t.ok(
        nodes.every((s) => Buffer.from(s.store.digest()).toString('hex') === digest),
        'and the same digest',
      );
      t.ok(nodes[0]!.store.entries().length > 0);
    });
  }
});

t.test('keys bound to a member vanish everywhere when it crashes or leaves', async (t) => {
  const seed = testSeeds(300, 1)[0]!;
  await withSeed(t, seed, '10 members publish bound records', async (t) => {
    const sim = new Simulator({ seed, maxDelay: 10 });
    const nodes = await startGroup(sim, 10);
    t.ok(await sim.runUntil(() => converged(nodes), 30_000));
    for (const s of nodes) {
      s.store.put(
        `vtep/${s.name}`,
        { vtepIp: `44.128.0.${s.name.slice(1)}`, underlay: s.address },
        { bound: true },
      );
    }
    nodes[0]!.store.put('shared/config', { mtu: 1420 });
    const all = () =>
      nodes.every(
        (s) =>
          s.closed || s.store.entries('vtep/').length === nodes.filter((x) => !x.closed).length,
      );
    t.ok(await sim.runUntil(all, 10_000), 'every record everywhere');
    const crashed = nodes[4]!;
    sim.crash(crashed);
    const rest = nodes.filter((s) => s !== crashed);
    t.ok(
      await sim.runUntil(() => rest.every((s) => !s.store.has('vtep/m4')), 120_000),
      "the crashed member's record vanished",
    );
    const leaver = nodes[7]!;
    await sim.settle(leaver.leave());
    const remaining = rest.filter((s) => s !== leaver);
    t.ok(
      await sim.runUntil(() => remaining.every((s) => !s.store.has('vtep/m7')), 10_000),
      "the leaver's record vanished",
    );
    t.ok(
      remaining.every((s) => s.store.entries('vtep/').length === 8),
      'the others stay',
    );
    t.ok(
      remaining.every((s) => s.store.has('shared/config')),
      'unbound keys stay',
    );
    await sim.run(60_000);
    t.ok(
      remaining.every((s) => !s.store.has('vtep/m4') && !s.store.has('vtep/m7')),
      'and they do not come back',
    );
    // The crashed member restarts: a new life publishes again.
    const reborn = sim.add({ name: 'm4' });
    reborn.store.put('vtep/m4', { vtepIp: '44.128.0.44' }, { bound: true });
    await sim.settle(reborn.join([nodes[0]!.address]));
    const group = [...remaining, reborn];
    t.ok(
      await sim.runUntil(
        () =>
          group.every(
            (s) =>
              (s.store.get('vtep/m4') as { vtepIp: string } | undefined)?.vtepIp === '44.128.0.44',
          ),
        30_000,
      ),
      'the new life is published everywhere',
    );
    t.ok(
      reborn.store.has('vtep/m0') && reborn.store.has('shared/config'),
      'the joiner got existing data by the join sync',
    );
  });
});

t.test('a member falsely declared dead gets its bound keys back after refuting', async (t) => {
  const seed = testSeeds(310, 1)[0]!;
  await withSeed(t, seed, '8 members, one partitioned past its suspicion timeout', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 8, { settings: { reconnectInterval: 5000 } });
    t.ok(await sim.runUntil(() => converged(nodes), 30_000));
    const lone = nodes[5]!;
    lone.store.put('vtep/m5', 'route', { bound: true });
    t.ok(await sim.runUntil(() => nodes.every((s) => s.store.has('vtep/m5')), 10_000));
    const rest = nodes.filter((s) => s !== lone);
    sim.partition([lone]);
    t.ok(
      await sim.runUntil(() => rest.every((s) => s.member('m5')?.state === 'dead'), 120_000),
      'declared dead',
    );
    t.ok(
      rest.every((s) => !s.store.has('vtep/m5')),
      'its key was dropped',
    );
    t.ok(lone.store.has('vtep/m5'), 'it keeps its own key');
    sim.heal();
    t.ok(await sim.runUntil(() => converged(nodes), 120_000), 'back in the group');
    t.ok(
      await sim.runUntil(() => nodes.every((s) => s.store.get('vtep/m5') === 'route'), 30_000),
      'its key is back everywhere',
    );
  });
});

t.test('values too large for a datagram travel by stream', async (t) => {
  const seed = testSeeds(320, 1)[0]!;
  await withSeed(t, seed, '15 members, a 20 kB value', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 15);
    t.ok(await sim.runUntil(() => converged(nodes), 30_000));
    const big = 'x'.repeat(20_000);
    nodes[2]!.store.put('zone/dcos', big);
    t.ok(
      await sim.runUntil(() => nodes.every((s) => s.store.get('zone/dcos') === big), 10_000),
      'everyone has it',
    );
    t.ok(nodes[2]!.stats().syncs.entryPushes > 0, 'pushed over streams');
  });
});

t.test('a subscriber gets a snapshot, then the changes made anywhere', async (t) => {
  const seed = testSeeds(330, 1)[0]!;
  await withSeed(t, seed, '5 members', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 5);
    nodes[1]!.store.put('vtep/m1', 1, { bound: true });
    t.ok(await sim.runUntil(() => nodes[3]!.store.has('vtep/m1'), 10_000));
    const seen: StoreEvent[] = [];
    nodes[3]!.store.subscribe('vtep/', (ev) => seen.push(ev));
    nodes[2]!.store.put('vtep/m2', 2, { bound: true });
    nodes[2]!.store.put('other', 2);
    await sim.run(3000);
    nodes[1]!.store.delete('vtep/m1');
    await sim.run(3000);
    t.same(
      seen.map((e) =>
        e.type === 'snapshot'
          ? ['snapshot', e.entries.map((x) => x.key)]
          : e.type === 'put'
            ? ['put', e.entry.key, e.entry.owner]
            : ['delete', e.key],
      ),
      [
        ['snapshot', ['vtep/m1']],
        ['put', 'vtep/m2', 'm2'],
        ['delete', 'vtep/m1'],
      ],
    );
  });
});

t.test('tombstones are collected on every member once all have synced', async (t) => {
  const seed = testSeeds(340, 1)[0]!;
  await withSeed(t, seed, '6 members, fast anti-entropy', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 6, {
      settings: { pushPullInterval: 2000, tombstoneGrace: 5000 },
    });
    for (let i = 0; i < 20; i++) nodes[i % 6]!.store.put(`k${i}`, i);
    t.ok(await sim.runUntil(() => nodes.every((s) => s.store.stats.keys === 20), 10_000));
    for (let i = 0; i < 20; i++) nodes[(i + 1) % 6]!.store.delete(`k${i}`);
    t.ok(
      await sim.runUntil(() => nodes.every((s) => s.store.stats.keys === 0), 10_000),
      'deleted everywhere',
    );
    t.ok(
      nodes.some((s) => s.store.stats.tombstones > 0),
      'as tombstones first',
    );
    t.ok(
      await sim.runUntil(() => nodes.every((s) => s.store.stats.tombstones === 0), 300_000, 1000),
      'then collected',
    );
    await sim.run(30_000);
    t.ok(
      nodes.every((s) => s.store.stats.keys === 0),
      'nothing came back',
    );
  });
});
