// IP address text <-> bytes. Validation is Node's (net.isIP); the conversion below only ever sees
// addresses that passed it.
import { isIP } from 'node:net';

export class AddressError extends Error {
  override name = 'AddressError';
}

/** 4 or 16 bytes of an IPv4 or IPv6 address; throws AddressError on anything else. */
export function ipBytes(ip: string): Uint8Array {
  const family = typeof ip === 'string' ? isIP(ip) : 0;
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (family !== 6) throw new AddressError(`"${String(ip)}" is not an IPv4 or IPv6 address`);
  const out = new Uint8Array(16);
  let text = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  // An embedded dotted quad ("::ffff:1.2.3.4") becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const q = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [
          ...headGroups,
          ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
          ...tailGroups,
        ];
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Canonical text (RFC 5952 for IPv6) of 4 or 16 address bytes. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // Longest run (length >= 2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((v) => v.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an address; throws AddressError when it is not one. */
export function canonicalIp(ip: string): string {
  return formatIp(ipBytes(ip));
}
