import t from 'tap';
import { mulberry32, testSeed, testSeeds } from '../src/index.js';

t.test('VNET_SEED replays one seed; without it, a fallback or a random one', async (t) => {
  const saved = { seed: process.env.VNET_SEED, seeds: process.env.VNET_SEEDS };
  t.teardown(() => {
    for (const [k, v] of [
      ['VNET_SEED', saved.seed],
      ['VNET_SEEDS', saved.seeds],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  delete process.env.VNET_SEED;
  delete process.env.VNET_SEEDS;
  t.equal(testSeed(11), 11);
  const r = testSeed();
  t.ok(Number.isInteger(r) && r >= 0 && r < 2 ** 32, `random: ${r}`);
  t.same(testSeeds(5, 3), [5, 6, 7]);
  process.env.VNET_SEEDS = '2';
  t.same(testSeeds(5, 3), [5, 6], 'VNET_SEEDS changes the count');
  process.env.VNET_SEED = '42';
  t.equal(testSeed(11), 42);
  t.same(testSeeds(5, 3), [42]);
  process.env.VNET_SEED = 'x';
  t.throws(() => testSeed(), /VNET_SEED=x: give a whole number/);
});

t.test('mulberry32 is deterministic and uniform enough', async (t) => {
  const a = mulberry32(1);
  const b = mulberry32(1);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(xs.slice(0, 3), [b(), b(), b()], 'the same seed gives the same numbers');
  t.ok(
    xs.every((x) => x >= 0 && x < 1),
    'all in [0, 1)',
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean.toFixed(3)}`);
  t.not(mulberry32(2)(), xs[0], 'another seed, other numbers');
});
