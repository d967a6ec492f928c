// Routes (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE), IPv4 and IPv6.

import type { IpFamily } from '@vnet/ip';
import {
  type Attribute,
  bodyAttributes,
  type Message,
  needBody,
  parseAttributes,
  type RawAttribute,
  raw,
  readIp,
  readU32,
  startMessage,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { parseIp, parsePrefix } from '../codec/ip.js';
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
  type Request,
} from './common.js';
import { parseScope, type ScopeName } from './scope.js';

const RTMSG = 12;
const RTM_F_FIB_MATCH = 0x2000;

/** Route types (rtm_type) by name. */
export const ROUTE_TYPES = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
};
export type RouteTypeName = keyof typeof ROUTE_TYPES;

export interface RouteSpec {
  /** Destination prefix `ip/len`, or 'default' (IPv4 unless `family` or `via` says IPv6). */
  dst: string;
  family?: IpFamily;
  via?: string;
  dev?: LinkRef;
  /** Treat the gateway as directly reachable on `dev` even without a matching prefix. */
  onlink?: boolean;
  /**
   * Use the kernel nexthop object with this id (see `nexthops`) instead of via/dev/onlink.
   * Replacing that nexthop re-points every route that uses it at once.
   */
  nhid?: number;
  /** Routing table id (default: main, 254). */
  table?: number;
  metric?: number;
  /** Preferred source address. */
  src?: string;
  scope?: ScopeName | number;
  /** rtm_protocol (default boot, 3, as iproute2). */
  protocol?: number;
  type?: RouteTypeName;
}

export interface NextHop {
  dev: number;
  via?: string;
  /** iproute2's weight (rtnh_hops + 1). */
  weight: number;
  flags: number;
  onlink: boolean;
}

export interface Route {
  family: IpFamily;
  /** Destination as `ip/len` (0.0.0.0/0 or ::/0 for the default route). */
  dst: string;
  /** Source prefix (IPv6 source routing). */
  srcPrefix?: string;
  via?: string;
  dev?: number;
  onlink: boolean;
  /** The nexthop object the route uses (RTA_NH_ID); via/dev then show that nexthop. */
  nhid?: number;
  table: number;
  metric?: number;
  /** Preferred source (RTA_PREFSRC). */
  src?: string;
  scope: number;
  protocol: number;
  /** rtm_type (1 unicast, 2 local, ...; see ROUTE_TYPES). */
  type: number;
  /** rtm_flags. */
  flags: number;
  tos: number;
  multipath?: NextHop[];
  unknown: RawAttribute[];
}

export interface RouteFilter {
  /** Table id; default main (254); 0 lists every table. */
  table?: number;
  family?: IpFamily;
  dev?: LinkRef;
  protocol?: number;
  type?: RouteTypeName;
}

export type RouteAction = 'add' | 'replace' | 'append' | 'delete';

export function describeRoute(spec: RouteSpec): string {
  let s = String(spec.dst);
  if (spec.nhid !== undefined) s += ` nhid ${spec.nhid}`;
  if (spec.via !== undefined) s += ` via ${spec.via}`;
  if (spec.dev !== undefined) s += ` dev ${describeLink(spec.dev)}`;
  if (spec.onlink) s += ' onlink';
  if (spec.table !== undefined) s += ` table ${spec.table}`;
  if (spec.metric !== undefined) s += ` metric ${spec.metric}`;
  return s;
}

/** Writes RTA_DST (none for 'default'); returns the family and sets the rtmsg dst_len. */
function writeDst(spec: RouteSpec, ctx: EncodeContext, h: number): IpFamily {
  const w = ctx.w;
  const dst = spec.dst;
  let family: IpFamily;
  if (dst === 'default') {
    family = spec.family ?? (typeof spec.via === 'string' && spec.via.includes(':') ? 6 : 4);
  } else {
    const length = typeof dst === 'string' ? w.ipv4Prefix(C.RTA_DST, dst) : -1;
    if (length > 0) {
      family = 4;
      w.setU8(h + 1, length);
    } else {
      // The address goes along even for /0, as with iproute2: the kernel refuses host bits.
      const p = parsePrefix(dst, 'route.dst');
      w.attr(C.RTA_DST, p.bytes);
      family = p.family;
      w.setU8(h + 1, p.length);
    }
    if (spec.family !== undefined && spec.family !== family) {
      throw new NetlinkSpecError('route.dst', `${dst} is not an IPv${spec.family} prefix`);
    }
  }
  return family;
}

