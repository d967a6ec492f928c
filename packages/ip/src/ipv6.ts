// IPv6 text <-> bigint and bytes. Text in: RFC 4291 (1-4 hex digits per group, one "::" for one
// or more zero groups, an optional trailing dotted quad; no zone, no brackets, no prefix). Text
// out: glibc inet_ntop's, which is what iproute2 and the kernel tools print — RFC 5952 (lower
// case, no leading zeros, the first longest run of two or more zero groups as "::") except that
// IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses end in a dotted quad.
import { hexValue } from './hex.js';
import { scanIpv4 } from './ipv4.js';

// One scratch area for every call (calls are synchronous): the 8 groups of the address being
// parsed or printed, and a view to move them to and from bigint 64 bits at a time.
const scratch = new DataView(new ArrayBuffer(16));
const words = [0, 0, 0, 0, 0, 0, 0, 0];
const MAX = (1n << 128n) - 1n;

/**
 * Parses `text[from, to)` into `words`; false when it is not an IPv6 address. The longest form
 * is 45 characters ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
 */
export function scanIpv6(text: string, from: number, to: number): boolean {
  if (to - from < 2 || to - from > 45) return false;
  let count = 0;
  let gap = -1;
  let i = from;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const start = i;
    let v = 0;
    for (; i < to; i++) {
      const d = hexValue(text.charCodeAt(i));
      if (d < 0) break;
      v = (v << 4) | d; // meaningless past 4 digits, which are refused below
    }
    if (i < to && text.charCodeAt(i) === 46) {
      // A dotted quad: two groups, and the end of the address.
      const v4 = count <= 6 ? scanIpv4(text, start, to) : -1;
      if (v4 < 0) return false;
      words[count++] = v4 >>> 16;
      words[count++] = v4 & 0xffff;
      break;
    }
    if (i === start || i - start > 4 || count === 8) return false;
    words[count++] = v;
    if (i === to) break;
    if (text.charCodeAt(i) !== 58 || ++i === to) return false;
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  if (gap < 0) return count === 8;
  // "::" stands for at least one zero group: move the groups after it to the end.
  if (count === 8) return false;
  const after = count - gap;
  for (let k = 1; k <= after; k++) words[8 - k] = words[count - k] as number;
  for (let k = gap; k < 8 - after; k++) words[k] = 0;
  return true;
}

function wordsToBigInt(): bigint {
  for (let k = 0; k < 8; k++) scratch.setUint16(k * 2, words[k] as number);
  return (scratch.getBigUint64(0) << 64n) | scratch.getBigUint64(8);
}

/** The strict IPv6 address `text[0, end)` as a 128-bit bigint, or undefined. */
export function parseIpv6(text: string, end = text.length): bigint | undefined {
  return scanIpv6(text, 0, end) ? wordsToBigInt() : undefined;
}

/**
 * Writes the 16 bytes (network order) of the IPv6 address `text[0, end)` at `buf[at]`; false,
 * with nothing written, when it is not one.
 */
export function parseIpv6Into(
  text: string,
  buf: Uint8Array,
  at: number,
  end = text.length,
): boolean {
  if (!scanIpv6(text, 0, end)) return false;
  for (let k = 0; k < 8; k++) {
    const w = words[k] as number;
    buf[at + 2 * k] = w >>> 8;
    buf[at + 2 * k + 1] = w & 255;
  }
  return true;
}

/** inet_ntop's text of the address in `words`. */
function formatWords(): string {
  // The first longest run of at least two zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    if (words[i] !== 0) continue;
    let j = i + 1;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const w6 = words[6] as number;
  const w7 = words[7] as number;
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
    return `${bestLen === 6 ? '::' : '::ffff:'}${w6 >>> 8}.${w6 & 255}.${w7 >>> 8}.${w7 & 255}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== best + bestLen) out += ':';
    out += (words[i] as number).toString(16);
  }
  return out;
}

/** Canonical text (inet_ntop's) of a 128-bit value; RangeError outside 0..2^128-1. */
export function formatIpv6(value: bigint): string {
  if (value < 0n || value > MAX) throw new RangeError(`${value} is not an IPv6 address (128 bits)`);
  // setBigUint64 keeps the low 64 bits of what it is given.
  scratch.setBigUint64(0, value >> 64n);
  scratch.setBigUint64(8, value);
  for (let k = 0; k < 8; k++) words[k] = scratch.getUint16(k * 2);
  return formatWords();
}

/** Canonical text (inet_ntop's) of the 16 bytes at `buf[at]`. */
export function formatIpv6Bytes(buf: Uint8Array, at = 0): string {
  for (let k = 0; k < 8; k++) {
    words[k] = ((buf[at + 2 * k] as number) << 8) | (buf[at + 2 * k + 1] as number);
  }
  return formatWords();
}

/** True when an IPv6 address text is in fe80::/10 (link-local), by its first group. */
export function isLinkLocal6(text: string): boolean {
  // fe80::/10 is exactly the four-digit first groups fe80..febf.
  if (text.length < 6 || text.charCodeAt(4) !== 58) return false;
  const d3 = hexValue(text.charCodeAt(3));
  const v =
    (hexValue(text.charCodeAt(0)) << 12) |
    (hexValue(text.charCodeAt(1)) << 8) |
    (hexValue(text.charCodeAt(2)) << 4);
  return d3 >= 0 && v >= 0 && v >>> 6 === 0x3fa;
}
