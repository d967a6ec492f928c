// The documents a master builds from the allocation state: DC/OS's `/overlay-master/state` (seed
// 004 and overlay.proto as stout's JSON::protobuf rendered it: set fields only, repeated fields
// only when non-empty), whose agents are the node API's AgentInfo messages, and the Allocation
// messages of Register and Watch. Pure functions of the Ipam.
import type { NetworkConfig, OverlayConfig } from '../config/types.js';
import type { Ipam, NodeOverlay, NodeRecord } from '../ipam/ipam.js';
import { type Cidr, formatCidr, formatWithPrefix } from '../net/cidr.js';
import {
  dockerBridgeName,
  halves,
  mesosBridgeName,
  VTEP_NAME,
  VXLAN_VNI,
} from '../protocol/allocation.js';
import type { AgentJson, NetworkJson, StateJson } from '../protocol/documents.js';
import type {
  AgentOverlayInfo__Output,
  Allocation__Output,
  BridgeInfo__Output,
  NetworkMessage__Output,
  OverlayInfo__Output,
  VxLANInfo__Output,
} from '../protocol/messages.js';

export function overlayInfoJson(o: OverlayConfig): OverlayInfo__Output {
  const info: OverlayInfo__Output = { name: o.name };
  if (o.subnet !== undefined) {
    info.subnet = o.subnet;
    info.prefix = o.prefix;
  }
  if (o.subnet6 !== undefined) {
    info.subnet6 = o.subnet6;
    info.prefix6 = o.prefix6;
  }
  if (o.enabled !== undefined) info.enabled = o.enabled;
  if (o.isolated !== undefined) info.isolated = o.isolated;
  return info;
}

export function networkJson(config: NetworkConfig): NetworkJson {
  const net: NetworkJson = { vtep_subnet: config.vtep_subnet, vtep_mac_oui: config.vtep_mac_oui };
  if (config.vtep_subnet6 !== undefined) net.vtep_subnet6 = config.vtep_subnet6;
  if (config.vtep_mtu !== undefined) net.vtep_mtu = config.vtep_mtu;
  if (config.overlays.length > 0) net.overlays = config.overlays.map(overlayInfoJson);
  return net;
}

/** The config as the node API carries it: the state's `network` part plus the overlay MTU. */
export function networkMessage(config: NetworkConfig): NetworkMessage__Output {
  return { ...networkJson(config), overlay_mtu: config.overlay_mtu };
}

/** One node's part of the state: what its `/overlay-agent/overlay` serves. */
export function agentJson(ipam: Ipam, node: NodeRecord): AgentJson {
  const agent: AgentJson = { ip: node.ip };
  const overlays = [...node.overlays.values()].map((share) => agentOverlayJson(ipam, node, share));
  if (overlays.length > 0) agent.overlays = overlays;
  return agent;
}

/** A node's Allocation message (Register's answer, Watch's messages); `deleted` when it is gone. */
export function allocationMessage(ipam: Ipam, ip: string, index: number): Allocation__Output {
  const node = ipam.getNode(ip);
  const network = networkMessage(ipam.config);
  return node
    ? { agent: agentJson(ipam, node), network, index }
    : { deleted: true, network, index };
}

export function toStateJson(ipam: Ipam): StateJson {
  const state: StateJson = { network: networkJson(ipam.config) };
  const agents = [...ipam.nodes].map((n) => agentJson(ipam, n));
  if (agents.length > 0) state.agents = agents;
  return state;
}

const bridge = (name: string, half?: Cidr, half6?: Cidr): BridgeInfo__Output => ({
  name,
  ...(half && { ip: formatCidr(half) }),
  ...(half6 && { ip6: formatCidr(half6) }),
});

function agentOverlayJson(
  ipam: Ipam,
  node: NodeRecord,
  share: NodeOverlay,
): AgentOverlayInfo__Output {
  const config = ipam.config.overlays.find((o) => o.name === share.name)!;
  const out: AgentOverlayInfo__Output = { info: overlayInfoJson(config) };
  let block4: Cidr | undefined;
  let block6: Cidr | undefined;
  if (share.subnet !== undefined && config.prefix !== undefined) {
    block4 = { family: 4, network: share.subnet, prefix: config.prefix };
    out.subnet = formatCidr(block4);
  }
  if (share.subnet6 !== undefined && config.prefix6 !== undefined) {
    block6 = { family: 6, network: share.subnet6, prefix: config.prefix6 };
    out.subnet6 = formatCidr(block6);
  }
  if (node.bridges && !share.error) {
    const [m4, d4] = block4 ? halves(block4) : [];
    const [m6, d6] = block6 ? halves(block6) : [];
    out.mesos_bridge = bridge(mesosBridgeName(share.name), m4, m6);
    out.docker_bridge = bridge(dockerBridgeName(share.name), d4, d6);
  }
  const vxlan: VxLANInfo__Output = {
    vni: VXLAN_VNI,
    vtep_name: VTEP_NAME,
    vtep_ip: formatWithPrefix(4, node.vtepIp, ipam.vtepCidr().prefix),
    vtep_mac: ipam.vtepMac(node),
  };
  const vtep6 = ipam.vtepCidr6();
  if (node.vtepIp6 !== undefined && vtep6) {
    vxlan.vtep_ip6 = formatWithPrefix(6, node.vtepIp6, vtep6.prefix);
  }
  if (ipam.config.vtep_mtu !== undefined) vxlan.vtep_mtu = ipam.config.vtep_mtu;
  out.backend = { vxlan };
  const report = ipam.getStatus(node.ip, share.name);
  if (share.error) out.state = { status: 'STATUS_FAILED', error: share.error.message };
  else if (report) {
    out.state = { status: report.status };
    if (report.error !== undefined) out.state.error = report.error;
  }
  return out;
}
