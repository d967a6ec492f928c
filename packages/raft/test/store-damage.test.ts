// Damaged LevelDB files under a real RaftNode: the reproduction (a one-member node with
// 300 acknowledged proposals whose write-ahead log is damaged) and its variants in every file of
// the store. A damaged store must refuse to start, naming the store and the damage, and be left as
// it was found; a torn tail (a crash's unfinished, unacknowledged write) must not stop a restart,
// and every acknowledged entry must still be there.
import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import t from 'tap';
import { encodeCommand } from '../examples/kv-store.js';
import { EntryType } from '../src/core/types.js';
import { CorruptStoreError } from '../src/errors.js';
import { crc32c, maskCrc } from '../src/storage/crc32c.js';
import { LevelStorage } from '../src/storage/level.js';
import { verifyStoreFiles } from '../src/storage/leveldb-files.js';
import { LOG_BLOCK, LOG_HEADER } from '../src/storage/leveldb-format.js';
import { scanLog } from '../src/storage/leveldb-log.js';
import { verifyTable } from '../src/storage/leveldb-table.js';
import type { RaftStorage } from '../src/storage/storage.js';
import type { Member } from './helpers/cluster.js';
import { TestCluster } from './helpers/cluster.js';

const N = 300;
const value = (i: number) => `${i}:`.padEnd(120, 'x');
const put = (key: string, v: string) => encodeCommand({ op: 'put', key, value: v });

/** A one-member cluster whose node acknowledged N proposals and was stopped. */
async function acked(t: Test, opts: { storage?: RaftStorage } = {}): Promise<TestCluster> {
  const c = await TestCluster.start(1);
  t.teardown(() => c.stop());
  if (opts.storage) {
    await c.stopMember('n1');
    await c.startMember('n1', { storage: opts.storage });
  }
  const l = await c.leader();
  for (let i = 0; i < N; i++) await l.node.propose(put(`k${i}`, value(i)));
  await c.stopMember('n1');
  return c;
}

const dataDir = (c: TestCluster) => join(c.dir, 'n1');

async function files(dir: string, ext: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(ext)).sort();
}

/** Name -> content hash of every file, to show that a refused start changed nothing. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash('sha256')
      .update(await readFile(join(dir, f)))
      .digest('hex');
  return out;
}

async function edit(path: string, fn: (b: Buffer) => void): Promise<void> {
  const b = await readFile(path);
  fn(b);
  await writeFile(path, b);
}

/** Restarting must fail with a CorruptStoreError naming the store, `file` and `detail`. */
async function refused(t: Test, c: TestCluster, file: string, detail: RegExp): Promise<void> {
  const dir = dataDir(c);
  const before = await fingerprint(dir);
  const err = await c.startMember('n1').catch((e: unknown) => e);
  if (!(err instanceof CorruptStoreError)) {
    t.fail(
      `expected a CorruptStoreError, got ${err instanceof Error ? err.message : 'a started node'}`,
    );
    return;
  }
  t.equal(err.path, dir, 'names the store');
  t.equal(err.file, file, `names the file ${file}`);
  t.match(err.message, detail);
  t.ok(err.message.startsWith(`raft store at ${dir} is damaged: `), err.message);
  t.same(await fingerprint(dir), before, 'the store is left as it was found');
}

/** Restarting works and every acknowledged entry is applied. */
async function allThere(t: Test, c: TestCluster): Promise<Member> {
  const m = await c.startMember('n1');
  await (await c.leader()).node.read();
  let missing = 0;
  for (let i = 0; i < N; i++) if (m.store.get(`k${i}`) !== value(i)) missing++;
  t.equal(missing, 0, `all ${N} acknowledged entries are there`);
  return m;
}

/** The WAL's physical records (all valid in an undamaged log). */
async function walRecords(path: string) {
  const scan = scanLog(await readFile(path));
  if (scan.bad) throw new Error(`the undamaged log does not check out: ${scan.bad.reason}`);
  return scan.records;
}

