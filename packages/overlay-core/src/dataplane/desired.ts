// The kernel objects a node should hold, as a pure function of its allocation and the VTEP records
// of the other nodes (see README "Data plane"). Gossip records are not trusted blindly: a record
// that is malformed, clashes with another one or routes outside its overlay is left out and named
// in `problems`, so one bad peer never breaks the others.
import type {
  AddressSpec,
  FdbSpec,
  LinkSpec,
  NeighbourSpec,
  NexthopSpec,
  RouteSpec,
  RuleSpec,
} from '@vnet/netlink-ffi';
import { DEFAULT_OVERLAY_MTU, VXLAN_OVERHEAD } from '../config/types.js';
import { VTEP_NAME, VXLAN_VNI } from '../ipam/ipam.js';
import { halves } from '../ipam/state-json.js';
import { type Cidr, contains, type Family, netmask, parseCidr, parseIpv4 } from '../net/cidr.js';
import { renderNftables } from './nftables.js';
import {
  type AddressWithPrefix,
  canonMac,
  formatIp,
  formatNetwork,
  isSpecialMac,
  parseNetwork,
  parseWithPrefix,
} from './text.js';

import {
  type DesiredState,
  HOST_ROUTE_TABLE,
  type LocalNode,
  type LocalOverlay,
  MAIN_TABLE,
  NEXTHOP_BASE_V4,
  NEXTHOP_BASE_V6,
  type NetworkSettings,
  type RemoteNode,
  RULE_PRIORITY,
  type Sysctl,
  VNET_PROTOCOL,
  VXLAN_PORT,
} from './types.js';

const formatWithPrefix = (family: Family, value: bigint, prefix: number): string =>
  `${formatIp(family, value)}/${prefix}`;

/** IFA_F_NODAD: vnet's IPv6 addresses are usable at once (nobody else holds them). */
const IFA_F_NODAD = 0x02;

/** The id of a remote node's nexthop, from the offset of its VTEP IPv4 in the VTEP subnet. */
export function nexthopId(family: Family, vtepOffset: number): number {
  return (family === 4 ? NEXTHOP_BASE_V4 : NEXTHOP_BASE_V6) + vtepOffset;
}

/** `m-<name>`: the Mesos (CNI) bridge of an overlay. */
export const mesosBridgeName = (overlay: string): string => `m-${overlay}`;

/** The MTU of vtep1024: `vtep_mtu`, else the underlay's minus the VXLAN overhead. */
export function vtepMtu(local: LocalNode, settings: NetworkSettings = {}): number {
  return settings.vtepMtu ?? local.underlayMtu - VXLAN_OVERHEAD;
}

/** A validated local overlay: its networks and this node's block as CIDRs. */
interface Overlay {
  config: LocalOverlay;
  net4?: Cidr;
  net6?: Cidr;
  block4?: Cidr;
  block6?: Cidr;
}

function localError(what: string, text: unknown, why: string): Error {
  return new Error(`local allocation: ${what} ${JSON.stringify(text)} ${why}`);
}

function localCidr(text: string | undefined, family: Family, what: string): Cidr | undefined {
  if (text === undefined) return undefined;
  const r = parseCidr(text, family);
  if (!r.ok) throw localError(what, text, `is not valid: ${r.reason}`);
  return r.cidr;
}

function localAddress(text: string, family: Family, what: string): AddressWithPrefix {
  const a = parseWithPrefix(text);
  if (!a || a.family !== family || !text.includes('/')) {
    throw localError(what, text, `is not an IPv${family} address with a /prefix`);
  }
  return a;
}

function localOverlays(local: LocalNode): Overlay[] {
  return local.overlays
    .filter((o) => o.enabled !== false)
    .map((o) => {
      const at = `overlay ${o.name}`;
      const out: Overlay = {
        config: o,
        net4: localCidr(o.overlaySubnet, 4, `${at} overlaySubnet`),
        net6: localCidr(o.overlaySubnet6, 6, `${at} overlaySubnet6`),
        block4: localCidr(o.subnet, 4, `${at} subnet`),
        block6: localCidr(o.subnet6, 6, `${at} subnet6`),
      };
      for (const [block, net, key] of [
        [out.block4, out.net4, 'subnet'],
        [out.block6, out.net6, 'subnet6'],
      ] as const) {
        if (block && net && !contains(net, block)) {
          throw localError(`${at} ${key}`, o[key], 'lies outside the overlay');
        }
      }
      return out;
    });
}

