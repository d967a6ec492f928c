/*
 * Verifies a LevelDB directory's own files before LevelDB opens it.
 *
 * LevelDB (1.20, as classic-level builds it) runs without `paranoid_checks`, and classic-level has
 * no option to turn them on. Recovery then drops damaged write-ahead-log records silently (with the
 * rest of their 32 KiB block, or the rest of the file when the damage is in its last block), reads
 * table blocks without checking their checksums, and a missing CURRENT makes it start an empty
 * store over the old files. The raft layer's own checks then see a consistent but shorter log.
 * Opening also rewrites the logs into a table and deletes them, so the evidence is gone after it:
 * hence this check of the files as they are, before LevelDB touches them.
 *
 * What is accepted: a torn tail of the newest write-ahead log (the file ends inside a record, or
 * its last bytes are damaged or zero with no valid record anywhere after them), which is what a
 * crash leaves behind in a write that was never acknowledged; and a MANIFEST whose last edit was
 * cut off by a crash while the files it would have made obsolete still exist. Anything else that
 * does not check out is reported as a CorruptStoreError naming the file and the place.
 *
 * Formats: https://github.com/google/leveldb/blob/main/doc/log_format.md and table_format.md.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptStoreError } from '../errors.js';
import { at, Cursor, Damage, fileName, ParseError, records } from './leveldb-format.js';
import { assemble, type BatchInfo, parseBatch, scanLog, tailOf } from './leveldb-log.js';
import { verifyTable } from './leveldb-table.js';

// ------------------------------------------------------------------ MANIFEST

const NUM_LEVELS = 7;

interface ManifestState {
  comparator?: string;
  logNumber?: number;
  prevLogNumber: number;
  nextFile?: number;
  lastSequence?: number;
  /** Live table files: number -> level and size. */
  files: Map<number, { level: number; size: number }>;
}

function applyEdit(data: Uint8Array, s: ManifestState): void {
  const c = new Cursor(data, 0, data.length);
  const deleted: [number, number][] = [];
  const added: [number, number, number][] = [];
  const level = () => {
    const l = c.varint(5);
    if (l >= NUM_LEVELS) throw new ParseError(`level ${l} does not exist`);
    return l;
  };
  while (!c.done()) {
    const tag = c.varint(5);
    switch (tag) {
      case 1:
        s.comparator = Buffer.from(c.slice()).toString('latin1');
        break;
      case 2:
        s.logNumber = c.varint();
        break;
      case 3:
        s.nextFile = c.varint();
        break;
      case 4:
        s.lastSequence = c.varint();
        break;
      case 5:
        level();
        c.slice();
        break;
      case 6:
        deleted.push([level(), c.varint()]);
        break;
      case 7: {
        const l = level();
        const number = c.varint();
        const size = c.varint();
        c.slice();
        c.slice();
        added.push([l, number, size]);
        break;
      }
      case 9:
        s.prevLogNumber = c.varint();
        break;
      default:
        throw new ParseError(`holds unknown field ${tag}`);
    }
  }
  for (const [l, number] of deleted) if (s.files.get(number)?.level === l) s.files.delete(number);
  for (const [l, number, size] of added) s.files.set(number, { level: l, size });
}

// ------------------------------------------------------------------ the directory

export interface StoreFilesReport {
  /** The MANIFEST in use (undefined for a new or empty store). */
  manifest?: string;
  /** The write-ahead logs LevelDB will replay, oldest first. */
  logs: string[];
  tables: number;
  bytes: number;
  /** A torn tail of the newest log (a crash's unfinished write), which LevelDB will drop. */
  tornTail?: { file: string; offset: number; bytes: number; reason: string };
  /** A torn last MANIFEST edit (a crash while recording it), which LevelDB will ignore. */
  tornManifest?: { offset: number; reason: string };
}

/**
 * Verifies the LevelDB files in `dir` (see the top of this file). Resolves with what was checked;
 * rejects with CorruptStoreError for damage, or an Error if a file cannot be read at all.
 */
export async function verifyStoreFiles(dir: string): Promise<StoreFilesReport> {
  try {
    return await verifyDir(dir);
  } catch (e) {
    if (e instanceof Damage) throw new CorruptStoreError(dir, e.what, e.detail, e.file);
    throw e;
  }
}

