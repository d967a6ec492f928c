// From what the masters and the gossip group say to the data plane's inputs: this node's
// LocalNode, the other nodes' RemoteNodes, the network settings, and the record this node
// publishes. Pure.
import type { LocalNode, NetworkSettings, RemoteNode } from '../dataplane/types.js';
import type { VtepRecord } from './gossip.js';
import type { Allocation } from './registration.js';

export interface Underlay {
  ip: string;
  dev: string;
  mtu: number;
}

/** The VTEP of an allocation (every overlay carries the node's one backend). */
function vtepOf(a: Allocation) {
  return a.agent.overlays?.[0]?.backend.vxlan;
}

/**
 * This node as the data plane sees it; undefined while it has no VTEP (no overlay yet). `lastVtep`
 * is the VTEP of an earlier allocation, kept so that removing the last overlay still tears its
 * devices down.
 */
export function localNode(
  a: Allocation,
  underlay: Underlay,
  bridges: boolean,
  lastVtep?: { vtep_ip: string; vtep_ip6?: string; vtep_mac: string },
): LocalNode | undefined {
  const vx = vtepOf(a) ?? lastVtep;
  if (!vx) return undefined;
  const flags = new Map((a.network.overlays ?? []).map((o) => [o.name, o]));
  return {
    underlayIp: underlay.ip,
    underlayDev: underlay.dev,
    underlayMtu: underlay.mtu,
    bridges,
    vtepIp: vx.vtep_ip,
    ...(vx.vtep_ip6 !== undefined && { vtepIp6: vx.vtep_ip6 }),
    vtepMac: vx.vtep_mac,
    overlays: (a.agent.overlays ?? []).map((o) => {
      const net = flags.get(o.info.name);
      return {
        name: o.info.name,
        ...(o.info.subnet !== undefined && { overlaySubnet: o.info.subnet }),
        ...(o.info.subnet6 !== undefined && { overlaySubnet6: o.info.subnet6 }),
        ...(o.subnet !== undefined && { subnet: o.subnet }),
        ...(o.subnet6 !== undefined && { subnet6: o.subnet6 }),
        enabled: (net?.enabled ?? o.info.enabled) !== false,
        isolated: net?.isolated !== false,
      };
    }),
  };
}

export function networkSettings(a: Allocation): NetworkSettings {
  return {
    overlayMtu: a.network.overlay_mtu,
    ...(a.network.vtep_mtu !== undefined && { vtepMtu: a.network.vtep_mtu }),
  };
}

/** The record this node publishes: its underlay, VTEP, and block of each enabled overlay. */
export function ownRecord(node: LocalNode): VtepRecord {
  const blocks: VtepRecord['blocks'] = {};
  for (const o of node.overlays) {
    if (o.enabled === false || (o.subnet === undefined && o.subnet6 === undefined)) continue;
    blocks[o.name] = {
      ...(o.subnet !== undefined && { subnet: o.subnet }),
      ...(o.subnet6 !== undefined && { subnet6: o.subnet6 }),
    };
  }
  return {
    underlay: node.underlayIp,
    vtepIp: node.vtepIp,
    ...(node.vtepIp6 !== undefined && { vtepIp6: node.vtepIp6 }),
    mac: node.vtepMac,
    blocks,
  };
}

export function remoteNode(r: VtepRecord): RemoteNode {
  return {
    underlayIp: r.underlay,
    vtepIp: r.vtepIp,
    ...(r.vtepIp6 !== undefined && { vtepIp6: r.vtepIp6 }),
    vtepMac: r.mac,
    blocks: r.blocks,
  };
}
