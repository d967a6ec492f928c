// Links (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK): vxlan, bridge, veth and dummy devices,
// plus generic changes (up/down, MTU, MAC, master, name, namespace).
import {
  type Attribute,
  bodyAttributes,
  type Message,
  type MessageWriter,
  needBody,
  nested,
  type RawAttribute,
  raw,
  readIp,
  readMac,
  readS32,
  readString,
  readU8,
  readU16,
  readU16be,
  readU32,
  startMessage,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { parseIp, parseMac } from '../codec/ip.js';
import { NetlinkDecodeError, NetlinkSpecError } from '../errors.js';
import type { NetnsRef } from '../netns.js';
import {
  actionFlags,
  checkBool,
  checkLinkName,
  checkLinkRef,
  checkObject,
  checkUint,
  describeLink,
  type EncodeContext,
  type LinkRef,
  listRequest,
  type Request,
} from './common.js';

const IFINFOMSG = 16;

export type OperState =
  | 'unknown'
  | 'notpresent'
  | 'down'
  | 'lowerlayerdown'
  | 'testing'
  | 'dormant'
  | 'up';
const OPER_STATES: OperState[] = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
];

export interface VxlanInfo {
  vni?: number;
  /** Multicast group or unicast remote (IFLA_VXLAN_GROUP / GROUP6). */
  group?: string;
  local?: string;
  /** ifindex of the underlay device. */
  link?: number;
  ttl?: number;
  tos?: number;
  learning?: boolean;
  /** FDB ageing in seconds. */
  ageing?: number;
  limit?: number;
  portRange?: { low: number; high: number };
  proxy?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
  /** UDP destination port (host order; sent big-endian). */
  port?: number;
  udpCsum?: boolean;
  unknown: RawAttribute[];
}

export interface BridgeInfo {
  /** Timer values are in centiseconds, as in iproute2. */
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  ageingTime?: number;
  stpState?: number;
  priority?: number;
  vlanFiltering?: boolean;
  unknown: RawAttribute[];
}

/** IFLA_LINKINFO as received. */
export interface LinkInfo {
  kind?: string;
  slaveKind?: string;
  /** IFLA_INFO_DATA of kinds this library does not decode. */
  data?: RawAttribute[];
  slaveData?: RawAttribute[];
  unknown: RawAttribute[];
}

/** Per-link IPv4 settings (the `net.ipv4.conf.<link>.*` sysctls), set through IFLA_AF_SPEC. */
export interface Ipv4Settings {
  forwarding?: boolean;
  proxyArp?: boolean;
  /** 0 off, 1 strict, 2 loose. */
  rpFilter?: 0 | 1 | 2;
}

/** A link as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  type: number;
  /** IFF_* flags. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operState?: OperState;
  mtu?: number;
  minMtu?: number;
  maxMtu?: number;
  address?: string;
  broadcast?: string;
  permAddress?: string;
  /** ifindex of the master (bridge) device. */
  master?: number;
  /** IFLA_LINK: the parent or peer ifindex (possibly in another namespace, see linkNetnsId). */
  parent?: number;
  linkNetnsId?: number;
  txQueueLength?: number;
  qdisc?: string;
  alias?: string;
  group?: number;
  promiscuity?: number;
  carrier?: boolean;
  numTxQueues?: number;
  numRxQueues?: number;
  altNames?: string[];
  kind?: string;
  linkInfo?: LinkInfo;
  vxlan?: VxlanInfo;
  bridge?: BridgeInfo;
  /** IPv4 settings of the link (decoded from IFLA_AF_SPEC, which is also kept in `unknown`). */
  ipv4?: Required<Ipv4Settings>;
  /** Top-level attributes this library does not decode (or decodes only in part). */
  unknown: RawAttribute[];
}

