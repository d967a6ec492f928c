// The overlay master's allocation state, exactly as DC/OS allocated (see DESIGN.md): per node, the
// lowest free /prefix block of each enabled overlay and the lowest free VTEP IP, with the VTEP MAC
// derived from that IP. Pure and deterministic: the same calls in the same order give the same
// state on every replica, which is what the Raft state machine relies on.
import { ConfigError, isEnabled, type NetworkConfig, type OverlayConfig } from '../config/types.js';
import { type ValidateOptions, validateNetworkConfig } from '../config/validate.js';
import { quote } from '../input.js';
import { ip4 } from '../net/addr.js';
import {
  type Cidr,
  type Family,
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
} from '../net/cidr.js';
import type { OverlayReport } from '../protocol/allocation.js';
import { AllocationError, OverlayExhaustedError, VtepExhaustedError } from './errors.js';
import { BlockPool } from './pool.js';

/** One node's share of one overlay: its block per family, or why it has none. */
export interface NodeOverlay {
  name: string;
  /** Network address of the node's IPv4 block. */
  subnet?: bigint;
  subnet6?: bigint;
  error?: AllocationError;
}

export interface NodeRecord {
  /** The node's underlay IPv4 address: its identity. */
  ip: string;
  /** Agents get Mesos and Docker bridges; masters (as in DC/OS) only the subnet. */
  bridges: boolean;
  vtepIp: bigint;
  vtepIp6?: bigint;
  /** In config order of first allocation. */
  overlays: Map<string, NodeOverlay>;
}

export interface RegisterOptions {
  /** Default true; false for masters, which sit on the overlay without bridges. */
  bridges?: boolean;
}

export interface RegisterResult {
  node: NodeRecord;
  /** The node was not known before. */
  created: boolean;
  /** Something was allocated or changed (a new node, a newly added overlay, a flag). */
  changed: boolean;
  /** Overlays (or the IPv6 VTEP) this node could not get; its other overlays are allocated. */
  errors: AllocationError[];
}

/** A pool's size and free count (IPv6 pools are counted up to 2^53 blocks). */
export interface BlockCount {
  total: number;
  free: number;
}

export interface PoolCounts {
  vtep: BlockCount;
  vtep6?: BlockCount;
  overlays: Record<string, { v4?: BlockCount; v6?: BlockCount }>;
}

interface OverlayPools {
  config: OverlayConfig;
  v4?: { cidr: Cidr; pool: BlockPool };
  v6?: { cidr: Cidr; pool: BlockPool };
}

/**
 * A serializable copy of the allocation state (the Raft snapshot of the master). Version 2 adds
 * what nodes reported (`state`); version 1 snapshots still restore.
 */
export interface IpamSnapshot {
  version: 1 | 2;
  config: NetworkConfig;
  nodes: {
    ip: string;
    bridges: boolean;
    vtep_ip: string;
    vtep_ip6?: string;
    overlays: {
      name: string;
      subnet?: string;
      subnet6?: string;
      error?: string;
      state?: OverlayReport;
    }[];
  }[];
}

export class Ipam {
  private cfg: NetworkConfig;
  private readonly options: ValidateOptions;
  private readonly vtep: Cidr;
  private readonly vtep6?: Cidr;
  private readonly vtepPool: BlockPool;
  private readonly vtepPool6?: BlockPool;
  private readonly ouiPrefix: string;
  private readonly pools = new Map<string, OverlayPools>();
  private readonly nodeMap = new Map<string, NodeRecord>();
  private readonly statuses = new Map<string, OverlayReport>();