export function encodeRoute(action: RouteAction, spec: RouteSpec, ctx: EncodeContext): void {
  checkObject(spec, 'route');
  const del = action === 'delete';
  const w = ctx.w.begin(del ? C.RTM_DELROUTE : C.RTM_NEWROUTE, actionFlags(action));
  const h = w.fixed(RTMSG);
  const family = writeDst(spec, ctx, h);
  const table =
    spec.table === undefined ? C.RT_TABLE_MAIN : checkUint(spec.table, 'route.table', 0xffffffff);
  let type = del ? 0 : C.RTN_UNICAST;
  if (spec.type !== undefined) {
    if (!Object.hasOwn(ROUTE_TYPES, spec.type)) {
      throw new NetlinkSpecError('route.type', `${JSON.stringify(spec.type)} is not a route type`);
    }
    type = ROUTE_TYPES[spec.type];
  }
  // iproute2's defaults: a delete matches any scope and protocol; a route without a gateway or
  // nexthop object is scope link; local routes are scope host; broadcast/anycast/multicast are
  // scope link.
  let scope: number;
  if (spec.scope !== undefined) scope = parseScope(spec.scope, 'route.scope');
  else if (type === C.RTN_LOCAL) scope = C.RT_SCOPE_HOST;
  else if (type >= 3 && type <= 5) scope = C.RT_SCOPE_LINK;
  else if (del) scope = C.RT_SCOPE_NOWHERE;
  else if (spec.via === undefined && spec.nhid === undefined && type === C.RTN_UNICAST) {
    scope = C.RT_SCOPE_LINK;
  } else scope = C.RT_SCOPE_UNIVERSE;
  w.setU8(h, family === 4 ? C.AF_INET : C.AF_INET6);
  w.setU8(h + 4, table < 256 ? table : C.RT_TABLE_UNSPEC);
  w.setU8(
    h + 5,
    spec.protocol === undefined
      ? del
        ? 0
        : C.RTPROT_BOOT
      : checkUint(spec.protocol, 'route.protocol', 255),
  );
  w.setU8(h + 6, scope);
  w.setU8(h + 7, type);
  if (spec.onlink !== undefined && checkBool(spec.onlink, 'route.onlink')) {
    w.setU32(h + 8, C.RTNH_F_ONLINK);
  }
  if (spec.nhid !== undefined)
    w.u32(C.RTA_NH_ID, checkUint(spec.nhid, 'route.nhid', 0xffffffff, 1));
  if (spec.via !== undefined) w.ip(C.RTA_GATEWAY, spec.via, 'route.via', family);
  if (spec.dev !== undefined) {
    w.u32(C.RTA_OIF, ctx.index(checkLinkRef(spec.dev, 'route.dev'), 'route.dev'));
  }
  if (spec.metric !== undefined) {
    w.u32(C.RTA_PRIORITY, checkUint(spec.metric, 'route.metric', 0xffffffff));
  }
  if (spec.src !== undefined) w.ip(C.RTA_PREFSRC, spec.src, 'route.src', family);
  w.u32(C.RTA_TABLE, table);
  w.finish();
}

