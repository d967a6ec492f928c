// Addresses and networks parsed once, at the edge where text comes in (an allocation from the
// masters, a gossip record): their values for arithmetic and their canonical text for the kernel
// specs, so nothing downstream parses or formats them again.

import { canonMac, formatIp, parseIp } from '../dataplane/text.js';
import { type Cidr, type Family, familyBits, netmask } from './cidr.js';

/** An IPv4 address: its value and canonical text. */
export interface Ip4 {
  readonly value: number;
  readonly text: string;
}

/** An IPv6 address: its value and canonical (RFC 5952) text. */
export interface Ip6 {
  readonly value: bigint;
  readonly text: string;
}

/** A network (host bits zero) with its canonical text, "9.0.1.0/24". */
export interface Net extends Cidr {
  readonly text: string;
}

export function ip4(text: string): Ip4 | undefined {
  const v = parseIp(text, 4);
  return v === undefined ? undefined : { value: Number(v), text: formatIp(4, v) };
}

export function ip6(text: string): Ip6 | undefined {
  const v = parseIp(text, 6);
  return v === undefined ? undefined : { value: v, text: formatIp(6, v) };
}

export const net = (family: Family, network: bigint, prefix: number): Net => ({
  family,
  network,
  prefix,
  text: `${formatIp(family, network)}/${prefix}`,
});

/** A strict network of the family ("9.0.1.0/24": host bits zero), or undefined. */
export function parseNet(text: string, family: Family): Net | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const network = parseIp(text.slice(0, slash), family);
  const p = text.slice(slash + 1);
  if (network === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > familyBits(family)) {
    return undefined;
  }
  const prefix = Number(p);
  if ((network & netmask(family, prefix)) !== network) return undefined;
  return net(family, network, prefix);
}

/** `address/len` of the family (the address may have host bits): the address and the length. */
export function parseAddressWithPrefix(
  text: string,
  family: Family,
): { address: bigint; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash), family);
  const p = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > familyBits(family)) {
    return undefined;
  }
  return { address, prefix: Number(p) };
}

/** A unicast MAC in canonical lower-case text, or undefined (malformed, zero or group). */
export function unicastMac(text: string): string | undefined {
  const mac = canonMac(text);
  if (mac === undefined || mac === '00:00:00:00:00:00') return undefined;
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1 ? undefined : mac;
}