/** The gateway of a block's Mesos half: its first host, with the half's prefix. */
function mesosGateway(block: Cidr): string {
  const [half] = halves(block.family, block.network, block.prefix);
  const network = parseWithPrefix(half)!;
  return formatWithPrefix(block.family, network.value + 1n, network.prefix);
}

/** A peer's block as a route destination, or why it cannot be one. */
function checkBlock(
  text: unknown,
  family: Family,
  net: Cidr | undefined,
  claimed: Set<string>,
): string | { problem: string } {
  const block = typeof text === 'string' ? parseNetwork(text, family) : undefined;
  if (!block) return { problem: `is not an IPv${family} network` };
  // contains(), with the overlay's mask computed once per overlay rather than per block.
  if (!net || block.prefix < net.prefix || (block.network & maskOf(net)) !== net.network) {
    return { problem: 'is not inside the overlay' };
  }
  const dst = formatNetwork(block);
  if (claimed.has(dst))
    return { problem: 'is already claimed (by this node or an earlier record)' };
  return dst;
}

const masks = new WeakMap<Cidr, bigint>();
function maskOf(net: Cidr): bigint {
  let m = masks.get(net);
  if (m === undefined) {
    m = netmask(net.family, net.prefix);
    masks.set(net, m);
  }
  return m;
}

/** A remote node that passed the checks. */
interface Peer {
  underlay: string;
  /** The underlay IP as a number: the sort key. */
  key: number;
  vtep: string;
  vtep6?: string;
  mac: string;
  offset: number;
  record: RemoteNode;
}

/** The VTEP subnets peers must be in (numbers for IPv4: this runs once per peer). */
interface VtepRange {
  base: number;
  size: number;
  prefix: number;
  base6?: bigint;
  size6?: bigint;
  prefix6?: number;
}

function vtepRange(vtep: AddressWithPrefix, vtep6: AddressWithPrefix | undefined): VtepRange {
  const size = 2 ** (32 - vtep.prefix);
  const v = Number(vtep.value);
  const range: VtepRange = { base: v - (v % size), size, prefix: vtep.prefix };
  if (vtep6) {
    range.size6 = 1n << BigInt(128 - vtep6.prefix);
    range.base6 = vtep6.value - (vtep6.value % range.size6);
    range.prefix6 = vtep6.prefix;
  }
  return range;
}

function checkPeer(r: RemoteNode, range: VtepRange, problems: string[]): Peer | undefined {
  const who = () => `node ${JSON.stringify(r.underlayIp)}`;
  const key = typeof r.underlayIp === 'string' ? parseIpv4(r.underlayIp) : undefined;
  if (key === undefined) {
    problems.push(`${who()}: underlay IP is not an IPv4 address; record ignored`);
    return undefined;
  }
  const vtepText = typeof r.vtepIp === 'string' ? r.vtepIp.split('/')[0]! : '';
  const v = parseIpv4(vtepText);
  if (v === undefined || v < range.base || v >= range.base + range.size) {
    problems.push(
      `${who()}: VTEP IP ${JSON.stringify(r.vtepIp)} is not in the VTEP subnet ${formatWithPrefix(4, BigInt(range.base), range.prefix)}; record ignored`,
    );
    return undefined;
  }
  const mac = typeof r.vtepMac === 'string' ? canonMac(r.vtepMac) : undefined;
  if (mac === undefined || isSpecialMac(mac)) {
    problems.push(`${who()}: VTEP MAC ${JSON.stringify(r.vtepMac)} is not a unicast MAC; ignored`);
    return undefined;
  }
  const peer: Peer = {
    underlay: r.underlayIp,
    key,
    vtep: vtepText,
    mac,
    offset: v - range.base,
    record: r,
  };
  if (r.vtepIp6 !== undefined && range.base6 !== undefined && range.size6 !== undefined) {
    const v6 = typeof r.vtepIp6 === 'string' ? parseWithPrefix(r.vtepIp6) : undefined;
    if (v6?.family !== 6 || v6.value < range.base6 || v6.value >= range.base6 + range.size6) {
      problems.push(
        `${who()}: VTEP IPv6 ${JSON.stringify(r.vtepIp6)} is not in ${formatWithPrefix(6, range.base6, range.prefix6!)}; its IPv6 routes are left out`,
      );
    } else peer.vtep6 = v6.ip;
  }
  return peer;
}