t.test('the issue: damage in the middle of the WAL stops the restart', async (t) => {
  t.test('a flipped byte mid-record in the last block (LevelDB drops the rest)', async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    const size = (await readFile(path)).length;
    t.ok(size > LOG_BLOCK, `the log has ${size} bytes: more than one block`);
    const recs = await walRecords(path);
    const lastBlock = recs.filter((r) => r.offset >= size - (size % LOG_BLOCK));
    const r = lastBlock[Math.floor(lastBlock.length / 2)]!;
    await edit(path, (b) => {
      b[r.offset + LOG_HEADER + (r.length >> 1)]! ^= 0x20;
    });
    await refused(
      t,
      c,
      log!,
      new RegExp(
        `write-ahead log ${log}: record at offset ${r.offset} \\(block \\d+\\) fails its checksum, and \\d+ valid records follow it: the store is damaged, not just torn by a crash`,
      ),
    );
  });

  t.test('a zeroed range', async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    await edit(path, (b) => b.fill(0, b.length - 3000, b.length - 2800));
    await refused(t, c, log!, /fails its checksum, and \d+ valid records follow it/);
  });

  t.test('a damaged header length', async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    const recs = await walRecords(path);
    const r = recs[recs.length - 10]!;
    await edit(path, (b) => b.writeUInt16LE(0xffff, r.offset + 4));
    await refused(
      t,
      c,
      log!,
      new RegExp(
        `record at offset ${r.offset} \\(block \\d+\\) has a length of 65535 bytes, past the end of its block, and 9 valid records follow it`,
      ),
    );
  });

  t.test('a length made shorter (the record still fits its block)', async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    const recs = await walRecords(path);
    const r = recs[recs.length - 20]!;
    await edit(path, (b) => b.writeUInt16LE(r.length - 30, r.offset + 4));
    await refused(t, c, log!, /fails its checksum, and 19 valid records follow it/);
  });

  t.test('damage in the first block when later blocks exist', async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    const recs = await walRecords(path);
    const r = recs.find((x) => x.offset > 10000)!;
    await edit(path, (b) => {
      b[r.offset + LOG_HEADER + 3]! ^= 1;
    });
    await refused(
      t,
      c,
      log!,
      new RegExp(`record at offset ${r.offset} \\(block 0\\) fails its checksum`),
    );
  });

  t.test("an entry's own checksum (LevelDB's record checksum made to match again)", async (t) => {
    const c = await acked(t);
    const [log] = await files(dataDir(c), '.log');
    const path = join(dataDir(c), log!);
    const recs = await walRecords(path);
    await edit(path, (b) => {
      const at = b.indexOf(value(150));
      b[at + 10]! ^= 1;
      const r = recs.find((x) => x.offset <= at && at < x.offset + LOG_HEADER + x.length)!;
      b.writeUInt32LE(maskCrc(crc32c(b, r.offset + 6, r.offset + LOG_HEADER + r.length)), r.offset);
    });
    const dir = dataDir(c);
    t.notOk((await verifyStoreFiles(dir)).tornTail, "LevelDB's files check out");
    const err = await c.startMember('n1').catch((e: unknown) => e);
    t.ok(err instanceof CorruptStoreError);
    t.match((err as CorruptStoreError).record, /^entry \d+$/);
    t.match((err as Error).message, /is damaged: entry \d+: checksum mismatch/);
  });
});

