// Address text for records, upstreams and sockets: @vnet/ip's parsers (strict inet_pton text in,
// glibc inet_ntop text out), raising AddressError.
import { canonicalIp as canonicalText, parseIpBytes } from '@vnet/ip';

export class AddressError extends Error {
  override name = 'AddressError';
}

const notAnAddress = (ip: unknown) =>
  new AddressError(`"${String(ip)}" is not an IPv4 or IPv6 address`);

/** 4 or 16 bytes of an IPv4 or IPv6 address; throws AddressError on anything else. */
export function ipBytes(ip: string): Uint8Array {
  const bytes = typeof ip === 'string' ? parseIpBytes(ip) : undefined;
  if (!bytes) throw notAnAddress(ip);
  return bytes;
}

/** Canonical text of an address; throws AddressError when it is not one. */
export function canonicalIp(ip: string): string {
  const text = typeof ip === 'string' ? canonicalText(ip) : undefined;
  if (text === undefined) throw notAnAddress(ip);
  return text;
}
