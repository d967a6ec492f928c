// IPv4/IPv6 networks as (family, network address as bigint, prefix length). Address text is
// @vnet/ip's (strict inet_pton parsing, one canonical form); the arithmetic the allocator needs
// is plain bigint math here.
import { formatIp, parseIp, parsePrefixLength } from '@vnet/ip';
import { quote } from '../input.js';

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
      reason: string;
      /** The network the text meant, when only host bits were set. */
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
  const prefix = parsePrefixLength(text, slash + 1, bits);
  if (prefix < 0) {
    return { ok: false, reason: `${quote(text)} has an invalid prefix length (0 to ${bits})` };
  }
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
  return typeof text === 'string' ? parseIp(text, family) : undefined;
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

export const formatAddress = (family: Family, value: bigint): string => formatIp(family, value);

export const formatCidr = (c: Cidr): string => `${formatAddress(c.family, c.network)}/${c.prefix}`;

/** Renders an address with a prefix length, as in "44.128.0.1/20". */
export const formatWithPrefix = (family: Family, address: bigint, prefix: number): string =>
  `${formatAddress(family, address)}/${prefix}`;
