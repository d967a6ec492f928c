// IPv4 and IPv6 addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR).

import type { IpFamily } from '@vnet/ip';
import {
  bodyAttributes,
  type Message,
  needBody,
  type RawAttribute,
  raw,
  readIp,
  readString,
  readU32,
  startMessage,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { parsePrefix } from '../codec/ip.js';
import { NetlinkDecodeError, NetlinkSpecError } from '../errors.js';
import {
  actionFlags,
  checkLinkRef,
  checkObject,
  checkUint,
  describeLink,
  type EncodeContext,
  type LinkRef,
  listRequest,
  type Request,
} from './common.js';
import { parseScope, type ScopeName } from './scope.js';

const IFADDRMSG = 8;

export interface AddressSpec {
  dev: LinkRef;
  /** `ip/len`; a bare address means /32 or /128. */
  address: string;
  /** Point-to-point peer. */
  peer?: string;
  broadcast?: string;
  label?: string;
  scope?: ScopeName | number;
  /** IFA_F_* flags, e.g. IFA_F_NODAD (0x02), IFA_F_NOPREFIXROUTE (0x200). */
  flags?: number;
  /** Metric of the prefix route the kernel adds. */
  metric?: number;
}

export interface Address {
  family: IpFamily;
  /** ifindex of the link. */
  index: number;
  /** The local address (IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL). */
  address: string;
  prefixLength: number;
  /** IFA_ADDRESS when it differs from the local address (point-to-point). */
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else the 8-bit header field). */
  flags: number;
  validLifetime?: number;
  preferredLifetime?: number;
  metric?: number;
  unknown: RawAttribute[];
}

export interface AddressFilter {
  dev?: LinkRef;
  family?: IpFamily;
}

export type AddressAction = 'add' | 'replace' | 'delete';

export function describeAddress(spec: AddressSpec): string {
  return `${spec.address} dev ${describeLink(spec.dev)}`;
}

export function encodeAddress(action: AddressAction, spec: AddressSpec, ctx: EncodeContext): void {
  checkObject(spec, 'address');
  const dev = checkLinkRef(spec.dev, 'address.dev');
  const p = parsePrefix(spec.address, 'address.address');
  const w = ctx.w.begin(action === 'delete' ? C.RTM_DELADDR : C.RTM_NEWADDR, actionFlags(action));
  const h = w.fixed(IFADDRMSG);
  w.setU8(h, p.family === 4 ? C.AF_INET : C.AF_INET6);
  w.setU8(h + 1, p.length);
  if (spec.scope !== undefined) w.setU8(h + 3, parseScope(spec.scope, 'address.scope'));
  w.setU32(h + 4, ctx.index(dev, 'address.dev'));
  w.attr(C.IFA_LOCAL, p.bytes);
  if (spec.peer === undefined) w.attr(C.IFA_ADDRESS, p.bytes);
  else w.ip(C.IFA_ADDRESS, spec.peer, 'address.peer', p.family);
  if (spec.broadcast !== undefined) w.ip(C.IFA_BROADCAST, spec.broadcast, 'address.broadcast', 4);
  if (spec.label !== undefined) {
    if (typeof spec.label !== 'string' || Buffer.byteLength(spec.label) > 15) {
      throw new NetlinkSpecError('address.label', 'expected a string of at most 15 bytes');
    }
    w.string(C.IFA_LABEL, spec.label);
  }
  if (spec.flags !== undefined) {
    w.u32(C.IFA_FLAGS, checkUint(spec.flags, 'address.flags', 0xffffffff));
  }
  if (spec.metric !== undefined) {
    w.u32(C.IFA_RT_PRIORITY, checkUint(spec.metric, 'address.metric', 0xffffffff));
  }
  w.finish();
}

export function encodeAddressList(filter: AddressFilter, ctx: EncodeContext): Request {
  const w = startMessage(C.RTM_GETADDR, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(IFADDRMSG);
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
    w.setU32(h + 4, ctx.index(dev, 'filter.dev'));
    parts.push(`dev ${describeLink(dev)}`);
  }
  return listRequest(w, 'address', parts);
}

export function decodeAddress(msg: Message): Address {
  needBody(msg, IFADDRMSG, 'ifaddrmsg');
  const b = msg.body;
  const af = b[0] as number;
  if (af !== C.AF_INET && af !== C.AF_INET6) {
    throw new NetlinkDecodeError(`address family ${af} is not IPv4 or IPv6`, msg.offset);
  }
  const family: IpFamily = af === C.AF_INET ? 4 : 6;
  const size = family === 4 ? 4 : 16;
  const out: Address = {
    family,
    index: b.readUInt32LE(4),
    address: '',
    prefixLength: b[1] as number,
    scope: b[3] as number,
    flags: b[2] as number,
    unknown: [],
  };
  let local: string | undefined;
  let address: string | undefined;
  for (const a of bodyAttributes(msg, IFADDRMSG)) {
    const ip = () => readIp(a, size, 'address');
    switch (a.type) {
      case C.IFA_LOCAL:
        local = ip();
        break;
      case C.IFA_ADDRESS:
        address = ip();
        break;
      case C.IFA_BROADCAST:
        out.broadcast = ip();
        break;
      case C.IFA_LABEL:
        out.label = readString(a);
        break;
      case C.IFA_FLAGS:
        out.flags = readU32(a, 'address');
        break;
      case C.IFA_RT_PRIORITY:
        out.metric = readU32(a, 'address');
        break;
      case C.IFA_CACHEINFO:
        if (a.length < 8) throw new NetlinkDecodeError('IFA_CACHEINFO too short', a.offset);
        out.preferredLifetime = a.buf.readUInt32LE(a.start);
        out.validLifetime = a.buf.readUInt32LE(a.start + 4);
        break;
      default:
        out.unknown.push(raw(a));
    }
  }
  const mine = local ?? address;
  if (mine === undefined)
    throw new NetlinkDecodeError('address without IFA_LOCAL/IFA_ADDRESS', msg.offset);
  out.address = mine;
  if (local !== undefined && address !== undefined && address !== local) out.peer = address;
  return out;
}
