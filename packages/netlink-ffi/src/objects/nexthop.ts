// Nexthop objects (RTM_NEWNEXTHOP / RTM_DELNEXTHOP / RTM_GETNEXTHOP, linux/nexthop.h): gateways,
// devices, blackholes and multipath groups kept by the kernel under an id, which routes then
// reference (`RouteSpec.nhid`). Replacing a nexthop re-points every route that uses it at once;
// deleting it removes those routes.

import type { IpFamily } from '@vnet/ip';
import {
  bodyAttributes,
  type Message,
  needBody,
  type RawAttribute,
  raw,
  readIp,
  readU16,
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

const NHMSG = 8;
/** struct nexthop_grp: u32 id, u8 weight - 1, u8 weight_high, u16 reserved. */
const NEXTHOP_GRP = 8;

/** A member of a nexthop group. */
export interface NexthopGroupMember {
  id: number;
  /** Relative weight, 1-256 (default 1). */
  weight?: number;
}

export interface NexthopSpec {
  /** The nexthop's id, 1 to 2^32 - 1 (routes refer to it as `nhid`). */
  id: number;
  /** Gateway address (IPv4 or IPv6). */
  via?: string;
  /** Outgoing device (required unless `blackhole`, `group` or `fdb`). */
  dev?: LinkRef;
  /** Treat the gateway as directly reachable on `dev` even without a matching prefix. */
  onlink?: boolean;
  /** Family of a nexthop without a gateway (default IPv4; a gateway gives its own). */
  family?: IpFamily;
  /** Drops packets (no gateway, device or group). */
  blackhole?: boolean;
  /** A multipath group of other nexthops (no gateway, device or blackhole). */
  group?: NexthopGroupMember[];
  /** For VXLAN FDB entries rather than routes (NHA_FDB). */
  fdb?: boolean;
  /** nh_protocol (default 0, unspec, as iproute2). */
  protocol?: number;
}

export interface Nexthop {
  id: number;
  /** Undefined for groups (AF_UNSPEC). */
  family?: IpFamily;
  via?: string;
  /** ifindex of the device. */
  dev?: number;
  onlink: boolean;
  blackhole: boolean;
  fdb: boolean;
  group?: Required<NexthopGroupMember>[];
  /** NHA_GROUP_TYPE: 0 multipath (hash-threshold), 1 resilient. */
  groupType?: number;
  /** nh_scope: link for a gateway, host for a device only. */
  scope: number;
  protocol: number;
  /** nh_flags (RTNH_F_*). */
  flags: number;
  unknown: RawAttribute[];
}

export interface NexthopFilter {
  /** Only nexthops through this device (not groups). */
  dev?: LinkRef;
  /** Only nexthops whose device is enslaved to this master (e.g. a VRF). */
  master?: LinkRef;
  /** Only groups. */
  groups?: boolean;
  /** Only nexthops of this family (not groups). */
  family?: IpFamily;
}

export type NexthopAction = 'add' | 'replace' | 'delete';

function checkId(id: unknown, field: string): number {
  return checkUint(id, field, 0xffffffff, 1);
}

export function describeNexthop(spec: NexthopSpec): string {
  let s = `id ${spec.id}`;
  if (spec.group !== undefined) {
    const members = Array.isArray(spec.group) ? spec.group : [];
    s += ` group ${members.map((m) => (m.weight === undefined ? m.id : `${m.id},${m.weight}`)).join('/')}`;
  }
  if (spec.via !== undefined) s += ` via ${spec.via}`;
  if (spec.dev !== undefined) s += ` dev ${describeLink(spec.dev)}`;
  if (spec.onlink) s += ' onlink';
  if (spec.blackhole) s += ' blackhole';
  if (spec.fdb) s += ' fdb';
  return s;
}

function writeGroup(ctx: EncodeContext, group: unknown, spec: NexthopSpec): void {
  if (!Array.isArray(group) || group.length === 0) {
    throw new NetlinkSpecError('nexthop.group', 'expected a non-empty array of {id, weight?}');
  }
  for (const key of ['via', 'dev', 'onlink', 'blackhole'] as const) {
    if (spec[key] !== undefined) {
      throw new NetlinkSpecError(`nexthop.${key}`, 'a group takes only ids and weights');
    }
  }
  const bytes = Buffer.alloc(group.length * NEXTHOP_GRP);
  group.forEach((m: NexthopGroupMember, i) => {
    checkObject(m, `nexthop.group[${i}]`);
    bytes.writeUInt32LE(checkId(m.id, `nexthop.group[${i}].id`), i * NEXTHOP_GRP);
    const weight =
      m.weight === undefined ? 1 : checkUint(m.weight, `nexthop.group[${i}].weight`, 256, 1);
    bytes[i * NEXTHOP_GRP + 4] = weight - 1;
  });
  ctx.w.attr(C.NHA_GROUP, bytes);
}

export function encodeNexthop(action: NexthopAction, spec: NexthopSpec, ctx: EncodeContext): void {
  checkObject(spec, 'nexthop');
  const id = checkId(spec.id, 'nexthop.id');
  const del = action === 'delete';
  const w = ctx.w.begin(del ? C.RTM_DELNEXTHOP : C.RTM_NEWNEXTHOP, actionFlags(action));
  const h = w.fixed(NHMSG);
  w.u32(C.NHA_ID, id);
  // A delete names the id only: the kernel refuses anything else in the header.
  if (del) {
    w.finish();
    return;
  }
  if (spec.protocol !== undefined)
    w.setU8(h + 2, checkUint(spec.protocol, 'nexthop.protocol', 255));
  if (spec.onlink !== undefined && checkBool(spec.onlink, 'nexthop.onlink')) {
    w.setU32(h + 4, C.RTNH_F_ONLINK);
  }
  if (spec.fdb !== undefined && checkBool(spec.fdb, 'nexthop.fdb')) w.flag(C.NHA_FDB);
  if (spec.group !== undefined) {
    // Groups are AF_UNSPEC.
    writeGroup(ctx, spec.group, spec);
    w.finish();
    return;
  }
  if (spec.family !== undefined && spec.family !== 4 && spec.family !== 6) {
    throw new NetlinkSpecError('nexthop.family', 'expected 4 or 6');
  }
  let family: IpFamily = spec.family ?? 4;
  if (spec.blackhole !== undefined && checkBool(spec.blackhole, 'nexthop.blackhole')) {
    w.flag(C.NHA_BLACKHOLE);
  }
  if (spec.dev !== undefined) {
    w.u32(C.NHA_OIF, ctx.index(checkLinkRef(spec.dev, 'nexthop.dev'), 'nexthop.dev'));
  }
  if (spec.via !== undefined) family = w.ip(C.NHA_GATEWAY, spec.via, 'nexthop.via', spec.family);
  w.setU8(h, family === 4 ? C.AF_INET : C.AF_INET6);
  w.finish();
}

export function encodeNexthopGet(id: number): Request {
  const nhid = checkId(id, 'nexthop.id');
  const w = startMessage(C.RTM_GETNEXTHOP, C.NLM_F_REQUEST);
  w.fixed(NHMSG);
  w.u32(C.NHA_ID, nhid);
  w.finish();
  return { message: w.bytes(), kind: 'nexthop', operation: 'get', describe: () => `id ${nhid}` };
}

export function encodeNexthopList(filter: NexthopFilter, ctx: EncodeContext): Request {
  checkObject(filter, 'filter');
  const w = startMessage(C.RTM_GETNEXTHOP, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(NHMSG);
  const parts: string[] = [];
  if (filter.family !== undefined) {
    if (filter.family !== 4 && filter.family !== 6) {
      throw new NetlinkSpecError('filter.family', 'expected 4 or 6');
    }
    w.setU8(h, filter.family === 4 ? C.AF_INET : C.AF_INET6);
    parts.push(`family ipv${filter.family}`);
  }
  if (filter.dev !== undefined) {
    const dev = checkLinkRef(filter.dev, 'filter.dev');
    w.u32(C.NHA_OIF, ctx.index(dev, 'filter.dev'));
    parts.push(`dev ${describeLink(dev)}`);
  }
  if (filter.master !== undefined) {
    const master = checkLinkRef(filter.master, 'filter.master');
    w.u32(C.NHA_MASTER, ctx.index(master, 'filter.master'));
    parts.push(`master ${describeLink(master)}`);
  }
  if (filter.groups !== undefined && checkBool(filter.groups, 'filter.groups')) {
    w.flag(C.NHA_GROUPS);
    parts.push('groups');
  }
  return listRequest(w, 'nexthop', parts);
}

export function decodeNexthop(msg: Message): Nexthop {
  needBody(msg, NHMSG, 'nhmsg');
  const b = msg.body;
  const af = b[0] as number;
  if (af !== C.AF_UNSPEC && af !== C.AF_INET && af !== C.AF_INET6) {
    throw new NetlinkDecodeError(`nexthop family ${af} is not IPv4, IPv6 or unspec`, msg.offset);
  }
  const flags = b.readUInt32LE(4);
  const n: Nexthop = {
    id: 0,
    onlink: (flags & C.RTNH_F_ONLINK) !== 0,
    blackhole: false,
    fdb: false,
    scope: b[1] as number,
    protocol: b[2] as number,
    flags,
    unknown: [],
  };
  if (af !== C.AF_UNSPEC) n.family = af === C.AF_INET ? 4 : 6;
  let id: number | undefined;
  for (const a of bodyAttributes(msg, NHMSG)) {
    switch (a.type) {
      case C.NHA_ID:
        id = readU32(a, 'nexthop');
        break;
      case C.NHA_GATEWAY:
        n.via = readIp(a, a.length === 16 ? 16 : 4, 'nexthop gateway');
        break;
      case C.NHA_OIF:
        n.dev = readU32(a, 'nexthop');
        break;
      case C.NHA_BLACKHOLE:
        n.blackhole = true;
        break;
      case C.NHA_FDB:
        n.fdb = true;
        break;
      case C.NHA_GROUP: {
        if (a.length % NEXTHOP_GRP !== 0) {
          throw new NetlinkDecodeError(`NHA_GROUP of ${a.length} bytes`, a.offset);
        }
        n.group = [];
        for (let off = a.start; off < a.start + a.length; off += NEXTHOP_GRP) {
          // Weights above 256 (weight_high) need NHA_OP_FLAGS on request; not used here.
          n.group.push({ id: a.buf.readUInt32LE(off), weight: (a.buf[off + 4] as number) + 1 });
        }
        break;
      }
      case C.NHA_GROUP_TYPE:
        n.groupType = readU16(a, 'nexthop');
        break;
      default:
        n.unknown.push(raw(a));
    }
  }
  if (id === undefined) throw new NetlinkDecodeError('nexthop without NHA_ID', msg.offset);
  n.id = id;
  return n;
}
