/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * A small, fast, seedable generator (sfc32 seeded through splitmix32). The simulator and the
 * tests use it so that a seed replays a run exactly; real nodes may use it or `Math.random`.
 */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher-Yates shuffle in place; returns the same array. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/**
 * Up to `k` distinct items chosen uniformly from `items` that pass `accept`, without copying the
 * whole array (a partial Fisher-Yates over indices, bounded by `items.length` draws).
 */
export function sample<T>(
  items: readonly T[],
  k: number,
  random: Random,
  accept: (item: T) => boolean = () => true,
): T[] {
  const out: T[] = [];
  const n = items.length;
  if (k <= 0 || n === 0) return out;
  // Swap-remove over a sparse index map keeps this O(draws) for large arrays.
  const swapped = new Map<number, number>();
  for (let i = 0; i < n && out.length < k; i++) {
    const j = i + randomInt(random, n - i);
    const atJ = swapped.get(j) ?? j;
    const atI = swapped.get(i) ?? i;
    swapped.set(j, atI);
    const item = items[atJ] as T;
    if (accept(item)) out.push(item);
  }
  return out;
}
