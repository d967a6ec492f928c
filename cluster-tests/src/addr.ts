// The little IPv4 arithmetic the harness needs (underlay addresses, default gateways).

export interface Cidr4 {
  /** Network address as a number. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new Error(`"${ip}" is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/len" (host bits are cleared). */
export function parseCidr4(cidr: string): Cidr4 {
  const [ip, len] = cidr.split('/');
  const prefix = Number(len);
  if (ip === undefined || len === undefined || !/^\d+$/.test(len) || prefix > 32) {
    throw new Error(`"${cidr}" is not an IPv4 CIDR (a.b.c.d/len)`);
  }
  const size = 2 ** (32 - prefix);
  return { base: ipToInt(ip) - (ipToInt(ip) % size), prefix };
}

/** Usable host addresses of the subnet (without network and broadcast). */
export function hostCount(c: Cidr4): number {
  return Math.max(0, 2 ** (32 - c.prefix) - 2);
}

/** The `n`-th address of the subnet (1 = first host address). */
export function nth(c: Cidr4, n: number): string {
  if (n < 1 || n > hostCount(c)) {
    throw new Error(`address #${n} is outside ${intToIp(c.base)}/${c.prefix}`);
  }
  return intToIp(c.base + n);
}

/** The first host address of the subnet an interface address ("a.b.c.d/len") lies in. */
export function firstHost(addressWithLen: string): string {
  return nth(parseCidr4(addressWithLen), 1);
}
