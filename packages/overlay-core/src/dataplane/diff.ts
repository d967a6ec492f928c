// The operations that turn what the kernel holds into the desired state, for `Netlink.batch()`.
// Only differences are written. vnet owns: vtep1024 and what is on it, the `m-*` bridges, and
// routes, nexthops and rules of protocol VNET_PROTOCOL; everything else is never touched.
// Stale owned objects are deleted only with `prune`. Addresses and MACs compare as text: both
// sides hold canonical text by construction (desiredState's values were parsed at the edge, the
// kernel's are decoded by netlink-ffi, both printed by @vnet/ip), so nothing is re-parsed here.
// Order (each step needs the ones before):
//   1. links: re-creations (delete + add), adds, in-place sets (MTU, up)
//   2. addresses: stale deletes (prune; before adds so a new address never becomes the secondary
//      of one about to go), then replaces
//   3. neighbours, FDB entries (replace)
//   4. nexthops (replace), then the routes that use them (replace), then rules (add)
//   5. stale deletes (prune): rules, routes, then the nexthops they used, FDB, neighbours, bridges
// Re-creating a link drops everything the kernel keeps on it (addresses, neighbours, FDB entries,
// nexthops through it and the routes using those), so all of that is added again in the same list.

import { familyOf, isGroupOrZeroMac, isLinkLocal6 } from '@vnet/ip';
import {
  type AddressSpec,
  type FdbEntry,
  type FdbSpec,
  type Link,
  type LinkChange,
  type LinkSpec,
  type Neighbour,
  type Nexthop,
  NUD_STATES,
  type Operation,
  type Route,
  type RouteSpec,
  RULE_ACTIONS,
  type Rule,
  type RuleActionName,
  type RuleSpec,
} from '@vnet/netlink-ffi';
import { isMesosBridge, VTEP_NAME } from '../protocol/allocation.js';
import {
  type Conflict,
  type DesiredState,
  type DiffOptions,
  type KernelState,
  MAIN_TABLE,
  VNET_PROTOCOL,
} from './types.js';

const PERMANENT = NUD_STATES.permanent;
const RTN_UNICAST = 1;
/** The metric the kernel gives a route added without one. */
const defaultMetric = (family: 4 | 6): number => (family === 4 ? 0 : 1024);
const isOwnedBridge = (l: Link): boolean => l.kind === 'bridge' && isMesosBridge(l.name);

export interface DiffResult {
  operations: Operation[];
  /** Desired objects not written because something vnet does not own holds their place. */
  conflicts: Conflict[];
}

/** The operations to apply, in order (see the file comment). */
export function diff(
  desired: DesiredState,
  actual: KernelState,
  options: DiffOptions,
): Operation[] {
  return planDiff(desired, actual, options).operations;
}

export function planDiff(
  desired: DesiredState,
  actual: KernelState,
  options: DiffOptions,
): DiffResult {
  const p = new Planner(desired, actual, options.prune);
  p.links();
  p.addresses();
  p.neighbours();
  p.fdb();
  p.nexthops();
  p.routes();
  p.staleNexthops();
  p.rules();
  return { operations: p.ops(), conflicts: p.conflicts };
}

class Planner {
  readonly conflicts: Conflict[] = [];
  private readonly names = new Map<number, string>();
  private readonly byName = new Map<string, Link>();
  /** ifindexes of links this plan deletes: nothing on them survives. */
  private readonly gone = new Set<number>();
  /** Nexthops the kernel drops with a deleted or missing link (and the routes using them). */
  private readonly goneNexthops = new Set<number>();
  private readonly blockedNexthops = new Set<number>();
  private readonly staleNexthopIds: number[] = [];
  /** Nexthops that routes vnet does not own use. */
  private readonly foreignNhids = new Set<number>();
  private readonly out = {
    linkDeletes: [] as Operation[],
    linkAdds: [] as Operation[],
    linkSets: [] as Operation[],
    addressDeletes: [] as Operation[],
    addresses: [] as Operation[],
    neighbours: [] as Operation[],
    fdb: [] as Operation[],
    nexthops: [] as Operation[],
    routes: [] as Operation[],
    rules: [] as Operation[],
    staleRules: [] as Operation[],
    staleRoutes: [] as Operation[],
    staleNexthops: [] as Operation[],
    staleFdb: [] as Operation[],
    staleNeighbours: [] as Operation[],
    staleLinks: [] as Operation[],
  };

  constructor(
    private readonly desired: DesiredState,
    private readonly actual: KernelState,
    private readonly prune: boolean,
  ) {
    for (const l of actual.links) {
      this.names.set(l.index, l.name);
      this.byName.set(l.name, l);
    }
  }

  ops(): Operation[] {
    return Object.values(this.out).flat();
  }