export interface VxlanSpec {
  /** VXLAN network identifier, 0..16777215. */
  vni: number;
  /** UDP destination port (default: the kernel's, 8472). */
  port?: number;
  local?: string;
  /** Multicast group or unicast remote. */
  group?: string;
  /** Underlay device. */
  dev?: LinkRef;
  learning?: boolean;
  ttl?: number;
  tos?: number;
  /** FDB ageing in seconds. */
  ageing?: number;
  proxy?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
  udpCsum?: boolean;
}

export interface BridgeSpec {
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  ageingTime?: number;
  stp?: boolean;
  priority?: number;
  vlanFiltering?: boolean;
}

export interface VethPeerSpec {
  name: string;
  /** Create the peer directly in this namespace. */
  netns?: NetnsRef;
  mtu?: number;
  address?: string;
}

/** Settings that can be given when creating a link and changed later. */
export interface LinkAttributes {
  mtu?: number;
  address?: string;
  up?: boolean;
  /** A bridge (or other master) to enslave to; null removes the master (set only). */
  master?: LinkRef | null;
  txQueueLength?: number;
  alias?: string;
}

interface LinkCommon extends LinkAttributes {
  name: string;
  /** Create the link directly in this namespace (master must then be omitted). */
  netns?: NetnsRef;
}

export type LinkSpec =
  | (LinkCommon & { kind: 'vxlan'; vxlan: VxlanSpec })
  | (LinkCommon & { kind: 'bridge'; bridge?: BridgeSpec })
  | (LinkCommon & { kind: 'veth'; peer: VethPeerSpec })
  | (LinkCommon & { kind: 'dummy' });

/** A change to an existing link. */
export interface LinkChange extends LinkAttributes {
  link: LinkRef;
  /** Rename. */
  name?: string;
  /** Move the link to another namespace. */
  netns?: NetnsRef;
  /** Per-link IPv4 settings (e.g. forwarding for a bridge that routes). */
  ipv4?: Ipv4Settings;
}

export interface LinkFilter {
  /** Only links enslaved to this master. */
  master?: LinkRef;
  /** Only links of this kind (vxlan, bridge, veth, ...). */
  kind?: string;
}

function writeCommon(
  w: MessageWriter,
  s: LinkAttributes,
  ctx: EncodeContext,
  field: string,
  allowNoMaster: boolean,
): void {
  if (s.mtu !== undefined) w.u32(C.IFLA_MTU, checkUint(s.mtu, `${field}.mtu`, 0xffffffff, 68));
  if (s.address !== undefined) w.attr(C.IFLA_ADDRESS, parseMac(s.address, `${field}.address`));
  if (s.txQueueLength !== undefined) {
    w.u32(C.IFLA_TXQLEN, checkUint(s.txQueueLength, `${field}.txQueueLength`, 0xffffffff));
  }
  if (s.alias !== undefined) {
    if (typeof s.alias !== 'string' || Buffer.byteLength(s.alias) > 255) {
      throw new NetlinkSpecError(`${field}.alias`, 'expected a string of at most 255 bytes');
    }
    w.string(C.IFLA_IFALIAS, s.alias);
  }
  if (s.master === null) {
    if (!allowNoMaster) throw new NetlinkSpecError(`${field}.master`, 'null is only for set');
    w.u32(C.IFLA_MASTER, 0);
  } else if (s.master !== undefined) {
    const ref = checkLinkRef(s.master, `${field}.master`);
    w.u32(C.IFLA_MASTER, ctx.index(ref, `${field}.master`));
  }
}

function writeIfinfo(w: MessageWriter, index: number, up: boolean | undefined, field: string) {
  const h = w.fixed(IFINFOMSG);
  w.setI32(h + 4, index);
  if (up !== undefined) {
    w.setU32(h + 8, checkBool(up, `${field}.up`) ? C.IFF_UP : 0);
    w.setU32(h + 12, C.IFF_UP);
  }
}

