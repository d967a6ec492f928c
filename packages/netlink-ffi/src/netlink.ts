// The public handle: one rtnetlink socket in one network namespace, with typed operations per
// object kind and a batch call for many changes at once.

import type { IpFamily } from '@vnet/ip';
import type { Message } from './codec/attributes.js';
import { AF_INET, AF_INET6 } from './codec/constants.js';
import { Engine, type EngineOptions, type Failure } from './engine.js';
import { Monitor, type MonitorOptions } from './monitor/monitor.js';
import type { NetnsRef } from './netns.js';
import {
  type Address,
  type AddressFilter,
  type AddressSpec,
  decodeAddress,
  encodeAddressList,
} from './objects/address.js';
import type { LinkRef } from './objects/common.js';
import {
  decodeLink,
  encodeLinkGet,
  encodeLinkList,
  type Link,
  type LinkChange,
  type LinkFilter,
  type LinkSpec,
} from './objects/link.js';
import {
  decodeFdb,
  decodeNeighbour,
  encodeFdbGet,
  encodeFdbList,
  encodeNeighbourGet,
  encodeNeighbourList,
  type FdbEntry,
  type FdbFilter,
  type FdbSpec,
  type Neighbour,
  type NeighbourFilter,
  type NeighbourSpec,
} from './objects/neighbour.js';
import {
  decodeNexthop,
  encodeNexthopGet,
  encodeNexthopList,
  type Nexthop,
  type NexthopFilter,
  type NexthopSpec,
} from './objects/nexthop.js';
import {
  decodeRoute,
  encodeRouteGet,
  encodeRouteList,
  type Route,
  type RouteFilter,
  type RouteSpec,
} from './objects/route.js';
import { decodeRule, encodeRuleList, type Rule, type RuleSpec } from './objects/rule.js';
import { describeOperation, encodeOperation, type Operation, renamesLinks } from './operations.js';
import { NetlinkSocket, type SocketOptions } from './sys/socket.js';

/**
 * Dumps of every family also return multicast-routing (RTNL_FAMILY_IPMR...) entries; only IPv4
 * and IPv6 ones are decoded.
 */
function ipOnly<T>(decode: (m: Message) => T): (m: Message) => T | undefined {
  return (m) => (m.body[0] === AF_INET || m.body[0] === AF_INET6 ? decode(m) : undefined);
}

const OPERATIONS = {
  encode: encodeOperation,
  describe: describeOperation,
  renames: renamesLinks,
};

export interface NetlinkOptions extends SocketOptions, EngineOptions {}

/** The outcome of one operation of a batch. */
export type OperationResult =
  | { ok: true; operation: Operation }
  | { ok: false; operation: Operation; error: Failure };

/**
 * A connection to the kernel's routing subsystem (rtnetlink) in one network namespace.
 *
 * Calls on one handle run one at a time in call order. Link arguments accept a name or an
 * ifindex; names are looked up when the call runs (an ifindex saves that round trip).
 */
export class Netlink {
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly nexthops: Nexthops;
  readonly rules: Rules;
  readonly neighbours: Neighbours;
  readonly fdb: Fdb;
  private readonly engine: Engine;
  private readonly socket: NetlinkSocket;

  private constructor(opts: NetlinkOptions) {
    this.socket = NetlinkSocket.open(opts);
    this.engine = new Engine(this.socket, opts);
    this.links = new Links(this, this.engine);
    this.addresses = new Addresses(this, this.engine);
    this.routes = new Routes(this, this.engine);
    this.nexthops = new Nexthops(this, this.engine);
    this.rules = new Rules(this, this.engine);
    this.neighbours = new Neighbours(this, this.engine);
    this.fdb = new Fdb(this, this.engine);
  }

  /** Opens a handle in `opts.netns` (default: the calling thread's namespace). */
  static open(opts: NetlinkOptions = {}): Netlink {
    return new Netlink(opts);
  }

  /** Opens a handle in a namespace: a name under /var/run/netns, {pid}, {path} or {fd}. */
  static in(netns: NetnsRef, opts: Omit<NetlinkOptions, 'netns'> = {}): Netlink {
    return new Netlink({ ...opts, netns });
  }

