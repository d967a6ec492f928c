// `address/len` text, as iproute2 takes it: a bare address is a host prefix (/32, /128).
import type { IpFamily } from './address.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { formatIpv6, parseIpv6 } from './ipv6.js';

/** An address with its prefix length (host bits may be set: "10.0.0.1/24" is an interface's). */
export interface IpPrefix {
  family: IpFamily;
  value: bigint;
  prefix: number;
  /** Canonical address text, without the length. */
  ip: string;
  /** Canonical `ip/len`. */
  text: string;
}

/**
 * The prefix length written in `text[from, end)`: "0" or decimal digits without a leading zero,
 * at most `max`; -1 otherwise.
 */
export function parsePrefixLength(text: string, from: number, max: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3) return -1;
  let v = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57 || (i > from && v === 0)) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= max ? v : -1;
}

/** Parses `address/len` or a bare address (a host prefix); undefined when it is neither. */
export function parsePrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  let family: IpFamily;
  let value: bigint;
  let ip: string;
  const v4 = parseIpv4(text, end);
  if (v4 !== undefined) {
    family = 4;
    value = BigInt(v4);
    ip = formatIpv4(v4);
  } else {
    const v6 = parseIpv6(text, end);
    if (v6 === undefined) return undefined;
    family = 6;
    value = v6;
    ip = formatIpv6(v6);
  }
  const max = family === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : parsePrefixLength(text, slash + 1, max);
  if (prefix < 0) return undefined;
  return { family, value, prefix, ip, text: `${ip}/${prefix}` };
}