async function verifyDir(dir: string): Promise<StoreFilesReport> {
  const report: StoreFilesReport = { logs: [], tables: 0, bytes: 0 };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return report;
    throw e;
  }
  const present = new Set(names);
  const logs: number[] = [];
  const manifests: number[] = [];
  let tableFiles = 0;
  for (const name of names) {
    let m = /^(\d+)\.log$/.exec(name);
    if (m) logs.push(Number(m[1]));
    if (/^\d+\.(ldb|sst)$/.test(name)) tableFiles++;
    m = /^MANIFEST-(\d+)$/.exec(name);
    if (m) manifests.push(Number(m[1]));
  }

  if (!present.has('CURRENT')) {
    // LevelDB would create a new, empty store here and delete the tables. Only a crash while the
    // store was first created (before CURRENT was written) leaves no CURRENT legitimately.
    if (logs.length > 0 || tableFiles > 0 || manifests.some((m) => m !== 1)) {
      throw new Damage(
        'CURRENT',
        'CURRENT',
        `is missing, but the directory holds LevelDB files (${names
          .filter((x) => /\.(log|ldb|sst)$|^MANIFEST-/.test(x))
          .sort()
          .join(', ')}): LevelDB would start an empty store over them`,
      );
    }
    return report;
  }
  const current = await readFile(join(dir, 'CURRENT'));
  report.bytes += current.length;
  const cm = /^MANIFEST-(\d+)\n$/.exec(current.toString('latin1'));
  if (!cm) {
    throw new Damage(
      'CURRENT',
      'CURRENT',
      `does not name a MANIFEST file (it holds ${JSON.stringify(current.subarray(0, 40).toString('latin1'))})`,
    );
  }
  const manifestName = `MANIFEST-${cm[1]}`;
  if (!present.has(manifestName))
    throw new Damage('CURRENT', 'CURRENT', `names ${manifestName}, which is missing`);
  report.manifest = manifestName;

  const state = await verifyManifest(dir, manifestName, present, report);

  // Tables: every live one is there, at its recorded size, and checks out block by block.
  for (const [number, f] of [...state.files].sort((a, b) => a[0] - b[0])) {
    let name = fileName(number, 'ldb');
    if (!present.has(name)) name = fileName(number, 'sst');
    if (!present.has(name)) {
      throw new Damage(
        fileName(number, 'ldb'),
        `table ${fileName(number, 'ldb')}`,
        `is missing (${manifestName} lists it at level ${f.level})`,
      );
    }
    const buf = await readFile(join(dir, name));
    report.bytes += buf.length;
    if (buf.length !== f.size) {
      throw new Damage(
        name,
        `table ${name}`,
        `is ${buf.length} bytes, ${manifestName} says ${f.size}`,
      );
    }
    verifyTable(buf, name);
    report.tables++;
  }

  // Write-ahead logs: those LevelDB will replay, oldest first.
  const logNumber = state.logNumber!;
  const replay = logs
    .filter((n) => n >= logNumber || n === state.prevLogNumber)
    .sort((a, b) => a - b);
  let nextSeq: number | undefined;
  for (let i = 0; i < replay.length; i++) {
    const name = fileName(replay[i]!, 'log');
    const what = `write-ahead log ${name}`;
    const newest = i === replay.length - 1;
    const buf = await readFile(join(dir, name));
    report.bytes += buf.length;
    report.logs.push(name);
    const scan = scanLog(buf);
    const a = assemble(buf, scan, name, what);
    for (const r of a.records) {
      let b: BatchInfo;
      try {
        b = parseBatch(r.data);
      } catch (e) {
        if (e instanceof ParseError)
          throw new Damage(name, what, `the ${at(r.offset)} passes its checksum but ${e.message}`);
        throw e;
      }
      if (nextSeq === undefined ? b.seq > state.lastSequence! + 1 : b.seq !== nextSeq) {
        const before = nextSeq === undefined ? state.lastSequence! : nextSeq - 1;
        throw new Damage(
          name,
          what,
          `the write in the ${at(r.offset)} has sequence number ${b.seq}, but the writes before it end at ${before}: writes are missing`,
        );
      }
      nextSeq = b.seq + b.count;
    }
    const tail = tailOf(scan, a);
    if (tail === undefined) continue;
    const reason = tail.reason;
    const after = scan.validAfter + (await laterRecords(dir, replay.slice(i + 1)));
    if (after > 0) {
      throw new Damage(
        name,
        what,
        `${reason}, and ${records(after)}: the store is damaged, not just torn by a crash`,
      );
    }
    if (!newest) {
      throw new Damage(
        name,
        what,
        `${reason}, in a log that is not the newest (${fileName(replay[replay.length - 1]!, 'log')} follows it): a crash does not leave that`,
      );
    }
    report.tornTail = { file: name, offset: tail.offset, bytes: buf.length - tail.offset, reason };
  }
  return report;
}

