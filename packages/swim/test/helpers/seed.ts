// A randomized test per seed (the seeds: @vnet/testkit's testSeeds; VNET_SEED=<n> re-runs one);
// a failing test names its seed.
import type { Test } from 'tap';

/** Runs `fn` as a subtest named after the seed; on failure it prints how to replay it. */
export async function withSeed(
  t: Test,
  seed: number,
  name: string,
  fn: (t: Test) => Promise<void> | void,
): Promise<void> {
  await t.test(`${name} (seed ${seed})`, async (st) => {
    try {
      await fn(st);
    } finally {
      if (!st.passing()) {
        st.comment(
          `FAILED with seed ${seed}; replay: VNET_SEED=${seed} npx tap ${process.argv[1] ?? ''}`,
        );
      }
    }
  });
}