  /** The link by name, unless this plan deletes it. */
  private live(name: string): Link | undefined {
    const l = this.byName.get(name);
    return l && !this.gone.has(l.index) ? l : undefined;
  }

  private liveIndex(index: number | undefined): boolean {
    return index !== undefined && this.names.has(index) && !this.gone.has(index);
  }

  links(): void {
    const wanted = new Set<string>();
    for (const spec of this.desired.links) {
      wanted.add(spec.name);
      const cur = this.byName.get(spec.name);
      if (!cur) {
        this.out.linkAdds.push({ kind: 'link', action: 'add', spec });
        continue;
      }
      if (this.mustRecreate(spec, cur)) {
        this.out.linkDeletes.push({ kind: 'link', action: 'delete', spec: { link: spec.name } });
        this.out.linkAdds.push({ kind: 'link', action: 'add', spec });
        this.gone.add(cur.index);
        continue;
      }
      const change: LinkChange = { link: spec.name };
      let changed = false;
      if (spec.mtu !== undefined && cur.mtu !== spec.mtu) {
        change.mtu = spec.mtu;
        changed = true;
      }
      if (spec.up !== undefined && cur.up !== spec.up) {
        change.up = spec.up;
        changed = true;
      }
      if (changed) this.out.linkSets.push({ kind: 'link', action: 'set', spec: change });
    }
    if (!this.prune) return;
    for (const l of this.actual.links) {
      if (isOwnedBridge(l) && !wanted.has(l.name)) {
        this.out.staleLinks.push({ kind: 'link', action: 'delete', spec: { link: l.name } });
      }
    }
  }

  /**
   * Links are never replaced in place: only a different identity (kind; for vxlan VNI, port, MAC,
   * local address, underlay device or learning) re-creates one. Setting the MAC of a live vtep1024
   * wiped its neighbours in DC/OS, so a wrong MAC means a new device.
   */
  private mustRecreate(spec: LinkSpec, cur: Link): boolean {
    if (cur.kind !== spec.kind) return true;
    if (spec.address !== undefined && cur.address !== spec.address) return true;
    if (spec.kind !== 'vxlan') return false;
    const v = cur.vxlan;
    const s = spec.vxlan;
    if (!v) return true;
    const dev = cur.vxlan?.link === undefined ? undefined : this.names.get(cur.vxlan.link);
    return (
      v.vni !== s.vni ||
      (s.port !== undefined && v.port !== s.port) ||
      (s.local !== undefined && v.local !== s.local) ||
      (s.dev !== undefined && dev !== s.dev && v.link !== s.dev) ||
      (s.learning !== undefined && (v.learning ?? true) !== s.learning)
    );
  }

  addresses(): void {
    const owned = new Set(this.desired.links.map((l) => l.name));
    const have = new Set<string>();
    for (const a of this.actual.addresses) {
      const dev = this.names.get(a.index);
      if (dev === undefined || !owned.has(dev) || this.gone.has(a.index)) continue;
      if (a.family === 6 && isLinkLocal6(a.address)) continue;
      const key = `${dev}|${a.address}/${a.prefixLength}`;
      have.add(key);
      if (this.prune && !this.wantedAddress(key)) {
        const spec: AddressSpec = { dev, address: `${a.address}/${a.prefixLength}` };
        if (a.peer !== undefined) spec.peer = a.peer;
        this.out.addressDeletes.push({ kind: 'address', action: 'delete', spec });
      }
    }
    for (const spec of this.desired.addresses) {
      if (!have.has(`${spec.dev}|${spec.address}`)) {
        this.out.addresses.push({ kind: 'address', action: 'replace', spec });
      }
    }
  }

  private wantedKeys?: Set<string>;
  private wantedAddress(key: string): boolean {
    this.wantedKeys ??= new Set(this.desired.addresses.map((s) => `${s.dev}|${s.address}`));
    return this.wantedKeys.has(key);
  }

  /** ifindex of vtep1024 when it stays; undefined when it is absent or re-created. */
  private vtepIndex(): number | undefined {
    return this.live(VTEP_NAME)?.index;
  }

  neighbours(): void {
    const vtep = this.vtepIndex();
    const have = new Map<string, Neighbour>();
    for (const n of this.actual.neighbours) {
      if (vtep === undefined || n.index !== vtep || n.proxy) continue;
      const key = n.address;
      if (isLinkLocal6(key)) continue;
      have.set(key, n);
    }
    const wanted = new Set<string>();
    for (const spec of this.desired.neighbours) {
      const key = spec.address;
      wanted.add(`${spec.dev}|${key}`);
      const cur = spec.dev === VTEP_NAME ? have.get(key) : undefined;
      if (cur && (cur.state & PERMANENT) !== 0 && cur.lladdr === spec.lladdr) {
        continue;
      }
      this.out.neighbours.push({ kind: 'neighbour', action: 'replace', spec });
    }
    if (!this.prune) return;
    // Entries the kernel resolved itself (not permanent) age out on their own.
    for (const [key, n] of have) {
      if ((n.state & PERMANENT) === 0 || wanted.has(`${VTEP_NAME}|${key}`)) continue;
      this.out.staleNeighbours.push({
        kind: 'neighbour',
        action: 'delete',
        spec: { dev: VTEP_NAME, address: n.address },
      });
    }
  }

