// Neighbours (ARP / NDP entries) and bridge/VXLAN FDB entries: both are RTM_*NEIGH messages,
// with ndm_family AF_INET/AF_INET6 for the former and AF_BRIDGE for the latter.

import type { IpFamily } from '@vnet/ip';
import {
  type Attribute,
  bodyAttributes,
  type Message,
  needBody,
  type RawAttribute,
  raw,
  readIp,
  readMac,
  readU16,
  readU16be,
  readU32,
  startMessage,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { NetlinkDecodeError, NetlinkSpecError } from '../errors.js';
import {
  actionFlags,
  checkBool,
  checkLinkRef,
  checkObject,
  checkUint,
  describeLink,
  type EncodeContext,
  type LinkRef,
  listRequest,
  type Request,
} from './common.js';

const NDMSG = 12;

/** Neighbour states by name (ndm_state, NUD_*). */
export const NUD_STATES = {
  incomplete: C.NUD_INCOMPLETE,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
  delay: C.NUD_DELAY,
  probe: C.NUD_PROBE,
  failed: C.NUD_FAILED,
  noarp: C.NUD_NOARP,
  permanent: C.NUD_PERMANENT,
};
export type NeighbourStateName = keyof typeof NUD_STATES;

export interface NeighbourSpec {
  dev: LinkRef;
  /** The IPv4 or IPv6 address. */
  address: string;
  /** Link-layer address (required unless `proxy`). */
  lladdr?: string;
  /** Default 'permanent'. */
  state?: NeighbourStateName | number;
  /** NTF_ROUTER (IPv6). */
  router?: boolean;
  /** A proxy ARP/NDP entry (NTF_PROXY). */
  proxy?: boolean;
}

export interface Neighbour {
  family: IpFamily;
  index: number;
  address: string;
  lladdr?: string;
  /** NUD_* bits (see NUD_STATES). */
  state: number;
  /** NTF_* bits. */
  flags: number;
  type: number;
  router: boolean;
  proxy: boolean;
  probes?: number;
  unknown: RawAttribute[];
}

export interface NeighbourFilter {
  dev?: LinkRef;
  family?: IpFamily;
  /** List proxy entries instead of normal ones. */
  proxy?: boolean;
}

export type NeighbourAction = 'add' | 'replace' | 'delete';

export interface FdbSpec {
  dev: LinkRef;
  lladdr: string;
  /** Remote VTEP address (VXLAN). */
  dst?: string;
  vni?: number;
  /** Remote UDP port (VXLAN; sent big-endian). */
  port?: number;
  vlan?: number;
  /** Outgoing interface for the remote (NDA_IFINDEX). */
  via?: LinkRef;
  /** NTF_SELF: program the device's own table (default true unless `master`). */
  self?: boolean;
  /** NTF_MASTER: program the master bridge's table. */
  master?: boolean;
  /** 'permanent' (default), 'static' or 'dynamic', as in `bridge fdb`. */
  state?: 'permanent' | 'static' | 'dynamic';
}

export interface FdbEntry {
  /** ifindex of the device (bridge port or VXLAN device). */
  index: number;
  lladdr: string;
  dst?: string;
  vni?: number;
  srcVni?: number;
  port?: number;
  vlan?: number;
  /** NDA_IFINDEX: outgoing interface of the remote. */
  via?: number;
  /** NDA_MASTER: the bridge the entry belongs to. */
  master?: number;
  /** NUD_* bits. */
  state: number;
  /** NTF_* bits. */
  flags: number;
  self: boolean;
  unknown: RawAttribute[];
}

export interface FdbFilter {
  /** The bridge port or VXLAN device. */
  dev?: LinkRef;
  /** The bridge. */
  master?: LinkRef;
}

export type FdbAction = 'add' | 'replace' | 'append' | 'delete';

function parseState(v: NeighbourStateName | number, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
  if (typeof v === 'string' && Object.hasOwn(NUD_STATES, v)) return NUD_STATES[v];
  throw new NetlinkSpecError(field, `${JSON.stringify(v)} is not a neighbour state`);
}

function afOf(family: IpFamily): number {
  return family === 4 ? C.AF_INET : C.AF_INET6;
}

export function describeNeighbour(spec: NeighbourSpec): string {
  const lladdr = spec.lladdr === undefined ? '' : ` lladdr ${spec.lladdr}`;
  return `${spec.address}${lladdr} dev ${describeLink(spec.dev)}`;
}

export function encodeNeighbour(
  action: NeighbourAction,
  spec: NeighbourSpec,
  ctx: EncodeContext,
): void {
  checkObject(spec, 'neighbour');
  const dev = checkLinkRef(spec.dev, 'neighbour.dev');
  const del = action === 'delete';
  const w = ctx.w.begin(del ? C.RTM_DELNEIGH : C.RTM_NEWNEIGH, actionFlags(action));
  const h = w.fixed(NDMSG);
  w.setI32(h + 4, ctx.index(dev, 'neighbour.dev'));
  let flags = 0;
  if (spec.router !== undefined && checkBool(spec.router, 'neighbour.router')) {
    flags |= C.NTF_ROUTER;
  }
  const proxy = spec.proxy !== undefined && checkBool(spec.proxy, 'neighbour.proxy');
  if (proxy) flags |= C.NTF_PROXY;
  w.setU8(h + 10, flags);
  if (!del) {
    w.setU16(
      h + 8,
      spec.state === undefined ? C.NUD_PERMANENT : parseState(spec.state, 'neighbour.state'),
    );
  }
  w.setU8(h, afOf(w.ip(C.NDA_DST, spec.address, 'neighbour.address')));
  if (spec.lladdr !== undefined) {
    w.mac(C.NDA_LLADDR, spec.lladdr, 'neighbour.lladdr');
  } else if (!del && !proxy) {
    throw new NetlinkSpecError('neighbour.lladdr', 'required unless proxy is set');
  }
  w.finish();
}

export function encodeNeighbourGet(
  spec: { dev: LinkRef; address: string; proxy?: boolean },
  ctx: EncodeContext,
): Request {
  checkObject(spec, 'neighbour');
  const dev = checkLinkRef(spec.dev, 'neighbour.dev');
  const w = startMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST);
  const h = w.fixed(NDMSG);
  w.setI32(h + 4, ctx.index(dev, 'neighbour.dev'));
  if (spec.proxy) w.setU8(h + 10, C.NTF_PROXY);
  w.setU8(h, afOf(w.ip(C.NDA_DST, spec.address, 'neighbour.address')));
  w.finish();
  return {
    message: w.bytes(),
    kind: 'neighbour',
    operation: 'get',
    describe: () => `${spec.address} dev ${describeLink(dev)}`,
  };
}

