// Event subscription: a netlink socket in a namespace joined to rtnetlink multicast groups, read
// by the shared reader thread (reader.ts, worker.ts), its notifications decoded on the main thread
// and delivered as events, through an EventEmitter and/or async iterators.
import { EventEmitter } from 'node:events';
import * as C from '../codec/constants.js';
import { NetlinkError, NetlinkSpecError } from '../errors.js';
import type { NetnsRef } from '../netns.js';
import { NetlinkSocket } from '../sys/socket.js';
import { decodeDatagram, type MonitorEvent } from './events.js';
import { FLOW_PAUSED, FLOW_PENDING, FLOW_SLOTS, forEachRecord } from './protocol.js';
import { Reader, type Sink } from './reader.js';

const ENOBUFS = 105;
const EMSGSIZE = 90;

/**
 * Multicast groups by name, as `ip monitor` names them: `address`, `route` and `rule` are both
 * families; the family-specific names join one group.
 */
export const MONITOR_GROUPS = {
  link: [C.RTNLGRP_LINK],
  neigh: [C.RTNLGRP_NEIGH],
  address: [C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR],
  'ipv4-ifaddr': [C.RTNLGRP_IPV4_IFADDR],
  'ipv6-ifaddr': [C.RTNLGRP_IPV6_IFADDR],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
  'ipv4-route': [C.RTNLGRP_IPV4_ROUTE],
  'ipv6-route': [C.RTNLGRP_IPV6_ROUTE],
  rule: [C.RTNLGRP_IPV4_RULE, C.RTNLGRP_IPV6_RULE],
  'ipv4-rule': [C.RTNLGRP_IPV4_RULE],
  'ipv6-rule': [C.RTNLGRP_IPV6_RULE],
  nexthop: [C.RTNLGRP_NEXTHOP],
} as const;

export type MonitorGroup = keyof typeof MONITOR_GROUPS;

const DEFAULT_GROUPS: readonly MonitorGroup[] = [
  'link',
  'address',
  'route',
  'nexthop',
  'rule',
  'neigh',
];

export interface MonitorOptions {
  /** Default: link, address, route, nexthop, rule, neigh (neighbours and FDB entries). */
  groups?: readonly MonitorGroup[];
  /** Namespace to watch (as for handles); default: the calling thread's. */
  netns?: NetnsRef;
  /**
   * Kernel receive buffer for notifications (SO_RCVBUFFORCE as root, else SO_RCVBUF, capped by
   * net.core.rmem_max). Default 32 MiB: memory is only used while notifications wait. When it
   * is full the kernel drops notifications and the monitor reports an overrun.
   */
  receiveBufferBytes?: number;
  /**
   * Most bytes of notifications read from the socket but not yet decoded (the main thread is
   * busy). Past this the reader leaves the socket alone and the kernel buffer takes the rest.
   * Default 16 MiB.
   */
  maxPendingBytes?: number;
  /**
   * Events an async iterator may hold unread before the monitor pauses reading (it resumes once
   * half of them are consumed). Default 10,000.
   */
  highWaterMark?: number;
}

interface MonitorEventMap {
  event: [MonitorEvent];
  close: [];
}

/** An async iterator's queue. */
interface Consumer {
  queue: MonitorEvent[];
  head: number;
  waiting: ((r: IteratorResult<MonitorEvent>) => void) | undefined;
  overfull: boolean;
}

function checkPositive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 0x7fffffff) {
    throw new NetlinkSpecError(field, `${JSON.stringify(v)} is not a positive integer`);
  }
  return v;
}

function groupNumbers(groups: unknown): { names: MonitorGroup[]; numbers: number[] } {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new NetlinkSpecError('monitor.groups', 'expected a non-empty list of group names');
  }
  const numbers = new Set<number>();
  for (const g of groups) {
    if (typeof g !== 'string' || !Object.hasOwn(MONITOR_GROUPS, g)) {
      throw new NetlinkSpecError(
        'monitor.groups',
        `${JSON.stringify(g)} is not one of ${Object.keys(MONITOR_GROUPS).join(', ')}`,
      );
    }
    for (const n of MONITOR_GROUPS[g as MonitorGroup]) numbers.add(n);
  }
  return { names: [...groups], numbers: [...numbers].sort((a, b) => a - b) };
}

/**
 * Notifications of one network namespace's routing subsystem, decoded: every change to links,
 * addresses, routes, nexthops, rules, neighbours and FDB entries of the subscribed groups, in the
 * order the kernel sent them, as `event` events and through `for await`. Create it with
 * `Netlink.monitor()`; `close()` frees the socket (and the reader thread with the last monitor).
 *
 * Subscribed when `Netlink.monitor()` returns: every change made after that is reported. To
 * start from a known state, open the monitor first, then list with a handle, then apply events.
 */
export class Monitor extends EventEmitter<MonitorEventMap> implements AsyncIterable<MonitorEvent> {
  /** The groups joined. */
  readonly groups: readonly MonitorGroup[];
  private readonly socket: NetlinkSocket;
  private readonly flow = new Int32Array(new SharedArrayBuffer(FLOW_SLOTS * 4));
  private readonly reader: Reader;
  private readonly id: number;
  private readonly maxPendingBytes: number;
  private readonly highWaterMark: number;
  private readonly consumers = new Set<Consumer>();
  private overfull = 0;
  private userPaused = false;
  private closing: Promise<void> | undefined;

