// Seeded randomness for property and fuzz tests: the seed (@vnet/testkit's testSeed, VNET_SEED
// replays one) is printed at the start and is part of every failure message.
import { mulberry32, testSeed } from '@vnet/testkit';
import type { Test } from 'tap';

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  bytes(n: number): Buffer;
  pick<T>(items: readonly T[]): T;
}

/** A generator seeded from VNET_SEED or at random; the seed is printed. */
export function seeded(t: Test): Rng {
  const seed = testSeed();
  t.comment(`seed ${seed} (re-run with VNET_SEED=${seed})`);
  const next = mulberry32(seed);
  const int = (max: number) => Math.floor(next() * max);
  return {
    seed,
    next,
    int,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
    pick: (items) => items[int(items.length)] as never,
  };
}