  fdb(): void {
    const vtep = this.vtepIndex();
    // Remotes per MAC, in the kernel's order: the first one is what `replace` rewrites.
    const have = new Map<string, FdbEntry[]>();
    for (const e of this.actual.fdb) {
      if (vtep === undefined || e.index !== vtep || !e.self || (e.state & PERMANENT) === 0)
        continue;
      const mac = e.lladdr;
      if (mac === undefined || isGroupOrZeroMac(mac)) continue;
      const list = have.get(mac);
      if (list) list.push(e);
      else have.set(mac, [e]);
    }
    const plain = (e: FdbEntry, spec: FdbSpec) =>
      e.dst === spec.dst &&
      e.port === undefined &&
      e.vlan === undefined &&
      e.via === undefined &&
      (e.vni === undefined || e.vni === spec.vni);
    const wanted = new Set<string>();
    for (const spec of this.desired.fdb) {
      const mac = spec.lladdr;
      wanted.add(mac);
      const list = spec.dev === VTEP_NAME ? (have.get(mac) ?? []) : [];
      let keep = list.find((e) => plain(e, spec));
      if (!keep) {
        this.out.fdb.push({ kind: 'fdb', action: 'replace', spec });
        keep = list[0];
      }
      if (!this.prune) continue;
      for (const e of list) {
        if (e === keep || e.dst === undefined) continue;
        this.out.staleFdb.push({
          kind: 'fdb',
          action: 'delete',
          spec: { dev: VTEP_NAME, lladdr: mac, dst: e.dst },
        });
      }
    }
    if (!this.prune) return;
    for (const mac of have.keys()) {
      if (wanted.has(mac)) continue;
      // Without dst, the delete removes the MAC with all its remotes.
      this.out.staleFdb.push({
        kind: 'fdb',
        action: 'delete',
        spec: { dev: VTEP_NAME, lladdr: mac },
      });
    }
  }

  nexthops(): void {
    const have = new Map<number, Nexthop>();
    for (const n of this.actual.nexthops) {
      // The kernel removes nexthops through a deleted link, and those through a missing one.
      if (n.dev !== undefined && !this.liveIndex(n.dev)) {
        this.goneNexthops.add(n.id);
        continue;
      }
      have.set(n.id, n);
    }
    const wanted = new Set<number>();
    for (const spec of this.desired.nexthops) {
      wanted.add(spec.id);
      const cur = have.get(spec.id);
      if (cur && cur.protocol !== VNET_PROTOCOL) {
        this.blockedNexthops.add(spec.id);
        this.conflict(
          'nexthop',
          `id ${spec.id} via ${spec.via}`,
          `nexthop ${spec.id} has protocol ${cur.protocol}`,
        );
        continue;
      }
      if (cur && this.sameNexthop(cur, spec)) continue;
      this.out.nexthops.push({ kind: 'nexthop', action: 'replace', spec });
    }
    for (const n of have.values()) {
      if (n.protocol === VNET_PROTOCOL && !wanted.has(n.id)) this.staleNexthopIds.push(n.id);
    }
  }

  /** After routes(): stale nexthops go once their routes have; never one a foreign route uses. */
  staleNexthops(): void {
    if (!this.prune) return;
    for (const id of this.staleNexthopIds) {
      if (this.foreignNhids.has(id)) continue;
      this.out.staleNexthops.push({ kind: 'nexthop', action: 'delete', spec: { id } });
    }
  }

  private sameNexthop(cur: Nexthop, spec: DesiredState['nexthops'][number]): boolean {
    const dev = cur.dev === undefined ? undefined : this.names.get(cur.dev);
    return (
      spec.via !== undefined &&
      cur.family === familyOf(spec.via) &&
      cur.via === spec.via &&
      dev === spec.dev &&
      cur.onlink === (spec.onlink ?? false) &&
      !cur.blackhole &&
      !cur.fdb &&
      cur.group === undefined
    );
  }

