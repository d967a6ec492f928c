// One text form per address, prefix and MAC, so that what the desired state says and what the
// kernel reports (inet_ntop, lower-case MACs) compare as strings.
import { type Family, formatAddress, parseAddress, parseIpv4 } from '../net/cidr.js';

const cache6 = new Map<string, string | undefined>();

/** The family of an address text (by its shape; validity is checked by canonIp). */
export const familyOf = (text: string): Family => (text.includes(':') ? 6 : 4);

/** The canonical text of an IPv4 or IPv6 address, or undefined when it is not one. */
export function canonIp(text: string): string | undefined {
  if (!text.includes(':')) return parseIpv4(text) === undefined ? undefined : text;
  if (cache6.has(text)) return cache6.get(text);
  const v = parseAddress(text, 6);
  const out = v === undefined ? undefined : formatAddress(6, v);
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
  const value = parseAddress(ipText, family);
  if (value === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  const ip = formatAddress(family, value);
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
