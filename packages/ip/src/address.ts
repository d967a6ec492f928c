// Either family: the family is told by the text's shape (IPv6 text has a colon, IPv4 text none),
// values are bigints for both (an IPv4 address is its uint32).
import { formatIpv4, formatIpv4Bytes, parseIpv4, parseIpv4Into } from './ipv4.js';
import { formatIpv6, formatIpv6Bytes, parseIpv6, parseIpv6Into } from './ipv6.js';

export type IpFamily = 4 | 6;

/** The family an address text has the shape of (whether it is valid is for the parsers). */
export function familyOf(text: string): IpFamily {
  return text.includes(':') ? 6 : 4;
}

/** The value of an address of `family` (by default the family of its shape), or undefined. */
export function parseIp(text: string, family: IpFamily = familyOf(text)): bigint | undefined {
  if (family === 6) return parseIpv6(text);
  const v = parseIpv4(text);
  return v === undefined ? undefined : BigInt(v);
}

/** Canonical text of an address value of `family`; RangeError when it does not fit. */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 6) return formatIpv6(value);
  if (value < 0n || value > 0xffffffffn) {
    throw new RangeError(`${value} is not an IPv4 address (uint32)`);
  }
  return formatIpv4(Number(value));
}

/** The 4 (IPv4) or 16 (IPv6) bytes of the address `text[0, end)`, or undefined. */
export function parseIpBytes(text: string, end = text.length): Uint8Array | undefined {
  const colon = text.indexOf(':');
  const six = colon >= 0 && colon < end;
  const out = new Uint8Array(six ? 16 : 4);
  return (six ? parseIpv6Into(text, out, 0, end) : parseIpv4Into(text, out, 0, end))
    ? out
    : undefined;
}

/**
 * Canonical text (inet_ntop's) of the 4 or 16 address bytes at `buf[offset]`; RangeError for
 * any other length.
 */
export function formatIpBytes(buf: Uint8Array, offset = 0, length = buf.length - offset): string {
  if (length === 4) return formatIpv4Bytes(buf, offset);
  if (length === 16) return formatIpv6Bytes(buf, offset);
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${length}`);
}
