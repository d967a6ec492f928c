// LevelStorage on a real LevelDB: what is saved is loaded back; damage is detected and named.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Test } from 'tap';
import t from 'tap';
import type { Entry, Snapshot } from '../src/core/types.js';
import { EntryType } from '../src/core/types.js';
import { CorruptStoreError } from '../src/errors.js';
import { LevelStorage } from '../src/storage/level.js';

const ent = (index: number, term: number, s = `v${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: Buffer.from(s),
});
const snap = (index: number, term: number, data = 'state'): Snapshot => ({
  meta: { index, term, conf: { voters: ['a', 'b', 'c'], learners: [] } },
  data: Buffer.from(data),
});

async function withDir(t: Test, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await fn(dir);
}

const indexes = (es: Entry[]) => es.map((e) => [e.index, e.term, Buffer.from(e.data).toString()]);

t.test('save and load: entries, truncation, hard state, snapshots, compaction', async (t) => {
  await withDir(t, async (dir) => {
    let s = await LevelStorage.open(dir, { nodeId: 'a' });
    t.equal(await s.load(), undefined, 'a new store is empty');
    await s.save({
      entries: [ent(1, 1), ent(2, 1), ent(3, 1)],
      hardState: { term: 1, vote: 'a', commit: 1 },
      sync: true,
    });
    // a new leader's entries replace the tail from index 2
    await s.save({
      entries: [ent(2, 2, 'x')],
      hardState: { term: 2, vote: 'b', commit: 2 },
      sync: true,
    });
    await s.close();
    s = await LevelStorage.open(dir, { nodeId: 'a' });
    let st = (await s.load())!;
    t.same(st.hardState, { term: 2, vote: 'b', commit: 2 });
    t.same(indexes(st.entries), [
      [1, 1, 'v1'],
      [2, 2, 'x'],
    ]);
    await s.save({
      entries: [ent(3, 2), ent(4, 2), ent(5, 2)],
      hardState: { term: 2, vote: 'b', commit: 5 },
      sync: true,
    });
    await s.saveSnapshot(snap(4, 2), 3);
    await s.close();
    s = await LevelStorage.open(dir, { nodeId: 'a' });
    st = (await s.load())!;
    t.equal(st.snapshot.meta.index, 4);
    t.equal(Buffer.from(st.snapshot.data).toString(), 'state');
    t.same(indexes(st.entries), [[5, 2, 'v5']], 'entries after the snapshot');
    t.same(s.storedRange(), { first: 4, last: 5 }, 'entry 4 kept as trailing entry');
    // a snapshot from the leader replaces the whole log
    await s.save({
      entries: [ent(11, 3)],
      snapshot: snap(10, 3, 'newer'),
      hardState: { term: 3, vote: '', commit: 11 },
      sync: true,
    });
    await s.close();
    s = await LevelStorage.open(dir, { nodeId: 'a' });
    st = (await s.load())!;
    t.equal(Buffer.from(st.snapshot.data).toString(), 'newer');
    t.same(indexes(st.entries), [[11, 3, 'v11']]);
    t.same(s.storedRange(), { first: 11, last: 11 });
    await s.close();
  });
});

t.test('a store of another node is refused', async (t) => {
  await withDir(t, async (dir) => {
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    await s.load();
    await s.close();
    const o = await LevelStorage.open(dir, { nodeId: 'b' });
    await t.rejects(o.load(), /belongs to node a, not b/);
    await o.close();
  });
});

t.test('an open store cannot be opened twice (LevelDB lock)', async (t) => {
  await withDir(t, async (dir) => {
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    await t.rejects(LevelStorage.open(dir, { nodeId: 'a' }), /cannot open raft store/);
    await s.close();
  });
});

t.test('a store in use that looks damaged is reported as in use', async (t) => {
  await withDir(t, async (dir) => {
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    await s.load();
    await s.save({
      entries: [ent(1, 1)],
      hardState: { term: 1, vote: 'a', commit: 1 },
      sync: true,
    });
    const current = join(dir, 'CURRENT');
    const saved = await readFile(current);
    await writeFile(current, 'garbage');
    const inUse = await LevelStorage.open(dir, { nodeId: 'a' }).catch((e: unknown) => e);
    const linux = process.platform === 'linux';
    if (linux)
      t.match(
        (inUse as Error).message,
        new RegExp(
          `cannot open raft store at .*: it is in use \\(process ${process.pid} holds its LOCK\\)`,
        ),
      );
    await s.close();
    const damaged = await LevelStorage.open(dir, { nodeId: 'a' }).catch((e: unknown) => e);
    t.ok(damaged instanceof CorruptStoreError, 'closed, it is damaged');
    await writeFile(current, saved);
    await (await LevelStorage.open(dir, { nodeId: 'a' })).close();
  });
});

/** Writes a healthy store, damages it with `damage`, and expects load to name `record`. */
async function damaged(
  t: Test,
  damage: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>,
  record: string,
  detail: RegExp,
) {
  await withDir(t, async (dir) => {
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    await s.load();
    await s.save({
      entries: [ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)],
      hardState: { term: 2, vote: 'a', commit: 4 },
      sync: true,
    });
    await s.close();
    const db = new ClassicLevel<Buffer, Buffer>(dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await damage(db);
    await db.close();
    const again = await LevelStorage.open(dir, { nodeId: 'a' });
    await t.rejects(again.load(), { name: 'CorruptStoreError', record, message: detail });
    await again.close();
  });
}

const entryKey = (i: number) => {
  const k = Buffer.alloc(9);
  k[0] = 0x65;
  k.writeBigUInt64BE(BigInt(i), 1);
  return k;
};

t.test('damage is detected and named, never silently truncated', async (t) => {
  await damaged(
    t,
    async (db) => {
      const v = (await db.get(entryKey(3)))!;
      v[v.length - 1] ^= 0xff;
      await db.put(entryKey(3), v);
    },
    'entry 3',
    /checksum mismatch/,
  );
  await damaged(t, (db) => db.del(entryKey(2)), 'entries 2..2', /missing/);
  await damaged(
    t,
    async (db) => {
      await db.put(entryKey(3), (await db.get(entryKey(4)))!);
    },
    'entry 3',
    /holds entry 4/,
  );
  await damaged(
    t,
    (db) => db.put(Buffer.from('h'), Buffer.from([1, 2])),
    'hard state',
    /too short/,
  );
  await damaged(
    t,
    async (db) => {
      await db.del(entryKey(4));
    },
    'hard state',
    /commit 4 is beyond the last stored entry 3/,
  );
  await damaged(
    t,
    async (db) => {
      const v = (await db.get(Buffer.from('m')))!;
      v[0] ^= 1;
      await db.put(Buffer.from('m'), v);
    },
    'metadata',
    /checksum mismatch/,
  );
  t.ok(new CorruptStoreError('/x', 'entry 1', 'bad') instanceof Error);
});
