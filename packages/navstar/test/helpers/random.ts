// Picking with a seeded generator (@vnet/testkit's mulberry32; every test prints its seed, and
// VNET_SEED replays it).
export function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[int(r, xs.length)];
}
