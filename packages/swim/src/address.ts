import { isIP } from 'node:net';

/** A malformed "host:port" address. */
export class AddressError extends Error {
  constructor(
    readonly address: string,
    reason: string,
  ) {
    super(
      `bad address ${JSON.stringify(address)}: ${reason} (expected "ip:port" or "[ipv6]:port")`,
    );
    this.name = 'AddressError';
  }
}

/** Splits "host:port" or "[v6]:port"; the host may be a name (resolved by the runtime). */
export function splitHostPort(addr: string): { host: string; port: number } {
  if (typeof addr !== 'string') throw new AddressError(String(addr), 'not a string');
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':') throw new AddressError(addr, 'unterminated [ipv6]');
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon <= 0) throw new AddressError(addr, 'no port');
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(':')) throw new AddressError(addr, 'IPv6 hosts need brackets');
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
    throw new AddressError(addr, 'port must be 1..65535');
  return { host, port };
}

export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
