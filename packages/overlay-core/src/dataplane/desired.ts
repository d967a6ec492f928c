// The kernel objects a node should hold, as a pure function of its allocation and the VTEP records
// of the other nodes (see README "Data plane"). Both come parsed (src/protocol/): nothing here
// parses text. Records are still not trusted blindly: one that clashes with another one, or
// routes outside its overlay or the VTEP subnet, is left out and named in `problems`, so one bad
// peer never breaks the others.
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
import type { Net } from '../net/addr.js';
import { type Family, formatWithPrefix, netmask } from '../net/cidr.js';
import {
  mesosBridgeName,
  mesosGateway,
  VTEP_NAME,
  VXLAN_PORT,
  VXLAN_VNI,
} from '../protocol/allocation.js';
import type { OverlayShare } from '../protocol/node-allocation.js';
import type { VtepRecord } from '../protocol/vtep-record.js';
import { renderNftables } from './nftables.js';
import {
  type DesiredState,
  HOST_ROUTE_TABLE,
  type LocalNode,
  MAIN_TABLE,
  NEXTHOP_BASE_V4,
  NEXTHOP_BASE_V6,
  type NetworkSettings,
  RULE_PRIORITY,
  type Sysctl,
  VNET_PROTOCOL,
} from './types.js';

/** IFA_F_NODAD: vnet's IPv6 addresses are usable at once (nobody else holds them). */
const IFA_F_NODAD = 0x02;

/** The id of a remote node's nexthop, from the offset of its VTEP IPv4 in the VTEP subnet. */
export function nexthopId(family: Family, vtepOffset: number): number {
  return (family === 4 ? NEXTHOP_BASE_V4 : NEXTHOP_BASE_V6) + vtepOffset;
}

/** The MTU of vtep1024: `vtep_mtu`, else the underlay's minus the VXLAN overhead. */
export function vtepMtu(local: LocalNode, settings: NetworkSettings = {}): number {
  return settings.vtepMtu ?? local.underlayMtu - VXLAN_OVERHEAD;
}

/** The gateway of a block's Mesos half, with the half's prefix ("9.0.1.1/25"). */
function gateway(block: Net): string {
  const g = mesosGateway(block);
  return formatWithPrefix(block.family, g.address, g.prefix);
}

const masks = new WeakMap<Net, bigint>();
/** Whether `block` lies in `net` (the net's mask computed once, not once per peer). */
function inside(block: Net, net: Net): boolean {
  let m = masks.get(net);
  if (m === undefined) {
    m = netmask(net.family, net.prefix);
    masks.set(net, m);
  }
  return block.prefix >= net.prefix && (block.network & m) === net.network;
}

/** The VTEP subnets peers must be in (numbers for IPv4: this runs once per peer). */
interface VtepRange {
  base: number;
  size: number;
  text: string;
  base6?: bigint;
  size6?: bigint;
  text6?: string;
}

function vtepRange(local: LocalNode): VtepRange {
  const { vtep } = local;
  const size = 2 ** (32 - vtep.prefix);
  const base = vtep.ip.value - (vtep.ip.value % size);
  const range: VtepRange = { base, size, text: formatWithPrefix(4, BigInt(base), vtep.prefix) };
  if (vtep.ip6 && vtep.prefix6 !== undefined) {
    range.size6 = 1n << BigInt(128 - vtep.prefix6);
    range.base6 = vtep.ip6.value - (vtep.ip6.value % range.size6);
    range.text6 = formatWithPrefix(6, range.base6, vtep.prefix6);
  }
  return range;
}

/** A record that passed the checks, with what its routes need. */
interface Peer {
  record: VtepRecord;
  /** Offset of its VTEP IPv4 in the VTEP subnet (nexthop ids). */
  offset: number;
  /** Its VTEP IPv6, when in the local VTEP subnet6. */
  vtep6?: string;
}

/** Orders peers by underlay IP so that the first of two clashing records wins on every node. */
function sortedPeers(local: LocalNode, records: Iterable<VtepRecord>, problems: string[]): Peer[] {
  const range = vtepRange(local);
  const peers: Peer[] = [];
  for (const r of records) {
    if (r.underlay.value === local.underlay.value) continue;
    const v = r.vtep.value;
    if (v < range.base || v >= range.base + range.size) {
      problems.push(
        `node ${r.underlay.text}: VTEP IP ${r.vtep.text} is not in the VTEP subnet ${range.text}; record ignored`,
      );
      continue;
    }
    const peer: Peer = { record: r, offset: v - range.base };
    if (r.vtep6 && range.base6 !== undefined && range.size6 !== undefined) {
      const v6 = r.vtep6.value;
      if (v6 < range.base6 || v6 >= range.base6 + range.size6) {
        problems.push(
          `node ${r.underlay.text}: VTEP IPv6 ${r.vtep6.text} is not in ${range.text6}; its IPv6 routes are left out`,
        );
      } else peer.vtep6 = r.vtep6.text;
    }
    peers.push(peer);
  }
  peers.sort((a, b) => a.record.underlay.value - b.record.underlay.value);
  const seen = {
    underlay: new Set<number>(),
    vtep: new Set([local.vtep.ip.text, ...(local.vtep.ip6 ? [local.vtep.ip6.text] : [])]),
    mac: new Set([local.vtep.mac]),
  };
  const out: Peer[] = [];
  for (const p of peers) {
    const r = p.record;
    const clash = seen.underlay.has(r.underlay.value)
      ? 'a second record for the same node'
      : seen.vtep.has(r.vtep.text)
        ? `VTEP IP ${r.vtep.text} is already taken`
        : seen.mac.has(r.mac)
          ? `VTEP MAC ${r.mac} is already taken`
          : p.vtep6 !== undefined && seen.vtep.has(p.vtep6)
            ? `VTEP IPv6 ${p.vtep6} is already taken`
            : undefined;
    if (clash) {
      problems.push(`node ${r.underlay.text}: ${clash}; record ignored`);
      continue;
    }
    seen.underlay.add(r.underlay.value);
    seen.vtep.add(r.vtep.text);
    if (p.vtep6 !== undefined) seen.vtep.add(p.vtep6);
    seen.mac.add(r.mac);
    out.push(p);
  }
  return out;
}

