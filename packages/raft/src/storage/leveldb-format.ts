// The pieces of LevelDB's file formats the store check shares: the log block layout, a cursor
// over varints and fixed-width numbers, and the error types (see leveldb-files.ts).

export const LOG_BLOCK = 32768;
export const LOG_HEADER = 7;
export const FULL = 1;
export const FIRST = 2;
export const MIDDLE = 3;
export const LAST = 4;

/** Damage found in one file; turned into a CorruptStoreError naming the store. */
export class Damage extends Error {
  constructor(
    readonly file: string,
    readonly what: string,
    readonly detail: string,
  ) {
    super(`${what}: ${detail}`);
  }
}

/** A malformed structure inside a record or block (caught and reported with its place). */
export class ParseError extends Error {}

export class Cursor {
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

export const u32le = (b: Uint8Array, p: number) =>
  (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

export const fileName = (n: number, ext: string) => `${String(n).padStart(6, '0')}.${ext}`;
export const records = (n: number) => `${n} valid record${n === 1 ? ' follows' : 's follow'} it`;
export const at = (offset: number) =>
  `record at offset ${offset} (block ${Math.floor(offset / LOG_BLOCK)})`;