  /**
   * Subscribes to change notifications (rtnetlink multicast groups) in `opts.netns` (default:
   * the calling thread's namespace): decoded events through `on('event')` and `for await`.
   * Every change made after this returns is reported; `close()` ends it.
   */
  static monitor(opts: MonitorOptions = {}): Monitor {
    return Monitor.open(opts);
  }

  /** The netlink port id of this handle's socket. */
  get portId(): number {
    return this.socket.portId;
  }

  /**
   * Runs many operations with as few system calls as possible (one send per chunk of requests,
   * acks matched by sequence number). Not atomic: each operation succeeds or fails on its own,
   * in order, and the result says which. Never rejects for a per-operation failure.
   */
  async batch(operations: readonly Operation[]): Promise<OperationResult[]> {
    const failures = await this.engine.batch(operations, OPERATIONS);
    return operations.map((operation, i) => {
      const error = failures[i];
      return error ? { ok: false, operation, error } : { ok: true, operation };
    });
  }

  /** Runs one operation; rejects with its error. */
  async run(operation: Operation): Promise<void> {
    const [result] = await this.batch([operation]);
    if (result && !result.ok) throw result.error;
  }

  /** Closes the socket. Later calls reject with EBADF. */
  close(): void {
    this.engine.close();
  }
}

abstract class Facade {
  constructor(
    protected readonly nl: Netlink,
    protected readonly engine: Engine,
  ) {}
}

class Links extends Facade {
  /** Creates a link (the kernel has no replace for links: an existing name gives EEXIST). */
  add(spec: LinkSpec): Promise<void> {
    return this.nl.run({ kind: 'link', action: 'add', spec });
  }
  /** Changes an existing link: up/down, MTU, MAC, master, name, namespace. */
  set(change: LinkChange): Promise<void> {
    return this.nl.run({ kind: 'link', action: 'set', spec: change });
  }
  delete(link: LinkRef): Promise<void> {
    return this.nl.run({ kind: 'link', action: 'delete', spec: { link } });
  }
  /** The link, or a NetlinkError with code ENODEV. */
  get(link: LinkRef): Promise<Link> {
    return this.engine.get((ctx) => encodeLinkGet(link, ctx), decodeLink);
  }
  list(filter: LinkFilter = {}): Promise<Link[]> {
    return this.engine.dump((ctx) => encodeLinkList(filter, ctx), decodeLink);
  }
}

class Addresses extends Facade {
  add(spec: AddressSpec): Promise<void> {
    return this.nl.run({ kind: 'address', action: 'add', spec });
  }
  replace(spec: AddressSpec): Promise<void> {
    return this.nl.run({ kind: 'address', action: 'replace', spec });
  }
  delete(spec: AddressSpec): Promise<void> {
    return this.nl.run({ kind: 'address', action: 'delete', spec });
  }
  /** IPv4 has no per-address get in the kernel: list with a filter. */
  async list(filter: AddressFilter = {}): Promise<Address[]> {
    const all = await this.engine.dump(
      (ctx) => encodeAddressList(filter, ctx),
      ipOnly(decodeAddress),
    );
    const dev = typeof filter.dev === 'number' ? filter.dev : undefined;
    return all.filter(
      (a) =>
        (filter.family === undefined || a.family === filter.family) &&
        (dev === undefined || a.index === dev),
    );
  }
}

class Routes extends Facade {
  add(spec: RouteSpec): Promise<void> {
    return this.nl.run({ kind: 'route', action: 'add', spec });
  }
  replace(spec: RouteSpec): Promise<void> {
    return this.nl.run({ kind: 'route', action: 'replace', spec });
  }
  append(spec: RouteSpec): Promise<void> {
    return this.nl.run({ kind: 'route', action: 'append', spec });
  }
  delete(spec: RouteSpec): Promise<void> {
    return this.nl.run({ kind: 'route', action: 'delete', spec });
  }
  /** The table entry the kernel would use to reach `address` (`ip route get fibmatch`). */
  get(address: string, opts: { dev?: LinkRef } = {}): Promise<Route> {
    return this.engine.get((ctx) => encodeRouteGet(address, opts, ctx), decodeRoute);
  }
  /** Routes of the main table by default; `table: 0` lists every table. */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const all = await this.engine.dump((ctx) => encodeRouteList(filter, ctx), ipOnly(decodeRoute));
    const table = filter.table ?? 254;
    return all.filter(
      (r) =>
        (table === 0 || r.table === table) &&
        (filter.family === undefined || r.family === filter.family),
    );
  }
}

