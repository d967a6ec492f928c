// Inputs and output of the data-plane computation: what the node was allocated, what gossip says
// about the other nodes (both parsed at the edge: src/protocol/), and the kernel objects that
// follow from both. Pure data, no I/O.
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
import type { Ip4 } from '../net/addr.js';
import type { OverlayShare, Vtep } from '../protocol/node-allocation.js';

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

/** This node's allocation and the facts of its host the kernel objects depend on. */
export interface LocalNode {
  /** Underlay IPv4 address (the node's identity, VXLAN source). */
  underlay: Ip4;
  /** Underlay device (VXLAN `dev`). */
  underlayDev: string;
  underlayMtu: number;
  /** Agents have `m-<name>` bridges; masters (false) only the VTEP and routes. */
  bridges: boolean;
  vtep: Vtep;
  overlays: readonly OverlayShare[];
  /** Container endpoints a host port is mapped to (their replies must stay tracked). */
  mappedPorts?: readonly MappedPort[];
}

/** A container's address and port that portmap (or Docker) DNATs a host port to. */
export interface MappedPort {
  /** Canonical IPv4 or IPv6 text. */
  ip: string;
  protocol: 'tcp' | 'udp';
  port: number;
}

export interface NetworkSettings {
  /** MTU of the bridges (default 1420). */
  overlayMtu?: number;
  /** MTU of vtep1024 (default underlay MTU - 50). */
  vtepMtu?: number;
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
