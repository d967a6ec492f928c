// The check of LevelDB's own files (src/storage/leveldb-files.ts): CRC-32C and Snappy against known
// vectors, and stores built on a real LevelDB in the states a crash or damage leaves: several
// write-ahead logs, a MANIFEST with a cut-off edit, compressed tables, a large healthy store.
import { randomBytes } from 'node:crypto';
import {
  copyFile,
  cp,
  mkdtemp,
  readdir,
  readFile,
  rm,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Test } from 'tap';
import t from 'tap';
import type { Entry } from '../src/core/types.js';
import { EntryType } from '../src/core/types.js';
import { CorruptStoreError } from '../src/errors.js';
import { crc32c, maskCrc, unmaskCrc } from '../src/storage/crc32c.js';
import { LevelStorage } from '../src/storage/level.js';
import { verifyStoreFiles } from '../src/storage/leveldb-files.js';
import { scanLog } from '../src/storage/leveldb-log.js';
import { verifyTable } from '../src/storage/leveldb-table.js';
import { SnappyError, snappyDecompress } from '../src/storage/snappy.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ent = (index: number, data: Uint8Array | string = `v${index}`): Entry => ({
  index,
  term: 1,
  type: EntryType.Normal,
  data: typeof data === 'string' ? Buffer.from(data) : data,
});

/** Appends entries from..to in batches of `per`, each with its hard state (commit = last). */
async function write(
  s: LevelStorage,
  from: number,
  to: number,
  per = 1,
  data?: (i: number) => Uint8Array,
) {
  for (let i = from; i <= to; i += per) {
    const last = Math.min(to, i + per - 1);
    const entries: Entry[] = [];
    for (let k = i; k <= last; k++) entries.push(ent(k, data?.(k)));
    await s.save({ entries, hardState: { term: 1, vote: 'a', commit: last }, sync: true });
  }
}

