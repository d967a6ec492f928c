// Seeds 1..500 of the cluster simulator (see helpers/sim.ts), plus a determinism check.
import t from 'tap';
import { runSeed } from './helpers/sim.js';
import { simSuite } from './helpers/sim-suite.js';

simSuite(1, 500);

t.test('the simulator is deterministic: a seed replays identically', async (t) => {
  for (const seed of [3, 4]) {
    const a = await runSeed(seed);
    const b = await runSeed(seed);
    t.same([b.steps, b.ops, b.trace], [a.steps, a.ops, a.trace], `seed ${seed} replays`);
  }
});
