// Stores without a network, for the store's own tests: a manual clock, a membership view the
// test controls, and the entries each store asked to spread.
import { type OwnerLife, Store, type StoreHost } from '../../src/store/store.js';

export interface TestStore {
  store: Store;
  spread: unknown[][];
  lives: Map<string, OwnerLife>;
  clock: { now: number; wall: number };
  errors: unknown[];
}

export function makeStore(
  self: string,
  opts: {
    boot?: number;
    grace?: number;
    maxAge?: number;
    maxValueSize?: number;
    clock?: { now: number; wall: number };
  } = {},
): TestStore {
  const clock = opts.clock ?? { now: 0, wall: 1_700_000_000_000 };
  const spread: unknown[][] = [];
  const lives = new Map<string, OwnerLife>();
  const errors: unknown[] = [];
  const host: StoreHost = {
    self,
    boot: opts.boot ?? 1,
    now: () => clock.now,
    wallClock: () => clock.wall,
    ownerLife: (name) => lives.get(name),
    spread: (_key, wire) => spread.push(wire),
    listenerError: (err) => errors.push(err),
  };
  const store = new Store(host, {
    tombstoneGrace: opts.grace ?? 60_000,
    tombstoneMaxAge: opts.maxAge ?? 24 * 3600_000,
    maxValueSize: opts.maxValueSize ?? 1 << 20,
  });
  return { store, spread, lives, clock, errors };
}

/**
 * One full anti-entropy exchange between two stores, as the sync protocol runs it over TCP.
 * Returns how many entries crossed in each direction.
 */
export function antiEntropy(
  a: Store,
  b: Store,
  aName: string,
  bName: string,
): { toB: number; toA: number } {
  const buckets = b.differingBuckets(a.digest());
  const hashes = b.hashesIn(buckets);
  if (buckets.length === 0) return { toB: 0, toA: 0 };
  const { send, wants } = a.reconcile(buckets, hashes);
  const { ahead } = b.mergeSync(send);
  const back = b.wireOf([...new Set([...wants, ...ahead])]);
  a.mergeSync(back);
  a.markSynced(bName, 0);
  b.markSynced(aName, 0);
  return { toB: send.length, toA: back.length };
}