async function loadAll(dir: string): Promise<number[]> {
  const s = await LevelStorage.open(dir, { nodeId: 'a' });
  try {
    const st = await s.load();
    return (st?.entries ?? []).map((e) => e.index);
  } finally {
    await s.close();
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function refusedWith(t: Test, dir: string, file: string, detail: RegExp) {
  const err = await LevelStorage.open(dir, { nodeId: 'a' }).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  t.ok(err instanceof CorruptStoreError, `refused: ${(err as Error | undefined)?.message}`);
  t.equal((err as CorruptStoreError).file, file);
  t.match((err as Error).message, detail);
}

t.test('CRC-32C: known vectors, continuation, LevelDB masking', async (t) => {
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) B.4
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.equal(crc32c(ascending), 0x46dd794e);
  t.equal(crc32c(ascending.slice().reverse()), 0x113fdb5c);
  t.equal(crc32c(Buffer.from('hello world'), 0, 5, 0), crc32c(Buffer.from('hello')));
  const long = Buffer.alloc(1000, 7);
  for (let cut = 0; cut <= 1000; cut += 37)
    t.equal(crc32c(long, cut, 1000, crc32c(long, 0, cut)), crc32c(long), `continued at ${cut}`);
  for (const c of [0, 1, 0xe3069283, 0xffffffff]) {
    t.equal(unmaskCrc(maskCrc(c)), c);
    t.not(maskCrc(c), c);
    t.not(maskCrc(maskCrc(c)), maskCrc(c));
  }
});

t.test(
  'Snappy: literals, overlapping copies, all copy forms; malformed input throws SnappyError',
  async (t) => {
    const dec = (bytes: number[], max = 1000) =>
      Buffer.from(snappyDecompress(Uint8Array.from(bytes), max)).toString('latin1');
    // length 3, literal "abc"
    t.equal(dec([3, 2 << 2, 0x61, 0x62, 0x63]), 'abc');
    // length 10: literal "ab", then copy-1 (len 8, offset 2): overlapping run
    t.equal(dec([10, 1 << 2, 0x61, 0x62, (4 << 2) | 1, 2]), 'ababababab');
    // copy-2 (len 3, offset 3) and copy-4 (len 2, offset 1)
    t.equal(
      dec([8, 2 << 2, 0x78, 0x79, 0x7a, (2 << 2) | 2, 3, 0, (1 << 2) | 3, 1, 0, 0, 0]),
      'xyzxyzzz',
    );
    // a literal whose length is in one extra byte (tag 60): 61 bytes
    t.equal(dec([61, 60 << 2, 60, ...Buffer.alloc(61, 0x71)]), 'q'.repeat(61));
    const bad: [number[], RegExp][] = [
      [[], /preamble/],
      [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /preamble/],
      [[5, 4 << 2, 0x61], /literal runs past the input/],
      [[2, 4 << 2, 1, 2, 3, 4, 5], /past the output/],
      [[4, 0, 0x61, 1, 0], /copy offset 0/],
      [[6, 0, 0x61, (1 << 2) | 1, 2], /copy offset 2 at output 1/],
      [[4, (2 << 2) | 2], /copy runs past the input/],
      [[9, 0, 0x61], /decoded 1 bytes, the preamble says 9/],
      [[0xff, 0xff, 0xff, 0xff, 0x0f], /implausible/],
      [[70, 61 << 2, 5], /literal length runs past the input/],
    ];
    for (const [bytes, msg] of bad) {
      const err = (() => {
        try {
          dec(bytes);
        } catch (e) {
          return e;
        }
      })();
      t.ok(
        err instanceof SnappyError,
        `${JSON.stringify(bytes)}: ${(err as Error | undefined)?.message}`,
      );
      t.match((err as Error).message, msg);
    }
  },
);

t.test(
  'compressed tables verify block by block (Snappy-compressed index blocks included)',
  async (t) => {
    const dir = await tempDir(t);
    let s = await LevelStorage.open(dir, { nodeId: 'a' });
    await s.load();
    // compressible values, small blocks of many entries
    await write(s, 1, 3000, 100, (i) => Buffer.from(`value ${i % 10} `.repeat(20)));
    await s.close();
    s = await LevelStorage.open(dir, { nodeId: 'a' }); // turns the log into a table
    await s.close();
    const tables = (await readdir(dir)).filter((f) => f.endsWith('.ldb'));
    t.ok(tables.length > 0);
    let compressed = 0;
    let blocks = 0;
    let indexes = 0;
    for (const f of tables) {
      for (const b of verifyTable(await readFile(join(dir, f)), f)) {
        blocks++;
        if (b.compression === 1) compressed++;
        if (b.compression === 1 && b.kind.startsWith('index block')) indexes++;
      }
    }
    t.ok(compressed > 0, `${compressed} of ${blocks} blocks are Snappy-compressed`);
    t.ok(indexes > 0, `${indexes} compressed index block(s) parsed`);
    t.same(await loadAll(dir), range(1, 3000));
  },
);

t.test('several write-ahead logs: damage in an older one, or a log gone, is refused', async (t) => {
  // A crash while LevelDB turns a full memtable into a table leaves two logs. Built here from two
  // sessions: the first session's directory plus the log of the session after it.
  const base = await tempDir(t);
  const a = join(base, 'a');
  const first = join(base, 'first');
  let s = await LevelStorage.open(a, { nodeId: 'a' });
  await s.load();
  await write(s, 1, 200);
  await s.close();
  await copyDir(a, first);
  s = await LevelStorage.open(a, { nodeId: 'a' });
  await s.load();
  await write(s, 201, 400);
  await s.close();
  const [newer] = (await readdir(a)).filter((f) => f.endsWith('.log'));
  const [older] = (await readdir(first)).filter((f) => f.endsWith('.log'));
  t.ok(newer! > older!, `${older} and ${newer}`);

  const two = async (damage?: (dir: string) => Promise<void>) => {
    const dir = await tempDir(t);
    await copyDir(first, dir);
    await copyFile(join(a, newer!), join(dir, newer!));
    await damage?.(dir);
    return dir;
  };
  const healthy = await two();
  t.same((await verifyStoreFiles(healthy)).logs, [older, newer], 'both logs are replayed');
  t.same(await loadAll(healthy), range(1, 400), 'LevelDB replays both');

  const recs = scanLog(await readFile(join(first, older!))).records;
  const lastOfOlder = recs[recs.length - 1]!;
  await refusedWith(
    t,
    await two((dir) => flip(join(dir, older!), lastOfOlder.offset + 10)),
    older!,
    new RegExp(
      `write-ahead log ${older}: record at offset ${lastOfOlder.offset} \\(block 0\\) fails its checksum, and \\d+ valid records follow it`,
    ),
  );
  await refusedWith(
    t,
    await two(async (dir) => {
      await flip(join(dir, older!), lastOfOlder.offset + 10);
      await writeFile(join(dir, newer!), '');
    }),
    older!,
    new RegExp(`in a log that is not the newest \\(${newer} follows it\\)`),
  );
  await refusedWith(
    t,
    await two((dir) => truncate(join(dir, older!), lastOfOlder.offset + 5)),
    older!,
    /the file ends 5 bytes into the header of a record at offset \d+ \(block 0\), and \d+ valid records follow it/,
  );
  await refusedWith(
    t,
    await two((dir) => unlink(join(dir, older!))),
    newer!,
    /has sequence number \d+, but the writes before it end at \d+: writes are missing/,
  );
});

t.test(
  'a MANIFEST edit cut off: refused when the edit had been made, accepted after a crash',
  async (t) => {
    // More than LevelDB's 4 MiB write buffer in one session: the memtable becomes a table, a third
    // record is appended to the MANIFEST and the log it came from is deleted. A copy of that log is
    // kept as it was just before it stopped being written.
    const base = await tempDir(t);
    const dir = join(base, 'store');
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    await s.load();
    const big = (i: number) => Buffer.alloc(100_000, i & 0xff);
    let kept: string | undefined;
    let i = 1;
    for (; i <= 80; i++) {
      const logs = (await readdir(dir)).filter((f) => f.endsWith('.log'));
      if (logs.length > 1 || (kept && !logs.includes(kept))) break;
      kept = logs[0]!;
      await copyFile(join(dir, kept), join(base, 'kept.log'));
      await write(s, i, i, 1, big);
    }
    // Closing while the memtable is being written out abandons that (both logs stay): wait for it.
    for (let k = 0; k < 500 && (await readdir(dir)).includes(kept!); k++)
      await new Promise((r) => setTimeout(r, 10));
    await s.close();
    t.ok(i < 80, `the memtable was flushed after ${i - 1} writes`);
    const manifest = (await readdir(dir)).find((f) => f.startsWith('MANIFEST-'))!;
    const orig = await readFile(join(dir, manifest));
    const recs = scanLog(orig).records;
    t.equal(recs.length, 3, 'the MANIFEST has a third record');
    const cut = recs[2]!.offset + 9;
    t.same(await loadAll(await copyOf(t, dir)), range(1, i - 1), 'healthy');

    // the third edit damaged: LevelDB alone takes the MANIFEST as ending there
    const damaged = await copyOf(t, dir);
    await truncate(join(damaged, manifest), cut);
    const plain = await copyOf(t, damaged);
    const db = new ClassicLevel<Buffer, Buffer>(plain, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open();
    let count = 0;
    for await (const _ of db.keys({ gte: Buffer.from('e'), lt: Buffer.from('f') })) count++;
    await db.close();
    t.comment(`LevelDB alone opens it without an error and finds ${count} of ${i - 1} entries`);
    await refusedWith(
      t,
      damaged,
      manifest,
      new RegExp(
        `${manifest}: its last edit is cut off \\(the file ends inside the record at offset ${recs[2]!.offset}.*\\) and ${kept}, the write-ahead log the MANIFEST still needs, is gone: the edit had been made and is lost`,
      ),
    );

    // a crash while LevelDB appended that edit: the log it would retire is still there
    const crashed = await copyOf(t, damaged);
    await copyFile(join(base, 'kept.log'), join(crashed, kept!));
    const report = await verifyStoreFiles(crashed);
    t.equal(
      report.tornManifest?.offset,
      recs[2]!.offset,
      `accepted: ${report.tornManifest?.reason}`,
    );
    t.same(await loadAll(crashed), range(1, i - 1), 'every entry is there');
  },
);

t.test('a healthy store of 100,000 entries verifies quickly', async (t) => {
  const dir = await tempDir(t);
  let s = await LevelStorage.open(dir, { nodeId: 'a' });
  await s.load();
  const noise = randomBytes(1 << 20); // incompressible, like most commands
  const data = (i: number) => noise.subarray((i * 97) % 1_000_000, ((i * 97) % 1_000_000) + 100);
  await write(s, 1, 90_000, 1000, data);
  await s.close();
  s = await LevelStorage.open(dir, { nodeId: 'a' }); // tables
  await s.load();
  await write(s, 90_001, 100_000, 100, data); // and a log
  await s.close();
  const times: number[] = [];
  let report = await verifyStoreFiles(dir);
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    report = await verifyStoreFiles(dir);
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  s = await LevelStorage.open(dir, { nodeId: 'a' });
  const st = (await s.load())!;
  const openLoad = performance.now() - t0;
  await s.close();
  t.equal(st.entries.length, 100_000);
  const ms = Math.min(...times);
  t.comment(
    `verifying ${report.tables} tables and ${report.logs.length} log(s), ${(report.bytes / 2 ** 20).toFixed(1)} MiB: ${ms.toFixed(1)} ms (best of 5); open + load: ${openLoad.toFixed(0)} ms`,
  );
  t.ok(ms < 2000, 'well under the time a restart takes anyway');
});

async function flip(path: string, at: number): Promise<void> {
  const b = await readFile(path);
  b[at]! ^= 0x01;
  await writeFile(path, b);
}

async function copyDir(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true });
  await unlink(join(to, 'LOCK')).catch(() => {});
}

async function copyOf(t: Test, dir: string): Promise<string> {
  const to = await tempDir(t);
  await copyDir(dir, to);
  return to;
}
