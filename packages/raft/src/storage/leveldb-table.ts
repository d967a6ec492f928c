// LevelDB's table files, every block checked: data, filter, metaindex and index blocks with their
// masked CRC-32C, the footer's handles and magic number, and that the blocks cover the file.
import { crc32c, unmaskCrc } from './crc32c.js';
import { Cursor, Damage, ParseError, u32le } from './leveldb-format.js';
import { SnappyError, snappyDecompress } from './snappy.js';

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
