// The JSON documents of the master's own HTTP API (DC/OS had none of these): overlays with their
// free and used blocks and addresses, and nodes with their allocation, status and address usage.
// Pure functions of the allocation state.
import { containersPerHalf } from '../config/validate.js';
import type { BlockCount, Ipam, NodeRecord } from '../ipam/ipam.js';
import { type Cidr, type Family, formatCidr, formatWithPrefix } from '../net/cidr.js';
import { halves, type OverlayReport } from '../protocol/allocation.js';
import type {
  AddressCount,
  BlockUsage,
  NodeOverlayView,
  NodeView,
  OverlaysDocument,
  OverlayView,
} from '../protocol/documents.js';

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
      const block: Cidr = { family: 4, network: share.subnet, prefix: o.prefix };
      v.subnet = formatCidr(block);
      if (node.bridges) [v.mesos_bridge, v.docker_bridge] = halves(block).map(formatCidr);
    }
    if (share.subnet6 !== undefined && o?.prefix6 !== undefined) {
      v.subnet6 = formatWithPrefix(6, share.subnet6, o.prefix6);
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
export function vtepView(ipam: Ipam): OverlaysDocument['vtep'] {
  const c = ipam.counts();
  return { v4: blockUsage(c.vtep), ...(c.vtep6 && { v6: blockUsage(c.vtep6) }) };
}
