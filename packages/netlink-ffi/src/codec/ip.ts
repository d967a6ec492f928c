// Address, prefix and link-layer address text for request attributes, with NetlinkSpecErrors that
// name the field. Parsing and printing are @vnet/ip's (inet_pton in, glibc inet_ntop out, as
// iproute2), so decoded objects compare equal to `ip -j` output.
import { type IpFamily, parseIpBytes, parseLinkAddress, parsePrefixLength } from '@vnet/ip';
import { NetlinkSpecError } from '../errors.js';

/** An address prefix in bytes: 4 or 16 bytes plus the prefix length. */
export interface Prefix {
  family: IpFamily;
  bytes: Uint8Array;
  length: number;
}

/** Bytes of an IP address; `field` names the argument in the error. */
export function parseIp(text: unknown, field: string, family?: IpFamily): Uint8Array {
  if (typeof text !== 'string') throw new NetlinkSpecError(field, `expected an IP address string`);
  const bytes = parseIpBytes(text);
  if (!bytes) throw new NetlinkSpecError(field, `'${text}' is not an IPv4 or IPv6 address`);
  if (family && (bytes.length === 4 ? 4 : 6) !== family) {
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
  const bytes = parseIpBytes(text, slash < 0 ? text.length : slash);
  if (!bytes) throw new NetlinkSpecError(field, `'${text}' is not an IPv4 or IPv6 prefix`);
  const family = bytes.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const length = slash < 0 ? max : parsePrefixLength(text, slash + 1, max);
  if (length < 0) {
    throw new NetlinkSpecError(field, `'${text}' has a prefix length outside 0..${max}`);
  }
  return { family, bytes, length };
}

/** Parses a link-layer address written as colon-separated hex bytes (`70:b3:d5:80:00:02`). */
export function parseMac(text: unknown, field: string): Uint8Array {
  const bytes = typeof text === 'string' ? parseLinkAddress(text) : undefined;
  if (!bytes) {
    throw new NetlinkSpecError(field, `${JSON.stringify(text)} is not a link-layer address`);
  }
  return bytes;
}