export function encodeRouteList(filter: RouteFilter, ctx: EncodeContext): Request {
  const w = startMessage(C.RTM_GETROUTE, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(RTMSG);
  const table =
    filter.table === undefined
      ? C.RT_TABLE_MAIN
      : checkUint(filter.table, 'filter.table', 0xffffffff);
  const parts = [table === 0 ? 'table all' : `table ${table}`];
  if (filter.family !== undefined) {
    if (filter.family !== 4 && filter.family !== 6) {
      throw new NetlinkSpecError('filter.family', 'expected 4 or 6');
    }
    w.setU8(h, filter.family === 4 ? C.AF_INET : C.AF_INET6);
    parts.push(`family ipv${filter.family}`);
  }
  w.setU8(h + 4, table < 256 ? table : C.RT_TABLE_UNSPEC);
  if (filter.protocol !== undefined) {
    w.setU8(h + 5, checkUint(filter.protocol, 'filter.protocol', 255));
    parts.push(`proto ${filter.protocol}`);
  }
  if (filter.type !== undefined) {
    if (!Object.hasOwn(ROUTE_TYPES, filter.type)) {
      throw new NetlinkSpecError(
        'filter.type',
        `${JSON.stringify(filter.type)} is not a route type`,
      );
    }
    w.setU8(h + 7, ROUTE_TYPES[filter.type]);
    parts.push(`type ${filter.type}`);
  }
  if (table >= 256) w.u32(C.RTA_TABLE, table);
  if (filter.dev !== undefined) {
    const dev = checkLinkRef(filter.dev, 'filter.dev');
    w.u32(C.RTA_OIF, ctx.index(dev, 'filter.dev'));
    parts.push(`dev ${describeLink(dev)}`);
  }
  w.finish();
  return { message: w.bytes(), kind: 'route', operation: 'list', describe: () => parts.join(' ') };
}

/** RTM_GETROUTE with RTM_F_FIB_MATCH: the table entry the kernel would use for `address`. */
export function encodeRouteGet(
  address: string,
  opts: { dev?: LinkRef },
  ctx: EncodeContext,
): Request {
  const ip = parseIp(address, 'route.dst');
  const w = startMessage(C.RTM_GETROUTE, C.NLM_F_REQUEST);
  const h = w.fixed(RTMSG);
  w.setU8(h, ip.length === 4 ? C.AF_INET : C.AF_INET6);
  w.setU8(h + 1, ip.length * 8);
  w.setU32(h + 8, RTM_F_FIB_MATCH);
  w.attr(C.RTA_DST, ip);
  let target = address;
  if (opts.dev !== undefined) {
    const dev = checkLinkRef(opts.dev, 'route.dev');
    w.u32(C.RTA_OIF, ctx.index(dev, 'route.dev'));
    target += ` dev ${describeLink(dev)}`;
  }
  w.finish();
  return { message: w.bytes(), kind: 'route', operation: 'get', describe: () => target };
}

function decodeMultipath(attr: Attribute, size: number): NextHop[] {
  const hops: NextHop[] = [];
  const d = attr.data;
  let off = 0;
  while (d.length - off >= 8) {
    const len = d.readUInt16LE(off);
    if (len < 8 || len > d.length - off) {
      throw new NetlinkDecodeError(`rtnexthop length ${len}`, attr.offset + 4 + off);
    }
    const flags = d[off + 2] as number;
    const hop: NextHop = {
      dev: d.readInt32LE(off + 4),
      weight: (d[off + 3] as number) + 1,
      flags,
      onlink: (flags & C.RTNH_F_ONLINK) !== 0,
    };
    for (const a of parseAttributes(d, off + 8, off + len, attr.offset + 4)) {
      if (a.type === C.RTA_GATEWAY) hop.via = readIp(a, size, 'nexthop');
    }
    hops.push(hop);
    off += (len + 3) & ~3;
  }
  return hops;
}

export function decodeRoute(msg: Message): Route {
  needBody(msg, RTMSG, 'rtmsg');
  const b = msg.body;
  const af = b[0] as number;
  if (af !== C.AF_INET && af !== C.AF_INET6) {
    throw new NetlinkDecodeError(`route family ${af} is not IPv4 or IPv6`, msg.offset);
  }
  const family: IpFamily = af === C.AF_INET ? 4 : 6;
  const size = family === 4 ? 4 : 16;
  const dstLen = b[1] as number;
  const flags = b.readUInt32LE(8);
  const r: Route = {
    family,
    dst: '',
    onlink: (flags & C.RTNH_F_ONLINK) !== 0,
    table: b[4] as number,
    scope: b[6] as number,
    protocol: b[5] as number,
    type: b[7] as number,
    flags,
    tos: b[3] as number,
    unknown: [],
  };
  let dst: string | undefined;
  for (const a of bodyAttributes(msg, RTMSG)) {
    const ip = () => readIp(a, size, 'route');
    switch (a.type) {
      case C.RTA_DST:
        dst = ip();
        break;
      case C.RTA_SRC:
        r.srcPrefix = `${ip()}/${b[2]}`;
        break;
      case C.RTA_GATEWAY:
        r.via = ip();
        break;
      case C.RTA_OIF:
        r.dev = readU32(a, 'route');
        break;
      case C.RTA_PRIORITY:
        r.metric = readU32(a, 'route');
        break;
      case C.RTA_PREFSRC:
        r.src = ip();
        break;
      case C.RTA_TABLE:
        r.table = readU32(a, 'route');
        break;
      case C.RTA_MULTIPATH:
        r.multipath = decodeMultipath(a, size);
        break;
      case C.RTA_NH_ID:
        r.nhid = readU32(a, 'route');
        break;
      default:
        r.unknown.push(raw(a));
    }
  }
  r.dst = `${dst ?? (family === 4 ? '0.0.0.0' : '::')}/${dstLen}`;
  return r;
}
