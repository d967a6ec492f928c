// Notifications (rtnetlink multicast messages) decoded into monitor events, with the decoders the
// request side uses. Decoding a datagram never throws: a malformed message becomes an error event
// and the next message is decoded as usual.
import { align4, type Message, NLMSG_HDRLEN } from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { NetlinkDecodeError, type NetlinkError } from '../errors.js';
import { type Address, decodeAddress } from '../objects/address.js';
import { decodeLink, type Link } from '../objects/link.js';
import { decodeFdb, decodeNeighbour, type FdbEntry, type Neighbour } from '../objects/neighbour.js';
import { decodeNexthop, type Nexthop } from '../objects/nexthop.js';
import { decodeRoute, type Route } from '../objects/route.js';
import { decodeRule, type Rule } from '../objects/rule.js';

/** One object added or changed (`new`) or removed (`del`). */
interface Change<K extends string, T> {
  type: 'new' | 'del';
  kind: K;
  object: T;
  /**
   * nlmsg_pid of the notification: the netlink port of the socket whose request caused the
   * change (compare with `Netlink#portId` to recognise your own changes), 0 when the kernel made
   * it on its own (e.g. a neighbour changing state, a link going down, a route removed with its
   * device). Some notifications carry 0 whoever caused them.
   */
  portId: number;
  /** nlmsg_seq: the sequence number of the causing request when the kernel echoes it, else 0. */
  seq: number;
}

export type LinkEvent = Change<'link', Link>;
export type AddressEvent = Change<'address', Address>;
export type RouteEvent = Change<'route', Route>;
export type NexthopEvent = Change<'nexthop', Nexthop>;
export type RuleEvent = Change<'rule', Rule>;
export type NeighbourEvent = Change<'neighbour', Neighbour>;
export type FdbEvent = Change<'fdb', FdbEntry>;

/** A change to an object the kernel reported. */
export type ChangeEvent =
  | LinkEvent
  | AddressEvent
  | RouteEvent
  | NexthopEvent
  | RuleEvent
  | NeighbourEvent
  | FdbEvent;

/**
 * The kernel dropped notifications because the socket's receive buffer was full (ENOBUFS):
 * changes were missed, so list what you watch again and reconcile.
 */
export interface OverrunEvent {
  type: 'overrun';
}

/**
 * Something could not be delivered: a malformed message (NetlinkDecodeError; the monitor goes on
 * with the next one) or a receive error (NetlinkError). After an error whose code is EMSGSIZE a
 * notification was lost, as after an overrun. An error with code EIO ends the monitor.
 */
export interface MonitorErrorEvent {
  type: 'error';
  error: NetlinkDecodeError | NetlinkError;
}

export type MonitorEvent = ChangeEvent | OverrunEvent | MonitorErrorEvent;

export type ChangeKind = ChangeEvent['kind'];

const isIp = (family: number) => family === C.AF_INET || family === C.AF_INET6;

/**
 * The event a notification message stands for; undefined for messages a monitor does not report
 * (other message types, link messages of the bridge's port family, multicast-routing families).
 * Throws NetlinkDecodeError for a malformed message.
 */
export function decodeNotification(m: Message): ChangeEvent | undefined {
  const family = m.body.length > 0 ? (m.body[0] as number) : -1;
  const base = { portId: m.pid, seq: m.seq };
  switch (m.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      // AF_BRIDGE link messages describe a bridge port (an RTM_DELLINK one means the port left
      // its bridge, not that the device is gone); the device itself has its own messages.
      if (family === C.AF_BRIDGE) return undefined;
      return {
        type: m.type === C.RTM_NEWLINK ? 'new' : 'del',
        kind: 'link',
        object: decodeLink(m),
        ...base,
      };
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      if (!isIp(family)) return undefined;
      return {
        type: m.type === C.RTM_NEWADDR ? 'new' : 'del',
        kind: 'address',
        object: decodeAddress(m),
        ...base,
      };
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      if (!isIp(family)) return undefined;
      return {
        type: m.type === C.RTM_NEWROUTE ? 'new' : 'del',
        kind: 'route',
        object: decodeRoute(m),
        ...base,
      };
    case C.RTM_NEWNEXTHOP:
    case C.RTM_DELNEXTHOP:
      return {
        type: m.type === C.RTM_NEWNEXTHOP ? 'new' : 'del',
        kind: 'nexthop',
        object: decodeNexthop(m),
        ...base,
      };
    case C.RTM_NEWRULE:
    case C.RTM_DELRULE:
      if (!isIp(family)) return undefined;
      return {
        type: m.type === C.RTM_NEWRULE ? 'new' : 'del',
        kind: 'rule',
        object: decodeRule(m),
        ...base,
      };
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH: {
      const type = m.type === C.RTM_NEWNEIGH ? 'new' : 'del';
      if (family === C.AF_BRIDGE) return { type, kind: 'fdb', object: decodeFdb(m), ...base };
      if (!isIp(family)) return undefined;
      return { type, kind: 'neighbour', object: decodeNeighbour(m), ...base };
    }
    default:
      return undefined;
  }
}

function decodeFailure(e: unknown, offset: number): NetlinkDecodeError {
  if (e instanceof NetlinkDecodeError) return e;
  // A decoder bug, not bad input: still an event, never an exception out of the monitor.
  const err = new NetlinkDecodeError(
    `decoder failed: ${e instanceof Error ? e.message : String(e)}`,
    offset,
  );
  (err as { cause?: unknown }).cause = e;
  return err;
}

/**
 * Appends the events of one datagram to `out`, in order. Never throws: a message that does not
 * decode becomes an error event; a framing error (a length that does not fit) ends the datagram
 * with an error event, since nothing after it can be found.
 */
export function decodeDatagram(buf: Buffer, out: MonitorEvent[]): void {
  let off = 0;
  while (off < buf.length) {
    const left = buf.length - off;
    if (left < NLMSG_HDRLEN) {
      out.push({
        type: 'error',
        error: new NetlinkDecodeError(`${left} stray bytes after the last message`, off),
      });
      return;
    }
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > left) {
      out.push({
        type: 'error',
        error: new NetlinkDecodeError(
          `message length ${len} outside ${NLMSG_HDRLEN}..${left}`,
          off,
        ),
      });
      return;
    }
    const m: Message = {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
      offset: off,
    };
    try {
      const e = decodeNotification(m);
      if (e) out.push(e);
    } catch (e) {
      out.push({ type: 'error', error: decodeFailure(e, off) });
    }
    off += Math.min(align4(len), left);
  }
}
