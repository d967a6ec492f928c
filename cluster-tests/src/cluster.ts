// A cluster of hosts built from network namespaces on this machine:
//
//   switch namespace  <prefix>-sw : bridge br0 (the underlay), one port per host (h1, h2, ..., out)
//   host namespaces   <prefix>-h1 : eth0 (veth to the switch port h1), 10.88.0.1/24, lo up
//   outside host      <prefix>-out: eth0, the last address of the underlay (10.88.0.254)
//   containers        <prefix>-h1-c1: eth0 (veth to ct-c1 on a bridge of h1), address, default route
//
// Nothing touches the root namespace: every veth is created inside the switch or host namespace
// with its peer placed straight into the other one. `destroy()` stops every process the cluster
// started and deletes every namespace (their links go with them); so do tap's teardown, the test
// process's exit, SIGINT, SIGTERM and SIGHUP, and a later run's sweep when the process was killed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { addNetns, deleteNetns, deleteNetnsSync, listNetns } from '@vnet/testkit';
import { firstHost, hostCount, nth, parseCidr4 } from './addr.js';
import {
  namespaceInodes,
  type ProcessInside,
  processesIn,
  runsRoot,
  sweepOnce,
} from './leftovers.js';
import { Netns, type NetnsOwner } from './netns.js';
import type { NsProcess } from './process.js';
import { waitFor } from './wait.js';

/** What the harness needs of a tap test (structural, so the library does not import tap). */
export interface TestLike {
  teardown(fn: () => unknown): void;
  passing?(): boolean;
  comment?(...args: unknown[]): void;
}

export interface UnderlayOptions {
  /** IPv4 subnet of the underlay; host i gets address #i, the outside host the last. */
  subnet?: string;
  /** MTU of every underlay link (eth0 of hosts, switch ports, bridge); default 1500. */
  mtu?: number;
  /** Also give every host an IPv6 address: true for fd88::/64, or a "PREFIX::/64" of your own. */
  ipv6?: boolean | string;
}

export interface ClusterOptions {
  /** Number of hosts h1..hN; default 3. */
  hosts?: number;
  /** Add the outside host `out` (on the underlay, in no overlay); default true. */
  outside?: boolean;
  underlay?: UnderlayOptions;
  /** Sysctls set in every host namespace (not the outside host), e.g. net.ipv4.ip_forward: 1. */
  sysctls?: Record<string, string | number>;
  /** A tap test: the cluster is destroyed in its teardown (its run dir kept if the test failed). */
  t?: TestLike;
  /** Keep the run directory (logs, data dirs) after destroy; also VNET_CLUSTER_KEEP=1. */
  keepRunDir?: boolean;
  /** Messages of the harness (run dir kept, sweep results); default t.comment or nothing. */
  log?: (msg: string) => void;
}

export interface ContainerOptions {
  /** Bridge in the host to attach to (waited for); default `m-dcos`. */
  bridge?: string;
  /** IPv4 address with length, e.g. 9.0.0.2/25. */
  address?: string;
  /** Default gateway; default the first address of `address`'s subnet; null for no route. */
  gateway?: string | null;
  /** IPv6 address with length, added without duplicate address detection. */
  address6?: string;
  /** IPv6 default gateway (no default: none is set unless given). */
  gateway6?: string;
  /** MTU of the container's veth (both ends); default the bridge's MTU. */
  mtu?: number;
  /** How long to wait for the bridge; default 10 s. */
  bridgeTimeoutMs?: number;
}

export interface DestroyOptions {
  /** Keep the run directory (logs, data) even if it would be removed. */
  keepRunDir?: boolean;
  /** How long processes get between SIGTERM and SIGKILL; default 3 s. */
  graceMs?: number;
}

const DEFAULT_SUBNET = '10.88.0.0/24';
const DEFAULT_V6 = 'fd88::/64';
const CONTAINER_NAME = /^[a-z0-9][a-z0-9-]{0,11}$/;

/** Live clusters of this process, destroyed by the exit and signal handlers. */
const live = new Set<Cluster>();
let counter = 0;
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const c of [...live]) c.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      for (const c of [...live]) c.destroySync();
      process.exit(128 + constants.signals[sig]);
    });
  }
}

