// LevelDB's log files (the write-ahead logs and the MANIFEST) read record by record as LevelDB's
// log::Reader does, but stopping at damage and telling a torn tail from damage followed by valid
// records; and the write batches the write-ahead log holds.
import { crc32c, unmaskCrc } from './crc32c.js';
import {
  at,
  Cursor,
  Damage,
  FIRST,
  FULL,
  LAST,
  LOG_BLOCK,
  LOG_HEADER,
  MIDDLE,
  ParseError,
  u32le,
} from './leveldb-format.js';
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

export interface Assembled {
  records: LogicalRecord[];
  /** Offset of a fragmented record that the file (or the damage) cuts off before its end. */
  unfinished?: number;
}

/** Joins fragments; a fragment out of order is damage (a valid record shows something was lost). */
export function assemble(buf: Uint8Array, scan: LogScan, file: string, what: string): Assembled {
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
export function tailOf(
  scan: LogScan,
  a: Assembled,
): { offset: number; reason: string } | undefined {
  if (a.unfinished !== undefined) {
    return {
      offset: a.unfinished,
      reason: `the fragmented ${at(a.unfinished)} is cut off ${scan.bad ? `where ${scan.bad.reason}` : 'by the end of the file'}`,
    };
  }
  return scan.bad && { offset: scan.bad.offset, reason: scan.bad.reason };
}

// ------------------------------------------------------------------ write batches (WAL records)

export interface BatchInfo {
  seq: number;
  count: number;
}

/** Parses a WAL record as a LevelDB WriteBatch: sequence, count, then puts and deletes. */
export function parseBatch(data: Uint8Array): BatchInfo {
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
