// Upstream resolver addresses ("ip", "ip:port", "[ipv6]:port") and which ones to ask.
import { canonicalIp, familyOf } from '@vnet/ip';

export interface Upstream {
  address: string;
  port: number;
  family: 4 | 6;
  /** Failures (timeouts, bad answers) since its last good answer. */
  failures: number;
  queries: number;
  timeouts: number;
  errors: number;
}

export class UpstreamError extends Error {
  override name = 'UpstreamError';
}

export function parseUpstream(text: string): Upstream {
  if (typeof text !== 'string')
    throw new UpstreamError(`upstream ${JSON.stringify(text)}: expected "ip" or "ip:port"`);
  let address = text;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    address = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (text.includes(':') && text.indexOf(':') === text.lastIndexOf(':')) {
    // One colon: "ip:port" (an IPv6 address has at least two).
    address = text.slice(0, text.indexOf(':'));
    port = Number(text.slice(text.indexOf(':') + 1));
  }
  const canonical = canonicalIp(address);
  if (canonical === undefined)
    throw new UpstreamError(`upstream "${text}": "${address}" is not an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UpstreamError(`upstream "${text}": bad port`);
  return {
    address: canonical,
    port,
    family: familyOf(canonical),
    failures: 0,
    queries: 0,
    timeouts: 0,
    errors: 0,
  };
}

/**
 * The order to try upstreams in: fewest recent failures first, ties rotated by `turn` so that load
 * spreads. Callers ask them two at a time, as dcos-net did.
 */
export function upstreamOrder(list: readonly Upstream[], turn: number): Upstream[] {
  const n = list.length;
  const rotated = list.map((_, i) => list[(i + turn) % n]);
  return rotated.sort((a, b) => a.failures - b.failures);
}
