// A small in-memory kernel for the data-plane tests: it holds decoded objects (what the adapter
// dumps) and applies netlink-ffi operations with the kernel's rules that matter to a reconciler —
// EEXIST/ENOENT/ESRCH, names resolved when an operation runs, a deleted link taking its addresses,
// neighbours, FDB entries, nexthops and their routes along, a deleted nexthop its routes, `replace`
// of an FDB entry rewriting its first remote, `replace` of a route taking over whatever route
// holds its table/prefix/metric. Changed objects are always new objects, so a test can tell by
// identity whether an object it planted was left alone.

import { canonicalIp, parsePrefix } from '@vnet/ip';
import type {
  Address,
  FdbEntry,
  Link,
  Neighbour,
  Nexthop,
  Operation,
  Route,
  Rule,
  RuleSpec,
} from '@vnet/netlink-ffi';
import { RULE_ACTIONS } from '@vnet/netlink-ffi';
import { ruleSpecOf } from '../../src/dataplane/diff.js';
import type { DesiredState, KernelState } from '../../src/dataplane/types.js';

const PERMANENT = 0x80;
const NOARP = 0x40;
const NTF_SELF = 0x02;

export class KernelError extends Error {
  constructor(
    readonly code: string,
    what: string,
  ) {
    super(`${code}: ${what}`);
  }
}

export const emptyState = (): KernelState => ({
  links: [],
  addresses: [],
  neighbours: [],
  fdb: [],
  nexthops: [],
  routes: [],
  rules: [],
});

/** Canonical `ip/len`, or the text itself when it is not one. */
const canonPrefix = (t: string): string => parsePrefix(t)?.text ?? t;
const ip = (t: string | undefined) => (t === undefined ? '-' : (canonicalIp(t) ?? t));
const famOf = (t: string): 4 | 6 => (t.includes(':') ? 6 : 4);
const metricOf = (r: { family: 4 | 6; metric?: number }) => r.metric ?? (r.family === 4 ? 0 : 1024);

function splitPrefix(text: string): { address: string; length: number } {
  const [a, l] = text.split('/');
  return { address: ip(a!), length: l === undefined ? (famOf(a!) === 4 ? 32 : 128) : Number(l) };
}

export function ruleMatchKey(s: RuleSpec): string {
  return JSON.stringify([
    s.family ?? 4,
    s.priority ?? 0,
    s.src ? canonPrefix(s.src) : '',
    s.dst ? canonPrefix(s.dst) : '',
    s.table ?? 254,
    s.action ?? 'lookup',
    s.iif ?? '',
    s.oif ?? '',
    s.fwmark ?? '',
  ]);
}

export class KernelModel {
  readonly state: KernelState;
  private nextIndex: number;
  /** Objects removed because a link they lived on was deleted. */
  readonly cascaded = new Set<object>();
  /** Objects removed or replaced by an operation aimed at them (or a nexthop delete). */
  readonly removed = new Set<object>();
  readonly deletedLinks: string[] = [];

  constructor(initial: KernelState = emptyState()) {
    this.state = {
      links: [...initial.links],
      addresses: [...initial.addresses],
      neighbours: [...initial.neighbours],
      fdb: [...initial.fdb],
      nexthops: [...initial.nexthops],
      routes: [...initial.routes],
      rules: [...initial.rules],
    };
    this.nextIndex = Math.max(0, ...initial.links.map((l) => l.index)) + 1;
  }

  snapshot(): KernelState {
    return new KernelModel(this.state).state;
  }

  index(ref: string | number): number {
    const l = this.state.links.find((x) => x.name === ref || x.index === ref);
    if (!l) throw new KernelError('ENODEV', `no link ${ref}`);
    return l.index;
  }

  name(index: number | undefined): string {
    return this.state.links.find((l) => l.index === index)?.name ?? `#${index}`;
  }

  private drop<K extends keyof KernelState>(
    key: K,
    keep: (o: KernelState[K][number]) => boolean,
    why: Set<object>,
  ): void {
    const list = this.state[key] as object[];
    const kept = list.filter((o) => {
      const k = keep(o as KernelState[K][number]);
      if (!k) why.add(o);
      return k;
    });
    list.length = 0;
    list.push(...kept);
  }