t.test('damage in the table files', async (t) => {
  /** N acknowledged entries, then a restart (which turns the log into a table) and a stop. */
  async function tabled(t: Test) {
    const c = await acked(t);
    await allThere(t, c);
    await c.stopMember('n1');
    const [table] = await files(dataDir(c), '.ldb');
    t.ok(table, `the entries are in table ${table}`);
    const path = join(dataDir(c), table!);
    const blocks = verifyTable(await readFile(path), table!);
    return { c, table: table!, path, blocks };
  }

  t.test('a data block', async (t) => {
    const { c, table, path, blocks } = await tabled(t);
    const data = blocks.filter((b) => b.kind === 'data block');
    t.ok(data.length > 1, `${data.length} data blocks`);
    const b = data[1]!;
    await edit(path, (buf) => {
      buf[b.offset + (b.size >> 1)]! ^= 0x40;
    });
    await refused(
      t,
      c,
      table,
      new RegExp(`table ${table}: the data block at offset ${b.offset} fails its checksum`),
    );
  });

  t.test('the filter block (LevelDB would silently miss keys)', async (t) => {
    const { c, table, path, blocks } = await tabled(t);
    const b = blocks.find((x) => x.kind === 'meta block')!;
    await edit(path, (buf) => {
      buf[b.offset]! ^= 0xff;
    });
    await refused(t, c, table, /the meta block at offset \d+ fails its checksum/);
  });

  t.test('the index block', async (t) => {
    const { c, table, path, blocks } = await tabled(t);
    const b = blocks.find((x) => x.kind.startsWith('index block'))!;
    await edit(path, (buf) => {
      buf[b.offset + 2]! ^= 0x08;
    });
    await refused(
      t,
      c,
      table,
      /the index block \(as the footer places it\) at offset \d+ fails its checksum/,
    );
  });

  t.test('the footer: a block handle, the padding, the magic number', async (t) => {
    const { c, table, path } = await tabled(t);
    const orig = await readFile(path);
    const footer = orig.length - 48;
    await edit(path, (buf) => {
      buf[footer + 1]! ^= 0x01;
    });
    await refused(
      t,
      c,
      table,
      /(metaindex|index) block \(as the footer places it\) at offset \d+ (fails its checksum|runs past)/,
    );
    await writeFile(path, orig);
    await edit(path, (buf) => {
      buf[footer + 30] = 7;
    });
    await refused(t, c, table, /the footer at offset \d+ is malformed: padding is not zero/);
    await writeFile(path, orig);
    await edit(path, (buf) => {
      buf[buf.length - 1]! ^= 0xff;
    });
    await refused(t, c, table, /lacks the table magic number/);
  });

  t.test('a truncated or missing table', async (t) => {
    const { c, table, path } = await tabled(t);
    const orig = await readFile(path);
    await truncate(path, orig.length - 100);
    await refused(
      t,
      c,
      table,
      new RegExp(
        `table ${table}: is ${orig.length - 100} bytes, MANIFEST-\\d+ says ${orig.length}`,
      ),
    );
    await unlink(path);
    await refused(
      t,
      c,
      table,
      new RegExp(`table ${table}: is missing \\(MANIFEST-\\d+ lists it at level 0\\)`),
    );
  });
});

t.test('damage to MANIFEST and CURRENT', async (t) => {
  async function store(t: Test) {
    const c = await acked(t);
    await allThere(t, c); // a second session: the log becomes a table, a new MANIFEST is written
    await c.stopMember('n1');
    const [manifest] = (await readdir(dataDir(c))).filter((f) => f.startsWith('MANIFEST-'));
    return { c, manifest: manifest!, path: join(dataDir(c), manifest!) };
  }

  t.test('a flipped byte or a cut in the MANIFEST', async (t) => {
    const { c, manifest, path } = await store(t);
    const orig = await readFile(path);
    const recs = scanLog(orig).records;
    t.equal(recs.length, 2, 'a snapshot and the opening edit');
    await edit(path, (b) => {
      b[recs[1]!.offset + 9]! ^= 1;
    });
    await refused(
      t,
      c,
      manifest,
      new RegExp(
        `${manifest}: record at offset ${recs[1]!.offset} \\(block 0\\) fails its checksum`,
      ),
    );
    await writeFile(path, orig.subarray(0, orig.length - 5));
    await refused(
      t,
      c,
      manifest,
      /the file ends inside the record .*, but its first two records are always whole/,
    );
  });

  t.test(
    'CURRENT missing (LevelDB would start an empty store), garbage, or naming no file',
    async (t) => {
      const { c, manifest } = await store(t);
      const current = join(dataDir(c), 'CURRENT');
      await unlink(current);
      await refused(
        t,
        c,
        'CURRENT',
        /CURRENT: is missing, but the directory holds LevelDB files .*LevelDB would start an empty store over them/,
      );
      await writeFile(current, 'x\u0000\u0007garbage');
      await refused(t, c, 'CURRENT', /CURRENT: does not name a MANIFEST file/);
      await writeFile(current, 'MANIFEST-000999\n');
      await refused(t, c, 'CURRENT', /CURRENT: names MANIFEST-000999, which is missing/);
      await writeFile(current, `${manifest}\n`);
      await allThere(t, c);
    },
  );
});