  /** Validates `config` (with the options it was checked with) and starts with no nodes. */
  constructor(config: NetworkConfig, options: ValidateOptions = {}) {
    const checked = validateNetworkConfig(config, options);
    if (!checked.ok) throw new ConfigError(checked.issues);
    this.cfg = checked.config;
    this.options = options;
    this.vtep = cidrOf(this.cfg.vtep_subnet, 4);
    this.vtepPool = new BlockPool(this.vtep, 32, true);
    if (this.cfg.vtep_subnet6 !== undefined) {
      this.vtep6 = cidrOf(this.cfg.vtep_subnet6, 6);
      this.vtepPool6 = new BlockPool(this.vtep6, 128, true);
    }
    this.ouiPrefix = this.cfg.vtep_mac_oui.slice(0, 8).toLowerCase();
    for (const o of this.cfg.overlays) this.pools.set(o.name, poolsFor(o));
  }

  /** The current network config, as the operator wrote it (plus overlays added since). */
  get config(): NetworkConfig {
    return this.cfg;
  }

  get nodes(): IterableIterator<NodeRecord> {
    return this.nodeMap.values();
  }

  get nodeCount(): number {
    return this.nodeMap.size;
  }

  getNode(ip: string): NodeRecord | undefined {
    return this.nodeMap.get(ip);
  }

  /**
   * Registers a node by its IP, or re-registers it: a known IP keeps its VTEP and blocks, and gets
   * the enabled overlays it lacks (added to the config since, or exhausted before).
   * Throws when the IP is invalid or a new node finds no free VTEP IP.
   */
  register(ipText: string, options: RegisterOptions = {}): RegisterResult {
    const ip = normalizeNodeIp(ipText);
    const bridges = options.bridges ?? true;
    let node = this.nodeMap.get(ip);
    const created = node === undefined;
    let changed = created;
    if (node === undefined) {
      node = { ip, bridges, vtepIp: this.allocateVtep(), overlays: new Map() };
      this.nodeMap.set(ip, node);
    } else if (node.bridges !== bridges) {
      node.bridges = bridges;
      changed = true;
    }
    const errors: AllocationError[] = [];
    if (this.vtepPool6 && node.vtepIp6 === undefined) {
      const v6 = this.vtepPool6.allocate();
      if (v6 === undefined) {
        errors.push(
          new VtepExhaustedError('vtep_subnet6', this.cfg.vtep_subnet6!, this.vtepPool6.blocks),
        );
      } else {
        node.vtepIp6 = v6;
        changed = true;
      }
    }
    for (const o of this.cfg.overlays) {
      if (!isEnabled(o)) continue;
      const had = node.overlays.get(o.name);
      if (had && !had.error) continue;
      const share = this.allocateOverlay(node, o);
      if (share.error) errors.push(share.error);
      if (!had || had.error?.message !== share.error?.message) changed = true;
      node.overlays.set(o.name, share);
    }
    return { node, created, changed, errors };
  }

  /**
   * Whether registering this node would change anything: false for a known node that already
   * holds every enabled overlay (and its IPv6 VTEP), so a re-registration can be answered from
   * the state without writing to the log.
   */
  wouldChange(ipText: string, options: RegisterOptions = {}): boolean {
    const node = this.nodeMap.get(normalizeNodeIp(ipText));
    if (!node || node.bridges !== (options.bridges ?? true)) return true;
    if (this.vtepPool6 && node.vtepIp6 === undefined) return true;
    return this.cfg.overlays.some((o) => {
      if (!isEnabled(o)) return false;
      const share = node.overlays.get(o.name);
      return !share || share.error !== undefined;
    });
  }

  /** Forgets a node and frees its VTEP addresses and blocks. False if it was not known. */
  remove(ipText: string): boolean {
    const ip = normalizeNodeIp(ipText);
    const node = this.nodeMap.get(ip);
    if (!node) return false;
    this.vtepPool.release(node.vtepIp);
    if (node.vtepIp6 !== undefined) this.vtepPool6?.release(node.vtepIp6);
    for (const share of node.overlays.values()) {
      const pools = this.pools.get(share.name);
      if (share.subnet !== undefined) pools?.v4?.pool.release(share.subnet);
      if (share.subnet6 !== undefined) pools?.v6?.pool.release(share.subnet6);
      this.statuses.delete(statusKey(ip, share.name));
    }
    this.nodeMap.delete(ip);
    return true;
  }

