// The upper end of the simulated sizes: 1,000 members join at once, converge, and detect a crash.

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { Simulator } from '../src/sim/simulator.js';
import { allSee, converged, recordEvents, startGroup } from './helpers/group.js';
import { withSeed } from './helpers/seed.js';

t.test('1,000 members converge and all detect a crash', async (t) => {
  const seed = testSeeds(7, 1)[0]!;
  await withSeed(t, seed, '1,000-member join storm', async (t) => {
    const sim = new Simulator({ seed, maxDelay: 10 });
    const nodes = await startGroup(sim, 1000);
    t.ok(await sim.runUntil(() => converged(nodes), 120_000, 1000), 'everyone sees all 1,000');
    t.comment(`converged after ${sim.now} virtual ms`);
    const seen = recordEvents(sim, nodes);
    const victim = nodes[500]!;
    const at = sim.now;
    sim.crash(victim);
    const rest = nodes.filter((s) => s !== victim);
    t.ok(
      await sim.runUntil(() => allSee(rest, victim.name, 'dead'), 120_000, 500),
      'all 999 mark it dead',
    );
    t.comment(`detected by all after ${sim.now - at} virtual ms`);
    t.same(
      seen.filter((e) => e.type === 'dead' && e.member !== victim.name),
      [],
      'no false positive',
    );
    nodes[1]!.store.put('k', 'v');
    t.ok(
      await sim.runUntil(() => rest.every((s) => s.store.get('k') === 'v'), 30_000, 100),
      'a key reaches everyone',
    );
  });
});
