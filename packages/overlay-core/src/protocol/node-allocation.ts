// A node's allocation as the masters send it (Register's answer, every Watch message, and the
// copy the agent keeps on disk), parsed once into typed values: its VTEP, and per overlay the
// overlay's networks, the node's blocks and the flags the data plane needs. A malformed message
// is refused whole with the field that is wrong.

import { quote } from '../input.js';
import { type Ip4, type Ip6, type Net, parseNet, prefixOf, unicastMac } from '../net/addr.js';
import { contains } from '../net/cidr.js';
import type { Allocation__Output, VxLANInfo__Output } from './messages.js';

/** One overlay as this node holds it. */
export interface OverlayShare {
  name: string;
  /** The overlay's whole networks (e.g. 9.0.0.0/8). */
  net4?: Net;
  net6?: Net;
  /** This node's blocks of it (e.g. 9.0.1.0/24); absent when none was allocated. */
  block4?: Net;
  block6?: Net;
  /** A disabled overlay is treated as absent. */
  enabled: boolean;
  /** Traffic to other isolated overlays is dropped (see dataplane/nftables.ts). */
  isolated: boolean;
}

/** The node's VTEP: its addresses with the VTEP subnets' prefixes, and its MAC. */
export interface Vtep {
  ip: Ip4;
  prefix: number;
  ip6?: Ip6;
  prefix6?: number;
  /** Canonical lower-case. */
  mac: string;
}

export interface NodeAllocation {
  /** The node's underlay IP (its identity). */
  ip: string;
  /** Index of the overlay replicated log the allocation reflects. */
  index: number;
  /** Absent while the node holds no overlay (the VTEP travels with every overlay). */
  vtep?: Vtep;
  overlays: OverlayShare[];
  /** MTU of the bridges and containers. */
  overlayMtu: number;
  /** MTU of vtep1024, when the config sets one. */
  vtepMtu?: number;
  /** The message itself (the agent serves and saves it). */
  message: Allocation__Output;
}

export class AllocationFormatError extends Error {
  override name = 'AllocationFormatError';
}

const bad = (field: string, v: unknown, why: string): AllocationFormatError =>
  new AllocationFormatError(`allocation: ${field} ${quote(v)} ${why}`);

function network(v: string | undefined, family: 4 | 6, field: string): Net | undefined {
  if (v === undefined) return undefined;
  const n = parseNet(v, family);
  if (!n) throw bad(field, v, `is not an IPv${family} network`);
  return n;
}

function vtepOf(x: VxLANInfo__Output | undefined): Vtep {
  const where = 'agent.overlays[0].backend.vxlan';
  const v4 = x?.vtep_ip?.includes('/') ? prefixOf(x.vtep_ip, 4) : undefined;
  if (!v4) throw bad(`${where}.vtep_ip`, x?.vtep_ip, 'is not an IPv4 address with a /prefix');
  const mac = x?.vtep_mac === undefined ? undefined : unicastMac(x.vtep_mac);
  if (!mac) throw bad(`${where}.vtep_mac`, x?.vtep_mac, 'is not a unicast MAC address');
  const vtep: Vtep = { ip: { value: Number(v4.value), text: v4.ip }, prefix: v4.prefix, mac };
  if (x?.vtep_ip6 !== undefined) {
    const v6 = x.vtep_ip6.includes('/') ? prefixOf(x.vtep_ip6, 6) : undefined;
    if (!v6) throw bad(`${where}.vtep_ip6`, x.vtep_ip6, 'is not an IPv6 address with a /prefix');
    vtep.ip6 = { value: v6.value, text: v6.ip };
    vtep.prefix6 = v6.prefix;
  }
  return vtep;
}

/** Parses an allocation; throws AllocationFormatError naming the field that is wrong. */
export function parseAllocation(m: Allocation__Output): NodeAllocation {
  if (typeof m !== 'object' || m === null) throw bad('', m, 'is not an allocation');
  const agent = m.agent;
  const network_ = m.network;
  if (typeof agent?.ip !== 'string') throw bad('agent.ip', agent?.ip, 'is missing');
  if (typeof network_?.vtep_subnet !== 'string') {
    throw bad('network.vtep_subnet', network_?.vtep_subnet, 'is missing');
  }
  if (!network_.overlay_mtu) throw bad('network.overlay_mtu', network_.overlay_mtu, 'is missing');
  const flags = new Map((network_.overlays ?? []).map((o) => [o.name, o]));
  const overlays = (agent.overlays ?? []).map((o, i): OverlayShare => {
    const at = `agent.overlays[${i}]`;
    const name = o.info?.name;
    if (typeof name !== 'string' || name === '') throw bad(`${at}.info.name`, name, 'is missing');
    const share: OverlayShare = {
      name,
      net4: network(o.info?.subnet, 4, `${at}.info.subnet`),
      net6: network(o.info?.subnet6, 6, `${at}.info.subnet6`),
      block4: network(o.subnet, 4, `${at}.subnet`),
      block6: network(o.subnet6, 6, `${at}.subnet6`),
      enabled: (flags.get(name)?.enabled ?? o.info?.enabled) !== false,
      isolated: (flags.get(name)?.isolated ?? o.info?.isolated) !== false,
    };
    for (const [block, net, key] of [
      [share.block4, share.net4, 'subnet'],
      [share.block6, share.net6, 'subnet6'],
    ] as const) {
      if (block && (!net || !contains(net, block))) {
        throw bad(`${at}.${key}`, block.text, 'lies outside the overlay');
      }
    }
    return share;
  });
  const first = agent.overlays?.[0];
  return {
    ip: agent.ip,
    index: m.index ?? 0,
    ...(first && { vtep: vtepOf(first.backend?.vxlan) }),
    overlays,
    overlayMtu: network_.overlay_mtu,
    ...(network_.vtep_mtu !== undefined && { vtepMtu: network_.vtep_mtu }),
    message: m,
  };
}