  /** Removes a nexthop and the routes that use it. */
  private dropNexthops(ids: Set<number>, why: Set<object>): void {
    this.drop('nexthops', (n) => !ids.has(n.id), why);
    this.drop('routes', (r) => r.nhid === undefined || !ids.has(r.nhid), why);
  }

  private dropLink(index: number): void {
    const link = this.state.links.find((l) => l.index === index)!;
    this.deletedLinks.push(link.name);
    this.drop('links', (l) => l.index !== index, this.removed);
    const c = this.cascaded;
    this.drop('addresses', (a) => a.index !== index, c);
    this.drop('neighbours', (n) => n.index !== index, c);
    this.drop('fdb', (e) => e.index !== index, c);
    this.drop('routes', (r) => r.dev !== index || r.nhid !== undefined, c);
    this.dropNexthops(
      new Set(this.state.nexthops.filter((n) => n.dev === index).map((n) => n.id)),
      c,
    );
  }

  /** Takes a link down as the kernel does: its nexthops (and their routes) go. */
  setDown(name: string): void {
    const l = this.state.links.find((x) => x.name === name);
    if (!l) return;
    this.replaceLink(l, { ...l, up: false, flags: l.flags & ~1 });
    const ids = new Set(this.state.nexthops.filter((n) => n.dev === l.index).map((n) => n.id));
    this.dropNexthops(ids, this.cascaded);
  }

  /** Changes a link in place (as `ip link set` would), e.g. its MAC. */
  replaceLink(old: Link, next: Link): void {
    const i = this.state.links.indexOf(old);
    this.state.links[i] = next;
    this.removed.add(old);
  }

  /** Applies one operation; throws KernelError like the kernel refuses. Returns the new object. */
  apply(op: Operation): object | undefined {
    switch (op.kind) {
      case 'link':
        return this.link(op);
      case 'address':
        return this.address(op);
      case 'neighbour':
        return this.neighbour(op);
      case 'fdb':
        return this.fdbOp(op);
      case 'nexthop':
        return this.nexthop(op);
      case 'route':
        return this.route(op);
      case 'rule':
        return this.rule(op);
    }
  }

  /** Applies every operation; returns the failures as "index: message". */
  applyAll(ops: Operation[]): string[] {
    const failures: string[] = [];
    ops.forEach((op, i) => {
      try {
        this.apply(op);
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        failures.push(`${i} ${op.action} ${op.kind} ${JSON.stringify(op.spec)}: ${err.message}`);
      }
    });
    return failures;
  }

  private link(op: Extract<Operation, { kind: 'link' }>): object | undefined {
    if (op.action === 'delete') {
      this.dropLink(this.index(op.spec.link));
      return undefined;
    }
    if (op.action === 'set') {
      const old = this.state.links.find((l) => l.index === this.index(op.spec.link))!;
      const next: Link = { ...old };
      if (op.spec.mtu !== undefined) next.mtu = op.spec.mtu;
      if (op.spec.up !== undefined) {
        next.up = op.spec.up;
        next.flags = op.spec.up ? old.flags | 1 : old.flags & ~1;
      }
      if (op.spec.address !== undefined) next.address = op.spec.address.toLowerCase();
      this.replaceLink(old, next);
      if (op.spec.up === false) this.setDown(old.name);
      return next;
    }
    const s = op.spec;
    if (this.state.links.some((l) => l.name === s.name)) throw new KernelError('EEXIST', s.name);
    const index = this.nextIndex++;
    const link: Link = {
      index,
      name: s.name,
      type: 1,
      flags: s.up ? 1 : 0,
      up: s.up ?? false,
      mtu: s.mtu ?? 1500,
      address: (s.address ?? `02:00:00:00:${(index >> 8) & 255}:${index & 255}`).toLowerCase(),
      kind: s.kind,
      unknown: [],
    };
    if (s.kind === 'vxlan') {
      link.vxlan = {
        vni: s.vxlan.vni,
        port: s.vxlan.port ?? 8472,
        learning: s.vxlan.learning ?? true,
        unknown: [],
      };
      if (s.vxlan.local !== undefined) link.vxlan.local = s.vxlan.local;
      if (s.vxlan.dev !== undefined) link.vxlan.link = this.index(s.vxlan.dev);
    }
    if (s.kind === 'bridge') link.bridge = { unknown: [] };
    this.state.links.push(link);
    return link;
  }

