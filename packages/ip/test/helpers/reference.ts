// Reference implementations the tests compare against, built on code we did not write: Node's
// net.isIP for validity (minus zones, which it allows and we do not) and ip-address for values and
// RFC 5952 text. ip-address's correctForm() never prints a dotted-quad tail; glibc's inet_ntop
// (our canonical form) does for ::ffff:a.b.c.d and for ::a.b.c.d when the address has more than
// 16 bits, so the reference adds exactly that.
import { isIP } from 'node:net';
import { Address4, Address6 } from 'ip-address';

export function refParseIpv4(text: string): number | undefined {
  if (isIP(text) !== 4) return undefined;
  if (!Address4.isValid(text)) throw new Error(`references disagree on ${JSON.stringify(text)}`);
  return Number(new Address4(text).bigInt());
}

export function refFormatIpv4(v: number): string {
  return Address4.fromBigInt(BigInt(v)).correctForm();
}

export function refParseIpv6(text: string): bigint | undefined {
  if (isIP(text) !== 6 || text.includes('%')) return undefined;
  if (!Address6.isValid(text)) throw new Error(`references disagree on ${JSON.stringify(text)}`);
  return new Address6(text).bigInt();
}

const dotted = (v: bigint) => Address4.fromBigInt(v & 0xffffffffn).correctForm();

export function refFormatIpv6(v: bigint): string {
  if (v >> 32n === 0xffffn) return `::ffff:${dotted(v)}`;
  if (v >> 32n === 0n && v > 0xffffn) return `::${dotted(v)}`;
  return Address6.fromBigInt(v).correctForm();
}

/** Either family by shape, as the library does. */
export function refParseIp(text: string): bigint | undefined {
  if (text.includes(':')) return refParseIpv6(text);
  const v = refParseIpv4(text);
  return v === undefined ? undefined : BigInt(v);
}

export function refCanonicalIp(text: string): string | undefined {
  if (text.includes(':')) {
    const v = refParseIpv6(text);
    return v === undefined ? undefined : refFormatIpv6(v);
  }
  const v = refParseIpv4(text);
  return v === undefined ? undefined : refFormatIpv4(v);
}

/** `addr/len` or a bare address, with the length "0" or digits without a leading zero. */
export function refParsePrefix(
  text: string,
): { family: 4 | 6; value: bigint; prefix: number; ip: string; text: string } | undefined {
  const parts = text.split('/');
  if (parts.length > 2) return undefined;
  const [addr, len] = parts as [string, string | undefined];
  const family = addr.includes(':') ? 6 : 4;
  const value = refParseIp(addr);
  if (value === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (len !== undefined && !/^(0|[1-9][0-9]*)$/.test(len)) return undefined;
  const prefix = len === undefined ? max : Number(len);
  if (prefix > max) return undefined;
  const ip = refCanonicalIp(addr) as string;
  return { family, value, prefix, ip, text: `${ip}/${prefix}` };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function refCanonicalMac(text: string): string | undefined {
  return MAC.test(text) ? text.toLowerCase() : undefined;
}

/** iproute2's lladdr syntax: 2-32 bytes of one or two hex digits, colon-separated. */
export function refParseLinkAddress(text: string): number[] | undefined {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 32) return undefined;
  if (!parts.every((p) => /^[0-9a-f]{1,2}$/i.test(p))) return undefined;
  return parts.map((p) => Number.parseInt(p, 16));
}
