// Seeded randomness for property and fuzz tests: the seed comes from VNET_SEED when set, is
// printed at the start, and is part of every failure message so a failure can be re-run.
import { mulberry32, testSeed } from '@vnet/testkit';
import type { Test } from 'tap';

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
}

/** A generator of test inputs (testkit's mulberry32) with the helpers the tests use. */
export function rng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (max: number) => Math.floor(next() * max);
  return { seed, next, int, pick: (items) => items[int(items.length)] as never };
}

/** A generator seeded from VNET_SEED or at random; the seed is printed. */
export function seeded(t: Test): Rng {
  const seed = testSeed();
  t.comment(`seed ${seed} (re-run with VNET_SEED=${seed})`);
  return rng(seed);
}
