import t from 'tap';
import { StoreError, type StoreEvent } from '../src/store/store.js';
import { antiEntropy, makeStore } from './helpers/stores.js';

t.test('registers, sets and maps through the local API', async (t) => {
  const { store } = makeStore('a');
  store.put('vtep/a', { ip: '10.0.0.1', mac: '70:b3:d5:00:00:01' });
  t.same(store.get('vtep/a'), { ip: '10.0.0.1', mac: '70:b3:d5:00:00:01' });
  store.add('tasks', ['web.1', 'web.2']);
  store.remove('tasks', ['web.1']);
  t.same(store.get('tasks'), ['web.2']);
  store.setField('node/a', 'ip', '10.0.0.1');
  store.setField('node/a', 'zone', 'z1');
  store.deleteField('node/a', 'zone');
  t.same(store.get('node/a'), { ip: '10.0.0.1' });
  t.same(
    store.entries().map((e) => [e.key, e.kind]),
    [
      ['node/a', 'map'],
      ['tasks', 'set'],
      ['vtep/a', 'register'],
    ],
  );
  t.same(store.entry('tasks'), { key: 'tasks', kind: 'set', value: ['web.2'], owner: null });
  store.delete('vtep/a');
  store.delete('tasks');
  t.equal(store.get('vtep/a'), undefined);
  t.notOk(store.has('tasks'));
  t.equal(store.stats.tombstones, 2);
  t.equal(store.stats.keys, 1);
  store.put('vtep/a', 'back');
  t.equal(store.get('vtep/a'), 'back', 'a deleted key can be written again');
  store.add('tasks', [{ b: 1, a: 2 }]);
  store.remove('tasks', [{ a: 2, b: 1 }]);
  t.notOk(store.has('tasks'), 'set elements are identified by value, whatever the key order');
});

t.test('bad writes get clear errors and change nothing', async (t) => {
  const { store } = makeStore('a', { maxValueSize: 200 });
  store.put('k', 1);
  t.throws(() => store.add('k', [1]), /holds a register, not a set/);
  t.throws(() => store.put('', 1), StoreError);
  t.throws(() => store.put('x'.repeat(2000), 1), /1\.\.1024/);
  t.throws(() => store.put('big', 'x'.repeat(500)), /more than maxValueSize 200/);
  t.notOk(store.has('big'));
  t.throws(() => store.put('f', 2n ** 70n), /cannot be encoded/);
  t.throws(() => store.setField('m', '', 1), /field name/);
  t.equal(store.get('k'), 1);
});

t.test('subscribe: a snapshot first, then the changes under the prefix', async (t) => {
  const { store, errors } = makeStore('a');
  store.put('vtep/a', 1);
  store.put('other', 1);
  const seen: StoreEvent[] = [];
  const sub = store.subscribe('vtep/', (ev) => seen.push(ev));
  store.put('vtep/b', 2);
  store.put('other', 2);
  store.delete('vtep/a');
  sub.close();
  store.put('vtep/c', 3);
  t.same(seen, [
    { type: 'snapshot', entries: [{ key: 'vtep/a', kind: 'register', value: 1, owner: null }] },
    { type: 'put', entry: { key: 'vtep/b', kind: 'register', value: 2, owner: null } },
    {
      type: 'delete',
      key: 'vtep/a',
      previous: { key: 'vtep/a', kind: 'register', value: 1, owner: null },
      ownerGone: false,
    },
  ]);
  store.subscribe('', () => {
    throw new Error('listener bug');
  });
  store.put('x', 1);
  t.equal(errors.length, 2, 'a throwing listener is reported, the store carries on');
  t.equal(store.get('x'), 1);

  const it = store.changes('vtep/');
  const first = await it.next();
  t.equal(first.value?.type, 'snapshot');
  store.put('vtep/d', 4);
  const second = await it.next();
  t.same(second.value, {
    type: 'put',
    entry: { key: 'vtep/d', kind: 'register', value: 4, owner: null },
  });
  const pending = it.next();
  await it.return?.();
  t.same(await pending, { value: undefined, done: true }, 'closing ends a waiting iteration');
});

t.test('anti-entropy sends only the differences', async (t) => {
  const a = makeStore('a');
  const b = makeStore('b');
  for (let i = 0; i < 200; i++) a.store.put(`k${i}`, i);
  t.same(antiEntropy(a.store, b.store, 'a', 'b'), { toB: 200, toA: 0 });
  t.same(
    antiEntropy(a.store, b.store, 'a', 'b'),
    { toB: 0, toA: 0 },
    'equal digests: nothing moves',
  );
  a.store.put('k5', 'changed');
  b.store.put('only-b', 1);
  const moved = antiEntropy(a.store, b.store, 'a', 'b');
  t.same(moved, { toB: 1, toA: 2 }, 'k5 crosses (and comes back merged), only-b comes to a');
  t.equal(b.store.get('k5'), 'changed');
  t.equal(a.store.get('only-b'), 1);
  t.ok(b.store.differingBuckets(a.store.digest()).length === 0);
  t.ok(a.store.hashesIn([0, 1, 2]).length < 200, 'key hashes travel for differing buckets only');
});