export function encodeNeighbourList(filter: NeighbourFilter, ctx: EncodeContext): Request {
  const w = startMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(NDMSG);
  const parts: string[] = [];
  if (filter.family !== undefined) {
    if (filter.family !== 4 && filter.family !== 6) {
      throw new NetlinkSpecError('filter.family', 'expected 4 or 6');
    }
    w.setU8(h, afOf(filter.family));
    parts.push(`family ipv${filter.family}`);
  }
  if (filter.proxy) {
    w.setU8(h + 10, C.NTF_PROXY);
    parts.push('proxy');
  }
  if (filter.dev !== undefined) {
    const dev = checkLinkRef(filter.dev, 'filter.dev');
    w.u32(C.NDA_IFINDEX, ctx.index(dev, 'filter.dev'));
    parts.push(`dev ${describeLink(dev)}`);
  }
  return listRequest(w, 'neighbour', parts);
}

function decodeCommon(msg: Message): { h: Buffer; attrs: Attribute[] } {
  needBody(msg, NDMSG, 'ndmsg');
  return { h: msg.body, attrs: bodyAttributes(msg, NDMSG) };
}

export function decodeNeighbour(msg: Message): Neighbour {
  const { h, attrs } = decodeCommon(msg);
  const af = h[0] as number;
  if (af !== C.AF_INET && af !== C.AF_INET6) {
    throw new NetlinkDecodeError(`neighbour family ${af} is not IPv4 or IPv6`, msg.offset);
  }
  const family: IpFamily = af === C.AF_INET ? 4 : 6;
  const flags = h[10] as number;
  const n: Neighbour = {
    family,
    index: h.readInt32LE(4),
    address: '',
    state: h.readUInt16LE(8),
    flags,
    type: h[11] as number,
    router: (flags & C.NTF_ROUTER) !== 0,
    proxy: (flags & C.NTF_PROXY) !== 0,
    unknown: [],
  };
  let dst: string | undefined;
  for (const a of attrs) {
    switch (a.type) {
      case C.NDA_DST:
        dst = readIp(a, family === 4 ? 4 : 16, 'NDA_DST');
        break;
      case C.NDA_LLADDR:
        n.lladdr = readMac(a);
        break;
      case C.NDA_PROBES:
        n.probes = readU32(a, 'neighbour');
        break;
      default:
        n.unknown.push(raw(a));
    }
  }
  if (dst === undefined) throw new NetlinkDecodeError('neighbour without NDA_DST', msg.offset);
  n.address = dst;
  return n;
}