/** Orders peers by underlay IP so that the first of two clashing records wins on every node. */
function sortedPeers(
  local: LocalNode,
  remotes: Iterable<RemoteNode>,
  vtep: AddressWithPrefix,
  vtep6: AddressWithPrefix | undefined,
  problems: string[],
): Peer[] {
  const self = parseIpv4(local.underlayIp);
  const range = vtepRange(vtep, vtep6);
  const peers: Peer[] = [];
  for (const r of remotes) {
    if (r === null || typeof r !== 'object') {
      problems.push('a gossip record is not an object; ignored');
      continue;
    }
    const p = checkPeer(r, range, problems);
    if (p && p.key !== self) peers.push(p);
  }
  peers.sort((a, b) => a.key - b.key);
  const seen = { underlay: new Set<string>(), vtep: new Set([vtep.ip]), mac: new Set<string>() };
  seen.mac.add(canonMac(local.vtepMac) ?? '');
  const out: Peer[] = [];
  for (const p of peers) {
    const clash = seen.underlay.has(p.underlay)
      ? 'a second record for the same node'
      : seen.vtep.has(p.vtep)
        ? `VTEP IP ${p.vtep} is already taken`
        : seen.mac.has(p.mac)
          ? `VTEP MAC ${p.mac} is already taken`
          : p.vtep6 !== undefined && seen.vtep.has(p.vtep6)
            ? `VTEP IPv6 ${p.vtep6} is already taken`
            : undefined;
    if (clash) {
      problems.push(`node ${p.underlay}: ${clash}; record ignored`);
      continue;
    }
    seen.underlay.add(p.underlay);
    seen.vtep.add(p.vtep);
    if (p.vtep6 !== undefined) seen.vtep.add(p.vtep6);
    seen.mac.add(p.mac);
    out.push(p);
  }
  return out;
}

/**
 * The desired kernel state of a node. Throws only on a malformed local allocation (which comes
 * validated from the master); bad gossip records are reported in `problems`.
 */