/** A host on the underlay: one of h1..hN, or the outside host. */
export class Host extends Netns {
  /** Containers attached in this host, by name. */
  readonly containers = new Map<string, Container>();

  constructor(
    readonly cluster: Cluster,
    name: string,
    ns: string,
    /** 1..N for h1..hN; 0 for the outside host. */
    readonly index: number,
    /** Underlay IPv4 address (on eth0). */
    readonly ip: string,
    /** Underlay IPv6 address, when the underlay has IPv6. */
    readonly ip6: string | undefined,
  ) {
    super(cluster, name, ns);
  }

  /** Attaches a new container namespace to a bridge of this host (waits for the bridge). */
  async addContainer(name: string, opts: ContainerOptions = {}): Promise<Container> {
    if (!CONTAINER_NAME.test(name)) {
      throw new Error(
        `container name "${name}": use 1-12 of a-z, 0-9 and - (it names a veth ct-NAME)`,
      );
    }
    if (this.containers.has(name)) throw new Error(`${this.name} already has a container ${name}`);
    if (!opts.address && !opts.address6)
      throw new Error(`container ${name}: give address or address6`);
    const bridge = opts.bridge ?? 'm-dcos';
    const br = await this.waitLink(bridge, { timeoutMs: opts.bridgeTimeoutMs ?? 10_000 });
    const mtu = opts.mtu ?? br.mtu;
    const ns = `${this.ns}-${name}`;
    const veth = `ct-${name}`;
    const c = new Container(this, name, ns, veth, opts);
    this.containers.set(name, c);
    try {
      await this.cluster.addNamespaces([ns]);
      await this.ipBatch([
        `link add ${veth} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${ns}`,
        `link set ${veth} master ${bridge} up`,
      ]);
      const lines = ['link set lo up', 'link set eth0 up'];
      if (opts.address) lines.push(`addr add ${opts.address} dev eth0`);
      if (opts.address6) lines.push(`addr add ${opts.address6} dev eth0 nodad`);
      const gw =
        opts.gateway === undefined && opts.address ? firstHost(opts.address) : opts.gateway;
      if (gw) lines.push(`route add default via ${gw} dev eth0`);
      // The family of a batch line comes from its gateway address.
      if (opts.gateway6) lines.push(`route add default via ${opts.gateway6} dev eth0`);
      await c.ipBatch(lines);
    } catch (e) {
      await c.remove().catch(() => {});
      throw e;
    }
    return c;
  }

  /** The switch port of this host goes down (a partition) ... */
  async disconnect(): Promise<void> {
    await this.cluster.switch.ipCmd('link', 'set', this.name, 'down');
    await this.#waitUnderlay(false);
  }

  /** ... and up again (resolves when the kernel has both ends up: it does so asynchronously). */
  async reconnect(): Promise<void> {
    await this.cluster.switch.ipCmd('link', 'set', this.name, 'up');
    await this.#waitUnderlay(true);
  }

  async #waitUnderlay(up: boolean): Promise<void> {
    const sw = this.cluster.switch;
    await waitFor(
      `the underlay link of ${this.name} to be ${up ? 'up' : 'down'}`,
      async () => [(await sw.link(this.name))?.operstate, (await this.link('eth0'))?.operstate],
      (states) => states.every((s) => (s === 'UP') === up),
      { timeoutMs: 5000, intervalMs: 20 },
    );
  }

  /** Changes the MTU of this host's underlay link (eth0 and its switch port). */
  async setUnderlayMtu(mtu: number): Promise<void> {
    await this.cluster.switch.ipCmd('link', 'set', this.name, 'mtu', String(mtu));
    await this.ipCmd('link', 'set', 'eth0', 'mtu', String(mtu));
  }

  /** A directory of this host in the run dir (created), e.g. a daemon's data dir. */
  dir(sub: string): string {
    const path = join(this.cluster.runDir, 'hosts', this.name, sub);
    mkdirSync(path, { recursive: true });
    return path;
  }
}

/** A container: a namespace with one veth on a bridge of its host. */
export class Container extends Netns {
  constructor(
    readonly host: Host,
    /** The name given to addContainer (the Netns name is `<host>-<name>`). */
    readonly shortName: string,
    ns: string,
    /** The host side of the veth pair (on the bridge). */
    readonly hostVeth: string,
    readonly options: ContainerOptions,
  ) {
    super(host.cluster, `${host.name}-${shortName}`, ns);
  }