  private constructor(opts: MonitorOptions) {
    super();
    const { names, numbers } = groupNumbers(opts.groups ?? DEFAULT_GROUPS);
    this.groups = names;
    this.maxPendingBytes = checkPositive(
      opts.maxPendingBytes ?? 16 << 20,
      'monitor.maxPendingBytes',
    );
    this.highWaterMark = checkPositive(opts.highWaterMark ?? 10000, 'monitor.highWaterMark');
    const receiveBufferBytes = checkPositive(
      opts.receiveBufferBytes ?? 32 << 20,
      'monitor.receiveBufferBytes',
    );
    this.socket = NetlinkSocket.open({ netns: opts.netns, receiveBufferBytes, groups: numbers });
    const sink: Sink = {
      fd: this.socket.fd,
      flow: this.flow.buffer as SharedArrayBuffer,
      maxPendingBytes: this.maxPendingBytes,
      deliver: (data) => this.deliver(data),
      fail: (errno, detail) => this.fail(errno, detail),
    };
    try {
      this.reader = Reader.get();
      this.id = this.reader.add(sink);
    } catch (e) {
      this.socket.close();
      throw e;
    }
  }

  /** See `Netlink.monitor`. */
  static open(opts: MonitorOptions = {}): Monitor {
    return new Monitor(opts);
  }

  /** The netlink port id of the monitor's socket. */
  get portId(): number {
    return this.socket.portId;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Stops reading notifications until `resume()`: the kernel queues them in the receive buffer
   * meanwhile and, once it is full, drops them (an overrun event follows on resume). What the
   * reader had already read when pause() was called is still delivered.
   */
  pause(): void {
    this.userPaused = true;
    this.updatePause();
  }

  resume(): void {
    this.userPaused = false;
    this.updatePause();
  }

  /**
   * Ends the monitor: no event is delivered after this call, iterators finish, and the socket is
   * closed. The promise resolves once the socket is closed (and, with the last monitor, the
   * reader thread has ended).
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    for (const c of this.consumers) {
      c.queue = [];
      c.head = 0;
      const waiting = c.waiting;
      c.waiting = undefined;
      waiting?.({ value: undefined, done: true });
    }
    this.consumers.clear();
    this.closing = this.reader.remove(this.id).then(() => {
      this.socket.close();
      this.emit('close');
    });
    return this.closing;
  }

  /**
   * The events, in order, until the monitor is closed. Each iterator sees every event from the
   * moment it is created. Leaving a `for await` loop early (break, return, throw) closes the
   * monitor, as for a stream. An iterator that is neither read nor ended holds the monitor
   * paused once `highWaterMark` events wait in it.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<MonitorEvent> {
    const c: Consumer = { queue: [], head: 0, waiting: undefined, overfull: false };
    if (!this.closing) this.consumers.add(c);
    const it: AsyncIterableIterator<MonitorEvent> = {
      next: () => {
        if (c.head < c.queue.length) {
          const value = c.queue[c.head++] as MonitorEvent;
          this.consumed(c);
          return Promise.resolve({ value, done: false });
        }
        if (this.closing) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          c.waiting = resolve;
        });
      },
      return: async () => {
        this.consumers.delete(c);
        await this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private updatePause(): void {
    const paused = this.userPaused || this.overfull > 0 ? 1 : 0;
    const was = Atomics.exchange(this.flow, FLOW_PAUSED, paused);
    // Either way the reader must rebuild its poll() set (it may be waiting on this socket).
    if (was !== paused && !this.closing) this.reader.wake();
  }

  private consumed(c: Consumer): void {
    const left = c.queue.length - c.head;
    if (c.head >= 1024 && c.head * 2 >= c.queue.length) {
      c.queue = c.queue.slice(c.head);
      c.head = 0;
    }
    if (c.overfull && left <= this.highWaterMark >> 1) {
      c.overfull = false;
      this.overfull--;
      this.updatePause();
    }
  }

  private push(c: Consumer, e: MonitorEvent): void {
    const waiting = c.waiting;
    if (waiting) {
      c.waiting = undefined;
      waiting({ value: e, done: false });
      return;
    }
    c.queue.push(e);
    if (!c.overfull && c.queue.length - c.head >= this.highWaterMark) {
      c.overfull = true;
      this.overfull++;
      this.updatePause();
    }
  }

  private dispatch(e: MonitorEvent): void {
    this.emit('event', e);
    for (const c of this.consumers) this.push(c, e);
  }

  /** A batch from the reader: decode, hand the bytes back to the reader's budget, deliver. */
  private deliver(data: ArrayBuffer): void {
    if (this.closing) return;
    const events: MonitorEvent[] = [];
    forEachRecord(
      Buffer.from(data),
      (d) => decodeDatagram(d, events),
      (errno, length) => events.push(this.statusEvent(errno, length)),
    );
    const before = Atomics.sub(this.flow, FLOW_PENDING, data.byteLength);
    if (before >= this.maxPendingBytes && before - data.byteLength < this.maxPendingBytes) {
      this.reader.wake();
    }
    for (const e of events) {
      if (this.closing) return;
      this.dispatch(e);
    }
  }

  private statusEvent(errno: number, length: number): MonitorEvent {
    if (errno === ENOBUFS) return { type: 'overrun' };
    return {
      type: 'error',
      error: this.error(
        errno,
        errno === EMSGSIZE
          ? `a notification of ${length} bytes was larger than the receive buffer and was dropped`
          : undefined,
      ),
    };
  }

  private error(errno: number, detail?: string): NetlinkError {
    return new NetlinkError({
      errno,
      operation: 'recv',
      kind: 'monitor',
      target: this.socket.description,
      ...(detail !== undefined ? { kernelMessage: detail } : {}),
    });
  }

  /** Reading stopped for good: report it, then close. */
  private fail(errno: number, detail?: string): void {
    if (this.closing) return;
    try {
      this.dispatch({ type: 'error', error: this.error(errno, detail) });
    } finally {
      void this.close();
    }
  }
}
