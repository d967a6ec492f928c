// Turns record owners (task instances, the master list, the leader) into table entries. Pure: no
// I/O, no timers. Each owner contributes data to a set of names; a name's entry is the merge of
// every owner's contribution, recomputed only for names touched since the last flush. Empty
// non-terminals (ancestors of names with data, up to the zone apex) exist without records, so
// they answer NOERROR/no-data rather than NXDOMAIN.

import { CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_NS, TYPE_SOA, TYPE_SRV } from '../wire/constants.js';
import { encodeName, keyToName, nameKey, parentKey } from '../wire/name.js';
import { emptyEntry, type NameEntry, type ZoneDelta, type ZoneWire } from './entry.js';
import { ipBytes } from './ip.js';
import type { NormalizedTask } from './records.js';

export interface ZoneOptions {
  /** Zones served authoritatively. Default `dcos` and `dcos.thisdcos.directory`. */
  zones?: string[];
  /** TTL of A, AAAA, SRV and SOA records, seconds. Default 5 (DC/OS). */
  ttl?: number;
  /** NS target and SOA MNAME. Default `ns.spartan` (DC/OS). */
  nsName?: string;
  /** SOA RNAME (mailbox as a name). Default `support.mesosphere.com` (DC/OS). */
  hostmaster?: string;
  /** TTL of the apex NS record. Default 3600 (DC/OS). */
  nsTtl?: number;
  /** SOA MINIMUM, the negative-caching TTL. Default 1 (DC/OS). */
  negativeTtl?: number;
  /** First SOA serial; it increases by one on every change. Default: now in Unix seconds. */
  serial?: number;
}

/** SRV priority and weight, as Mesos-DNS gave them. */
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 1;

export interface SrvData {
  port: number;
  /** Dotted target name. */
  target: string;
  /** Addresses of the target, sent as glue. */
  addrs: string[];
}

/** What one owner says about one name. */
export interface NameData {
  v4: string[];
  v6: string[];
  srv: SrvData[];
}

export type Contribution = Map<string, NameData>;

export const DEFAULT_ZONES = ['dcos', 'dcos.thisdcos.directory'];

