// Domain names on the wire (RFC 1035 section 3.1 and 4.1.4). A "key" is the lower-cased wire form
// of a name as a latin1 string: unambiguous (dots inside labels stay distinct) and cheap to build
// from a received packet, so it is what the record table is indexed by.

import { MAX_NAME } from './constants.js';

export class NameError extends Error {
  override name = 'NameError';
}

/** Wire form of a dotted name ("a.b.c", trailing dot optional; "" or "." is the root). */
export function encodeName(dotted: string): Buffer {
  const name = dotted.endsWith('.') ? dotted.slice(0, -1) : dotted;
  if (name.length === 0) return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.alloc(name.length + 2);
  let o = 0;
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0) throw new NameError(`name "${dotted}" has an empty label`);
    if (bytes.length > 63) {
      throw new NameError(`name "${dotted}": label "${label}" is longer than 63 characters`);
    }
    out[o++] = bytes.length;
    bytes.copy(out, o);
    o += bytes.length;
  }
  out[o++] = 0;
  if (o > MAX_NAME) throw new NameError(`name "${dotted}" is longer than 255 bytes on the wire`);
  return out;
}

/** Table key of a dotted name. */
export function nameKey(dotted: string): string {
  return encodeName(dotted.toLowerCase()).toString('latin1');
}

/** Dotted form (no trailing dot, "." for the root) of a key or any uncompressed wire name. */
export function keyToName(key: string): string {
  const labels: string[] = [];
  let i = 0;
  while (i < key.length) {
    const len = key.charCodeAt(i);
    if (len === 0) break;
    labels.push(key.slice(i + 1, i + 1 + len));
    i += 1 + len;
  }
  return labels.length === 0 ? '.' : labels.join('.');
}

/** Key of the parent name (first label removed); undefined for the root. */
export function parentKey(key: string): string | undefined {
  const len = key.charCodeAt(0);
  return len === 0 ? undefined : key.slice(1 + len);
}

/**
 * Reads a possibly compressed name at `off` in `buf[0..end)`. Pointers must point strictly
 * backwards from the label that holds them, which rules out loops; the expanded name may not
 * exceed 255 bytes. Returns the dotted, lower-cased name and the offset after the name in place,
 * or undefined when the name is malformed.
 */
export function readName(
  buf: Uint8Array,
  off: number,
  end: number,
): { name: string; next: number } | undefined {
  let pos = off;
  let next = -1;
  let total = 0;
  let limit = off; // a pointer must land before the position it was read at
  const labels: string[] = [];
  for (;;) {
    if (pos >= end) return undefined;
    const len = buf[pos];
    if (len === 0) {
      total += 1;
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) return undefined;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (next < 0) next = pos + 2;
      if (target >= limit) return undefined;
      limit = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return undefined; // 0x40 / 0x80 label types are obsolete or reserved
    if (pos + 1 + len > end) return undefined;
    total += 1 + len;
    if (total > MAX_NAME - 1) return undefined;
    labels.push(Buffer.from(buf.buffer, buf.byteOffset + pos + 1, len).toString('latin1'));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next };
}

/** Offset after the name at `off` without following pointers, or -1 when it runs past `end`. */
export function skipName(buf: Uint8Array, off: number, end: number): number {
  let pos = off;
  for (;;) {
    if (pos >= end) return -1;
    const len = buf[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= end ? pos + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    pos += 1 + len;
  }
}
