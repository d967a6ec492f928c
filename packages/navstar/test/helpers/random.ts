// Seeded randomness for property and fuzz tests: the seed comes from VNET_SEED or the clock,
// and every test prints it so a failure can be replayed.
export function seedFromEnv(): number {
  const env = process.env.VNET_SEED;
  return env !== undefined ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32, shared with the bench's workload generator. */
export { rng } from '../../bench/workload.js';

export function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[int(r, xs.length)];
}