interface ZoneState {
  name: string;
  key: string;
}

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function cmpIp(x: string, y: string): number {
  const a = ipBytes(x);
  const b = ipBytes(y);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export class ZoneCompiler {
  readonly zones: readonly ZoneState[];
  readonly ttl: number;
  private readonly nsTtl: number;
  private readonly negativeTtl: number;
  private readonly nsWire: Buffer;
  private readonly hostmasterWire: Buffer;
  private serialValue: number;

  private readonly contribs = new Map<string, Contribution>();
  private readonly index = new Map<string, Set<string>>();
  /** Names with records of their own. */
  private readonly withData = new Set<string>();
  /** For each name: how many names with data lie strictly below it in its zone. */
  private readonly below = new Map<string, number>();
  private readonly dirty = new Set<string>();
  /** The compiled table; read it, never write it. */
  readonly table = new Map<string, NameEntry>();

  constructor(opts: ZoneOptions = {}) {
    const zones = (opts.zones ?? DEFAULT_ZONES).map((z) => z.toLowerCase().replace(/\.$/, ''));
    if (zones.length === 0) throw new Error('zones: at least one zone is needed');
    for (const z of zones) {
      if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(z))
        throw new Error(`zones: "${z}" is not a zone name`);
    }
    if (new Set(zones).size !== zones.length) throw new Error('zones: duplicate zone');
    // Longest first, so the most specific zone wins on the answer path.
    this.zones = zones
      .map((name) => ({ name, key: nameKey(name) }))
      .sort((x, y) => y.key.length - x.key.length);
    this.ttl = opts.ttl ?? 5;
    this.nsTtl = opts.nsTtl ?? 3600;
    this.negativeTtl = opts.negativeTtl ?? 1;
    for (const [k, v] of Object.entries({
      ttl: this.ttl,
      nsTtl: this.nsTtl,
      negativeTtl: this.negativeTtl,
    })) {
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
        throw new Error(`${k}: ${v} is not a TTL`);
    }
    this.nsWire = encodeName(opts.nsName ?? 'ns.spartan');
    this.hostmasterWire = encodeName(opts.hostmaster ?? 'support.mesosphere.com');
    this.serialValue = (opts.serial ?? Math.floor(Date.now() / 1000)) >>> 0;
    for (const z of this.zones) {
      this.table.set(z.key, this.apexEntry());
    }
  }

  get serial(): number {
    return this.serialValue;
  }

  /** The zone a key belongs to (longest match at a label boundary), or undefined. */
  zoneOf(key: string): ZoneState | undefined {
    for (const z of this.zones) {
      if (!key.endsWith(z.key)) continue;
      let i = 0;
      const start = key.length - z.key.length;
      while (i < start) i += 1 + key.charCodeAt(i);
      if (i === start) return z;
    }
    return undefined;
  }

  /** Replaces (or with undefined, removes) everything an owner contributes. */
  setOwner(owner: string, contribution: Contribution | undefined): void {
    const old = this.contribs.get(owner);
    if (old) {
      for (const key of old.keys()) {
        this.index.get(key)?.delete(owner);
        this.dirty.add(key);
      }
    }
    if (contribution && contribution.size > 0) {
      this.contribs.set(owner, contribution);
      for (const key of contribution.keys()) {
        let set = this.index.get(key);
        if (!set) {
          set = new Set();
          this.index.set(key, set);
        }
        set.add(owner);
        this.dirty.add(key);
      }
    } else {
      this.contribs.delete(owner);
    }
  }

  /** Recomputes touched names; returns the changes (undefined when nothing changed). */
  flush(): ZoneDelta | undefined {
    if (this.dirty.size === 0) return undefined;
    const changed = new Map<string, NameEntry | null>();
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const key of dirty) {
      const owners = this.index.get(key);
      const has = owners !== undefined && owners.size > 0;
      if (!has) this.index.delete(key);
      const had = this.withData.has(key);
      if (has && !had) {
        this.withData.add(key);
        this.adjustAncestors(key, +1, changed);
      } else if (!has && had) {
        this.withData.delete(key);
        this.adjustAncestors(key, -1, changed);
      }
      this.refresh(key, changed);
    }
    if (changed.size === 0) return undefined;
    const delta: ZoneDelta = { set: [], del: [] };
    for (const [k, e] of changed) {
      if (e) {
        this.table.set(k, e);
        delta.set.push([k, e]);
      } else {
        this.table.delete(k);
        delta.del.push(k);
      }
    }
    this.serialValue = (this.serialValue + 1) >>> 0;
    delta.zones = this.zoneWires();
    return delta;
  }

  /** Every zone with its current SOA record, longest zone first. */
  zoneWires(): ZoneWire[] {
    return this.zones.map((z) => ({ key: z.key, soa: this.soaRecord() }));
  }

  /** The merged data of a name, or undefined when it has none. */
  dataOf(key: string): NameData | undefined {
    const owners = this.index.get(key);
    if (!owners || owners.size === 0) return undefined;
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    const srv = new Map<string, SrvData>();
    for (const owner of owners) {
      const d = this.contribs.get(owner)?.get(key);
      if (!d) continue;
      for (const ip of d.v4) v4.add(ip);
      for (const ip of d.v6) v6.add(ip);
      for (const s of d.srv) srv.set(`${s.target} ${s.port}`, s);
    }
    return {
      v4: [...v4].sort(cmpIp),
      v6: [...v6].sort(cmpIp),
      srv: [...srv.values()].sort((x, y) =>
        x.target < y.target ? -1 : x.target > y.target ? 1 : x.port - y.port,
      ),
    };
  }

  /** Zone-file lines of every record, sorted (the zone apexes' SOA and NS first). */
  dump(): string[] {
    const lines: string[] = [];
    for (const z of [...this.zones].sort((x, y) => (x.name < y.name ? -1 : 1))) {
      lines.push(
        `${z.name}. ${this.ttl} IN SOA ${keyToName(this.nsWire.toString('latin1'))}. ${keyToName(this.hostmasterWire.toString('latin1'))}. ${this.serialValue} 60 180 86400 ${this.negativeTtl}`,
      );
      lines.push(`${z.name}. ${this.nsTtl} IN NS ${keyToName(this.nsWire.toString('latin1'))}.`);
    }
    const keys = [...this.withData]
      .map((k) => [keyToName(k), k] as const)
      .sort((x, y) => (x[0] < y[0] ? -1 : 1));
    for (const [name, key] of keys) {
      const d = this.dataOf(key);
      if (!d) continue;
      for (const ip of d.v4) lines.push(`${name}. ${this.ttl} IN A ${ip}`);
      for (const ip of d.v6) lines.push(`${name}. ${this.ttl} IN AAAA ${ip}`);
      for (const s of d.srv)
        lines.push(
          `${name}. ${this.ttl} IN SRV ${SRV_PRIORITY} ${SRV_WEIGHT} ${s.port} ${s.target}.`,
        );
    }
    return lines;
  }

  private adjustAncestors(key: string, by: number, changed: Map<string, NameEntry | null>): void {
    const zone = this.zoneOf(key);
    if (!zone) return;
    let k = parentKey(key);
    while (k !== undefined && k.length >= zone.key.length && k !== zone.key) {
      const n = (this.below.get(k) ?? 0) + by;
      if (n > 0) this.below.set(k, n);
      else this.below.delete(k);
      this.refresh(k, changed);
      k = parentKey(k);
    }
  }

  /** Records the current state of one name in `changed`. */
  private refresh(key: string, changed: Map<string, NameEntry | null>): void {
    if (this.zones.some((z) => z.key === key)) return; // apexes are permanent
    const data = this.withData.has(key) ? this.dataOf(key) : undefined;
    if (data) {
      // Sources resend unchanged records (every snapshot does): only real changes go out.
      const entry = this.buildEntry(key, data);
      const current = this.table.get(key);
      if (!current || changed.has(key) || !sameEntry(current, entry)) changed.set(key, entry);
    } else if ((this.below.get(key) ?? 0) > 0) {
      const current = changed.has(key) ? changed.get(key) : this.table.get(key);
      if (!current || current.any !== null) changed.set(key, emptyEntry());
    } else if (this.table.has(key) || changed.has(key)) changed.set(key, null);
  }

  private rrHeader(type: number, ttl: number, rdlen: number): number[] {
    return [0xc0, 0x0c, ...u16(type), ...u16(CLASS_IN), ...u32(ttl), ...u16(rdlen)];
  }

  private addrRecords(ips: string[]): { v4: number[]; v6: number[] } {
    const v4: number[] = [];
    const v6: number[] = [];
    for (const ip of ips) {
      const b = ipBytes(ip);
      if (b.length === 4) v4.push(...this.rrHeader(TYPE_A, this.ttl, 4), ...b);
      else v6.push(...this.rrHeader(TYPE_AAAA, this.ttl, 16), ...b);
    }
    return { v4, v6 };
  }

  private buildEntry(key: string, d: NameData): NameEntry {
    const e = emptyEntry();
    const { v4 } = this.addrRecords(d.v4);
    const { v6 } = this.addrRecords(d.v6);
    if (d.v4.length > 0) {
      e.a = Uint8Array.from(v4);
      e.aN = d.v4.length;
    }
    if (d.v6.length > 0) {
      e.aaaa = Uint8Array.from(v6);
      e.aaaaN = d.v6.length;
    }
    const srvBytes: number[] = [];
    if (d.srv.length > 0) {
      // Offset of the answer section: header + question (name + type + class).
      const base = 12 + key.length + 4;
      const glue: number[] = [];
      const targetAt = new Map<string, number>();
      for (const s of d.srv) {
        const target = encodeName(s.target);
        const rd = [...u16(SRV_PRIORITY), ...u16(SRV_WEIGHT), ...u16(s.port)];
        srvBytes.push(...this.rrHeader(TYPE_SRV, this.ttl, rd.length + target.length), ...rd);
        if (!targetAt.has(s.target)) targetAt.set(s.target, base + srvBytes.length);
        srvBytes.push(...target);
      }
      let glueCount = 0;
      const glued = new Set<string>();
      for (const s of d.srv) {
        if (glued.has(s.target)) continue;
        glued.add(s.target);
        const at = targetAt.get(s.target) ?? 0;
        const owner = at < 0x3fff ? [0xc0 | (at >> 8), at & 0xff] : [...encodeName(s.target)];
        for (const ip of s.addrs) {
          const b = ipBytes(ip);
          const type = b.length === 4 ? TYPE_A : TYPE_AAAA;
          glue.push(
            ...owner,
            ...u16(type),
            ...u16(CLASS_IN),
            ...u32(this.ttl),
            ...u16(b.length),
            ...b,
          );
          glueCount++;
        }
      }
      e.srv = Uint8Array.from([...srvBytes, ...glue]);
      e.srvN = d.srv.length | (glueCount << 16);
    }
    const anyCount = d.v4.length + d.v6.length + d.srv.length;
    if (anyCount > 0) {
      e.any = Uint8Array.from([...v4, ...v6, ...srvBytes]);
      e.anyN = anyCount;
    }
    return e;
  }

  private apexEntry(): NameEntry {
    const e = emptyEntry();
    e.ns = Uint8Array.from([
      ...this.rrHeader(TYPE_NS, this.nsTtl, this.nsWire.length),
      ...this.nsWire,
    ]);
    e.nsN = 1;
    e.any = e.ns;
    e.anyN = 1;
    return e;
  }

  /** The SOA record without its owner: TYPE CLASS TTL RDLENGTH RDATA. */
  private soaRecord(): Uint8Array {
    const rdata = [
      ...this.nsWire,
      ...this.hostmasterWire,
      ...u32(this.serialValue),
      ...u32(60),
      ...u32(180),
      ...u32(86400),
      ...u32(this.negativeTtl),
    ];
    return Uint8Array.from([
      ...u16(TYPE_SOA),
      ...u16(CLASS_IN),
      ...u32(this.ttl),
      ...u16(rdata.length),
      ...rdata,
    ]);
  }
}

