// The membership protocol in the deterministic simulator: convergence, failure detection,
// accuracy, partitions, leaves, metadata, restarts, joins and Lifeguard.

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { Simulator } from '../src/sim/simulator.js';
import { JoinError } from '../src/swim.js';
import { Keyring } from '../src/wire/keyring.js';
import { allSee, converged, recordEvents, startGroup } from './helpers/group.js';
import { withSeed } from './helpers/seed.js';

t.test('groups of 10 and 100 converge', async (t) => {
  for (const seed of testSeeds(1, 3)) {
    for (const n of [10, 100]) {
      await withSeed(t, seed, `${n} members`, async (t) => {
        const sim = new Simulator({ seed, maxDelay: 10 });
        const nodes = await startGroup(sim, n, { meta: { role: 'agent', zone: `zone-${seed}` } });
        t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'everyone sees everyone');
        const largest = sim.stats.maxPacketBytes;
        t.ok(largest <= 1400, `no datagram over 1,400 bytes (largest ${largest})`);
      });
    }
  }
});

t.test('a crashed member is declared dead by all, and no one else is', async (t) => {
  for (const seed of testSeeds(10, 3)) {
    await withSeed(t, seed, '50 members, one crash', async (t) => {
      const sim = new Simulator({ seed, maxDelay: 10 });
      const nodes = await startGroup(sim, 50);
      t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
      const seen = recordEvents(sim, nodes);
      const victim = nodes[17]!;
      sim.crash(victim);
      const rest = nodes.filter((s) => s !== victim);
      t.ok(
        await sim.runUntil(() => allSee(rest, victim.name, 'dead'), 120_000),
        'all mark it dead',
      );
      await sim.run(30_000);
      const wrong = seen.filter((e) => e.type === 'dead' && e.member !== victim.name);
      t.same(wrong, [], 'no live member declared dead');
      t.ok(converged(rest), 'the rest stay converged');
    });
  }
});

t.test('no live member is declared dead at 0% loss', async (t) => {
  for (const seed of testSeeds(20, 2)) {
    await withSeed(t, seed, '100 members, 3 virtual minutes, jittery delays', async (t) => {
      const sim = new Simulator({ seed, minDelay: 1, maxDelay: 40 });
      const nodes = await startGroup(sim, 100);
      const seen = recordEvents(sim, nodes);
      await sim.run(180_000, 50);
      t.same(
        seen.filter((e) => e.type === 'dead' || e.type === 'leave'),
        [],
        'no dead or leave events',
      );
      t.ok(converged(nodes));
    });
  }
});

t.test('a partition heals', async (t) => {
  for (const seed of testSeeds(30, 2)) {
    await withSeed(t, seed, '20 members split 12/8', async (t) => {
      const sim = new Simulator({ seed, maxDelay: 10 });
      const nodes = await startGroup(sim, 20, { settings: { reconnectInterval: 10_000 } });
      t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
      const a = nodes.slice(0, 12);
      const b = nodes.slice(12);
      sim.partition(a, b);
      const split = () =>
        a.every((x) =>
          b.every((y) => x.member(y.name)?.state === 'dead' && y.member(x.name)?.state === 'dead'),
        );
      t.ok(await sim.runUntil(split, 180_000), 'each side declares the other dead');
      t.ok(converged(a) && converged(b), 'each side stays whole');
      sim.heal();
      t.ok(
        await sim.runUntil(() => converged(nodes), 180_000),
        'after healing everyone sees everyone again',
      );
    });
  }
});

t.test('a graceful leave is learned by all as a leave', async (t) => {
  const seed = testSeeds(40, 1)[0]!;
  await withSeed(t, seed, '30 members, one leaves', async (t) => {
    const sim = new Simulator({ seed, maxDelay: 10 });
    const nodes = await startGroup(sim, 30);
    t.ok(await sim.runUntil(() => converged(nodes), 60_000));
    const seen = recordEvents(sim, nodes);
    const leaver = nodes[3]!;
    await sim.settle(leaver.leave());
    t.ok(leaver.closed);
    const rest = nodes.filter((s) => s !== leaver);
    t.ok(
      await sim.runUntil(() => allSee(rest, leaver.name, 'left'), 10_000),
      'everyone holds it as left',
    );
    await sim.run(60_000);
    t.same(
      seen.filter((e) => e.type === 'dead'),
      [],
      'no one declared it dead',
    );
    t.equal(seen.filter((e) => e.type === 'leave' && e.member === leaver.name).length, rest.length);
    t.equal(sim.stats.streamsOpened > 0, true);
  });
});