  /** The IPv4 address without its length. */
  get ip(): string | undefined {
    return this.options.address?.split('/')[0];
  }

  get ip6(): string | undefined {
    return this.options.address6?.split('/')[0];
  }

  /**
   * Stops this container's processes and deletes its namespace. The kernel tears a namespace
   * down in the background; this resolves once the host side of the veth pair is gone too, so
   * the name can be used again at once.
   */
  async remove(): Promise<void> {
    await this.host.cluster.stopProcessesIn(this.ns);
    await deleteNetns([this.ns]);
    this.host.containers.delete(this.shortName);
    this.host.cluster.forgetNamespace(this.ns);
    await waitFor(
      `${this.hostVeth} to leave ${this.host.name} after ${this.name} was removed`,
      () => this.host.link(this.hostVeth),
      (l) => l === undefined,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
  }
}

export class Cluster implements NetnsOwner {
  /** `vc<pid>-<n>`: the start of every namespace name of this cluster. */
  readonly prefix: string;
  /** Logs (`logs/`), host dirs (`hosts/<name>/`), files, and the process record. */
  readonly runDir: string;
  readonly hosts: Host[] = [];
  /** The outside host (on the underlay, in no overlay), unless `outside: false`. */
  readonly outside: Host | undefined;
  /** The switch namespace (bridge br0, ports named after the hosts). */
  readonly switch: Netns;
  /** Milliseconds the last build took (namespaces, links, addresses). */
  buildMs = 0;
  readonly processes: NsProcess[] = [];
  readonly underlay: { subnet: string; prefix: number; mtu: number; ipv6?: string };

  readonly #opts: ClusterOptions;
  readonly #namespaces = new Set<string>();
  #destroying: Promise<void> | undefined;
  #destroyed = false;

  private constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.prefix = `vc${process.pid}-${++counter}`;
    this.runDir = join(runsRoot(), this.prefix);
    const n = opts.hosts ?? 3;
    const subnet = opts.underlay?.subnet ?? DEFAULT_SUBNET;
    const cidr = parseCidr4(subnet);
    const outside = opts.outside ?? true;
    if (!Number.isInteger(n) || n < 0 || n + (outside ? 1 : 0) > hostCount(cidr)) {
      throw new Error(`${n} hosts do not fit in the underlay ${subnet}`);
    }
    for (const [k, v] of Object.entries(opts.sysctls ?? {})) {
      if (!/^[\w.-]+$/.test(k) || !/^[\w .:/-]*$/.test(String(v))) {
        throw new Error(`sysctl ${k}=${v}: only letters, digits and . _ - : / in keys and values`);
      }
    }
    const v6 = opts.underlay?.ipv6 === true ? DEFAULT_V6 : opts.underlay?.ipv6 || undefined;
    if (v6 !== undefined && !/^[0-9a-f:]+::\/64$/i.test(v6)) {
      throw new Error(`underlay ipv6 "${v6}": give a /64 written as PREFIX::/64`);
    }
    this.underlay = { subnet, prefix: cidr.prefix, mtu: opts.underlay?.mtu ?? 1500 };
    if (v6) this.underlay.ipv6 = v6;
    const v6addr = (i: number) => (v6 ? `${v6.slice(0, -3)}${i.toString(16)}` : undefined);
    this.switch = new Netns(this, 'sw', `${this.prefix}-sw`);
    for (let i = 1; i <= n; i++) {
      this.hosts.push(new Host(this, `h${i}`, `${this.prefix}-h${i}`, i, nth(cidr, i), v6addr(i)));
    }
    const last = hostCount(cidr);
    this.outside = outside
      ? new Host(this, 'out', `${this.prefix}-out`, 0, nth(cidr, last), v6addr(0xffff))
      : undefined;
  }