const ENTRY_FIELDS = ['a', 'aaaa', 'srv', 'any', 'ns'] as const;

function sameEntry(x: NameEntry, y: NameEntry): boolean {
  for (const f of ENTRY_FIELDS) {
    const a = x[f];
    const b = y[f];
    if (a === null || b === null) {
      if (a !== b) return false;
    } else if (a.length !== b.length || !a.every((v, i) => v === b[i])) return false;
  }
  return (
    x.aN === y.aN &&
    x.aaaaN === y.aaaaN &&
    x.srvN === y.srvN &&
    x.anyN === y.anyN &&
    x.nsN === y.nsN
  );
}

/** Builds an owner's contribution: name (dotted) -> data. */
export class ContributionBuilder {
  readonly map: Contribution = new Map();
  add(name: string, ips: readonly string[], srv?: SrvData): void {
    const key = nameKey(name);
    let d = this.map.get(key);
    if (!d) {
      d = { v4: [], v6: [], srv: [] };
      this.map.set(key, d);
    }
    for (const ip of ips) {
      const list = ip.includes(':') ? d.v6 : d.v4;
      if (!list.includes(ip)) list.push(ip);
    }
    if (srv) d.srv.push(srv);
  }
}

/** The names a task instance gets in each zone (see README "Names"). */
export function taskContribution(
  t: NormalizedTask,
  zones: readonly { name: string }[],
): Contribution {
  const b = new ContributionBuilder();
  const T = t.taskLabel;
  const F = t.frameworkLabel;
  const I = t.instanceLabel;
  const agent = [t.agentIp];
  const container = t.containerIps.length > 0 ? t.containerIps : agent;
  const mapsHostPorts = t.ports.some((p) => p.hostPort !== undefined);
  const srvTask = `_${T}`.slice(0, 63);
  for (const { name: z } of zones) {
    b.add(`${T}.${F}.agentip.${z}`, agent);
    b.add(`${T}.${F}.containerip.${z}`, container);
    b.add(`${T}.${F}.autoip.${z}`, mapsHostPorts ? agent : container);
    for (const p of t.ports) {
      const viaHost = p.hostPort !== undefined;
      const target = `${I}.${T}.${F}.${viaHost ? 'agentip' : 'containerip'}.${z}`;
      const addrs = viaHost ? agent : container;
      const port = (viaHost ? p.hostPort : p.containerPort) as number;
      b.add(target, addrs);
      const srv = { port, target, addrs };
      b.add(`${srvTask}._${p.protocol}.${F}.${z}`, [], srv);
      if (p.name) b.add(`_${p.name}.${srvTask}._${p.protocol}.${F}.${z}`, [], srv);
    }
  }
  return b.map;
}

/** `master.<zone>` for every master, `leader.<zone>` for the leader. */
export function mastersContribution(
  label: string,
  ips: readonly string[],
  zones: readonly { name: string }[],
): Contribution {
  const b = new ContributionBuilder();
  if (ips.length > 0) for (const { name: z } of zones) b.add(`${label}.${z}`, ips);
  return b.map;
}