class Nexthops extends Facade {
  add(spec: NexthopSpec): Promise<void> {
    return this.nl.run({ kind: 'nexthop', action: 'add', spec });
  }
  /** Creates or replaces; routes using the nexthop follow the new one at once. */
  replace(spec: NexthopSpec): Promise<void> {
    return this.nl.run({ kind: 'nexthop', action: 'replace', spec });
  }
  /** Deletes the nexthop; the kernel also deletes the routes that use it. */
  delete(id: number): Promise<void> {
    return this.nl.run({ kind: 'nexthop', action: 'delete', spec: { id } });
  }
  get(id: number): Promise<Nexthop> {
    return this.engine.get(() => encodeNexthopGet(id), decodeNexthop);
  }
  list(filter: NexthopFilter = {}): Promise<Nexthop[]> {
    return this.engine.dump((ctx) => encodeNexthopList(filter, ctx), decodeNexthop);
  }
}

class Rules extends Facade {
  add(spec: RuleSpec): Promise<void> {
    return this.nl.run({ kind: 'rule', action: 'add', spec });
  }
  delete(spec: RuleSpec): Promise<void> {
    return this.nl.run({ kind: 'rule', action: 'delete', spec });
  }
  list(family?: IpFamily): Promise<Rule[]> {
    return this.engine.dump(() => encodeRuleList(family), ipOnly(decodeRule));
  }
}

class Neighbours extends Facade {
  add(spec: NeighbourSpec): Promise<void> {
    return this.nl.run({ kind: 'neighbour', action: 'add', spec });
  }
  replace(spec: NeighbourSpec): Promise<void> {
    return this.nl.run({ kind: 'neighbour', action: 'replace', spec });
  }
  delete(spec: Pick<NeighbourSpec, 'dev' | 'address' | 'proxy'>): Promise<void> {
    return this.nl.run({ kind: 'neighbour', action: 'delete', spec });
  }
  get(spec: { dev: LinkRef; address: string; proxy?: boolean }): Promise<Neighbour> {
    return this.engine.get((ctx) => encodeNeighbourGet(spec, ctx), decodeNeighbour);
  }
  async list(filter: NeighbourFilter = {}): Promise<Neighbour[]> {
    const all = await this.engine.dump(
      (ctx) => encodeNeighbourList(filter, ctx),
      ipOnly(decodeNeighbour),
    );
    return all.filter((n) => filter.family === undefined || n.family === filter.family);
  }
}

class Fdb extends Facade {
  add(spec: FdbSpec): Promise<void> {
    return this.nl.run({ kind: 'fdb', action: 'add', spec });
  }
  /** Adds another destination for the same MAC (VXLAN head-end replication). */
  append(spec: FdbSpec): Promise<void> {
    return this.nl.run({ kind: 'fdb', action: 'append', spec });
  }
  replace(spec: FdbSpec): Promise<void> {
    return this.nl.run({ kind: 'fdb', action: 'replace', spec });
  }
  /** Deletes the entry; with `dst`, only that destination of a VXLAN entry. */
  delete(spec: FdbSpec): Promise<void> {
    return this.nl.run({ kind: 'fdb', action: 'delete', spec });
  }
  get(spec: {
    dev: LinkRef;
    lladdr: string;
    vni?: number;
    vlan?: number;
    master?: boolean;
  }): Promise<FdbEntry> {
    return this.engine.get((ctx) => encodeFdbGet(spec, ctx), decodeFdb);
  }
  list(filter: FdbFilter = {}): Promise<FdbEntry[]> {
    return this.engine.dump((ctx) => encodeFdbList(filter, ctx), decodeFdb);
  }
}

export type { Addresses, Fdb, Links, Neighbours, Nexthops, Routes, Rules };
