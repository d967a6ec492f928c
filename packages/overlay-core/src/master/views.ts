// The JSON documents of the master's own HTTP API (DC/OS had none of these): overlays with their
// free and used blocks and addresses, and nodes with their allocation, status and address usage.
// Pure functions of the allocation state.
import { containersPerHalf } from '../config/validate.js';
import type { BlockCount, Ipam, NodeRecord, OverlayReport } from '../ipam/ipam.js';
import { halves } from '../ipam/state-json.js';
import type { Family } from '../net/cidr.js';
import { formatAddress, formatWithPrefix } from '../net/cidr.js';

export interface AddressCount {
  /** Container addresses in this half over all nodes holding a block. */
  capacity: number;
  /** In use, as the nodes last reported (nodes that never reported count 0). */
  used: number;
  free: number;
}

export interface OverlayView {
  name: string;
  subnet?: string;
  prefix?: number;
  subnet6?: string;
  prefix6?: number;
  enabled: boolean;
  /** Node blocks of each family: how many the overlay has, how many nodes hold, how many are free. */
  blocks: { v4?: BlockUsage; v6?: BlockUsage };
  /** Container addresses (IPv4) in the Mesos (lower) and Docker (upper) halves of the held blocks. */
  addresses: { mesos: AddressCount; docker: AddressCount };
  /** Nodes holding a block of it. */
  nodes: number;
  /** Nodes that asked for it and found no free block. */
  exhausted: number;
}

export interface BlockUsage {
  total: number;
  used: number;
  free: number;
}

export interface NodeOverlayView {
  name: string;
  subnet?: string;
  subnet6?: string;
  mesos_bridge?: string;
  docker_bridge?: string;
  /** Container addresses per half; absent on nodes without bridges (masters). */
  addresses?: { mesos: AddressCount; docker: AddressCount };
  status?: string;
  error?: string;
}

export interface NodeView {
  ip: string;
  bridges: boolean;
  vtep_ip: string;
  vtep_ip6?: string;
  vtep_mac: string;
  overlays: NodeOverlayView[];
}

const blockUsage = (c: BlockCount): BlockUsage => ({
  total: c.total,
  used: c.total - c.free,
  free: c.free,
});

function perHalf(family: Family, prefix: number | undefined): number {
  if (prefix === undefined) return 0;
  const n = containersPerHalf(family, prefix);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

function addressCount(capacity: number, used: number): AddressCount {
  return { capacity, used, free: Math.max(0, capacity - used) };
}

export function overlayViews(ipam: Ipam): OverlayView[] {
  const counts = ipam.counts();
  return ipam.config.overlays.map((o) => {
    const c = counts.overlays[o.name] ?? {};
    const half = perHalf(4, o.prefix);
    let nodes = 0;
    let exhausted = 0;
    let withBridges = 0;
    const used = { mesos: 0, docker: 0 };
    for (const n of ipam.nodes) {
      const share = n.overlays.get(o.name);
      if (!share) continue;
      if (share.error) {
        exhausted++;
        continue;
      }
      nodes++;
      if (!n.bridges) continue;
      withBridges++;
      const r = ipam.getStatus(n.ip, o.name)?.used;
      used.mesos += r?.mesos ?? 0;
      used.docker += r?.docker ?? 0;
    }
    const view: OverlayView = {
      name: o.name,
      ...(o.subnet !== undefined && { subnet: o.subnet, prefix: o.prefix! }),
      ...(o.subnet6 !== undefined && { subnet6: o.subnet6, prefix6: o.prefix6! }),
      enabled: o.enabled !== false,
      blocks: {},
      addresses: {
        mesos: addressCount(withBridges * half, used.mesos),
        docker: addressCount(withBridges * half, used.docker),
      },
      nodes,
      exhausted,
    };
    if (c.v4) view.blocks.v4 = blockUsage(c.v4);
    if (c.v6) view.blocks.v6 = blockUsage(c.v6);
    return view;
  });
}

export function nodeView(ipam: Ipam, node: NodeRecord): NodeView {
  const vtep6 = ipam.vtepCidr6();
  const view: NodeView = {
    ip: node.ip,
    bridges: node.bridges,
    vtep_ip: formatWithPrefix(4, node.vtepIp, ipam.vtepCidr().prefix),
    vtep_mac: ipam.vtepMac(node),
    overlays: [],
  };
  if (node.vtepIp6 !== undefined && vtep6) {
    view.vtep_ip6 = formatWithPrefix(6, node.vtepIp6, vtep6.prefix);
  }
  for (const share of node.overlays.values()) {
    const o = ipam.config.overlays.find((x) => x.name === share.name);
    const v: NodeOverlayView = { name: share.name };
    if (share.subnet !== undefined && o?.prefix !== undefined) {
      v.subnet = formatWithPrefix(4, share.subnet, o.prefix);
      if (node.bridges) [v.mesos_bridge, v.docker_bridge] = halves(4, share.subnet, o.prefix);
    }
    if (share.subnet6 !== undefined && o?.prefix6 !== undefined) {
      v.subnet6 = `${formatAddress(6, share.subnet6)}/${o.prefix6}`;
    }
    const report: OverlayReport | undefined = ipam.getStatus(node.ip, share.name);
    if (node.bridges && share.subnet !== undefined) {
      const half = perHalf(4, o?.prefix);
      v.addresses = {
        mesos: addressCount(half, report?.used?.mesos ?? 0),
        docker: addressCount(half, report?.used?.docker ?? 0),
      };
    }
    if (share.error) {
      v.status = 'STATUS_FAILED';
      v.error = share.error.message;
    } else if (report) {
      v.status = report.status;
      if (report.error !== undefined) v.error = report.error;
    }
    view.overlays.push(v);
  }
  return view;
}

/** VTEP addresses of the cluster: how many there are and how many are free. */
export function vtepView(ipam: Ipam): { v4: BlockUsage; v6?: BlockUsage } {
  const c = ipam.counts();
  return { v4: blockUsage(c.vtep), ...(c.vtep6 && { v6: blockUsage(c.vtep6) }) };
}
