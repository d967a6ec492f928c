/*
 * HPACK (RFC 7541) for the gRPC server's HTTP/2 layer: a full decoder (static and dynamic tables,
 * Huffman strings, table size updates) and a small encoder that writes literals without indexing,
 * so the peer's decoder needs no state from us.
 */

export class HpackError extends Error {
  constructor(message: string) {
    super(`hpack: ${message}`);
    this.name = 'HpackError';
  }
}

export type HeaderList = [name: string, value: string][];

/** The value of the first header called `name` (lowercase), if any. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** RFC 7541 Appendix A. */
const STATIC_TABLE: [string, string][] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Code lengths of the Huffman code of RFC 7541 Appendix B, symbols 0..255 and EOS (256). The code
 * is canonical: sorted by (length, symbol), each code is the previous one plus one, shifted left
 * by the growth in length; the codes are rebuilt from the lengths below.
 */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/**
 * The Huffman decoding tree as flat arrays: node n has children child[2n] (bit 0) and
 * child[2n+1] (bit 1); a child >= 0 is another node, a child < 0 is the leaf of symbol -child-1.
 */
const huffmanTree = (() => {
  const order = HUFFMAN_LENGTHS.map((len, sym) => ({ len, sym })).sort(
    (a, b) => a.len - b.len || a.sym - b.sym,
  );
  const child: number[] = [0, 0];
  let nodes = 1;
  let code = 0;
  let prevLen = order[0]!.len;
  for (let i = 0; i < order.length; i++) {
    const { len, sym } = order[i]!;
    if (i > 0) code = (code + 1) * 2 ** (len - prevLen);
    prevLen = len;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const slot = 2 * node + (Math.floor(code / 2 ** bit) & 1);
      if (bit === 0) {
        child[slot] = -sym - 1;
      } else {
        if (child[slot] === 0) {
          child[slot] = nodes++;
          child.push(0, 0);
        }
        node = child[slot]!;
      }
    }
  }
  return Int32Array.from(child);
})();

function huffmanDecode(buf: Buffer, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  // Bits read since the last complete symbol, and whether they were all ones (valid padding).
  let pending = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = huffmanTree[2 * node + b]!;
      pending++;
      if (b === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new HpackError('EOS symbol inside a Huffman string');
        out.push(sym);
        node = 0;
        pending = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        node = next;
      }
    }
  }
  if (pending > 7 || !allOnes) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** Entry overhead of the dynamic table size (RFC 7541 section 4.1). */
const ENTRY_OVERHEAD = 32;

/** Decodes header blocks of one connection, in order (the dynamic table spans blocks). */
export class HpackDecoder {
  private readonly dynamic: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE this side advertised. */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize;
  }

  decode(block: Buffer): HeaderList {
    const out: HeaderList = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let v = block[pos++]! & mask;
      if (v < mask) return v;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (v > 0x7fffffff) throw new HpackError('integer too large');
        if ((b & 0x80) === 0) return v;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const len = int(7);
      if (pos + len > block.length) throw new HpackError('truncated string');
      const s = huffman
        ? huffmanDecode(block, pos, pos + len)
        : block.toString('latin1', pos, pos + len);
      pos += len;
      return s;
    };
    let fieldSeen = false;
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        // Indexed header field.
        const index = int(7);
        out.push(this.entry(index));
        fieldSeen = true;
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const index = int(6);
        const name = index === 0 ? str() : this.entry(index)[0];
        const value = str();
        out.push([name, value]);
        this.add(name, value);
        fieldSeen = true;
      } else if (b & 0x20) {
        // Dynamic table size update: only before the first field of a block.
        if (fieldSeen) throw new HpackError('table size update after a header field');
        const size = int(5);
        if (size > this.maxTableSize) {
          throw new HpackError(`table size ${size} exceeds the limit ${this.maxTableSize}`);
        }
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = int(4);
        const name = index === 0 ? str() : this.entry(index)[0];
        out.push([name, str()]);
        fieldSeen = true;
      }
    }
    return out;
  }

  private entry(index: number): [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const e = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!e) throw new HpackError(`index ${index} is beyond the tables`);
    return e;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      // An entry larger than the table empties it and is not added.
      this.dynamic.length = 0;
      this.size = 0;
      return;
    }
    this.evict(size);
    this.dynamic.unshift([name, value]);
    this.size += size;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }
}

function encodeInt(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function encodeString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  encodeInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/**
 * Encodes a header block as literals without indexing (names from the static table where it has
 * them). Names must be lowercase; values are sent as latin1 bytes.
 */
export function encodeHeaders(headers: HeaderList): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const index = STATIC_NAME_INDEX.get(name);
    if (index !== undefined) {
      encodeInt(out, index, 4, 0);
    } else {
      out.push(0);
      encodeString(out, name);
    }
    encodeString(out, value);
  }
  return Buffer.from(out);
}