function fdbFlags(spec: FdbSpec): number {
  const master = spec.master !== undefined && checkBool(spec.master, 'fdb.master');
  const self = spec.self === undefined ? !master : checkBool(spec.self, 'fdb.self');
  return (self ? C.NTF_SELF : 0) | (master ? C.NTF_MASTER : 0);
}

function fdbState(spec: FdbSpec): number {
  switch (spec.state ?? 'permanent') {
    case 'permanent':
      return C.NUD_NOARP | C.NUD_PERMANENT;
    case 'static':
      return C.NUD_NOARP | C.NUD_REACHABLE;
    case 'dynamic':
      return C.NUD_REACHABLE;
    default:
      throw new NetlinkSpecError(
        'fdb.state',
        `${JSON.stringify(spec.state)} is not permanent, static or dynamic`,
      );
  }
}

export function describeFdb(spec: FdbSpec): string {
  let s = `${spec.lladdr} dev ${describeLink(spec.dev)}`;
  if (spec.dst !== undefined) s += ` dst ${spec.dst}`;
  if (spec.vni !== undefined) s += ` vni ${spec.vni}`;
  if (spec.vlan !== undefined) s += ` vlan ${spec.vlan}`;
  return s;
}

export function encodeFdb(action: FdbAction, spec: FdbSpec, ctx: EncodeContext): void {
  checkObject(spec, 'fdb');
  const dev = checkLinkRef(spec.dev, 'fdb.dev');
  const w = ctx.w.begin(action === 'delete' ? C.RTM_DELNEIGH : C.RTM_NEWNEIGH, actionFlags(action));
  const h = w.fixed(NDMSG);
  w.setU8(h, C.AF_BRIDGE);
  w.setI32(h + 4, ctx.index(dev, 'fdb.dev'));
  w.setU16(h + 8, fdbState(spec));
  w.setU8(h + 10, fdbFlags(spec));
  w.mac(C.NDA_LLADDR, spec.lladdr, 'fdb.lladdr');
  if (spec.dst !== undefined) w.ip(C.NDA_DST, spec.dst, 'fdb.dst');
  if (spec.port !== undefined) w.u16be(C.NDA_PORT, checkUint(spec.port, 'fdb.port', 65535));
  if (spec.vni !== undefined) w.u32(C.NDA_VNI, checkUint(spec.vni, 'fdb.vni', 0xffffff));
  if (spec.vlan !== undefined) w.u16(C.NDA_VLAN, checkUint(spec.vlan, 'fdb.vlan', 4094, 1));
  if (spec.via !== undefined) {
    w.u32(C.NDA_IFINDEX, ctx.index(checkLinkRef(spec.via, 'fdb.via'), 'fdb.via'));
  }
  w.finish();
}