function writeVxlan(w: MessageWriter, v: VxlanSpec, ctx: EncodeContext): void {
  checkObject(v, 'link.vxlan');
  w.u32(C.IFLA_VXLAN_ID, checkUint(v.vni, 'link.vxlan.vni', 0xffffff));
  if (v.group !== undefined) {
    const g = parseIp(v.group, 'link.vxlan.group');
    w.attr(g.length === 4 ? C.IFLA_VXLAN_GROUP : C.IFLA_VXLAN_GROUP6, g);
  }
  if (v.local !== undefined) {
    const l = parseIp(v.local, 'link.vxlan.local');
    w.attr(l.length === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, l);
  }
  if (v.dev !== undefined) {
    w.u32(C.IFLA_VXLAN_LINK, ctx.index(checkLinkRef(v.dev, 'link.vxlan.dev'), 'link.vxlan.dev'));
  }
  if (v.port !== undefined) w.u16be(C.IFLA_VXLAN_PORT, checkUint(v.port, 'link.vxlan.port', 65535));
  if (v.learning !== undefined) {
    w.u8(C.IFLA_VXLAN_LEARNING, checkBool(v.learning, 'link.vxlan.learning') ? 1 : 0);
  }
  if (v.ttl !== undefined) w.u8(C.IFLA_VXLAN_TTL, checkUint(v.ttl, 'link.vxlan.ttl', 255));
  if (v.tos !== undefined) w.u8(C.IFLA_VXLAN_TOS, checkUint(v.tos, 'link.vxlan.tos', 255));
  if (v.ageing !== undefined) {
    w.u32(C.IFLA_VXLAN_AGEING, checkUint(v.ageing, 'link.vxlan.ageing', 0xffffffff));
  }
  const bools: [keyof VxlanSpec, number][] = [
    ['proxy', C.IFLA_VXLAN_PROXY],
    ['l2miss', C.IFLA_VXLAN_L2MISS],
    ['l3miss', C.IFLA_VXLAN_L3MISS],
    ['udpCsum', C.IFLA_VXLAN_UDP_CSUM],
  ];
  for (const [key, type] of bools) {
    if (v[key] !== undefined) w.u8(type, checkBool(v[key], `link.vxlan.${key}`) ? 1 : 0);
  }
}

function writeBridge(w: MessageWriter, b: BridgeSpec): void {
  checkObject(b, 'link.bridge');
  const u32s: [keyof BridgeSpec, number][] = [
    ['forwardDelay', C.IFLA_BR_FORWARD_DELAY],
    ['helloTime', C.IFLA_BR_HELLO_TIME],
    ['maxAge', C.IFLA_BR_MAX_AGE],
    ['ageingTime', C.IFLA_BR_AGEING_TIME],
  ];
  for (const [key, type] of u32s) {
    if (b[key] !== undefined) w.u32(type, checkUint(b[key], `link.bridge.${key}`, 0xffffffff));
  }
  if (b.stp !== undefined) w.u32(C.IFLA_BR_STP_STATE, checkBool(b.stp, 'link.bridge.stp') ? 1 : 0);
  if (b.priority !== undefined) {
    w.u16(C.IFLA_BR_PRIORITY, checkUint(b.priority, 'link.bridge.priority', 65535));
  }
  if (b.vlanFiltering !== undefined) {
    w.u8(C.IFLA_BR_VLAN_FILTERING, checkBool(b.vlanFiltering, 'link.bridge.vlanFiltering') ? 1 : 0);
  }
}

export function describeLinkAdd(spec: LinkSpec): string {
  const { name, kind } = spec;
  if (kind === 'vxlan') return `${name} type vxlan id ${spec.vxlan?.vni}`;
  if (kind === 'veth') return `${name} type veth peer ${spec.peer?.name}`;
  return `${name} type ${kind}`;
}