t.test('metadata updates reach everyone as update events', async (t) => {
  const seed = testSeeds(50, 1)[0]!;
  await withSeed(t, seed, '20 members', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 20, { meta: { role: 'agent' } });
    t.ok(await sim.runUntil(() => converged(nodes), 60_000));
    t.same(nodes[5]!.member('m9')?.meta, { role: 'agent' });
    const seen = recordEvents(sim, nodes);
    nodes[9]!.setMeta({ role: 'master', zone: 'b' });
    t.ok(
      await sim.runUntil(
        () =>
          nodes.every(
            (s) => (s.member('m9')?.meta as { role?: string } | undefined)?.role === 'master',
          ),
        10_000,
      ),
    );
    t.equal(nodes[0]!.member('m9')?.metaVersion, 1);
    t.equal(seen.filter((e) => e.type === 'update' && e.member === 'm9').length, 19);
    t.throws(() => nodes[1]!.setMeta('x'.repeat(600)), /metaMaxSize/);
  });
});

t.test('a restarted member (a new life of the name) replaces the old one', async (t) => {
  const seed = testSeeds(60, 1)[0]!;
  await withSeed(t, seed, '15 members, one restarts elsewhere', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 15);
    t.ok(await sim.runUntil(() => converged(nodes), 60_000));
    const old = nodes[4]!;
    sim.crash(old);
    await sim.run(500);
    const reborn = sim.add({ name: old.name });
    t.not(reborn.address, old.address);
    await sim.settle(reborn.join([nodes[0]!.address]));
    const group = nodes.map((s) => (s === old ? reborn : s));
    t.ok(await sim.runUntil(() => converged(group), 30_000), 'everyone sees the new life');
    await sim.run(60_000);
    t.ok(converged(group), 'news of the old life does not kill the new one');
    t.equal(nodes[0]!.member(old.name)?.addr, reborn.address);
  });
});

t.test('joining retries until a seed is up, and fails clearly when none is', async (t) => {
  const seed = testSeeds(70, 1)[0]!;
  await withSeed(t, seed, 'late seed', async (t) => {
    const sim = new Simulator({ seed });
    const early = sim.add({ name: 'early', settings: { joinRetries: 5, joinRetryInterval: 1000 } });
    const joining = early.join(['10.200.0.1:7946']);
    await sim.run(2500);
    const late = sim.add({ name: 'late', addr: '10.200.0.1:7946' });
    t.equal(await sim.settle(joining), 1, 'joined on a retry');
    t.ok(await sim.runUntil(() => converged([early, late]), 10_000));
    const lonely = sim.add({
      name: 'lonely',
      settings: { joinRetries: 2, joinRetryInterval: 100 },
    });
    await t.rejects(sim.settle(lonely.join(['10.201.0.1:7946'])), JoinError);
    await t.rejects(lonely.join(['nonsense']), /bad address/);
    t.equal(await sim.settle(lonely.join([lonely.address])), 0, 'only itself: a group of one');
  });
});

t.test('a member cut off briefly is suspected, refutes, and is never declared dead', async (t) => {
  const seed = testSeeds(80, 1)[0]!;
  await withSeed(t, seed, '20 members, 2 s isolation', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 20);
    t.ok(await sim.runUntil(() => converged(nodes), 60_000));
    const seen = recordEvents(sim, nodes);
    const lonely = nodes[6]!;
    sim.partition([lonely]);
    t.ok(
      await sim.runUntil(
        () => seen.some((e) => e.type === 'suspect' && e.member === lonely.name),
        30_000,
      ),
      'suspected',
    );
    sim.heal();
    t.ok(
      await sim.runUntil(
        () => nodes.every((s) => s.member(lonely.name)?.state === 'alive'),
        30_000,
      ),
      'refuted',
    );
    t.ok(
      seen.some((e) => e.type === 'alive' && e.member === lonely.name),
      'others saw it alive again',
    );
    await sim.run(30_000);
    t.same(
      seen.filter((e) => e.type === 'dead'),
      [],
      'nobody declared dead',
    );
    t.ok(lonely.local.incarnation > 0, 'it refuted with a higher incarnation');
  });
});