  /**
   * Adds an overlay to the config. It must pass every rule the whole config is checked with (no
   * overlap, unique name, ...); nodes get it when they next register. Throws ConfigError.
   */
  addOverlay(overlay: OverlayConfig): void {
    const next = { ...this.cfg, overlays: [...this.cfg.overlays, overlay] };
    const checked = validateNetworkConfig(next, this.options);
    if (!checked.ok) throw new ConfigError(checked.issues);
    const added = checked.config.overlays.at(-1)!;
    this.cfg = checked.config;
    this.pools.set(added.name, poolsFor(added));
  }

  /**
   * Enables or disables an overlay. Disabled overlays allocate no new blocks; blocks nodes already
   * hold stay theirs (as in DC/OS).
   */
  setOverlayEnabled(name: string, enabled: boolean): void {
    const index = this.cfg.overlays.findIndex((o) => o.name === name);
    if (index < 0) {
      throw new AllocationError('UNKNOWN_OVERLAY', `no overlay named "${name}" in the config`);
    }
    const overlays = this.cfg.overlays.slice();
    overlays[index] = { ...overlays[index]!, enabled };
    this.cfg = { ...this.cfg, overlays };
    this.pools.get(name)!.config = overlays[index]!;
  }

  /**
   * Removes an overlay from the config and frees every block of it; returns the nodes that held
   * one (in registration order). Throws when no overlay has that name.
   */
  removeOverlay(name: string): string[] {
    if (!this.pools.has(name)) {
      throw new AllocationError('UNKNOWN_OVERLAY', `no overlay named "${name}" in the config`);
    }
    const holders: string[] = [];
    for (const node of this.nodeMap.values()) {
      const share = node.overlays.get(name);
      if (!share) continue;
      if (share.subnet !== undefined || share.subnet6 !== undefined) holders.push(node.ip);
      node.overlays.delete(name);
      this.statuses.delete(statusKey(node.ip, name));
    }
    this.pools.delete(name);
    this.cfg = { ...this.cfg, overlays: this.cfg.overlays.filter((o) => o.name !== name) };
    return holders;
  }

  /** The nodes holding a block of an overlay, in registration order. */
  holders(name: string): string[] {
    const out: string[] = [];
    for (const node of this.nodeMap.values()) {
      const share = node.overlays.get(name);
      if (share && (share.subnet !== undefined || share.subnet6 !== undefined)) out.push(node.ip);
    }
    return out;
  }

  /**
   * Gives every registered node the enabled overlays it lacks (after an overlay was added or
   * enabled at runtime), in registration order; returns the nodes that changed.
   */
  fillNodes(): string[] {
    const changed: string[] = [];
    for (const node of [...this.nodeMap.values()]) {
      if (this.register(node.ip, { bridges: node.bridges }).changed) changed.push(node.ip);
    }
    return changed;
  }

  /** Records what a node reported about one of its overlays; false if it holds no such overlay. */
  setStatus(ip: string, overlay: string, r: OverlayReport): boolean {
    if (!this.nodeMap.get(ip)?.overlays.has(overlay)) return false;
    const report: OverlayReport = { status: r.status };
    if (r.error !== undefined) report.error = r.error;
    if (r.used !== undefined) report.used = { mesos: r.used.mesos, docker: r.used.docker };
    this.statuses.set(statusKey(ip, overlay), report);
    return true;
  }

  getStatus(ip: string, overlay: string): OverlayReport | undefined {
    return this.statuses.get(statusKey(ip, overlay));
  }

  /** Node blocks per overlay and family, and VTEP addresses: how many it hands out, how many are free. */
  counts(): PoolCounts {
    const count = (p: BlockPool): BlockCount => ({ total: p.capacity, free: p.free });
    const overlays: PoolCounts['overlays'] = {};
    for (const [name, p] of this.pools) {
      overlays[name] = {};
      if (p.v4) overlays[name].v4 = count(p.v4.pool);
      if (p.v6) overlays[name].v6 = count(p.v6.pool);
    }
    return {
      vtep: count(this.vtepPool),
      ...(this.vtepPool6 && { vtep6: count(this.vtepPool6) }),
      overlays,
    };
  }