/** RTM_NEWLINK creating a link (NLM_F_CREATE | NLM_F_EXCL; the kernel has no link replace). */
export function encodeLinkAdd(spec: LinkSpec, ctx: EncodeContext): void {
  checkObject(spec, 'link');
  const name = checkLinkName(spec.name, 'link.name');
  const w = ctx.w.begin(C.RTM_NEWLINK, actionFlags('add'));
  writeIfinfo(w, 0, spec.up, 'link');
  w.string(C.IFLA_IFNAME, name);
  writeCommon(w, spec, ctx, 'link', false);
  if (spec.netns !== undefined) w.u32(C.IFLA_NET_NS_FD, ctx.netnsFd(spec.netns, 'link.netns'));
  const info = w.nest(C.IFLA_LINKINFO);
  switch (spec.kind) {
    case 'vxlan': {
      w.string(C.IFLA_INFO_KIND, 'vxlan');
      const data = w.nest(C.IFLA_INFO_DATA);
      writeVxlan(w, spec.vxlan, ctx);
      w.end(data);
      break;
    }
    case 'bridge': {
      w.string(C.IFLA_INFO_KIND, 'bridge');
      if (spec.bridge) {
        const data = w.nest(C.IFLA_INFO_DATA);
        writeBridge(w, spec.bridge);
        w.end(data);
      }
      break;
    }
    case 'veth': {
      w.string(C.IFLA_INFO_KIND, 'veth');
      const data = w.nest(C.IFLA_INFO_DATA);
      const peer = w.nest(C.VETH_INFO_PEER);
      checkObject(spec.peer, 'link.peer');
      writeIfinfo(w, 0, undefined, 'link.peer');
      const peerName = checkLinkName(spec.peer.name, 'link.peer.name');
      w.string(C.IFLA_IFNAME, peerName);
      writeCommon(w, { mtu: spec.peer.mtu, address: spec.peer.address }, ctx, 'link.peer', false);
      if (spec.peer.netns !== undefined) {
        w.u32(C.IFLA_NET_NS_FD, ctx.netnsFd(spec.peer.netns, 'link.peer.netns'));
      }
      w.end(peer);
      w.end(data);
      break;
    }
    case 'dummy':
      w.string(C.IFLA_INFO_KIND, 'dummy');
      break;
    default:
      throw new NetlinkSpecError(
        'link.kind',
        `${JSON.stringify((spec as { kind: unknown }).kind)} is not one of vxlan, bridge, veth, dummy`,
      );
  }
  w.end(info);
  w.finish();
}

/** IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { devconf index → u32 } } }. */
function writeIpv4(w: MessageWriter, v: Ipv4Settings): void {
  checkObject(v, 'link.ipv4');
  const spec = w.nest(C.IFLA_AF_SPEC);
  const inet = w.nest(C.AF_INET);
  const conf = w.nest(C.IFLA_INET_CONF);
  if (v.forwarding !== undefined) {
    w.u32(C.IPV4_DEVCONF_FORWARDING, checkBool(v.forwarding, 'link.ipv4.forwarding') ? 1 : 0);
  }
  if (v.proxyArp !== undefined) {
    w.u32(C.IPV4_DEVCONF_PROXY_ARP, checkBool(v.proxyArp, 'link.ipv4.proxyArp') ? 1 : 0);
  }
  if (v.rpFilter !== undefined) {
    w.u32(C.IPV4_DEVCONF_RP_FILTER, checkUint(v.rpFilter, 'link.ipv4.rpFilter', 2));
  }
  w.end(conf);
  w.end(inet);
  w.end(spec);
}

