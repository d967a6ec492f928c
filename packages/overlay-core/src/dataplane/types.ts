// Inputs and output of the data-plane computation: what the node was allocated, what gossip says
// about the other nodes, and the kernel objects that follow from both. Pure data, no I/O.
import type {
  Address,
  AddressSpec,
  FdbEntry,
  FdbSpec,
  Link,
  LinkSpec,
  Neighbour,
  NeighbourSpec,
  Nexthop,
  NexthopSpec,
  Route,
  RouteSpec,
  Rule,
  RuleSpec,
} from '@vnet/netlink-ffi';

/** UDP port of vtep1024 (DC/OS's; the device name and VNI are VTEP_NAME and VXLAN_VNI). */
export const VXLAN_PORT = 64000;

/**
 * rtm_protocol / nh_protocol / FRA_PROTOCOL of every route, nexthop and rule vnet makes: how the
 * diff tells its own objects from everybody else's. 210 is unused in iproute2's rt_protos; an
 * agent may write `210 vnet` to /etc/iproute2/rt_protos.d/vnet.conf so `ip route` shows `proto vnet`.
 */
export const VNET_PROTOCOL = 210;

/** DC/OS's table 42: per remote node, its underlay IP/32 through the tunnel (see RULE below). */
export const HOST_ROUTE_TABLE = 42;
export const MAIN_TABLE = 254;

/** Preference of the `from <overlay subnet> lookup 42` rules: after `local` (0), before `main`. */
export const RULE_PRIORITY = 32000;

/**
 * Nexthop ids: one IPv4 and (dual-stack) one IPv6 nexthop per remote node, both keyed by the offset
 * of the node's VTEP IPv4 in the VTEP subnet (< 2^24, since vtep_subnet is /8 or longer):
 *   IPv4 nexthop id = 100,000,000 + offset   (44.128.0.2 in 44.128.0.0/20 -> 100000002)
 *   IPv6 nexthop id = 200,000,000 + offset   (the same node's nexthop via its VTEP IPv6)
 * Every node computes the same ids for the same peer, the ids of two peers never collide, and
 * `ip nexthop` shows the offset in the last digits.
 */
export const NEXTHOP_BASE_V4 = 100_000_000;
export const NEXTHOP_BASE_V6 = 200_000_000;

/** One overlay as this node sees it: the overlay's networks and this node's block of it. */
export interface LocalOverlay {
  name: string;
  /** The overlay's whole IPv4 network (e.g. 9.0.0.0/8). */
  overlaySubnet?: string;
  overlaySubnet6?: string;
  /** This node's IPv4 block (e.g. 9.0.1.0/24); absent when none was allocated. */
  subnet?: string;
  /** This node's IPv6 block (e.g. fd01:b:0:0:1::/80). */
  subnet6?: string;
  /** Default true; a disabled overlay is treated as absent. */
  enabled?: boolean;
  /** Default true: traffic to other isolated overlays is dropped (see nftables.ts). */
  isolated?: boolean;
}

/** This node's allocation and the facts of its host the kernel objects depend on. */
export interface LocalNode {
  /** Underlay IPv4 address (the node's identity, VXLAN source). */
  underlayIp: string;
  /** Underlay device (VXLAN `dev`). */
  underlayDev: string;
  underlayMtu: number;
  /** Agents have `m-<name>` bridges; masters (false) only the VTEP and routes. */
  bridges: boolean;
  /** VTEP IPv4 with the VTEP subnet's prefix, e.g. 44.128.0.1/20. */
  vtepIp: string;
  /** VTEP IPv6 with prefix, e.g. fd01:a::1/64. */
  vtepIp6?: string;
  vtepMac: string;
  overlays: LocalOverlay[];
}

export interface NetworkSettings {
  /** MTU of the bridges (default 1420). */
  overlayMtu?: number;
  /** MTU of vtep1024 (default underlay MTU - 50). */
  vtepMtu?: number;
}

/** Another node's VTEP record, as learned by gossip. */
export interface RemoteNode {
  underlayIp: string;
  /** VTEP IPv4, with or without its prefix. */
  vtepIp: string;
  vtepIp6?: string;
  vtepMac: string;
  /** This node's block of each overlay. */
  blocks: Record<string, { subnet?: string; subnet6?: string }>;
}

/** A sysctl the adapter must write (`/proc/sys/` + key with dots as slashes). */
export interface Sysctl {
  key: string;
  value: string;
  /** Why; for logs. */
  reason: string;
}

/**
 * The kernel objects a node should hold. Every entry is a netlink-ffi spec naming devices by name;
 * `links[0]` is vtep1024. Routes, nexthops and rules carry VNET_PROTOCOL.
 */
export interface DesiredState {
  links: LinkSpec[];
  addresses: AddressSpec[];
  neighbours: NeighbourSpec[];
  fdb: FdbSpec[];
  nexthops: NexthopSpec[];
  routes: RouteSpec[];
  rules: RuleSpec[];
  /**
   * Per-device ones exist only once the device does: write them after the link operations of a
   * diff and before the rest (IPv6 addresses fail with EACCES on a device with IPv6 disabled).
   */
  sysctls: Sysctl[];
  /** The `inet vnet` nftables file for this node (see nftables.ts). */
  nftables: string;
  /** Gossip records (or parts of them) left out, and why. */
  problems: string[];
}

/** What the adapter dumps: the library's decoded objects. */
export interface KernelState {
  links: Link[];
  addresses: Address[];
  /** At least those of vtep1024 (`neighbours.list({dev})`); others are ignored. */
  neighbours: Neighbour[];
  /** At least those of vtep1024 (`fdb.list({dev})`). */
  fdb: FdbEntry[];
  nexthops: Nexthop[];
  /** Every table (`routes.list({table: 0})`). */
  routes: Route[];
  rules: Rule[];
}

export interface DiffOptions {
  /** Delete stale objects vnet owns (only once the full gossip state is known). */
  prune: boolean;
}

/** A desired object whose place is held by something vnet does not own: left alone. */
export interface Conflict {
  kind: 'route' | 'nexthop' | 'rule';
  /** iproute2-like words for the desired object. */
  desired: string;
  reason: string;
}
