// Runs a range of simulator seeds as one tap test. A failure prints its seed; re-run one with
//   VNET_SEED=<seed> npx tap dist/test/sim-1.test.js

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { runSeed } from './sim.js';

export function simSuite(first: number, count: number): void {
  if (process.env.VNET_SEED && first !== 1) {
    t.plan(0, 'VNET_SEED replays one seed, in the first suite');
    return;
  }
  const seeds = testSeeds(first, count);
  t.test(
    `simulated clusters under faults: seeds ${seeds[0]}..${seeds[seeds.length - 1]}`,
    async (t) => {
      let steps = 0;
      let ops = 0;
      let failures = 0;
      let early = 0;
      for (const seed of seeds) {
        const r = await runSeed(seed);
        steps += r.steps;
        ops += r.ops;
        early += r.early;
        if (r.error) {
          failures++;
          t.fail(`seed ${seed} failed (re-run: VNET_SEED=${seed})`, {
            diagnostic: true,
            error: r.error,
          });
          if (failures >= 3) break;
        }
      }
      t.equal(
        failures,
        0,
        `every seed safe, live and linearizable (${steps} steps, ${ops} client operations)`,
      );
      // The driver's early-apply path (commits learned outside a Ready) is among what was checked.
      t.ok(early > 0, `${early} entries applied early (as soon as committed, outside a Ready)`);
    },
  );
}
