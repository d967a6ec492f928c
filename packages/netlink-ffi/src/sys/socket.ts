// A NETLINK_ROUTE socket, created inside a chosen network namespace. The namespace switch is
// setns() on the calling thread, socket(), setns() back, all in one synchronous stretch, so
// nothing else in the process ever runs in the other namespace; a socket stays in the namespace it
// was created in for its whole life.
import { closeSync, openSync } from 'node:fs';
import * as C from '../codec/constants.js';
import { NetlinkError } from '../errors.js';
import { describeNetns, type NetnsRef, openNetns, releaseNetns } from '../netns.js';
import { libc } from './libc.js';

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;
const EINTR = 4;
const EPERM = 1;

export interface SocketOptions {
  /** Namespace to open the socket in; default: the calling thread's. */
  netns?: NetnsRef;
  /** Kernel receive buffer (SO_RCVBUFFORCE, falling back to SO_RCVBUF). Default 4 MiB. */
  receiveBufferBytes?: number;
  /** Longest wait for a reply the kernel owes us (it answers synchronously). Default 5000 ms. */
  replyTimeoutMs?: number;
  /** Multicast groups (RTNLGRP_*) to join with NETLINK_ADD_MEMBERSHIP (any number, also > 31). */
  groups?: readonly number[];
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

function fail(operation: string, target: string, errno = libc().errno()): never {
  throw new NetlinkError({ errno, operation, kind: 'socket', target });
}

export class NetlinkSocket {
  /** The netlink port id the kernel assigned. */
  readonly portId: number;
  private closed = false;
  private readonly kernel = Buffer.alloc(12);
  private rxBuffer: Buffer | undefined;

  private constructor(
    readonly fd: number,
    readonly description: string,
  ) {
    this.kernel.writeUInt16LE(C.AF_NETLINK, 0);
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(C.AF_NETLINK, 0);
    const c = libc();
    if (c.bind(fd, sa, 12) < 0) this.failAndClose('bind');
    const len = int32(12);
    if (c.getsockname(fd, sa, len) < 0) this.failAndClose('getsockname');
    this.portId = sa.readUInt32LE(4);
  }

  static open(opts: SocketOptions = {}): NetlinkSocket {
    const c = libc();
    const where = opts.netns === undefined ? 'current namespace' : describeNetns(opts.netns);
    let fd: number;
    if (opts.netns === undefined) {
      fd = c.socket(C.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, C.NETLINK_ROUTE);
      if (fd < 0) fail('socket', where);
    } else {
      fd = socketIn(opts.netns, where);
    }
    const s = new NetlinkSocket(fd, where);
    s.configure(opts);
    return s;
  }

  private failAndClose(operation: string): never {
    const errno = libc().errno();
    libc().close(this.fd);
    this.closed = true;
    fail(operation, this.description, errno);
  }

  private setOpt(level: number, name: number, value: Buffer): boolean {
    return libc().setsockopt(this.fd, level, name, value, value.length) === 0;
  }

  private configure(opts: SocketOptions): void {
    const one = int32(1);
    // Error text from the kernel; acks without the echoed request; dump filters honoured.
    this.setOpt(C.SOL_NETLINK, C.NETLINK_EXT_ACK, one);
    this.setOpt(C.SOL_NETLINK, C.NETLINK_CAP_ACK, one);
    this.setOpt(C.SOL_NETLINK, C.NETLINK_GET_STRICT_CHK, one);
    const rcv = int32(opts.receiveBufferBytes ?? 4 << 20);
    if (!this.setOpt(C.SOL_SOCKET, C.SO_RCVBUFFORCE, rcv)) {
      if (libc().errno() !== EPERM || !this.setOpt(C.SOL_SOCKET, C.SO_RCVBUF, rcv)) {
        this.failAndClose('setsockopt SO_RCVBUF');
      }
    }
    const snd = int32(1 << 20);
    if (!this.setOpt(C.SOL_SOCKET, C.SO_SNDBUFFORCE, snd))
      this.setOpt(C.SOL_SOCKET, C.SO_SNDBUF, snd);
    const ms = opts.replyTimeoutMs ?? 5000;
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
    tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
    if (!this.setOpt(C.SOL_SOCKET, C.SO_RCVTIMEO, tv)) this.failAndClose('setsockopt SO_RCVTIMEO');
    for (const group of opts.groups ?? []) {
      if (!this.setOpt(C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, int32(group))) {
        this.failAndClose(`setsockopt NETLINK_ADD_MEMBERSHIP ${group}`);
      }
    }
  }

  /** Receive buffer; `receiveInto` leaves the datagram here until the next receive. */
  get rx(): Buffer {
    if (!this.rxBuffer) this.rxBuffer = Buffer.alloc(1 << 16);
    return this.rxBuffer;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(operation: string): void {
    if (this.closed) fail(operation, this.description, 9 /* EBADF */);
  }

  /** Sends one datagram (any number of messages) to the kernel. */
  send(buf: Buffer): void {
    this.checkOpen('sendto');
    const c = libc();
    for (;;) {
      const n = c.sendto(this.fd, buf, buf.length, 0, this.kernel, 12);
      if (n >= 0) return;
      const errno = c.errno();
      if (errno !== EINTR) fail('sendto', this.description, errno);
    }
  }

  /**
   * Receives one datagram into `rx` and returns its length. `wait` false returns 0 when nothing
   * is queued; `wait` true blocks up to the reply timeout, then throws EAGAIN.
   */
  receiveInto(wait: boolean): number {
    this.checkOpen('recv');
    const c = libc();
    for (;;) {
      const n = c.recv(this.fd, this.rx, this.rx.length, MSG_TRUNC | (wait ? 0 : MSG_DONTWAIT));
      if (n >= 0) {
        if (n > this.rx.length) fail('recv', this.description, 90 /* EMSGSIZE */);
        return n;
      }
      const errno = c.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN && !wait) return 0;
      fail('recv', this.description, errno);
    }
  }

  /** Receives one datagram as a Buffer the caller owns (see `receiveInto`). */
  receive(wait: boolean): Buffer | undefined {
    const n = this.receiveInto(wait);
    return n === 0 ? undefined : Buffer.from(this.rx.subarray(0, n));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}

/** socket() inside `ref`, restoring the thread's namespace before returning. */
function socketIn(ref: NetnsRef, where: string): number {
  const c = libc();
  const target = openNetns(ref);
  let home: number;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
  } catch (e) {
    releaseNetns(target);
    throw new NetlinkError({
      errno: Math.abs((e as NodeJS.ErrnoException).errno ?? 2),
      operation: 'open',
      kind: 'namespace',
      target: '/proc/thread-self/ns/net',
    });
  }
  try {
    if (c.setns(target.fd, CLONE_NEWNET) < 0) {
      throw new NetlinkError({
        errno: c.errno(),
        operation: 'setns',
        kind: 'namespace',
        target: where,
      });
    }
    const fd = c.socket(C.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, C.NETLINK_ROUTE);
    const errno = c.errno();
    if (c.setns(home, CLONE_NEWNET) < 0) {
      // The thread is stuck in the other namespace: nothing sane can continue.
      throw new Error(
        `netlink-ffi: cannot return to the original network namespace (errno ${c.errno()})`,
      );
    }
    if (fd < 0) fail('socket', where, errno);
    return fd;
  } finally {
    closeSync(home);
    releaseNetns(target);
  }
}
