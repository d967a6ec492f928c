// Addresses and networks parsed once, at the edge where text comes in (an allocation from the
// masters, a gossip record): their values for arithmetic and their canonical text (@vnet/ip's,
// the kernel's own) for the kernel specs, so nothing downstream parses or formats them again.
import {
  canonicalMac,
  formatIp,
  type IpPrefix,
  isGroupOrZeroMac,
  parseIpv4,
  parsePrefix,
} from '@vnet/ip';
import { type Cidr, type Family, formatCidr, parseCidr } from './cidr.js';

/** An IPv4 address: its value and canonical text. */
export interface Ip4 {
  readonly value: number;
  readonly text: string;
}

/** An IPv6 address: its value and canonical text. */
export interface Ip6 {
  readonly value: bigint;
  readonly text: string;
}

/** A network (host bits zero) with its canonical text, "9.0.1.0/24". */
export interface Net extends Cidr {
  readonly text: string;
}

export function ip4(text: string): Ip4 | undefined {
  const v = parseIpv4(text);
  return v === undefined ? undefined : { value: v, text: formatIp(4, BigInt(v)) };
}

/** `address/len` (or a bare address, a host prefix) of `family`, host bits allowed. */
export function prefixOf(text: string, family: Family): IpPrefix | undefined {
  const p = parsePrefix(text);
  return p?.family === family ? p : undefined;
}

/** A strict network of the family ("9.0.1.0/24": a /len, host bits zero), or undefined. */
export function parseNet(text: string, family: Family): Net | undefined {
  const r = parseCidr(text, family);
  return r.ok ? { ...r.cidr, text: formatCidr(r.cidr) } : undefined;
}

/** A unicast MAC in canonical lower-case text, or undefined (malformed, zero or group). */
export function unicastMac(text: string): string | undefined {
  const mac = canonicalMac(text);
  return mac === undefined || isGroupOrZeroMac(mac) ? undefined : mac;
}