  private address(op: Extract<Operation, { kind: 'address' }>): object | undefined {
    const index = this.index(op.spec.dev);
    const p = splitPrefix(op.spec.address);
    const same = (a: Address) =>
      a.index === index && ip(a.address) === p.address && a.prefixLength === p.length;
    const cur = this.state.addresses.find(same);
    if (op.action === 'delete') {
      if (!cur) throw new KernelError('EADDRNOTAVAIL', op.spec.address);
      this.drop('addresses', (a) => a !== cur, this.removed);
      return undefined;
    }
    if (cur && op.action === 'add') throw new KernelError('EEXIST', op.spec.address);
    if (cur) this.drop('addresses', (a) => a !== cur, this.removed);
    const a: Address = {
      family: famOf(p.address),
      index,
      address: p.address,
      prefixLength: p.length,
      scope: 0,
      flags: op.spec.flags ?? 0,
      unknown: [],
    };
    this.state.addresses.push(a);
    return a;
  }

  private neighbour(op: Extract<Operation, { kind: 'neighbour' }>): object | undefined {
    const index = this.index(op.spec.dev);
    const addr = ip(op.spec.address);
    const cur = this.state.neighbours.find((n) => n.index === index && ip(n.address) === addr);
    if (op.action === 'delete') {
      if (!cur) throw new KernelError('ENOENT', `neighbour ${addr}`);
      this.drop('neighbours', (n) => n !== cur, this.removed);
      return undefined;
    }
    if (cur && op.action === 'add') throw new KernelError('EEXIST', `neighbour ${addr}`);
    if (cur) this.drop('neighbours', (n) => n !== cur, this.removed);
    const state = op.spec.state;
    const n: Neighbour = {
      family: famOf(addr),
      index,
      address: addr,
      state: state === undefined || state === 'permanent' ? PERMANENT : (state as number),
      flags: 0,
      type: 1,
      router: false,
      proxy: false,
      unknown: [],
    };
    if (op.spec.lladdr !== undefined) n.lladdr = op.spec.lladdr.toLowerCase();
    this.state.neighbours.push(n);
    return n;
  }

  private fdbOp(op: Extract<Operation, { kind: 'fdb' }>): object | undefined {
    const index = this.index(op.spec.dev);
    const mac = op.spec.lladdr.toLowerCase();
    const mine = this.state.fdb.filter((e) => e.index === index && e.lladdr === mac);
    const fresh = (): FdbEntry => {
      const e: FdbEntry = {
        index,
        lladdr: mac,
        state: NOARP | PERMANENT,
        flags: NTF_SELF,
        self: true,
        unknown: [],
      };
      if (op.spec.dst !== undefined) e.dst = ip(op.spec.dst);
      return e;
    };
    if (op.action === 'delete') {
      const gone =
        op.spec.dst === undefined ? mine : mine.filter((e) => ip(e.dst) === ip(op.spec.dst));
      if (gone.length === 0) throw new KernelError('ENOENT', `fdb ${mac} ${op.spec.dst}`);
      this.drop('fdb', (e) => !gone.includes(e), this.removed);
      return undefined;
    }
    if (op.action === 'add' && mine.length > 0) throw new KernelError('EEXIST', `fdb ${mac}`);
    if (op.action === 'append' && mine.some((e) => ip(e.dst) === ip(op.spec.dst))) {
      throw new KernelError('EEXIST', `fdb ${mac} ${op.spec.dst}`);
    }
    const e = fresh();
    if (op.action === 'replace' && mine.length > 0) {
      const i = this.state.fdb.indexOf(mine[0]!);
      this.removed.add(mine[0]!);
      this.state.fdb[i] = e;
    } else this.state.fdb.push(e);
    return e;
  }