/** The desired kernel state of a node. */
export function desiredState(
  local: LocalNode,
  records: Iterable<VtepRecord>,
  settings: NetworkSettings = {},
): DesiredState {
  const problems: string[] = [];
  const { vtep } = local;
  const overlays: OverlayShare[] = local.overlays.filter((o) => o.enabled);
  const overlayMtu = settings.overlayMtu ?? DEFAULT_OVERLAY_MTU;

  const vtepLink: LinkSpec = {
    name: VTEP_NAME,
    kind: 'vxlan',
    mtu: vtepMtu(local, settings),
    address: vtep.mac,
    up: true,
    vxlan: {
      vni: VXLAN_VNI,
      port: VXLAN_PORT,
      learning: false,
      local: local.underlay.text,
      dev: local.underlayDev,
    },
  };
  const links: LinkSpec[] = [vtepLink];
  const addresses: AddressSpec[] = [{ dev: VTEP_NAME, address: `${vtep.ip.text}/${vtep.prefix}` }];
  const sysctls: Sysctl[] = [];
  if (vtep.ip6) {
    addresses.push({
      dev: VTEP_NAME,
      address: `${vtep.ip6.text}/${vtep.prefix6}`,
      flags: IFA_F_NODAD,
    });
    sysctls.push({
      key: `net.ipv6.conf.${VTEP_NAME}.disable_ipv6`,
      value: '0',
      reason: 'the IPv6 VTEP address and IPv6 nexthops need IPv6 on vtep1024',
    });
  }
  if (local.bridges) {
    for (const o of overlays) {
      const name = mesosBridgeName(o.name);
      if (!o.block4 && !o.block6) continue;
      links.push({ name, kind: 'bridge', mtu: overlayMtu, up: true });
      if (o.block4) addresses.push({ dev: name, address: gateway(o.block4) });
      if (o.block6) {
        addresses.push({ dev: name, address: gateway(o.block6), flags: IFA_F_NODAD });
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
                src: o.net4.text,
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
    if (o.block4) claimed.add(o.block4.text);
    if (o.block6) claimed.add(o.block6.text);
  }
  for (const p of sortedPeers(local, records, problems)) {
    const r = p.record;
    const id4 = nexthopId(4, p.offset);
    neighbours.push({ dev: VTEP_NAME, address: r.vtep.text, lladdr: r.mac, state: 'permanent' });
    fdb.push({
      dev: VTEP_NAME,
      lladdr: r.mac,
      dst: r.underlay.text,
      self: true,
      state: 'permanent',
    });
    nexthops.push({
      id: id4,
      via: r.vtep.text,
      dev: VTEP_NAME,
      onlink: true,
      protocol: VNET_PROTOCOL,
    });
    if (p.vtep6 !== undefined) {
      neighbours.push({ dev: VTEP_NAME, address: p.vtep6, lladdr: r.mac, state: 'permanent' });
      nexthops.push({
        id: nexthopId(6, p.offset),
        via: p.vtep6,
        dev: VTEP_NAME,
        onlink: true,
        protocol: VNET_PROTOCOL,
      });
    }
    for (const o of overlays) {
      const b = r.blocks.get(o.name);
      if (!b) continue;
      for (const [block, net] of [
        [b.block4, o.net4],
        [b.block6, o.net6],
      ] as const) {
        if (!block) continue;
        const why =
          !net || !inside(block, net)
            ? 'is not inside the overlay'
            : claimed.has(block.text)
              ? 'is already claimed (by this node or an earlier record)'
              : block.family === 6 && p.vtep6 === undefined
                ? 'has no IPv6 VTEP to route through'
                : undefined;
        if (why !== undefined) {
          problems.push(`node ${r.underlay.text}: ${o.name} block ${block.text} ${why}; left out`);
          continue;
        }
        claimed.add(block.text);
        const nhid = block.family === 4 ? id4 : nexthopId(6, p.offset);
        routes.push({ dst: block.text, nhid, table: MAIN_TABLE, protocol: VNET_PROTOCOL });
      }
    }
    if (rules.length > 0) {
      hostRoutes.push({
        dst: `${r.underlay.text}/32`,
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
    nftables: renderNftables(local.bridges ? overlays : [], local.mappedPorts),
    problems,
  };
}