export function desiredState(
  local: LocalNode,
  remotes: Iterable<RemoteNode>,
  settings: NetworkSettings = {},
): DesiredState {
  const problems: string[] = [];
  const vtep = localAddress(local.vtepIp, 4, 'vtepIp');
  const vtep6 = local.vtepIp6 === undefined ? undefined : localAddress(local.vtepIp6, 6, 'vtepIp6');
  const mac = canonMac(local.vtepMac);
  if (mac === undefined) throw localError('vtepMac', local.vtepMac, 'is not a MAC address');
  const underlay = parseWithPrefix(local.underlayIp);
  if (underlay?.family !== 4) {
    throw localError('underlayIp', local.underlayIp, 'is not an IPv4 address');
  }
  const overlays = localOverlays(local);
  const overlayMtu = settings.overlayMtu ?? DEFAULT_OVERLAY_MTU;

  const vtepLink: LinkSpec = {
    name: VTEP_NAME,
    kind: 'vxlan',
    mtu: vtepMtu(local, settings),
    address: mac,
    up: true,
    vxlan: {
      vni: VXLAN_VNI,
      port: VXLAN_PORT,
      learning: false,
      local: underlay.ip,
      dev: local.underlayDev,
    },
  };
  const links: LinkSpec[] = [vtepLink];
  const addresses: AddressSpec[] = [{ dev: VTEP_NAME, address: vtep.text }];
  const sysctls: Sysctl[] = [];
  if (vtep6) {
    addresses.push({ dev: VTEP_NAME, address: vtep6.text, flags: IFA_F_NODAD });
    sysctls.push({
      key: `net.ipv6.conf.${VTEP_NAME}.disable_ipv6`,
      value: '0',
      reason: 'the IPv6 VTEP address and IPv6 nexthops need IPv6 on vtep1024',
    });
  }
  if (local.bridges) {
    for (const o of overlays) {
      const name = mesosBridgeName(o.config.name);
      if (!o.block4 && !o.block6) continue;
      links.push({ name, kind: 'bridge', mtu: overlayMtu, up: true });
      if (o.block4) addresses.push({ dev: name, address: mesosGateway(o.block4) });
      if (o.block6) {
        addresses.push({ dev: name, address: mesosGateway(o.block6), flags: IFA_F_NODAD });
        sysctls.push({
          key: `net.ipv6.conf.${name}.disable_ipv6`,
          value: '0',
          reason: `the IPv6 gateway of ${name}`,
        });
      }
    }
    sysctls.push({
      key: 'net.ipv4.ip_forward',
      value: '1',
      reason: 'containers reach other nodes and the outside through this host',
    });
    if (overlays.some((o) => o.block6)) {
      sysctls.push({
        key: 'net.ipv6.conf.all.forwarding',
        value: '1',
        reason: 'IPv6 containers reach other nodes through this host',
      });
    }
  }

  const neighbours: NeighbourSpec[] = [];
  const fdb: FdbSpec[] = [];
  const nexthops: NexthopSpec[] = [];
  const routes: RouteSpec[] = [];
  const hostRoutes: RouteSpec[] = [];
  // Rules and table 42 serve traffic from containers: only nodes with bridges have any.
  const rules: RuleSpec[] = local.bridges
    ? overlays.flatMap((o) =>
        o.net4
          ? [
              {
                family: 4 as const,
                priority: RULE_PRIORITY,
                src: formatWithPrefix(4, o.net4.network, o.net4.prefix),
                table: HOST_ROUTE_TABLE,
                action: 'lookup' as const,
                protocol: VNET_PROTOCOL,
              },
            ]
          : [],
      )
    : [];

  const claimed = new Set<string>();
  for (const o of overlays) {
    for (const b of [o.block4, o.block6])
      if (b) claimed.add(formatWithPrefix(b.family, b.network, b.prefix));
  }
  for (const p of sortedPeers(local, remotes, vtep, vtep6, problems)) {
    const id4 = nexthopId(4, p.offset);
    neighbours.push({ dev: VTEP_NAME, address: p.vtep, lladdr: p.mac, state: 'permanent' });
    fdb.push({ dev: VTEP_NAME, lladdr: p.mac, dst: p.underlay, self: true, state: 'permanent' });
    nexthops.push({ id: id4, via: p.vtep, dev: VTEP_NAME, onlink: true, protocol: VNET_PROTOCOL });
    if (p.vtep6 !== undefined) {
      neighbours.push({ dev: VTEP_NAME, address: p.vtep6, lladdr: p.mac, state: 'permanent' });
      nexthops.push({
        id: nexthopId(6, p.offset),
        via: p.vtep6,
        dev: VTEP_NAME,
        onlink: true,
        protocol: VNET_PROTOCOL,
      });
    }
    const blocks =
      p.record.blocks !== null && typeof p.record.blocks === 'object' ? p.record.blocks : {};
    for (const o of overlays) {
      const b = Object.hasOwn(blocks, o.config.name) ? blocks[o.config.name] : undefined;
      if (!b) continue;
      for (const family of [4, 6] as const) {
        const text = family === 4 ? b.subnet : b.subnet6;
        if (text === undefined) continue;
        const dst = checkBlock(text, family, family === 4 ? o.net4 : o.net6, claimed);
        const why =
          typeof dst !== 'string'
            ? dst.problem
            : family === 6 && p.vtep6 === undefined
              ? 'has no IPv6 VTEP to route through'
              : undefined;
        if (why !== undefined || typeof dst !== 'string') {
          problems.push(
            `node ${p.underlay}: ${o.config.name} block ${JSON.stringify(text)} ${why}; left out`,
          );
          continue;
        }
        claimed.add(dst);
        const nhid = family === 4 ? id4 : nexthopId(6, p.offset);
        routes.push({ dst, nhid, table: MAIN_TABLE, protocol: VNET_PROTOCOL });
      }
    }
    if (rules.length > 0) {
      hostRoutes.push({
        dst: `${p.underlay}/32`,
        nhid: id4,
        table: HOST_ROUTE_TABLE,
        protocol: VNET_PROTOCOL,
      });
    }
  }

  return {
    links,
    addresses,
    neighbours,
    fdb,
    nexthops,
    routes: [...routes, ...hostRoutes],
    rules,
    sysctls,
    nftables: renderNftables(local.bridges ? overlays.map((o) => o.config) : []),
    problems,
  };
}
