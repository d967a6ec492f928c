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
import { crc32c, unmaskCrc } from './crc32c.js';
import { SnappyError, snappyDecompress } from './snappy.js';

export const LOG_BLOCK = 32768;
export const LOG_HEADER = 7;
export const FULL = 1;
export const FIRST = 2;
export const MIDDLE = 3;
export const LAST = 4;

/** Damage found in one file; turned into a CorruptStoreError naming the store. */
class Damage extends Error {
  constructor(
    readonly file: string,
    readonly what: string,
    readonly detail: string,
  ) {
    super(`${what}: ${detail}`);
  }
}

/** A malformed structure inside a record or block (caught and reported with its place). */
class ParseError extends Error {}

class Cursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new ParseError('ends early');
    return this.buf[this.pos++]!;
  }

  /** Varint of up to `maxBytes` bytes (5 for 32-bit, 10 for 64-bit values). */
  varint(maxBytes = 10): number {
    let v = 0;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        if (maxBytes === 5 && v > 0xffffffff) throw new ParseError('32-bit varint overflows');
        return v;
      }
    }
    throw new ParseError('varint too long');
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new ParseError(`${n} bytes run past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A varint32 length followed by that many bytes. */
  slice(): Uint8Array {
    return this.bytes(this.varint(5));
  }

  fixed32(): number {
    const b = this.bytes(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  fixed64(): number {
    const lo = this.fixed32();
    return lo + this.fixed32() * 2 ** 32;
  }
}

const u32le = (b: Uint8Array, p: number) =>
  (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

export const fileName = (n: number, ext: string) => `${String(n).padStart(6, '0')}.${ext}`;
const records = (n: number) => `${n} valid record${n === 1 ? ' follows' : 's follow'} it`;
const at = (offset: number) =>
  `record at offset ${offset} (block ${Math.floor(offset / LOG_BLOCK)})`;

// ------------------------------------------------------------------ log files (WAL and MANIFEST)

/** A physical record whose header, length and checksum check out; its payload follows the header. */
export interface LogRecord {
  offset: number;
  type: number;
  length: number;
}

/**
 * How a log stops checking out. `torn`: the file ends inside a header or a payload; `zero`: a
 * zero-filled header (unwritten space); `damage`: anything a writer never produces (bad checksum,
 * unknown type, length past its block, non-zero block padding).
 */
export interface BadSpot {
  offset: number;
  kind: 'torn' | 'zero' | 'damage';
  reason: string;
}

export interface LogScan {
  /** The valid records before the first bad spot, in order. */
  records: LogRecord[];
  bad?: BadSpot;
  /** Valid records found after the bad spot by resynchronising (they prove it is not a tail). */
  validAfter: number;
}

/** The payload length of a valid record at `p` inside a block ending at `limit`, or -1. */
function validRecordAt(buf: Uint8Array, p: number, limit: number): number {
  if (p + LOG_HEADER > limit) return -1;
  const type = buf[p + 6]!;
  if (type < FULL || type > LAST) return -1;
  const len = buf[p + 4]! | (buf[p + 5]! << 8);
  if (p + LOG_HEADER + len > limit) return -1;
  return unmaskCrc(u32le(buf, p)) === crc32c(buf, p + 6, p + LOG_HEADER + len) ? len : -1;
}

/** Reads a log file's physical records, as LevelDB's log::Reader does, but stops at damage. */
export function scanLog(buf: Uint8Array): LogScan {
  const n = buf.length;
  const records: LogRecord[] = [];
  let bad: BadSpot | undefined;
  let p = 0;
  while (p < n && !bad) {
    const blockLimit = p - (p % LOG_BLOCK) + LOG_BLOCK;
    if (blockLimit - p < LOG_HEADER) {
      // The writer pads a block's last < 7 bytes with zeros.
      const end = Math.min(blockLimit, n);
      for (let i = p; i < end; i++) {
        if (buf[i] !== 0) {
          bad = { offset: i, kind: 'damage', reason: `block padding at offset ${i} is not zero` };
          break;
        }
      }
      p = blockLimit;
      continue;
    }
    if (p + LOG_HEADER > n) {
      bad = {
        offset: p,
        kind: 'torn',
        reason: `the file ends ${n - p} bytes into the header of a ${at(p)}`,
      };
      break;
    }
    const type = buf[p + 6]!;
    const len = buf[p + 4]! | (buf[p + 5]! << 8);
    if (type === 0 && len === 0 && u32le(buf, p) === 0) {
      bad = { offset: p, kind: 'zero', reason: `${at(p)} is zero-filled` };
    } else if (type < FULL || type > LAST) {
      bad = { offset: p, kind: 'damage', reason: `${at(p)} has unknown type ${type}` };
    } else if (p + LOG_HEADER + len > blockLimit) {
      bad = {
        offset: p,
        kind: 'damage',
        reason: `${at(p)} has a length of ${len} bytes, past the end of its block`,
      };
    } else if (p + LOG_HEADER + len > n) {
      bad = {
        offset: p,
        kind: 'torn',
        reason: `the file ends inside the ${at(p)} (${n - p - LOG_HEADER} of its ${len} bytes are there)`,
      };
    } else if (unmaskCrc(u32le(buf, p)) !== crc32c(buf, p + 6, p + LOG_HEADER + len)) {
      bad = { offset: p, kind: 'damage', reason: `${at(p)} fails its checksum` };
    } else {
      records.push({ offset: p, type, length: len });
      p += LOG_HEADER + len;
    }
  }
  let validAfter = 0;
  if (bad) {
    // Resynchronise: every block starts with a fresh record; inside a block, try every offset.
    let q = bad.offset + 1;
    while (q < n) {
      const blockLimit = q - (q % LOG_BLOCK) + LOG_BLOCK;
      if (blockLimit - q < LOG_HEADER) {
        q = blockLimit;
        continue;
      }
      const len = validRecordAt(buf, q, Math.min(blockLimit, n));
      if (len >= 0) {
        validAfter++;
        q += LOG_HEADER + len;
      } else {
        q++;
      }
    }
  }
  return { records, bad, validAfter };
}

/** A logical record: one fragment, or FIRST + MIDDLE* + LAST joined. */
export interface LogicalRecord {
  offset: number;
  data: Uint8Array;
}

interface Assembled {
  records: LogicalRecord[];
  /** Offset of a fragmented record that the file (or the damage) cuts off before its end. */
  unfinished?: number;
}

/** Joins fragments; a fragment out of order is damage (a valid record shows something was lost). */
function assemble(buf: Uint8Array, scan: LogScan, file: string, what: string): Assembled {
  const records: LogicalRecord[] = [];
  let start = -1;
  let parts: Uint8Array[] = [];
  for (const r of scan.records) {
    const payload = buf.subarray(r.offset + LOG_HEADER, r.offset + LOG_HEADER + r.length);
    if ((r.type === FULL || r.type === FIRST) && start >= 0) {
      throw new Damage(
        file,
        what,
        `the fragmented ${at(start)} has no end: a new record begins at offset ${r.offset}`,
      );
    }
    if ((r.type === MIDDLE || r.type === LAST) && start < 0) {
      throw new Damage(
        file,
        what,
        `the ${at(r.offset)} continues a fragmented record that never began`,
      );
    }
    if (r.type === FULL) {
      records.push({ offset: r.offset, data: payload });
    } else if (r.type === FIRST) {
      start = r.offset;
      parts = [payload];
    } else {
      parts.push(payload);
      if (r.type === LAST) {
        records.push({ offset: start, data: Buffer.concat(parts) });
        start = -1;
        parts = [];
      }
    }
  }
  return start >= 0 ? { records, unfinished: start } : { records };
}

/** Where the log stops being whole (the torn or damaged tail) and why, if it is not whole. */
function tailOf(scan: LogScan, a: Assembled): { offset: number; reason: string } | undefined {
  if (a.unfinished !== undefined) {
    return {
      offset: a.unfinished,
      reason: `the fragmented ${at(a.unfinished)} is cut off ${scan.bad ? `where ${scan.bad.reason}` : 'by the end of the file'}`,
    };
  }
  return scan.bad && { offset: scan.bad.offset, reason: scan.bad.reason };
}

// ------------------------------------------------------------------ write batches (WAL records)

interface BatchInfo {
  seq: number;
  count: number;
}

/** Parses a WAL record as a LevelDB WriteBatch: sequence, count, then puts and deletes. */
function parseBatch(data: Uint8Array): BatchInfo {
  if (data.length < 12) throw new ParseError(`is ${data.length} bytes, shorter than a write batch`);
  const c = new Cursor(data, 0, data.length);
  const seq = c.fixed64();
  const count = c.fixed32();
  let found = 0;
  while (!c.done()) {
    const tag = c.byte();
    if (tag === 1) {
      c.slice();
      c.slice();
    } else if (tag === 0) {
      c.slice();
    } else {
      throw new ParseError(`holds an operation of unknown kind ${tag}`);
    }
    found++;
  }
  if (found !== count) throw new ParseError(`holds ${found} operations, its header says ${count}`);
  return { seq, count };
}

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

// ------------------------------------------------------------------ tables

const TABLE_FOOTER = 48;
const TABLE_MAGIC_LO = 0x8b80fb57;
const TABLE_MAGIC_HI = 0xdb477524;
const BLOCK_TRAILER = 5;

interface Handle {
  offset: number;
  size: number;
}

function handleFrom(c: Cursor): Handle {
  return { offset: c.varint(), size: c.varint() };
}

/** The values of a block's entries (keys are prefix-compressed; their bytes are not needed). */
function blockValues(b: Uint8Array): Uint8Array[] {
  if (b.length < 4) throw new ParseError(`is ${b.length} bytes, too short for a block`);
  const restarts = u32le(b, b.length - 4);
  if (restarts < 1 || restarts > (b.length - 4) / 4)
    throw new ParseError(`has an impossible restart count ${restarts}`);
  const limit = b.length - 4 - 4 * restarts;
  const c = new Cursor(b, 0, limit);
  const values: Uint8Array[] = [];
  let keyLength = 0;
  while (!c.done()) {
    const shared = c.varint(5);
    const unshared = c.varint(5);
    const valueLength = c.varint(5);
    if (shared > keyLength) throw new ParseError('an entry shares more of the key than there is');
    c.bytes(unshared);
    values.push(c.bytes(valueLength));
    keyLength = shared + unshared;
  }
  return values;
}

function handleValue(v: Uint8Array): Handle {
  const c = new Cursor(v, 0, v.length);
  const h = handleFrom(c);
  if (!c.done()) throw new ParseError('a block handle has trailing bytes');
  return h;
}

/** A block of a table file: its contents are followed by a type byte and a masked CRC-32C. */
export interface TableBlock {
  offset: number;
  size: number;
  kind: string;
  /** 0 stored, 1 Snappy-compressed. */
  compression: number;
}

/**
 * Checks a table file: the footer, every block's checksum (data, filter, metaindex and index),
 * and that the blocks tile the file up to the footer, so that no byte escapes a check. Returns
 * the blocks in file order.
 */
export function verifyTable(buf: Uint8Array, file: string): TableBlock[] {
  const what = `table ${file}`;
  const n = buf.length;
  if (n < TABLE_FOOTER)
    throw new Damage(file, what, `is ${n} bytes, shorter than a table's footer`);
  const footer = n - TABLE_FOOTER;
  if (u32le(buf, n - 8) !== TABLE_MAGIC_LO || u32le(buf, n - 4) !== TABLE_MAGIC_HI)
    throw new Damage(file, what, `the footer at offset ${footer} lacks the table magic number`);
  const blocks: TableBlock[] = [];
  const check = (h: Handle, kind: string): Uint8Array => {
    if (h.offset + h.size + BLOCK_TRAILER > footer) {
      throw new Damage(
        file,
        what,
        `the ${kind} at offset ${h.offset} (${h.size} bytes) runs past the footer at ${footer}`,
      );
    }
    const end = h.offset + h.size;
    if (unmaskCrc(u32le(buf, end + 1)) !== crc32c(buf, h.offset, end + 1))
      throw new Damage(file, what, `the ${kind} at offset ${h.offset} fails its checksum`);
    blocks.push({ offset: h.offset, size: h.size, kind, compression: buf[end]! });
    return buf.subarray(h.offset, end);
  };
  const contents = (h: Handle, kind: string): Uint8Array => {
    const raw = check(h, kind);
    const type = buf[h.offset + h.size];
    try {
      if (type === 0) return raw;
      if (type === 1) return snappyDecompress(raw, raw.length * 32 + 1024);
    } catch (e) {
      if (e instanceof SnappyError)
        throw new Damage(
          file,
          what,
          `the ${kind} at offset ${h.offset} does not decompress: ${e.message}`,
        );
      throw e;
    }
    throw new Damage(
      file,
      what,
      `the ${kind} at offset ${h.offset} has unknown compression ${type}`,
    );
  };
  let metaindex: Handle;
  let index: Handle;
  try {
    const c = new Cursor(buf, footer, n - 8);
    metaindex = handleFrom(c);
    index = handleFrom(c);
    while (!c.done()) if (c.byte() !== 0) throw new ParseError('padding is not zero');
  } catch (e) {
    if (e instanceof ParseError)
      throw new Damage(file, what, `the footer at offset ${footer} is malformed: ${e.message}`);
    throw e;
  }
  const parse = (h: Handle, kind: string, fn: (v: Uint8Array) => void) => {
    const b = contents(h, kind);
    try {
      for (const v of blockValues(b)) fn(v);
    } catch (e) {
      if (e instanceof ParseError)
        throw new Damage(
          file,
          what,
          `the ${kind} at offset ${h.offset} is malformed: ${e.message}`,
        );
      throw e;
    }
  };
  const data: Handle[] = [];
  const meta: Handle[] = [];
  parse(index, 'index block (as the footer places it)', (v) => data.push(handleValue(v)));
  parse(metaindex, 'metaindex block (as the footer places it)', (v) => meta.push(handleValue(v)));
  for (const h of data) check(h, 'data block');
  for (const h of meta) check(h, 'meta block');
  blocks.sort((a, b) => a.offset - b.offset);
  let expected = 0;
  for (const b of blocks) {
    if (b.offset !== expected) {
      throw new Damage(
        file,
        what,
        b.offset > expected
          ? `bytes ${expected}..${b.offset - 1} belong to no block`
          : `the ${b.kind} at offset ${b.offset} overlaps the block before it`,
      );
    }
    expected = b.offset + b.size + BLOCK_TRAILER;
  }
  if (expected !== footer)
    throw new Damage(file, what, `bytes ${expected}..${footer - 1} belong to no block`);
  return blocks;
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
