// Seeded randomness for property and fuzz tests: the seed comes from VNET_SEED when set, is
// printed at the start, and is part of every failure message so a failure can be re-run.
import type { Test } from 'tap';

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to drive test inputs. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return { seed, next, int, pick: (items) => items[int(items.length)] as never };
}

/** A generator seeded from VNET_SEED or at random; the seed is printed. */
export function seeded(t: Test): Rng {
  const fromEnv = process.env.VNET_SEED;
  const seed = fromEnv ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  t.comment(`seed ${seed} (re-run with VNET_SEED=${seed})`);
  return rng(seed);
}