t.test('torn tails of the newest WAL are accepted; every acknowledged entry is kept', async (t) => {
  /**
   * N acknowledged proposals, then one more write that no client was told about (three entries
   * and the hard state, as the node writes a batch), which a crash then tears.
   */
  async function torn(t: Test, big = false) {
    const c = await TestCluster.start(1);
    t.teardown(() => c.stop());
    await c.stopMember('n1');
    const dir = dataDir(c);
    const inner = await LevelStorage.open(dir, { nodeId: 'n1' });
    const keepOpen: RaftStorage = {
      load: () => inner.load(),
      save: (u) => inner.save(u),
      saveSnapshot: (s, i) => inner.saveSnapshot(s, i),
      close: async () => {},
    };
    await c.startMember('n1', { storage: keepOpen });
    const l = await c.leader();
    for (let i = 0; i < N; i++) await l.node.propose(put(`k${i}`, value(i)));
    await c.stopMember('n1');
    const { last } = inner.storedRange();
    const hs = (await inner.storedHardState())!;
    await inner.save({
      entries: [1, 2, 3].map((k) => ({
        index: last + k,
        term: hs.term,
        type: EntryType.Normal,
        data: put(`torn${k}`, big ? 'y'.repeat(50_000) : 'y'),
      })),
      hardState: hs,
      sync: true,
    });
    await inner.close();
    const [log] = await files(dir, '.log');
    const path = join(dir, log!);
    const recs = await walRecords(path);
    return { c, dir, log: log!, path, recs, last: recs[recs.length - 1]! };
  }

  /** The verifier lets the tail go, the node restarts, and the torn write is gone (or whole). */
  async function restarts(t: Test, c: TestCluster, log: string, tornGone = true) {
    const report = await verifyStoreFiles(dataDir(c));
    t.equal(report.tornTail?.file, log, `torn tail accepted: ${report.tornTail?.reason}`);
    const m = await allThere(t, c);
    if (tornGone) t.equal(m.store.get('torn1'), null, 'the unacknowledged write is dropped');
  }

  t.test('the newest log cut mid-record', async (t) => {
    const { c, log, path, last } = await torn(t);
    await truncate(path, last.offset + LOG_HEADER + (last.length >> 1));
    await restarts(t, c, log);
  });

  t.test('the newest log cut mid-header', async (t) => {
    const { c, log, path, last } = await torn(t);
    await truncate(path, last.offset + 3);
    await restarts(t, c, log);
  });

  t.test('zeros appended (over several blocks)', async (t) => {
    const { c, log, path } = await torn(t);
    await appendFile(path, Buffer.alloc(2 * LOG_BLOCK + 100));
    await restarts(t, c, log, false);
  });

  t.test('only the very last record damaged', async (t) => {
    const { c, log, path, last } = await torn(t);
    await edit(path, (b) => {
      b[last.offset + LOG_HEADER + (last.length >> 1)]! ^= 0x10;
    });
    await restarts(t, c, log);
  });

  t.test('the last record garbled from its middle to the end of the file', async (t) => {
    const { c, log, path, last } = await torn(t);
    await edit(path, (b) => {
      for (let i = last.offset + 20; i < b.length; i++) b[i] = (i * 131) & 0xff;
    });
    await restarts(t, c, log);
  });

  t.test('a write over several blocks cut after its first fragments', async (t) => {
    const { c, log, path, recs } = await torn(t, true);
    const first = recs.findLast((r) => r.type === 2)!;
    const middle = recs.find((r) => r.type === 3 && r.offset > first.offset)!;
    t.ok((await readFile(path)).length > 3 * LOG_BLOCK, 'the last write spans blocks');
    await truncate(path, middle.offset + 3); // inside the header of its second fragment
    await restarts(t, c, log);
    await c.stopMember('n1');
    t.test('and cut at a block boundary after a middle fragment', async (t) => {
      const again = await torn(t, true);
      const m = again.recs.findLast((r) => r.type === 3)!;
      await truncate(again.path, m.offset + LOG_HEADER + m.length);
      const report = await verifyStoreFiles(again.dir);
      t.match(
        report.tornTail?.reason,
        /the fragmented record at offset \d+ \(block \d+\) is cut off by the end of the file/,
      );
      await restarts(t, again.c, again.log);
    });
  });
});