  vtepMac(node: NodeRecord): string {
    const v = Number(node.vtepIp);
    const hex = (b: number) => b.toString(16).padStart(2, '0');
    return `${this.ouiPrefix}:${hex((v >>> 16) & 255)}:${hex((v >>> 8) & 255)}:${hex(v & 255)}`;
  }

  vtepCidr(): Cidr {
    return this.vtep;
  }

  vtepCidr6(): Cidr | undefined {
    return this.vtep6;
  }

  overlayCidrs(name: string): { v4?: Cidr; v6?: Cidr } | undefined {
    const p = this.pools.get(name);
    return p && { v4: p.v4?.cidr, v6: p.v6?.cidr };
  }

  snapshot(): IpamSnapshot {
    return {
      version: 2,
      config: structuredClone(this.cfg),
      nodes: [...this.nodeMap.values()].map((n) => ({
        ip: n.ip,
        bridges: n.bridges,
        vtep_ip: formatAddress(4, n.vtepIp),
        ...(n.vtepIp6 !== undefined && { vtep_ip6: formatAddress(6, n.vtepIp6) }),
        overlays: [...n.overlays.values()].map((s) => ({
          name: s.name,
          ...(s.subnet !== undefined && { subnet: formatAddress(4, s.subnet) }),
          ...(s.subnet6 !== undefined && { subnet6: formatAddress(6, s.subnet6) }),
          ...(s.error && { error: s.error.message }),
          ...(this.statuses.has(statusKey(n.ip, s.name)) && {
            state: structuredClone(this.statuses.get(statusKey(n.ip, s.name))!),
          }),
        })),
      })),
    };
  }

  /**
   * Rebuilds the state from a snapshot under `config` (default: the snapshot's own). Every stored
   * allocation must fit the config: an overlay that is gone, a block outside its overlay, or a
   * VTEP address or block held twice is an error naming it (nothing is dropped silently).
   */
  static restore(snap: IpamSnapshot, config = snap.config, options: ValidateOptions = {}): Ipam {
    if (snap.version !== 1 && snap.version !== 2) {
      throw new AllocationError(
        'INVALID_CONFIG',
        `unknown allocation snapshot version ${JSON.stringify(snap.version)} (this build reads 1 and 2)`,
      );
    }
    const ipam = new Ipam(config, options);
    const problems: string[] = [];
    for (const n of snap.nodes) {
      const where = `node ${n.ip}`;
      const vtepIp = parseAddress(n.vtep_ip, 4);
      if (vtepIp === undefined || ipam.vtepPool.reserve(vtepIp) !== 'ok') {
        problems.push(
          `${where}: VTEP IP ${n.vtep_ip} is not a free address of vtep_subnet ${ipam.cfg.vtep_subnet}`,
        );
        continue;
      }
      const node: NodeRecord = { ip: n.ip, bridges: n.bridges, vtepIp, overlays: new Map() };
      if (n.vtep_ip6 !== undefined) {
        const v6 = parseAddress(n.vtep_ip6, 6);
        if (v6 === undefined || !ipam.vtepPool6 || ipam.vtepPool6.reserve(v6) !== 'ok') {
          problems.push(`${where}: VTEP IPv6 ${n.vtep_ip6} is not a free address of vtep_subnet6`);
        } else node.vtepIp6 = v6;
      }
      for (const s of n.overlays) {
        const pools = ipam.pools.get(s.name);
        if (!pools) {
          problems.push(
            `${where}: overlay "${s.name}" is in the stored state but not in the config; ` +
              `add it back, or remove it from the state with \`vnet overlay remove ${s.name}\``,
          );
          continue;
        }
        const share: NodeOverlay = { name: s.name };
        for (const [key, fam, text] of [
          ['subnet', 4, s.subnet],
          ['subnet6', 6, s.subnet6],
        ] as const) {
          if (text === undefined) continue;
          const entry = fam === 4 ? pools.v4 : pools.v6;
          const addr = parseAddress(text, fam);
          const outcome = addr === undefined || !entry ? 'outside' : entry.pool.reserve(addr);
          if (outcome === 'ok') share[key] = addr;
          else {
            const what =
              outcome === 'taken' ? 'is held by another node' : `is not a block of its ${key}`;
            problems.push(`${where}: overlay "${s.name}" ${key} ${text} ${what}`);
          }
        }
        if (s.error !== undefined) share.error = new AllocationError('OVERLAY_EXHAUSTED', s.error);
        node.overlays.set(s.name, share);
        if (s.state) ipam.statuses.set(statusKey(n.ip, s.name), structuredClone(s.state));
      }
      ipam.nodeMap.set(n.ip, node);
    }
    if (problems.length > 0) {
      throw new AllocationError(
        'INVALID_CONFIG',
        `the stored state does not fit the config:\n  ${problems.join('\n  ')}`,
      );
    }
    return ipam;
  }

