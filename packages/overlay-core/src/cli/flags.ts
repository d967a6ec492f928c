// The parsers of the CLI's flags, one for each kind of value, shared by every command: a bad
// value is a usage error naming the value and what was expected (commander prints it, exit 2).
import { parsePrefixLength } from '@vnet/ip';
import { InvalidArgumentError, Option } from 'commander';
import { quote } from '../input.js';
import { ip4, prefixOf } from '../net/addr.js';
import { type HostPort, parseHostPort } from '../net/host-port.js';

export function hostPortFlag(value: string): HostPort {
  const a = parseHostPort(value);
  if (!a) throw new InvalidArgumentError(`${quote(value)} is not host:port`);
  return a;
}

/** A comma-separated list of host:port. */
export function hostPortsFlag(value: string): HostPort[] {
  return value.split(',').map((v) => hostPortFlag(v.trim()));
}

/** A comma-separated list of IPv4 addresses. */
export function ipv4sFlag(value: string): string[] {
  return value.split(',').map((v) => ipv4Flag(v.trim()));
}

/** A comma-separated list of resolvers: IPv4 or IPv6 addresses, or IP:port ([IPv6]:port). */
export function resolversFlag(value: string): string[] {
  return value.split(',').map((v) => {
    const item = v.trim();
    const host = parseHostPort(item)?.host ?? item;
    if (!ip4(host) && (host.includes('/') || !prefixOf(host, 6))) {
      throw new InvalidArgumentError(`${quote(item)} is not an IP address or IP:port`);
    }
    return item;
  });
}

export function ipv4Flag(value: string): string {
  const a = ip4(value);
  if (!a) throw new InvalidArgumentError(`${quote(value)} is not an IPv4 address`);
  return a.text;
}

/** An integer from 1 to `max` (`what` names the unit in the error). */
export function positiveIntFlag(what = 'a positive integer', max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^[1-9][0-9]{0,15}$/.test(value) || Number(value) > max) {
      throw new InvalidArgumentError(`${quote(value)} is not ${what} (1 to ${max})`);
    }
    return Number(value);
  };
}

/** Milliseconds, up to what a Node timer takes (a longer one would fire at once). */
export const millisFlag = positiveIntFlag('a positive number of milliseconds', 2 ** 31 - 1);

/** A prefix length (0 to 128; the master checks it against the family). */
export function prefixLengthFlag(value: string): number {
  const n = parsePrefixLength(value, 0, 128);
  if (n < 0) throw new InvalidArgumentError(`${quote(value)} is not a prefix length`);
  return n;
}

export function portFlag(value: string): number {
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`${quote(value)} is not a port (1-65535)`);
  }
  return n;
}

/** A `--flag <host:port>` option with a default shown as text in the help. */
export function hostPortOption(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description)
    .argParser(hostPortFlag)
    .default(hostPortFlag(fallback), fallback);
}