  private nexthop(op: Extract<Operation, { kind: 'nexthop' }>): object | undefined {
    const s = op.spec;
    const cur = this.state.nexthops.find((n) => n.id === s.id);
    if (op.action === 'delete') {
      if (!cur) throw new KernelError('ENOENT', `nexthop ${s.id}`);
      this.dropNexthops(new Set([s.id]), this.removed);
      return undefined;
    }
    if (cur && op.action === 'add') throw new KernelError('EEXIST', `nexthop ${s.id}`);
    const n: Nexthop = {
      id: s.id,
      onlink: s.onlink ?? false,
      blackhole: false,
      fdb: false,
      scope: 0,
      protocol: s.protocol ?? 0,
      flags: s.onlink ? 4 : 0,
      unknown: [],
    };
    if (s.via !== undefined) {
      n.via = ip(s.via);
      n.family = famOf(s.via);
    }
    if (s.dev !== undefined) {
      n.dev = this.index(s.dev);
      if (!this.state.links.find((l) => l.index === n.dev)!.up) {
        throw new KernelError('ENETDOWN', `nexthop ${s.id} dev ${s.dev}`);
      }
    }
    if (cur) {
      this.state.nexthops[this.state.nexthops.indexOf(cur)] = n;
      this.removed.add(cur);
    } else this.state.nexthops.push(n);
    return n;
  }

  private route(op: Extract<Operation, { kind: 'route' }>): object | undefined {
    const s = op.spec;
    const family = famOf(s.dst);
    const dst = splitPrefix(s.dst);
    const table = s.table ?? 254;
    const at = (r: Route) =>
      r.table === table && r.family === family && r.dst === `${dst.address}/${dst.length}`;
    if (op.action === 'delete') {
      const cur = this.state.routes.find(
        (r) =>
          at(r) &&
          (s.protocol === undefined || r.protocol === s.protocol) &&
          (s.metric === undefined || metricOf(r) === s.metric),
      );
      if (!cur) throw new KernelError('ESRCH', `route ${s.dst} table ${table}`);
      this.drop('routes', (r) => r !== cur, this.removed);
      return undefined;
    }
    const metric = s.metric ?? (family === 4 ? undefined : 1024);
    const cur = this.state.routes.find((r) => at(r) && metricOf(r) === (metric ?? 0));
    if (cur && op.action === 'add') throw new KernelError('EEXIST', `route ${s.dst}`);
    const r: Route = {
      family,
      dst: `${dst.address}/${dst.length}`,
      onlink: false,
      table,
      scope: 0,
      protocol: s.protocol ?? 3,
      type: 1,
      flags: 0,
      tos: 0,
      unknown: [],
    };
    if (metric !== undefined) r.metric = metric;
    if (s.nhid !== undefined) {
      const nh = this.state.nexthops.find((n) => n.id === s.nhid);
      if (!nh) throw new KernelError('EINVAL', `route ${s.dst}: no nexthop ${s.nhid}`);
      r.nhid = s.nhid;
      if (nh.dev !== undefined) r.dev = nh.dev;
    } else if (s.dev !== undefined) r.dev = this.index(s.dev);
    if (cur) {
      this.state.routes[this.state.routes.indexOf(cur)] = r;
      this.removed.add(cur);
    } else this.state.routes.push(r);
    return r;
  }

  private rule(op: Extract<Operation, { kind: 'rule' }>): object | undefined {
    const s = op.spec;
    if (op.action === 'delete') {
      const cur = this.state.rules.find((r) => {
        const have = ruleSpecOf(r);
        return (
          ruleMatchKey(have) === ruleMatchKey({ ...s, family: s.family ?? have.family }) &&
          (s.protocol === undefined || r.protocol === s.protocol)
        );
      });
      if (!cur) throw new KernelError('ENOENT', `rule ${JSON.stringify(s)}`);
      this.drop('rules', (r) => r !== cur, this.removed);
      return undefined;
    }
    if (this.state.rules.some((r) => ruleMatchKey(ruleSpecOf(r)) === ruleMatchKey(s))) {
      throw new KernelError('EEXIST', `rule ${JSON.stringify(s)}`);
    }
    const r: Rule = {
      family: s.family ?? (s.src ? famOf(s.src) : 4),
      priority: s.priority ?? 0,
      table: s.table ?? 254,
      action: RULE_ACTIONS[s.action ?? 'lookup'],
      tos: s.tos ?? 0,
      flags: 0,
      invert: s.invert ?? false,
      unknown: [],
    };
    if (s.src !== undefined) r.src = canonPrefix(s.src)!;
    if (s.protocol !== undefined) r.protocol = s.protocol;
    this.state.rules.push(r);
    return r;
  }
}

