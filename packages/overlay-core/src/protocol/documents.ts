// The JSON documents of the HTTP APIs, as a reader sees them: DC/OS's state (seed 004: its agents
// are the node API's AgentInfo messages), the master's own overlay and node views, error bodies
// and health. The master builds them (src/master/), the CLI and the tests read them.
import type { DockerStatus } from '../docker/integration.js';
import type { OverlayStatus } from './allocation.js';
import type { AgentInfo__Output, NetworkMessage__Output } from './messages.js';

/** One node's part of the state: what its agent's `/overlay-agent/overlay` serves too. */
export type AgentJson = AgentInfo__Output;

/** The state's `network`: the config without overlay_mtu (not in DC/OS's state). */
export type NetworkJson = Omit<NetworkMessage__Output, 'overlay_mtu'>;

/** `GET /overlay-master/state`. */
export interface StateJson {
  network: NetworkJson;
  agents?: AgentJson[];
}

export interface AddressCount {
  /** Container addresses in this half over all nodes holding a block. */
  capacity: number;
  /** In use, as the nodes last reported (nodes that never reported count 0). */
  used: number;
  free: number;
}

export interface BlockUsage {
  total: number;
  used: number;
  free: number;
}

/** An entry of `GET /overlay-master/overlays`. */
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

/** `GET /overlay-master/overlays`. */
export interface OverlaysDocument {
  overlays: OverlayView[];
  vtep: { v4: BlockUsage; v6?: BlockUsage };
}

export interface NodeOverlayView {
  name: string;
  subnet?: string;
  subnet6?: string;
  mesos_bridge?: string;
  docker_bridge?: string;
  /** Container addresses per half; absent on nodes without bridges (masters). */
  addresses?: { mesos: AddressCount; docker: AddressCount };
  status?: OverlayStatus;
  error?: string;
}

/** `GET /overlay-master/nodes/IP`, and the entries of `GET /overlay-master/nodes`. */
export interface NodeView {
  ip: string;
  bridges: boolean;
  vtep_ip: string;
  vtep_ip6?: string;
  vtep_mac: string;
  overlays: NodeOverlayView[];
}

/** `GET /overlay-master/overlays/NAME`: the overlay and every holder's share of it. */
export type OverlayDocument = OverlayView & {
  agents: (Omit<NodeOverlayView, 'name'> & { ip: string })[];
};

/** `DELETE /overlay-master/overlays/NAME`. */
export interface RemovedOverlayDocument {
  removed: string;
  /** Nodes that held blocks of it (they lost them). */
  holders: string[];
}

/** Every error answer of the HTTP APIs. */
export interface ErrorDocument {
  error: string;
  /** The master's error code (src/protocol/errors.ts). */
  code?: string;
  /** Nodes holding blocks of an overlay (OVERLAY_HELD). */
  holders?: string[];
  /** Problems of an overlay body, one per field. */
  issues?: string[];
  /** How a config file conflicts with the log (CONFIG_CONFLICT). */
  conflicts?: ConfigConflict[];
}

/** How a config file differs from the log in a way that cannot be applied silently. */
export interface ConfigConflict {
  /** The overlay concerned, or undefined for a cluster-wide field. */
  overlay?: string;
  /** What differs, in words: `subnet is 9.0.0.0/8 in the log but 10.0.0.0/8 in the file`. */
  what: string;
  /** Nodes holding blocks of the overlay (or VTEP addresses, for cluster-wide fields). */
  holders: number;
  /** Whether `--apply-removals` resolves it (removing or re-creating the overlay). */
  removable: boolean;
}

/** `GET /health` of a master. */
export interface MasterHealth {
  id: string;
  role: string;
  leader: string | null;
  term: number;
  commit: number;
  applied: number;
  configured: boolean;
  ready: boolean;
}

/** `GET /health` of an agent. */
export interface AgentHealth {
  registered: boolean;
  allocation: boolean;
  /** The last reconcile ended without an error. */
  reconciled: boolean;
  gossipSynced: boolean;
  gossipMembers: number;
  /** Other nodes whose VTEP records this node programs. */
  peers: number;
  reconcileRuns: number;
  /** Log index of the allocation the node holds (0 before it has one). */
  allocationIndex: number;
  /**
   * Log index of the allocation the kernel is known to reflect: equal to allocationIndex once
   * the latest allocation (overlays, flags, MTUs) has been applied.
   */
  appliedIndex: number;
  /** Tasks this node publishes. */
  tasks: number;
  /** Addresses navstar answers at (empty without DNS). */
  dns: string[];
  /** The Docker integration, when the agent manages a Docker daemon. */
  docker?: DockerStatus;
}
