// The `/overlay-master/state` document, in the shape DC/OS served (seed 004 and overlay.proto as
// rendered by stout's JSON::protobuf): set fields only, repeated fields only when non-empty.
import type { NetworkConfig, OverlayConfig } from '../config/types.js';
import { type Family, familyBits, formatAddress, formatWithPrefix } from '../net/cidr.js';
import {
  type Ipam,
  type NodeOverlay,
  type NodeRecord,
  type OverlayStatus,
  VTEP_NAME,
  VXLAN_VNI,
} from './ipam.js';

export interface OverlayInfoJson {
  name: string;
  subnet?: string;
  prefix?: number;
  subnet6?: string;
  prefix6?: number;
  enabled?: boolean;
  /** vnet's own: echoed only when the operator set it (DC/OS's state never has it). */
  isolated?: boolean;
}

export interface BridgeJson {
  name: string;
  ip?: string;
  ip6?: string;
}

export interface AgentOverlayJson {
  info: OverlayInfoJson;
  subnet?: string;
  subnet6?: string;
  mesos_bridge?: BridgeJson;
  docker_bridge?: BridgeJson;
  backend: {
    vxlan: {
      vni: number;
      vtep_name: string;
      vtep_ip: string;
      vtep_ip6?: string;
      vtep_mac: string;
      vtep_mtu?: number;
    };
  };
  state?: { status: OverlayStatus; error?: string };
}

export interface AgentJson {
  ip: string;
  overlays?: AgentOverlayJson[];
  /** Served by the agent (`/overlay-agent/overlay`): its registrations so far. */
  configuration_attempts?: number;
}

export interface NetworkJson {
  vtep_subnet: string;
  vtep_subnet6?: string;
  vtep_mac_oui: string;
  vtep_mtu?: number;
  overlays?: OverlayInfoJson[];
}

export interface StateJson {
  network: NetworkJson;
  agents?: AgentJson[];
}

export function overlayInfoJson(o: OverlayConfig): OverlayInfoJson {
  const info: OverlayInfoJson = { name: o.name };
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

/** One node's part of the state: what its `/overlay-agent/overlay` serves. */
export function agentJson(ipam: Ipam, node: NodeRecord): AgentJson {
  const agent: AgentJson = { ip: node.ip };
  const overlays = [...node.overlays.values()].map((share) => agentOverlayJson(ipam, node, share));
  if (overlays.length > 0) agent.overlays = overlays;
  return agent;
}

export function toStateJson(ipam: Ipam): StateJson {
  const state: StateJson = { network: networkJson(ipam.config) };
  const agents = [...ipam.nodes].map((n) => agentJson(ipam, n));
  if (agents.length > 0) state.agents = agents;
  return state;
}

function agentOverlayJson(ipam: Ipam, node: NodeRecord, share: NodeOverlay): AgentOverlayJson {
  const config = ipam.config.overlays.find((o) => o.name === share.name)!;
  const out: Partial<AgentOverlayJson> = { info: overlayInfoJson(config) };
  const mesos: BridgeJson = { name: `m-${share.name}` };
  const docker: BridgeJson = { name: `d-${share.name}` };
  if (share.subnet !== undefined && config.prefix !== undefined) {
    out.subnet = formatWithPrefix(4, share.subnet, config.prefix);
    [mesos.ip, docker.ip] = halves(4, share.subnet, config.prefix);
  }
  if (share.subnet6 !== undefined && config.prefix6 !== undefined) {
    out.subnet6 = formatWithPrefix(6, share.subnet6, config.prefix6);
    [mesos.ip6, docker.ip6] = halves(6, share.subnet6, config.prefix6);
  }
  if (node.bridges && !share.error) {
    out.mesos_bridge = mesos;
    out.docker_bridge = docker;
  }
  const vxlan: AgentOverlayJson['backend']['vxlan'] = {
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
  return out as AgentOverlayJson;
}

/** The lower (Mesos) and upper (Docker) /prefix+1 halves of a node block, as CIDR strings. */
export function halves(family: Family, block: bigint, prefix: number): [string, string] {
  const half = 1n << BigInt(familyBits(family) - prefix - 1);
  return [
    formatWithPrefix(family, block, prefix + 1),
    `${formatAddress(family, block + half)}/${prefix + 1}`,
  ];
}