/** One line per object, devices by name, routes with what their nexthop says. */
export function canonKernel(
  s: KernelState,
  include: (o: object) => boolean = () => true,
): string[] {
  const name = (i: number | undefined) => s.links.find((l) => l.index === i)?.name ?? `#${i}`;
  const out: string[] = [];
  for (const l of s.links.filter(include)) {
    let line = `link ${l.name} ${l.kind} mtu=${l.mtu} up=${l.up}`;
    if (l.kind === 'vxlan') {
      const v = l.vxlan!;
      line += ` mac=${l.address} vni=${v.vni} port=${v.port} local=${v.local} dev=${name(v.link)} learning=${v.learning}`;
    }
    out.push(line);
  }
  for (const a of s.addresses.filter(include)) {
    out.push(`addr ${name(a.index)} ${ip(a.address)}/${a.prefixLength}`);
  }
  for (const n of s.neighbours.filter(include)) {
    const state = n.state & PERMANENT ? 'permanent' : `state=${n.state}`;
    out.push(`neigh ${name(n.index)} ${ip(n.address)} ${n.lladdr} ${state}`);
  }
  for (const e of s.fdb.filter(include)) {
    const state = e.state & PERMANENT ? 'permanent' : `state=${e.state}`;
    out.push(`fdb ${name(e.index)} ${e.lladdr} dst=${ip(e.dst)} ${state}${e.self ? ' self' : ''}`);
  }
  for (const n of s.nexthops.filter(include)) {
    out.push(
      `nh ${n.id} via=${ip(n.via)} dev=${name(n.dev)} onlink=${n.onlink} proto=${n.protocol}`,
    );
  }
  for (const r of s.routes.filter(include)) {
    out.push(
      `route ${r.table} ${r.dst} metric=${metricOf(r)} nhid=${r.nhid ?? '-'} proto=${r.protocol}`,
    );
  }
  for (const r of s.rules.filter(include)) out.push(`rule ${JSON.stringify(ruleSpecOf(r))}`);
  return out.sort();
}

/** The same lines for a desired state. */
export function canonDesired(d: DesiredState): string[] {
  const out: string[] = [];
  for (const l of d.links) {
    let line = `link ${l.name} ${l.kind} mtu=${l.mtu} up=${l.up}`;
    if (l.kind === 'vxlan') {
      const v = l.vxlan;
      line += ` mac=${l.address} vni=${v.vni} port=${v.port} local=${v.local} dev=${v.dev} learning=${v.learning}`;
    }
    out.push(line);
  }
  for (const a of d.addresses) out.push(`addr ${a.dev} ${canonPrefix(a.address)}`);
  for (const n of d.neighbours) out.push(`neigh ${n.dev} ${ip(n.address)} ${n.lladdr} permanent`);
  for (const e of d.fdb) out.push(`fdb ${e.dev} ${e.lladdr} dst=${ip(e.dst)} permanent self`);
  for (const n of d.nexthops) {
    out.push(`nh ${n.id} via=${ip(n.via)} dev=${n.dev} onlink=${n.onlink} proto=${n.protocol}`);
  }
  for (const r of d.routes) {
    const family = famOf(r.dst);
    out.push(
      `route ${r.table} ${canonPrefix(r.dst)} metric=${r.metric ?? (family === 4 ? 0 : 1024)} nhid=${r.nhid} proto=${r.protocol}`,
    );
  }
  for (const r of d.rules) {
    const spec: RuleSpec = {
      family: r.family ?? 4,
      priority: r.priority ?? 0,
      table: r.table ?? 254,
      action: r.action ?? 'lookup',
    };
    if (r.src !== undefined) spec.src = canonPrefix(r.src)!;
    if (r.protocol !== undefined) spec.protocol = r.protocol;
    out.push(`rule ${JSON.stringify(spec)}`);
  }
  return out.sort();
}