  /** Builds a cluster (sweeping leftovers of dead runs first). */
  static async create(opts: ClusterOptions = {}): Promise<Cluster> {
    const swept = sweepOnce();
    installHandlers();
    const c = new Cluster(opts);
    live.add(c);
    if (swept && (swept.namespaces.length || swept.processes.length)) {
      c.#log(
        `swept leftovers of dead runs: ${swept.namespaces.length} namespaces, ${swept.processes.length} processes`,
      );
    }
    const t = opts.t;
    t?.teardown(async () => {
      const failed = t.passing?.() === false;
      if (failed) await c.dumpState().catch(() => {});
      await c.destroy({ keepRunDir: failed ? true : undefined });
    });
    try {
      await c.#build();
    } catch (e) {
      await c.destroy({ keepRunDir: true });
      throw e;
    }
    return c;
  }

  /** All underlay hosts: h1..hN then the outside host. */
  get underlayHosts(): Host[] {
    return this.outside ? [...this.hosts, this.outside] : [...this.hosts];
  }

  /** A host by name (`h2`, `out`) or by index (2 → h2). */
  host(which: string | number): Host {
    const h =
      typeof which === 'number'
        ? this.hosts[which - 1]
        : this.underlayHosts.find((x) => x.name === which);
    if (!h) throw new Error(`no host ${which} in ${this.prefix} (hosts h1..h${this.hosts.length})`);
    return h;
  }

  /** Every namespace this cluster made and has not deleted yet. */
  get namespaces(): string[] {
    return [...this.#namespaces];
  }

  async #build(): Promise<void> {
    const start = performance.now();
    mkdirSync(join(this.runDir, 'logs'), { recursive: true });
    const hosts = this.underlayHosts;
    await this.addNamespaces([this.switch.ns, ...hosts.map((h) => h.ns)]);
    const mtu = this.underlay.mtu;
    const sw = ['link set lo up', `link add br0 mtu ${mtu} type bridge mcast_snooping 0`];
    for (const h of hosts) {
      sw.push(`link add ${h.name} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${h.ns}`);
      sw.push(`link set ${h.name} master br0 up`);
    }
    sw.push('link set br0 up');
    await this.switch.ipBatch(sw);
    const sysctls = Object.entries(this.#opts.sysctls ?? {});
    await Promise.all(
      hosts.map((h) => {
        const lines = ['link set lo up', 'link set eth0 up'];
        lines.push(`addr add ${h.ip}/${this.underlay.prefix} dev eth0`);
        if (h.ip6) lines.push(`addr add ${h.ip6}/64 dev eth0 nodad`);
        if (h === this.outside || sysctls.length === 0) return h.ipBatch(lines);
        // One process per host: set the sysctls, then exec ip's batch in the same namespace.
        const writes = sysctls
          .map(([k, v]) => `printf '%s\\n' '${v}' > /proc/sys/${k.replace(/\./g, '/')}`)
          .join(' && ');
        return h.execOk(['sh', '-c', `${writes} && exec ip -batch -`], {
          input: `${lines.join('\n')}\n`,
        });
      }),
    );
    // The kernel brings a veth's carrier up asynchronously; until then the port drops packets.
    const names = new Set(hosts.map((h) => h.name));
    await waitFor(
      'every switch port to be up',
      async () =>
        (await this.switch.links()).filter((l) => names.has(l.ifname) && l.operstate !== 'UP'),
      (down) => down.length === 0,
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    this.buildMs = performance.now() - start;
  }

  /** Creates namespaces (recorded first, so a failure half-way still deletes them). */
  async addNamespaces(names: readonly string[]): Promise<void> {
    if (this.#destroyed || this.#destroying) throw new Error(`cluster ${this.prefix} is destroyed`);
    for (const n of names) this.#namespaces.add(n);
    await addNetns(names);
  }

  /**
   * Takes over a namespace made by someone else (e.g. a container runtime inside a host) so that
   * destroy deletes it too.
   */
  adoptNamespace(name: string): void {
    this.#namespaces.add(name);
  }

  forgetNamespace(ns: string): void {
    this.#namespaces.delete(ns);
  }

  adopt(p: NsProcess): void {
    if (!this.processes.includes(p)) this.processes.push(p);
  }

  logPath(_ns: string, name: string): string {
    return join(this.runDir, 'logs', `${name}.log`);
  }

  async stopProcessesIn(ns: string, graceMs?: number): Promise<void> {
    await Promise.all(this.processes.filter((p) => p.ns === ns).map((p) => p.stop(graceMs)));
  }

  /**
   * Every process of the machine inside one of this cluster's namespaces (started by the harness
   * or not): what keeps a namespace alive after destroy unmounts it.
   */
  processesInside(): ProcessInside[] {
    return processesIn(namespaceInodes(this.#ourNamespaces()));
  }

  /**
   * Writes what the kernel holds in every namespace (links, addresses, routes, neighbours, FDB,
   * nftables) to `<dir>/<name>.txt`, one file per namespace; done for a failed tap test before
   * its teardown destroys the cluster. Returns the directory.
   */
  async dumpState(dir = join(this.runDir, 'state')): Promise<string> {
    mkdirSync(dir, { recursive: true });
    const views = [
      'ip -d link',
      'ip addr',
      'ip route',
      'ip -6 route',
      'ip neigh',
      'bridge fdb',
      'nft list ruleset',
    ];
    const script = `for c in ${views.map((v) => `'${v}'`).join(' ')}; do echo "### $c"; $c 2>&1; echo; done`;
    const all: Netns[] = [this.switch, ...this.underlayHosts];
    for (const h of this.underlayHosts) all.push(...h.containers.values());
    await Promise.all(
      all.map(async (n) => {
        const r = await n.exec(['sh', '-c', script]);
        writeFileSync(join(dir, `${n.name}.txt`), `# ${n.name} (${n.ns})\n${r.stdout}${r.stderr}`);
      }),
    );
    return dir;
  }

  /** Writes a file into the run dir (e.g. a config.yaml) and returns its path. */
  file(name: string, content: string): string {
    const path = join(this.runDir, 'files', name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  /**
   * Stops every process (SIGTERM to its group, SIGKILL after graceMs) and deletes every
   * namespace. Idempotent. The run dir is removed unless kept (option, VNET_CLUSTER_KEEP=1, a
   * failed test).
   */
  destroy(opts: DestroyOptions = {}): Promise<void> {
    this.#destroying ??= this.#destroy(opts);
    return this.#destroying;
  }

  async #destroy(opts: DestroyOptions): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all(this.processes.map((p) => p.stop(opts.graceMs)));
    const names = this.#ourNamespaces();
    const strays = processesIn(namespaceInodes(names));
    if (strays.length) {
      // Not ours to kill; they keep their namespace (and its links) alive after the unmount.
      const list = strays.map((s) => `${s.pid} in ${s.ns}: ${s.cmd.slice(0, 80)}`).join('; ');
      this.#log(
        `cluster ${this.prefix}: processes the harness did not start are still inside: ${list}`,
      );
    }
    await deleteNetns(names);
    const left = this.#ourNamespaces();
    this.#destroyed = true;
    live.delete(this);
    const keep =
      opts.keepRunDir ?? (this.#opts.keepRunDir || process.env.VNET_CLUSTER_KEEP === '1');
    if (keep) this.#log(`cluster ${this.prefix}: run dir kept: ${this.runDir}`);
    else rmSync(this.runDir, { recursive: true, force: true });
    if (left.length)
      throw new Error(`cluster ${this.prefix}: namespaces left after destroy: ${left.join(', ')}`);
  }

  /** The synchronous last resort of exit and signal handlers: SIGKILL, delete, keep the logs. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const p of this.processes) p.killSync();
    deleteNetnsSync(this.#ourNamespaces());
    process.stderr.write(
      `vnet cluster ${this.prefix}: processes killed and namespaces deleted at exit; logs kept in ${this.runDir}\n`,
    );
  }

  /** Mounted namespaces of this cluster: the recorded (or adopted) ones and any with its prefix. */
  #ourNamespaces(): string[] {
    const mounted = new Set(listNetns());
    const all = new Set([...this.#namespaces].filter((n) => mounted.has(n)));
    for (const n of mounted) if (n.startsWith(`${this.prefix}-`)) all.add(n);
    // Containers before hosts before the switch (each is independent, but it reads better).
    return [...all].sort((a, b) => b.length - a.length);
  }

  #log(msg: string): void {
    if (this.#opts.log) this.#opts.log(msg);
    else this.#opts.t?.comment?.(msg);
  }
}
