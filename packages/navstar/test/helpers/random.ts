// Seeded randomness for property and fuzz tests: the seed comes from VNET_SEED or the clock,
// and every test prints it so a failure can be replayed.
export function seedFromEnv(): number {
  const env = process.env.VNET_SEED;
  return env !== undefined ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32: small, fast, good enough to drive tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[int(r, xs.length)];
}
