// Text <-> bytes for IP addresses, prefixes and link-layer addresses. Formatting follows glibc's
// inet_ntop (what iproute2 prints), so decoded objects compare equal to `ip -j` output.
import { NetlinkSpecError } from '../errors.js';

export type IpFamily = 4 | 6;

/** An address prefix in bytes: 4 or 16 bytes plus the prefix length. */
export interface Prefix {
  family: IpFamily;
  bytes: Buffer;
  length: number;
}

/**
 * Writes the 4 bytes of the dotted-quad IPv4 address `text[0, end)` at `buf[at]`; false when it
 * is not one.
 */
export function parseIpv4Into(
  text: string,
  buf: Uint8Array,
  at: number,
  end = text.length,
): boolean {
  // Four decimal octets without leading zeros (what inet_pton accepts).
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      buf[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

function parseIpv4(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(4);
  return parseIpv4Into(text, out, 0) ? out : undefined;
}

function parseIpv6(text: string): Buffer | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const words: number[][] = [];
  for (const half of halves) {
    const ws: number[] = [];
    if (half !== '') {
      const groups = half.split(':');
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i] as string;
        if (g.includes('.')) {
          // An embedded IPv4 address may only end the address.
          if (i !== groups.length - 1 || half !== halves[halves.length - 1]) return undefined;
          const v4 = parseIpv4(g);
          if (!v4) return undefined;
          ws.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
        } else {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
          ws.push(Number.parseInt(g, 16));
        }
      }
    }
    words.push(ws);
  }
  const head = words[0] as number[];
  const tail = words[1] ?? [];
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i] as number, i * 2);
  return out;
}

/** Bytes of an IPv4 or IPv6 address in network order, or undefined when `text` is neither. */
export function tryParseIp(text: string): Buffer | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Bytes of an IP address; `field` names the argument in the error. */
export function parseIp(text: unknown, field: string, family?: IpFamily): Buffer {
  if (typeof text !== 'string') throw new NetlinkSpecError(field, `expected an IP address string`);
  const bytes = tryParseIp(text);
  if (!bytes) throw new NetlinkSpecError(field, `'${text}' is not an IPv4 or IPv6 address`);
  if (family && familyOf(bytes) !== family) {
    throw new NetlinkSpecError(field, `'${text}' is not an IPv${family} address`);
  }
  return bytes;
}

/** Parses `addr/len` (a bare address means a host prefix, as in iproute2). */
export function parsePrefix(text: unknown, field: string): Prefix {
  if (typeof text !== 'string') throw new NetlinkSpecError(field, `expected 'address/length'`);
  if (text === 'default') {
    throw new NetlinkSpecError(field, `'default' is ambiguous here; use 0.0.0.0/0 or ::/0`);
  }
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = tryParseIp(addr);
  if (!bytes) throw new NetlinkSpecError(field, `'${text}' is not an IPv4 or IPv6 prefix`);
  const family = familyOf(bytes);
  const max = family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    length = /^(0|[1-9][0-9]{0,2})$/.test(lenText) ? Number(lenText) : Number.NaN;
    if (!(length <= max)) {
      throw new NetlinkSpecError(field, `'${text}' has a prefix length outside 0..${max}`);
    }
  }
  return { family, bytes, length };
}

export function familyOf(bytes: Uint8Array): IpFamily {
  return bytes.length === 4 ? 4 : 6;
}

/** inet_ntop for 4 or 16 bytes starting at `offset`. */
export function formatIp(buf: Uint8Array, offset = 0, length = buf.length - offset): string {
  if (length === 4) {
    return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  }
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    words.push(((buf[offset + 2 * i] as number) << 8) | (buf[offset + 2 * i + 1] as number));
  }
  // The longest run of zero words (at least two; the first one on a tie) becomes '::'.
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIp(buf, offset + 12, 4);
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Writes a six-byte `xx:xx:xx:xx:xx:xx` address at `buf[at]`; false when `text` is not one. */
export function parseMac6Into(text: string, buf: Uint8Array, at: number): boolean {
  if (text.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(text.charCodeAt(i * 3));
    const lo = hexDigit(text.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && text.charCodeAt(i * 3 + 2) !== 58)) return false;
    buf[at + i] = hi * 16 + lo;
  }
  return true;
}

/** Parses a link-layer address written as colon-separated hex bytes (`70:b3:d5:80:00:02`). */
export function parseMac(text: unknown, field: string): Buffer {
  const bytes: number[] = [];
  if (typeof text === 'string') {
    let value = 0;
    let digits = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text.charCodeAt(i) : 58;
      if (c === 58) {
        if (digits === 0) break;
        bytes.push(value);
        value = 0;
        digits = 0;
        if (i < text.length) continue;
        if (bytes.length >= 2 && bytes.length <= 32) return Buffer.from(bytes);
        break;
      }
      const d = hexDigit(c);
      if (d < 0 || digits === 2) break;
      value = value * 16 + d;
      digits++;
    }
  }
  throw new NetlinkSpecError(field, `${JSON.stringify(text)} is not a link-layer address`);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case colon-separated hex, as iproute2 prints link-layer addresses. */
export function formatMac(buf: Uint8Array, offset = 0, length = buf.length - offset): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    if (i) out += ':';
    out += HEX[buf[offset + i] as number];
  }
  return out;
}