t.test('a tombstone reaches a member that still holds the value, both ways', async (t) => {
  const a = makeStore('a');
  const b = makeStore('b');
  a.store.put('k', 1);
  antiEntropy(a.store, b.store, 'a', 'b');
  a.store.delete('k');
  antiEntropy(a.store, b.store, 'a', 'b'); // a (tombstone) initiates
  t.notOk(b.store.has('k'));
  b.store.put('j', 1);
  antiEntropy(b.store, a.store, 'b', 'a');
  b.store.delete('j');
  antiEntropy(a.store, b.store, 'a', 'b'); // a (live value) initiates: b must send its tombstone back
  t.notOk(a.store.has('j'));
});

t.test('tombstones are collected after the grace period once every live peer synced', async (t) => {
  const clock = { now: 0, wall: 1_700_000_000_000 };
  const a = makeStore('a', { clock, grace: 1000, maxAge: 100_000 });
  clock.now = 1000;
  a.store.put('k', 1);
  a.store.delete('k');
  clock.now = 2000;
  t.equal(a.store.collectGarbage(['b']), 0, 'b never synced');
  a.store.markSynced('b', 1500);
  t.equal(a.store.collectGarbage(['b', 'c']), 0, 'c never synced since');
  a.store.markSynced('c', 500);
  t.equal(a.store.collectGarbage(['b', 'c']), 0, 'c synced before the delete');
  a.store.markSynced('c', 1800);
  t.equal(a.store.collectGarbage(['b', 'c']), 1);
  t.equal(a.store.stats.tombstones, 0);

  a.store.put('j', 1);
  a.store.delete('j');
  clock.now = 200_000;
  t.equal(a.store.collectGarbage(['never-synced']), 1, 'the maximum age is a backstop');
  a.store.put('alone', 1);
  a.store.delete('alone');
  clock.now = 201_500;
  t.equal(a.store.collectGarbage([]), 1, 'no peers: the grace period is enough');
});

t.test(
  'keys bound to a member vanish when it dies, and its stale copies are refused',
  async (t) => {
    const owner = makeStore('o', { boot: 100 });
    const other = makeStore('x');
    owner.store.put('vtep/o', { ip: '10.0.0.9' }, { bound: true });
    owner.store.put('free', 1);
    t.equal(owner.store.entry('vtep/o')?.owner, 'o');
    other.lives.set('o', { state: 'alive', boot: 100 });
    for (const w of owner.spread) other.store.applyRemote(w);
    t.equal(other.store.entry('vtep/o')?.owner, 'o');
    t.throws(() => other.store.put('vtep/o', 'mine'), /bound to member o/);

    other.lives.set('o', { state: 'dead', boot: 100 });
    const drops: StoreEvent[] = [];
    const sub = other.store.subscribe('vtep/', (ev) => drops.push(ev));
    t.equal(other.store.dropOwner('o', 100), 1);
    sub.close();
    t.match(
      drops.at(-1),
      { type: 'delete', key: 'vtep/o', ownerGone: true },
      'said to be its owner going',
    );
    t.notOk(other.store.has('vtep/o'));
    t.ok(other.store.has('free'), 'unbound keys stay');
    other.store.applyRemote(owner.spread[0] as unknown[]);
    t.notOk(other.store.has('vtep/o'), 'a late copy from the dead life is refused');
    t.equal(other.store.stats.remoteRefused, 1);

    // The member comes back (it refuted its death): its keys are welcome again.
    other.lives.set('o', { state: 'alive', boot: 100 });
    for (const w of owner.store.ownBound()) other.store.applyRemote(w);
    t.ok(other.store.has('vtep/o'));

    // A new life of the member: keys bound to the old life are dropped and refused.
    const reborn = makeStore('o', { boot: 200 });
    reborn.store.put('vtep/o', { ip: '10.0.0.10' }, { bound: true });
    other.lives.set('o', { state: 'alive', boot: 200 });
    other.store.dropOwner('o', 199);
    other.store.applyRemote(owner.spread[0] as unknown[]);
    t.notOk(other.store.has('vtep/o'), 'old life refused');
    other.store.applyRemote(reborn.spread[0] as unknown[]);
    t.same(other.store.get('vtep/o'), { ip: '10.0.0.10' });
    t.equal(
      reborn.store.applyRemote(owner.spread[0] as unknown[]),
      false,
      'a member refuses its own old life',
    );

    owner.store.put('vtep/o', 'unbound now', { bound: false });
    t.equal(owner.store.entry('vtep/o')?.owner, null);
  },
);