/** Valid physical records in the given logs (used to tell a torn tail from damage). */
async function laterRecords(dir: string, numbers: number[]): Promise<number> {
  let count = 0;
  for (const n of numbers) {
    const scan = scanLog(await readFile(join(dir, fileName(n, 'log'))));
    count += scan.records.length + scan.validAfter;
  }
  return count;
}

async function verifyManifest(
  dir: string,
  name: string,
  present: Set<string>,
  report: StoreFilesReport,
): Promise<ManifestState> {
  const buf = await readFile(join(dir, name));
  report.bytes += buf.length;
  const scan = scanLog(buf);
  const a = assemble(buf, scan, name, name);
  const state: ManifestState = { prevLogNumber: 0, files: new Map() };
  for (const r of a.records) {
    try {
      applyEdit(r.data, state);
    } catch (e) {
      if (e instanceof ParseError)
        throw new Damage(
          name,
          name,
          `the edit in the ${at(r.offset)} passes its checksum but ${e.message}`,
        );
      throw e;
    }
  }
  const tail = tailOf(scan, a);
  if (tail !== undefined) {
    if (scan.validAfter > 0)
      throw new Damage(name, name, `${tail.reason}, and ${records(scan.validAfter)}`);
    // LevelDB itself refuses a MANIFEST whose records fail their checksums; it only passes over
    // one that ends inside a record or in zeros, which is what a crash while appending leaves.
    if (scan.bad?.kind === 'damage') throw new Damage(name, name, tail.reason);
    // LevelDB writes a new MANIFEST (a snapshot and the opening edit) and syncs it before CURRENT
    // names it, so those two records are always whole.
    if (a.records.length < 2)
      throw new Damage(name, name, `${tail.reason}, but its first two records are always whole`);
  }
  for (const [field, v] of [
    ['next file number', state.nextFile],
    ['log number', state.logNumber],
    ['last sequence number', state.lastSequence],
  ] as const) {
    if (v === undefined) throw new Damage(name, name, `has no ${field}`);
  }
  if (state.comparator !== undefined && state.comparator !== 'leveldb.BytewiseComparator')
    throw new Damage(name, name, `names the comparator ${JSON.stringify(state.comparator)}`);
  if (tail !== undefined) {
    // A cut-off edit was never applied, so the log it would have retired must still be there.
    const log = fileName(state.logNumber!, 'log');
    if (!present.has(log)) {
      throw new Damage(
        name,
        name,
        `its last edit is cut off (${tail.reason}) and ${log}, the write-ahead log the MANIFEST still needs, is gone: the edit had been made and is lost`,
      );
    }
    report.tornManifest = tail;
  }
  return state;
}

/**
 * The process that holds LevelDB's LOCK in `dir`, where that can be told (Linux's /proc/locks),
 * so that a store being written by a running process is reported as in use rather than damaged.
 */
export async function lockHolder(dir: string): Promise<number | undefined> {
  try {
    const { ino } = await stat(join(dir, 'LOCK'));
    const locks = await readFile('/proc/locks', 'latin1');
    for (const line of locks.split('\n')) {
      // "1: POSIX  ADVISORY  WRITE 4711 fd:01:1234567 0 EOF"
      const f = line.trim().split(/\s+/);
      if (f[1] !== 'POSIX' && f[1] !== 'OFDLCK') continue;
      const dev = f[5]?.split(':');
      if (dev?.length === 3 && Number(dev[2]) === ino) return Number(f[4]);
    }
  } catch {
    // no LOCK file, or no /proc/locks: nothing to tell
  }
  return undefined;
}
