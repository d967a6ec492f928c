// Seeds for randomized tests: VNET_SEED=<n> re-runs one seed; a failing test names its seed.
import type { Test } from 'tap';

/** The seeds to run: `VNET_SEED` alone if set, else `count` seeds from `base`. */
export function seeds(base: number, count: number): number[] {
  const env = process.env['VNET_SEED'];
  if (env !== undefined && env !== '') return [Number(env) >>> 0];
  return Array.from({ length: count }, (_, i) => base + i);
}

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
