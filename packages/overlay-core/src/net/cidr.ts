// IPv4/IPv6 networks as (family, network address as bigint, prefix length).
// Parsing and textual forms come from `ip-address` (strict: no leading zeros, RFC 5952 output);
// the arithmetic the allocator needs is plain bigint math here.
import { Address6 } from 'ip-address';
import { quote } from '../protocol/quote.js';

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly network: bigint;
  readonly prefix: number;
}

export type ParseResult =
  | { ok: true; cidr: Cidr }
  | {
      ok: false;
      reason: string /** the network the text meant, when only host bits were set */;
      corrected?: Cidr;
    };

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

/** Parses a strict CIDR of the given family ("10.0.0.0/8", "fd01:b::/64"). */
export function parseCidr(text: string, family: Family): ParseResult {
  const name = family === 4 ? 'IPv4' : 'IPv6';
  const slash = text.indexOf('/');
  if (slash < 0)
    return { ok: false, reason: `${quote(text)} is not an ${name} network: no /prefix` };
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = parseAddress(addrText, family);
  if (address === undefined) {
    const other: Family = family === 4 ? 6 : 4;
    const why =
      parseAddress(addrText, other) !== undefined
        ? `is IPv${other}, not ${name}`
        : `is not an ${name} network`;
    return { ok: false, reason: `${quote(text)} ${why}` };
  }
  const bits = familyBits(family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, reason: `${quote(text)} has an invalid prefix length (0 to ${bits})` };
  }
  const prefix = Number(prefixText);
  const network = address & netmask(family, prefix);
  if (network !== address) {
    const corrected: Cidr = { family, network, prefix };
    return {
      ok: false,
      reason: `${quote(text)} has host bits set; the network is ${formatCidr(corrected)}`,
      corrected,
    };
  }
  return { ok: true, cidr: { family, network, prefix } };
}

/** Parses a plain address of the given family, or undefined. */
export function parseAddress(text: string, family: Family): bigint | undefined {
  if (family === 4) {
    const v = parseIpv4(text);
    return v === undefined ? undefined : BigInt(v);
  }
  try {
    if (!Address6.isValid(text) || text.includes('/') || text.includes('%')) return undefined;
    return new Address6(text).bigInt();
  } catch {
    return undefined;
  }
}

/**
 * Strict dotted-quad IPv4 ("10.0.0.1": four decimal octets, no leading zeros) as an unsigned
 * 32-bit number. Hand-written because it sits on the node registration path, where the generic
 * parser was a third of the cost.
 */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (
      digits === 0 ||
      digits > 3 ||
      octet > 255 ||
      (digits > 1 && text.charCodeAt(start) === 48)
    ) {
      return undefined;
    }
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  return i === text.length ? value : undefined;
}

export function netmask(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Number of addresses in the network. */
export const size = (c: Cidr): bigint => 1n << BigInt(familyBits(c.family) - c.prefix);

export const lastAddress = (c: Cidr): bigint => c.network + size(c) - 1n;

export const overlaps = (a: Cidr, b: Cidr): boolean =>
  a.family === b.family && a.network <= lastAddress(b) && b.network <= lastAddress(a);

export const contains = (outer: Cidr, inner: Cidr): boolean =>
  outer.family === inner.family &&
  inner.prefix >= outer.prefix &&
  (inner.network & netmask(outer.family, outer.prefix)) === outer.network;

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    const v = Number(value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return Address6.fromBigInt(value).correctForm();
}

export const formatCidr = (c: Cidr): string => `${formatAddress(c.family, c.network)}/${c.prefix}`;

/** Renders an address with a prefix length, as in "44.128.0.1/20". */
export const formatWithPrefix = (family: Family, address: bigint, prefix: number): string =>
  `${formatAddress(family, address)}/${prefix}`;