  routes(): void {
    const routeKey = (table: number, family: 4 | 6, dst: string, metric: number | undefined) =>
      `${table}|${dst}|${metric ?? defaultMetric(family)}`;
    const owned = new Map<string, Route>();
    const foreign = new Map<string, Route>();
    for (const r of this.actual.routes) {
      // Routes through a deleted link or nexthop go with it.
      if (r.dev !== undefined && !this.liveIndex(r.dev)) continue;
      if (r.nhid !== undefined && this.goneNexthops.has(r.nhid)) continue;
      const key = routeKey(r.table, r.family, r.dst, r.metric);
      const map = r.protocol === VNET_PROTOCOL ? owned : foreign;
      if (!map.has(key)) map.set(key, r);
      if (r.protocol !== VNET_PROTOCOL && r.nhid !== undefined) this.foreignNhids.add(r.nhid);
    }
    const wanted = new Set<string>();
    for (const spec of this.desired.routes) {
      const key = routeKey(spec.table ?? MAIN_TABLE, familyOf(spec.dst), spec.dst, spec.metric);
      wanted.add(key);
      const what = `${spec.dst} nhid ${spec.nhid} table ${spec.table ?? MAIN_TABLE}`;
      const other = foreign.get(key);
      if (other) {
        this.conflict('route', what, `a route of protocol ${other.protocol} holds ${other.dst}`);
        continue;
      }
      if (spec.nhid !== undefined && this.blockedNexthops.has(spec.nhid)) {
        this.conflict('route', what, `its nexthop ${spec.nhid} is not vnet's`);
        continue;
      }
      const cur = owned.get(key);
      if (cur && cur.nhid === spec.nhid && cur.type === RTN_UNICAST) continue;
      this.out.routes.push({ kind: 'route', action: 'replace', spec });
    }
    if (!this.prune) return;
    for (const [key, r] of owned) {
      if (wanted.has(key)) continue;
      const spec: RouteSpec = { dst: r.dst, table: r.table, protocol: VNET_PROTOCOL };
      if (r.metric !== undefined) spec.metric = r.metric;
      this.out.staleRoutes.push({ kind: 'route', action: 'delete', spec });
    }
  }

  rules(): void {
    const owned = new Map<string, Rule>();
    const foreign = new Map<string, Rule>();
    for (const r of this.actual.rules) {
      const key = ruleKey(ruleSpecOf(r));
      (r.protocol === VNET_PROTOCOL ? owned : foreign).set(key, r);
    }
    const wanted = new Set<string>();
    for (const spec of this.desired.rules) {
      const key = ruleKey(spec);
      wanted.add(key);
      if (owned.has(key)) continue;
      if (foreign.has(key)) {
        this.conflict(
          'rule',
          key,
          `the same rule exists with protocol ${foreign.get(key)?.protocol}`,
        );
        continue;
      }
      this.out.rules.push({ kind: 'rule', action: 'add', spec });
    }
    if (!this.prune) return;
    for (const [key, r] of owned) {
      if (wanted.has(key)) continue;
      this.out.staleRules.push({ kind: 'rule', action: 'delete', spec: ruleSpecOf(r) });
    }
  }

  private conflict(kind: Conflict['kind'], desired: string, reason: string): void {
    this.conflicts.push({ kind, desired, reason });
  }
}

const ACTION_NAMES = new Map<number, RuleActionName>(
  Object.entries(RULE_ACTIONS).map(([name, value]) => [value, name as RuleActionName]),
);

/** A kernel rule as the spec that names it exactly (for deletes and comparison). */
export function ruleSpecOf(r: Rule): RuleSpec {
  const spec: RuleSpec = { family: r.family, priority: r.priority, table: r.table };
  const action = ACTION_NAMES.get(r.action);
  if (action !== undefined) spec.action = action;
  if (r.src !== undefined) spec.src = r.src;
  if (r.dst !== undefined) spec.dst = r.dst;
  if (r.iif !== undefined) spec.iif = r.iif;
  if (r.oif !== undefined) spec.oif = r.oif;
  if (r.fwmark !== undefined) spec.fwmark = r.fwmark;
  if (r.fwmask !== undefined) spec.fwmask = r.fwmask;
  if (r.tos !== 0) spec.tos = r.tos;
  if (r.invert) spec.invert = true;
  if (r.goto !== undefined) spec.goto = r.goto;
  if (r.protocol !== undefined) spec.protocol = r.protocol;
  return spec;
}

/** Everything that makes two rules different, except the protocol. */
function ruleKey(s: RuleSpec): string {
  const family = s.family ?? (s.src ? familyOf(s.src) : s.dst ? familyOf(s.dst) : 4);
  const action = s.action ?? 'lookup';
  return [
    family,
    s.priority ?? '-',
    s.src ?? 'all',
    s.dst ?? 'all',
    action,
    action === 'lookup' ? (s.table ?? MAIN_TABLE) : '-',
    s.iif ?? '-',
    s.oif ?? '-',
    s.fwmark ?? '-',
    s.fwmask ?? '-',
    s.tos ?? 0,
    s.invert ? 'not' : '',
    s.goto ?? '-',
  ].join('|');
}