  private allocateVtep(): bigint {
    const ip = this.vtepPool.allocate();
    if (ip === undefined) {
      throw new VtepExhaustedError('vtep_subnet', this.cfg.vtep_subnet, this.vtepPool.blocks - 2n);
    }
    return ip;
  }

  /** Allocates both families of an overlay for a node, or neither. */
  private allocateOverlay(node: NodeRecord, o: OverlayConfig): NodeOverlay {
    const pools = this.pools.get(o.name)!;
    const share: NodeOverlay = { name: o.name };
    const exhausted = (fam: Family): OverlayExhaustedError => {
      const entry = fam === 4 ? pools.v4! : pools.v6!;
      return new OverlayExhaustedError(
        o.name,
        formatCidr(entry.cidr),
        fam === 4 ? o.prefix! : o.prefix6!,
        entry.pool.blocks,
      );
    };
    if (pools.v4) {
      share.subnet = pools.v4.pool.allocate();
      if (share.subnet === undefined) return { name: o.name, error: exhausted(4) };
    }
    if (pools.v6) {
      if (node.vtepIp6 === undefined) {
        if (share.subnet !== undefined) pools.v4?.pool.release(share.subnet);
        const error = new AllocationError(
          'VTEP_EXHAUSTED',
          `the ${o.name} overlay needs an IPv6 VTEP address and none is free`,
        );
        return { name: o.name, error };
      }
      share.subnet6 = pools.v6.pool.allocate();
      if (share.subnet6 === undefined) {
        if (share.subnet !== undefined) pools.v4?.pool.release(share.subnet);
        return { name: o.name, error: exhausted(6) };
      }
    }
    return share;
  }
}

function poolsFor(o: OverlayConfig): OverlayPools {
  const pools: OverlayPools = { config: o };
  if (o.subnet !== undefined) {
    const cidr = cidrOf(o.subnet, 4);
    pools.v4 = { cidr, pool: new BlockPool(cidr, o.prefix!) };
  }
  if (o.subnet6 !== undefined) {
    const cidr = cidrOf(o.subnet6, 6);
    pools.v6 = { cidr, pool: new BlockPool(cidr, o.prefix6!) };
  }
  return pools;
}

function cidrOf(text: string, family: Family): Cidr {
  const r = parseCidr(text, family);
  if (!r.ok) throw new Error(`unexpected invalid CIDR after validation: ${r.reason}`);
  return r.cidr;
}

/** A node is identified by its underlay IPv4 address, in canonical dotted form. */
export function normalizeNodeIp(text: unknown): string {
  const ip = typeof text === 'string' ? ip4(text) : undefined;
  if (!ip) {
    throw new AllocationError('INVALID_NODE_IP', `node IP ${quote(text)} is not an IPv4 address`);
  }
  return ip.text;
}

const statusKey = (ip: string, overlay: string): string => `${ip}\u0000${overlay}`;