/** The IPv4 devconf array the kernel reports in IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF. */
function decodeIpv4(attr: Attribute): Required<Ipv4Settings> | undefined {
  for (const family of nested(attr)) {
    if (family.type !== C.AF_INET) continue;
    for (const a of nested(family)) {
      if (a.type !== C.IFLA_INET_CONF) continue;
      const at = (index: number) => {
        const off = (index - 1) * 4;
        if (a.length < off + 4) {
          throw new NetlinkDecodeError(`IFLA_INET_CONF has ${a.length} bytes`, a.offset);
        }
        return a.buf.readUInt32LE(a.start + off);
      };
      const rp = at(C.IPV4_DEVCONF_RP_FILTER);
      return {
        forwarding: at(C.IPV4_DEVCONF_FORWARDING) !== 0,
        proxyArp: at(C.IPV4_DEVCONF_PROXY_ARP) !== 0,
        rpFilter: (rp > 2 ? 2 : rp) as 0 | 1 | 2,
      };
    }
  }
  return undefined;
}

/** Identifies an existing link: by index, or by IFLA_IFNAME when given a name. */
function writeLinkId(
  w: MessageWriter,
  ref: LinkRef,
  up: boolean | undefined,
  byIndex: boolean,
  ctx: EncodeContext,
): void {
  if (typeof ref === 'number' || byIndex) {
    writeIfinfo(w, ctx.index(ref, 'link.link'), up, 'link');
  } else {
    writeIfinfo(w, 0, up, 'link');
    w.string(C.IFLA_IFNAME, ref);
  }
}

/** RTM_NEWLINK without NLM_F_CREATE: change an existing link. */
export function encodeLinkSet(change: LinkChange, ctx: EncodeContext): void {
  checkObject(change, 'link');
  const ref = checkLinkRef(change.link, 'link.link');
  const w = ctx.w.begin(C.RTM_NEWLINK, actionFlags('set'));
  const rename = change.name !== undefined;
  writeLinkId(w, ref, change.up, rename, ctx);
  if (rename) w.string(C.IFLA_IFNAME, checkLinkName(change.name, 'link.name'));
  writeCommon(w, change, ctx, 'link', true);
  if (change.netns !== undefined) w.u32(C.IFLA_NET_NS_FD, ctx.netnsFd(change.netns, 'link.netns'));
  if (change.ipv4 !== undefined) writeIpv4(w, change.ipv4);
  w.finish();
}

export function encodeLinkDelete(ref: LinkRef, ctx: EncodeContext): void {
  checkLinkRef(ref, 'link');
  const w = ctx.w.begin(C.RTM_DELLINK, actionFlags('delete'));
  writeLinkId(w, ref, undefined, false, ctx);
  w.finish();
}

export function encodeLinkGet(ref: LinkRef, ctx: EncodeContext): Request {
  checkLinkRef(ref, 'link');
  const w = startMessage(C.RTM_GETLINK, C.NLM_F_REQUEST);
  writeLinkId(w, ref, undefined, false, ctx);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  w.finish();
  return { message: w.bytes(), kind: 'link', operation: 'get', describe: () => describeLink(ref) };
}