export function encodeFdbGet(
  spec: { dev: LinkRef; lladdr: string; vni?: number; vlan?: number; master?: boolean },
  ctx: EncodeContext,
): Request {
  checkObject(spec, 'fdb');
  const dev = checkLinkRef(spec.dev, 'fdb.dev');
  const w = startMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST);
  const h = w.fixed(NDMSG);
  w.setU8(h, C.AF_BRIDGE);
  w.setI32(h + 4, ctx.index(dev, 'fdb.dev'));
  w.setU8(h + 10, spec.master ? C.NTF_MASTER : C.NTF_SELF);
  w.mac(C.NDA_LLADDR, spec.lladdr, 'fdb.lladdr');
  if (spec.vni !== undefined) w.u32(C.NDA_VNI, checkUint(spec.vni, 'fdb.vni', 0xffffff));
  if (spec.vlan !== undefined) w.u16(C.NDA_VLAN, checkUint(spec.vlan, 'fdb.vlan', 4094, 1));
  w.finish();
  return { message: w.bytes(), kind: 'fdb', operation: 'get', describe: () => describeFdb(spec) };
}

export function encodeFdbList(filter: FdbFilter, ctx: EncodeContext): Request {
  const w = startMessage(C.RTM_GETNEIGH, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(NDMSG);
  w.setU8(h, C.AF_BRIDGE);
  const parts: string[] = [];
  if (filter.dev !== undefined) {
    const dev = checkLinkRef(filter.dev, 'filter.dev');
    w.setI32(h + 4, ctx.index(dev, 'filter.dev'));
    parts.push(`dev ${describeLink(dev)}`);
  }
  if (filter.master !== undefined) {
    const br = checkLinkRef(filter.master, 'filter.master');
    w.u32(C.NDA_MASTER, ctx.index(br, 'filter.master'));
    parts.push(`br ${describeLink(br)}`);
  }
  return listRequest(w, 'fdb', parts);
}

export function decodeFdb(msg: Message): FdbEntry {
  const { h, attrs } = decodeCommon(msg);
  if (h[0] !== C.AF_BRIDGE) {
    throw new NetlinkDecodeError(`fdb entry family ${h[0]} is not AF_BRIDGE`, msg.offset);
  }
  const flags = h[10] as number;
  const e: FdbEntry = {
    index: h.readInt32LE(4),
    lladdr: '',
    state: h.readUInt16LE(8),
    flags,
    self: (flags & C.NTF_SELF) !== 0,
    unknown: [],
  };
  let mac: string | undefined;
  for (const a of attrs) {
    switch (a.type) {
      case C.NDA_LLADDR:
        mac = readMac(a);
        break;
      case C.NDA_DST:
        e.dst = readIp(a, a.length === 16 ? 16 : 4, 'NDA_DST');
        break;
      case C.NDA_VNI:
        e.vni = readU32(a, 'fdb');
        break;
      case C.NDA_SRC_VNI:
        e.srcVni = readU32(a, 'fdb');
        break;
      case C.NDA_PORT:
        e.port = readU16be(a, 'fdb');
        break;
      case C.NDA_VLAN:
        e.vlan = readU16(a, 'fdb');
        break;
      case C.NDA_IFINDEX:
        e.via = readU32(a, 'fdb');
        break;
      case C.NDA_MASTER:
        e.master = readU32(a, 'fdb');
        break;
      default:
        e.unknown.push(raw(a));
    }
  }
  if (mac === undefined) throw new NetlinkDecodeError('fdb entry without NDA_LLADDR', msg.offset);
  e.lladdr = mac;
  return e;
}
