// Seeds for randomized tests. Every such test prints its seed; VNET_SEED=<n> replays it.

function envSeed(): number | undefined {
  const env = process.env['VNET_SEED'];
  if (env === undefined || env === '') return undefined;
  const seed = Number(env);
  if (!Number.isInteger(seed)) throw new Error(`VNET_SEED=${env}: give a whole number`);
  return seed >>> 0;
}

/** VNET_SEED when set; else `fallback` when given; else a random 32-bit seed. */
export function testSeed(fallback?: number): number {
  return envSeed() ?? fallback ?? Math.floor(Math.random() * 2 ** 32);
}

/** The seeds to run: VNET_SEED alone when set; else VNET_SEEDS (default `count`) from `first`. */
export function testSeeds(first: number, count: number): number[] {
  const only = envSeed();
  if (only !== undefined) return [only];
  const n = Number(process.env['VNET_SEEDS'] ?? count);
  return Array.from({ length: n }, (_, i) => first + i);
}

/** mulberry32: a small, fast generator of numbers in [0, 1), good enough to drive test inputs. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