export function encodeLinkList(filter: LinkFilter, ctx: EncodeContext): Request {
  const w = startMessage(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  w.fixed(IFINFOMSG);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  const parts: string[] = [];
  if (filter.master !== undefined) {
    const m = checkLinkRef(filter.master, 'filter.master');
    w.u32(C.IFLA_MASTER, ctx.index(m, 'filter.master'));
    parts.push(`master ${describeLink(m)}`);
  }
  if (filter.kind !== undefined) {
    if (typeof filter.kind !== 'string' || filter.kind === '') {
      throw new NetlinkSpecError('filter.kind', 'expected a link kind such as "vxlan"');
    }
    const info = w.nest(C.IFLA_LINKINFO);
    w.string(C.IFLA_INFO_KIND, filter.kind);
    w.end(info);
    parts.push(`type ${filter.kind}`);
  }
  return listRequest(w, 'link', parts);
}

function decodeVxlan(attrs: Attribute[]): VxlanInfo {
  const v: VxlanInfo = { unknown: [] };
  const what = 'vxlan';
  for (const a of attrs) {
    switch (a.type) {
      case C.IFLA_VXLAN_ID:
        v.vni = readU32(a, what);
        break;
      case C.IFLA_VXLAN_GROUP:
      case C.IFLA_VXLAN_GROUP6:
      case C.IFLA_VXLAN_LOCAL:
      case C.IFLA_VXLAN_LOCAL6: {
        const size = a.type === C.IFLA_VXLAN_GROUP || a.type === C.IFLA_VXLAN_LOCAL ? 4 : 16;
        const ip = readIp(a, size, what);
        if (a.type === C.IFLA_VXLAN_GROUP || a.type === C.IFLA_VXLAN_GROUP6) v.group = ip;
        else v.local = ip;
        break;
      }
      case C.IFLA_VXLAN_LINK:
        v.link = readU32(a, what);
        break;
      case C.IFLA_VXLAN_TTL:
        v.ttl = readU8(a, what);
        break;
      case C.IFLA_VXLAN_TOS:
        v.tos = readU8(a, what);
        break;
      case C.IFLA_VXLAN_LEARNING:
        v.learning = readU8(a, what) !== 0;
        break;
      case C.IFLA_VXLAN_AGEING:
        v.ageing = readU32(a, what);
        break;
      case C.IFLA_VXLAN_LIMIT:
        v.limit = readU32(a, what);
        break;
      case C.IFLA_VXLAN_PORT_RANGE:
        if (a.length < 4) {
          throw new NetlinkDecodeError('vxlan port range needs 4 bytes', a.offset);
        }
        v.portRange = { low: a.buf.readUInt16BE(a.start), high: a.buf.readUInt16BE(a.start + 2) };
        break;
      case C.IFLA_VXLAN_PROXY:
        v.proxy = readU8(a, what) !== 0;
        break;
      case C.IFLA_VXLAN_L2MISS:
        v.l2miss = readU8(a, what) !== 0;
        break;
      case C.IFLA_VXLAN_L3MISS:
        v.l3miss = readU8(a, what) !== 0;
        break;
      case C.IFLA_VXLAN_PORT:
        v.port = readU16be(a, what);
        break;
      case C.IFLA_VXLAN_UDP_CSUM:
        v.udpCsum = readU8(a, what) !== 0;
        break;
      default:
        v.unknown.push(raw(a));
    }
  }
  return v;
}

function decodeBridge(attrs: Attribute[]): BridgeInfo {
  const b: BridgeInfo = { unknown: [] };
  for (const a of attrs) {
    switch (a.type) {
      case C.IFLA_BR_FORWARD_DELAY:
        b.forwardDelay = readU32(a, 'bridge');
        break;
      case C.IFLA_BR_HELLO_TIME:
        b.helloTime = readU32(a, 'bridge');
        break;
      case C.IFLA_BR_MAX_AGE:
        b.maxAge = readU32(a, 'bridge');
        break;
      case C.IFLA_BR_AGEING_TIME:
        b.ageingTime = readU32(a, 'bridge');
        break;
      case C.IFLA_BR_STP_STATE:
        b.stpState = readU32(a, 'bridge');
        break;
      case C.IFLA_BR_PRIORITY:
        b.priority = readU16(a, 'bridge');
        break;
      case C.IFLA_BR_VLAN_FILTERING:
        b.vlanFiltering = readU8(a, 'bridge') !== 0;
        break;
      default:
        b.unknown.push(raw(a));
    }
  }
  return b;
}

function decodeLinkInfo(attr: Attribute, link: Link): void {
  const info: LinkInfo = { unknown: [] };
  let data: Attribute | undefined;
  for (const a of nested(attr)) {
    switch (a.type) {
      case C.IFLA_INFO_KIND:
        info.kind = readString(a);
        break;
      case C.IFLA_INFO_SLAVE_KIND:
        info.slaveKind = readString(a);
        break;
      case C.IFLA_INFO_DATA:
        data = a;
        break;
      case C.IFLA_INFO_SLAVE_DATA:
        info.slaveData = nested(a).map(raw);
        break;
      default:
        info.unknown.push(raw(a));
    }
  }
  if (data) {
    if (info.kind === 'vxlan') link.vxlan = decodeVxlan(nested(data));
    else if (info.kind === 'bridge') link.bridge = decodeBridge(nested(data));
    else info.data = nested(data).map(raw);
  }
  if (info.kind !== undefined) link.kind = info.kind;
  link.linkInfo = info;
}

/** Only the ifindex of an RTM_NEWLINK message (name lookups). */
export function decodeLinkIndex(msg: Message): number {
  needBody(msg, IFINFOMSG, 'ifinfomsg');
  return msg.body.readInt32LE(4);
}

/** Decodes an RTM_NEWLINK message. */
export function decodeLink(msg: Message): Link {
  needBody(msg, IFINFOMSG, 'ifinfomsg');
  const b = msg.body;
  const flags = b.readUInt32LE(8);
  const link: Link = {
    index: b.readInt32LE(4),
    name: '',
    type: b.readUInt16LE(2),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    unknown: [],
  };
  const what = 'link';
  for (const a of bodyAttributes(msg, IFINFOMSG)) {
    switch (a.type) {
      case C.IFLA_IFNAME:
        link.name = readString(a);
        break;
      case C.IFLA_ADDRESS:
        link.address = readMac(a);
        break;
      case C.IFLA_BROADCAST:
        link.broadcast = readMac(a);
        break;
      case C.IFLA_PERM_ADDRESS:
        link.permAddress = readMac(a);
        break;
      case C.IFLA_MTU:
        link.mtu = readU32(a, what);
        break;
      case C.IFLA_MIN_MTU:
        link.minMtu = readU32(a, what);
        break;
      case C.IFLA_MAX_MTU:
        link.maxMtu = readU32(a, what);
        break;
      case C.IFLA_LINK:
        link.parent = readU32(a, what);
        break;
      case C.IFLA_MASTER:
        link.master = readU32(a, what);
        break;
      case C.IFLA_LINK_NETNSID:
        link.linkNetnsId = readS32(a, what);
        break;
      case C.IFLA_TXQLEN:
        link.txQueueLength = readU32(a, what);
        break;
      case C.IFLA_QDISC:
        link.qdisc = readString(a);
        break;
      case C.IFLA_IFALIAS:
        link.alias = readString(a);
        break;
      case C.IFLA_GROUP:
        link.group = readU32(a, what);
        break;
      case C.IFLA_PROMISCUITY:
        link.promiscuity = readU32(a, what);
        break;
      case C.IFLA_CARRIER:
        link.carrier = readU8(a, what) !== 0;
        break;
      case C.IFLA_NUM_TX_QUEUES:
        link.numTxQueues = readU32(a, what);
        break;
      case C.IFLA_NUM_RX_QUEUES:
        link.numRxQueues = readU32(a, what);
        break;
      case C.IFLA_OPERSTATE:
        link.operState = OPER_STATES[readU8(a, what)] ?? 'unknown';
        break;
      case C.IFLA_LINKINFO:
        decodeLinkInfo(a, link);
        break;
      case C.IFLA_AF_SPEC: {
        const v4 = decodeIpv4(a);
        if (v4) link.ipv4 = v4;
        link.unknown.push(raw(a));
        break;
      }
      case C.IFLA_PROP_LIST: {
        const props = nested(a);
        const alt = props.filter((p) => p.type === C.IFLA_ALT_IFNAME).map(readString);
        if (alt.length) link.altNames = alt;
        if (props.some((p) => p.type !== C.IFLA_ALT_IFNAME)) link.unknown.push(raw(a));
        break;
      }
      default:
        link.unknown.push(raw(a));
    }
  }
  if (link.name === '') throw new NetlinkDecodeError('link without IFLA_IFNAME', msg.offset);
  return link;
}
