// Convergence of the store's CRDTs: whatever the order, duplication or loss of updates,
// replicas that have exchanged everything hold one value per key.

import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { type Random, seededRandom, shuffle } from '../src/random.js';
import { withSeed } from './helpers/seed.js';
import { antiEntropy, makeStore, type TestStore } from './helpers/stores.js';

const KEYS = ['r/a', 'r/b', 's/a', 's/b', 'm/a', 'm/b'];

function randomOp(r: Random, s: TestStore): void {
  const key = KEYS[Math.floor(r() * KEYS.length)] as string;
  const v = Math.floor(r() * 5);
  const roll = r();
  if (key.startsWith('r/')) {
    if (roll < 0.8) s.store.put(key, { v, by: 'x' });
    else s.store.delete(key);
  } else if (key.startsWith('s/')) {
    if (roll < 0.55) s.store.add(key, [v, `e${v}`]);
    else if (roll < 0.9) s.store.remove(key, [v]);
    else s.store.delete(key);
  } else if (roll < 0.6) s.store.setField(key, `f${v % 3}`, v);
  else if (roll < 0.9) s.store.deleteField(key, `f${v % 3}`);
  else s.store.delete(key);
}

function view(s: TestStore): string {
  return JSON.stringify(s.store.entries());
}

t.test(
  'replicas converge whatever the delivery order (gossip with loss and duplicates)',
  async (t) => {
    for (const seed of testSeeds(100, 25)) {
      await withSeed(t, seed, 'random ops, random delivery', (st) => {
        const r = seededRandom(seed);
        const names = ['a', 'b', 'c', 'd'];
        const clock = { now: 0, wall: 1_700_000_000_000 };
        const reps = names.map((n) => makeStore(n, { clock }));
        const inflight: { to: number; wire: unknown[] }[] = [];
        for (let step = 0; step < 300; step++) {
          clock.wall += Math.floor(r() * 3); // concurrent writes share milliseconds
          const i = Math.floor(r() * reps.length);
          const rep = reps[i] as TestStore;
          const before = rep.spread.length;
          randomOp(r, rep);
          for (const wire of rep.spread.splice(before)) {
            for (let to = 0; to < reps.length; to++) {
              if (to === i || r() < 0.3) continue; // lost
              inflight.push({ to, wire });
              if (r() < 0.1) inflight.push({ to, wire }); // duplicated
            }
          }
          // Deliver a random part of what is in flight, in random order.
          shuffle(inflight, r);
          for (const m of inflight.splice(0, Math.floor(r() * inflight.length))) {
            (reps[m.to] as TestStore).store.applyRemote(m.wire, false);
          }
        }
        for (const m of shuffle(inflight, r))
          (reps[m.to] as TestStore).store.applyRemote(m.wire, false);
        // Anti-entropy repairs what gossip lost: two rounds of all pairs reach a fixpoint.
        for (let round = 0; round < 2; round++) {
          for (let x = 0; x < reps.length; x++) {
            for (let y = x + 1; y < reps.length; y++) {
              antiEntropy(
                (reps[x] as TestStore).store,
                (reps[y] as TestStore).store,
                names[x] as string,
                names[y] as string,
              );
            }
          }
        }
        const first = view(reps[0] as TestStore);
        for (const rep of reps) st.equal(view(rep), first, 'same entries everywhere');
        const digest = Buffer.from((reps[0] as TestStore).store.digest()).toString('hex');
        for (const rep of reps)
          st.equal(Buffer.from(rep.store.digest()).toString('hex'), digest, 'same digest');
        for (let x = 1; x < reps.length; x++) {
          st.same(
            antiEntropy((reps[0] as TestStore).store, (reps[x] as TestStore).store, 'a', 'x'),
            { toB: 0, toA: 0 },
            'nothing left to exchange',
          );
        }
      });
    }
  },
);

t.test('merging is commutative, associative and idempotent', async (t) => {
  for (const seed of testSeeds(500, 10)) {
    await withSeed(t, seed, 'permutations of the same updates', (st) => {
      const r = seededRandom(seed);
      const clock = { now: 0, wall: 1_700_000_000_000 };
      const writers = ['a', 'b', 'c'].map((n) => makeStore(n, { clock }));
      const updates: unknown[][] = [];
      for (let i = 0; i < 60; i++) {
        const w = writers[Math.floor(r() * writers.length)] as TestStore;
        const before = w.spread.length;
        randomOp(r, w);
        updates.push(...w.spread.slice(before));
        // Writers see some of each other's updates (causality between them).
        if (r() < 0.5)
          for (const u of updates.slice(-3)) for (const x of writers) x.store.applyRemote(u, false);
      }
      let expected: string | undefined;
      for (let p = 0; p < 6; p++) {
        const fresh = makeStore('z', { clock });
        const order = shuffle([...updates, ...updates.slice(0, 10)], r);
        for (const u of order) fresh.store.applyRemote(u, false);
        const v = view(fresh);
        if (expected === undefined) expected = v;
        else st.equal(v, expected, `permutation ${p} gives the same state`);
      }
    });
  }
});

t.test('observed-remove: a concurrent add wins over a remove; a seen add is removed', async (t) => {
  const clock = { now: 0, wall: 1_700_000_000_000 };
  const a = makeStore('a', { clock });
  const b = makeStore('b', { clock });
  a.store.add('s', ['x']);
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  b.store.remove('s', ['x']); // b saw the add, removes it
  a.store.add('s', ['x']); // concurrently, a adds it again (a new dot)
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  a.store.applyRemote(b.spread.at(-1) as unknown[]);
  t.same(a.store.get('s'), ['x'], 'add wins at a');
  t.same(b.store.get('s'), ['x'], 'add wins at b');
  b.store.remove('s', ['x']);
  a.store.applyRemote(b.spread.at(-1) as unknown[]);
  t.equal(a.store.get('s'), undefined, 'an observed remove removes everywhere');
  t.notOk(a.store.has('s'));

  a.store.setField('m', 'f', 1);
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  clock.wall += 5;
  b.store.setField('m', 'f', 2);
  a.store.deleteField('m', 'f'); // concurrent with b's later write
  a.store.applyRemote(b.spread.at(-1) as unknown[]);
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  t.same(a.store.get('m'), { f: 2 }, 'a concurrent field write survives a field delete');
  t.same(b.store.get('m'), { f: 2 });
});

t.test('registers: the larger hybrid timestamp wins, node name breaks ties', async (t) => {
  const clock = { now: 0, wall: 1_700_000_000_000 };
  const a = makeStore('a', { clock });
  const b = makeStore('b', { clock });
  a.store.put('k', 'from a');
  b.store.put('k', 'from b'); // same wall time, same logical counter
  a.store.applyRemote(b.spread.at(-1) as unknown[]);
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  t.equal(a.store.get('k'), 'from b');
  t.equal(b.store.get('k'), 'from b');
  // a's clock has observed b's write, so a's next write wins even with a wall clock behind.
  clock.wall -= 10_000;
  a.store.put('k', 'later from a');
  b.store.applyRemote(a.spread.at(-1) as unknown[]);
  t.equal(b.store.get('k'), 'later from a', 'causality survives clock skew');
});
