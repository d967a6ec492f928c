// One text form per address, prefix and MAC, so that what the desired state says and what the
// kernel reports (inet_ntop, lower-case MACs) compare as strings. IPv6 is parsed and printed by
// hand here (RFC 4291 text in, RFC 5952 out, as ip-address's correctForm): with 10,000 peers the
// generic parser was most of the time of a desired state.
import { type Cidr, type Family, netmask, parseIpv4 } from '../net/cidr.js';

/** Hex digit value of a char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses `text[from, to)` as colon-separated 16-bit groups into `out`; false when malformed. */
function groups(text: string, from: number, to: number, out: number[]): boolean {
  if (from === to) return true;
  let i = from;
  for (;;) {
    let v = 0;
    let digits = 0;
    while (i < to) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4) return false;
    out.push(v);
    if (i === to) return true;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i === to) return false;
  }
}

/** A strict IPv6 address (no zone, no brackets; a trailing dotted IPv4 allowed) as a bigint. */
export function parseIpv6(text: string): bigint | undefined {
  let end = text.length;
  let v4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    end = lastColon + 1;
    // "::1.2.3.4" keeps its "::"; "a:b:...:1.2.3.4" drops the colon before the IPv4 part.
    if (text.charCodeAt(lastColon - 1) !== 58) end = lastColon;
  }
  const head: number[] = [];
  const tail: number[] = [];
  const gap = text.indexOf('::');
  if (gap >= 0 && gap < end) {
    if (text.indexOf('::', gap + 1) >= 0) return undefined;
    if (!groups(text, 0, gap, head) || !groups(text, gap + 2, end, tail)) return undefined;
  } else if (!groups(text, 0, end, head)) return undefined;
  const want = v4 === undefined ? 8 : 6;
  const have = head.length + tail.length;
  if (gap >= 0 && gap < end ? have >= want : have !== want) return undefined;
  // head, zeros, tail (and the IPv4 part) into 8 groups, then 4 words of 32 bits.
  for (let k = have; k < want; k++) head.push(0);
  for (const g of tail) head.push(g);
  if (v4 !== undefined) head.push(v4 >>> 16, v4 & 0xffff);
  let value = 0n;
  for (let k = 0; k < 8; k += 2) value = (value << 32n) | BigInt(head[k]! * 0x10000 + head[k + 1]!);
  return value;
}

/** RFC 5952 text: lower-case, no leading zeros, the first longest run of 2+ zero groups as "::". */
export function formatIpv6(value: bigint): string {
  const g: number[] = [];
  for (let k = 3; k >= 0; k--) {
    const w = Number((value >> BigInt(k * 32)) & 0xffffffffn);
    g.push(Math.floor(w / 0x10000), w & 0xffff);
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number) =>
    g
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** The value of an address of the given family, or undefined. */
export function parseIp(text: string, family: Family): bigint | undefined {
  if (family === 6) return parseIpv6(text);
  const v = parseIpv4(text);
  return v === undefined ? undefined : BigInt(v);
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 6) return formatIpv6(value);
  const v = Number(value);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** A strict network ("9.0.1.0/24": host bits zero) of the given family, or undefined. */
export function parseNetwork(text: string, family: Family): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const network = parseIp(text.slice(0, slash), family);
  const p = text.slice(slash + 1);
  const bits = family === 4 ? 32 : 128;
  if (network === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) {
    return undefined;
  }
  const prefix = Number(p);
  if ((network & netmask(family, prefix)) !== network) return undefined;
  return { family, network, prefix };
}

export const formatNetwork = (c: Cidr): string => `${formatIp(c.family, c.network)}/${c.prefix}`;

const cache6 = new Map<string, string | undefined>();

/** The family of an address text (by its shape; validity is checked by canonIp). */
export const familyOf = (text: string): Family => (text.includes(':') ? 6 : 4);

/** The canonical text of an IPv4 or IPv6 address, or undefined when it is not one. */
export function canonIp(text: string): string | undefined {
  if (!text.includes(':')) return parseIpv4(text) === undefined ? undefined : text;
  if (cache6.has(text)) return cache6.get(text);
  const v = parseIpv6(text);
  const out = v === undefined ? undefined : formatIpv6(v);
  if (cache6.size > 100_000) cache6.clear();
  cache6.set(text, out);
  return out;
}

/** An address with an optional `/len`: its value, family and length (full length when absent). */
export interface AddressWithPrefix {
  family: Family;
  value: bigint;
  prefix: number;
  /** Canonical `ip/len`. */
  text: string;
  /** Canonical address without the length. */
  ip: string;
}

export function parseWithPrefix(text: string): AddressWithPrefix | undefined {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const family = familyOf(ipText);
  const value = parseIp(ipText, family);
  if (value === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  const ip = formatIp(family, value);
  return { family, value, prefix, ip, text: `${ip}/${prefix}` };
}

/** Canonical `ip/len` (or undefined when the text is not one). */
export function canonPrefix(text: string): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = canonIp(text.slice(0, slash));
  return ip === undefined ? undefined : `${ip}/${Number(text.slice(slash + 1))}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case MAC, or undefined when the text is not one. */
export function canonMac(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = text.toLowerCase();
  return MAC.test(m) ? m : undefined;
}

/** The all-zero and group (multicast/broadcast) MACs: the kernel's FDB entries, never vnet's. */
export function isSpecialMac(mac: string): boolean {
  return mac === '00:00:00:00:00:00' || (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** fe80::/10, which the kernel gives every IPv6 device and neighbour on its own. */
export function isLinkLocal6(ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip);
}