t.test('Lifeguard: a degraded member does not get healthy ones declared dead', async (t) => {
  const seed = testSeeds(90, 1)[0]!;
  await withSeed(t, seed, '20 members, one with 50% loss and 300 ms delays', async (t) => {
    const sim = new Simulator({ seed });
    const nodes = await startGroup(sim, 20);
    t.ok(await sim.runUntil(() => converged(nodes), 60_000));
    const seen = recordEvents(sim, nodes);
    const sick = nodes[11]!;
    sim.degrade(sick, { loss: 0.5, delay: 300 });
    let maxHealth = 0;
    for (let i = 0; i < 120; i++) {
      await sim.run(1000);
      maxHealth = Math.max(maxHealth, sick.health);
    }
    const wrong = seen.filter((e) => e.type === 'dead' && e.member !== sick.name);
    t.same(wrong, [], 'no healthy member declared dead');
    t.ok(maxHealth > 0, `the degraded member noticed (health score reached ${maxHealth})`);
  });
});

t.test('with 10% loss the group still converges and detects a crash', async (t) => {
  const seed = testSeeds(100, 1)[0]!;
  await withSeed(t, seed, '30 members', async (t) => {
    const sim = new Simulator({ seed, loss: 0.1, maxDelay: 10 });
    const nodes = await startGroup(sim, 30);
    t.ok(await sim.runUntil(() => converged(nodes), 60_000), 'converged');
    const victim = nodes[29]!;
    sim.crash(victim);
    const rest = nodes.slice(0, 29);
    t.ok(
      await sim.runUntil(() => allSee(rest, victim.name, 'dead'), 120_000),
      'crash detected by all',
    );
  });
});

t.test('an encrypted group works; a member with another key cannot join', async (t) => {
  const seed = testSeeds(110, 1)[0]!;
  await withSeed(t, seed, '10 members with a keyring', async (t) => {
    const sim = new Simulator({ seed });
    const key = Keyring.generateKey();
    const nodes = await startGroup(sim, 10, { keyring: [key] });
    t.ok(await sim.runUntil(() => converged(nodes), 30_000));
    const intruder = sim.add({
      name: 'intruder',
      keyring: [Keyring.generateKey()],
      settings: { joinRetries: 1 },
    });
    await t.rejects(sim.settle(intruder.join([nodes[0]!.address])), JoinError);
    const dropped = nodes[0]!.stats().dropped.auth;
    t.ok(dropped > 0, `the seed dropped ${dropped} unauthenticated frames`);
    t.equal(nodes[0]!.member('intruder'), undefined);
    // Rotate the key on every member while the group keeps running.
    const next = Keyring.generateKey();
    for (const s of nodes) s.keyring?.install(next);
    await sim.run(2000);
    for (const s of nodes) s.keyring?.use(next);
    await sim.run(2000);
    for (const s of nodes) s.keyring?.remove(key);
    const seen = recordEvents(sim, nodes);
    await sim.run(30_000);
    t.same(
      seen.filter((e) => e.type === 'suspect' || e.type === 'dead'),
      [],
      'rotation caused no suspicion',
    );
    t.ok(converged(nodes));
  });
});

t.test('the simulator is deterministic: a seed replays the same run', async (t) => {
  const run = async () => {
    const sim = new Simulator({ seed: 4242, loss: 0.05, maxDelay: 20 });
    const nodes = await startGroup(sim, 25);
    const seen = recordEvents(sim, nodes);
    await sim.run(5000);
    sim.crash(nodes[3]!);
    nodes[7]!.store.put('k', 1);
    await sim.run(30_000);
    return {
      seen,
      stats: { ...sim.stats },
      members: nodes[0]!.members(true).map((m) => [m.name, m.state, m.incarnation]),
    };
  };
  const a = await run();
  const b = await run();
  t.ok(a.seen.length > 0);
  t.same(b, a, 'identical events, traffic and views');
});
