// The monitor's reader thread: one per process, shared by every open monitor. It sleeps in
// poll() on the monitor sockets plus an eventfd the main thread writes to when it has something
// to say, reads whatever the ready sockets hold (non-blocking), and hands each socket's datagrams
// to the main thread as one transferred ArrayBuffer per round (see protocol.ts). It never decodes
// anything: decoding happens on the main thread, where the events are delivered.
//
// Control messages are taken synchronously (receiveMessageOnPort): this thread never returns to
// its own event loop until it is told to stop.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { libc } from '../sys/libc.js';
import {
  type Control,
  FLOW_PAUSED,
  FLOW_PENDING,
  RECORD_HEADER,
  type ReaderData,
  type Report,
} from './protocol.js';

const POLLIN = 0x1;
const POLLERR = 0x8;
const POLLNVAL = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const EAGAIN = 11;
const EMSGSIZE = 90;
const ENOBUFS = 105;
/** Longest sleep in poll(); the eventfd normally wakes it earlier. A safety net only. */
const BACKSTOP_MS = 1000;
/** Largest datagram read whole (rtnetlink notifications are a few hundred bytes to a few KiB). */
const RX_BYTES = 256 << 10;
/**
 * A socket's round ends once this much is read: busy sockets take turns, and the main thread
 * decodes one batch (some 200 neighbour notifications) in a stretch of a few ms at most.
 */
const ROUND_BYTES = 16 << 10;

interface Source {
  id: number;
  fd: number;
  flow: Int32Array;
  maxPendingBytes: number;
}

const data = workerData as ReaderData;
const port = parentPort;
if (!port) throw new Error('netlink-ffi: the monitor reader must run in a worker thread');
const c = libc();
const stop = new Int32Array(data.stop);
const sources = new Map<number, Source>();
const rx = Buffer.alloc(RX_BYTES);
const wakeBuf = Buffer.alloc(8);
let pollfds = Buffer.alloc(8 * 16);
/** The sources in pollfds order (pollfds entry 0 is the eventfd). */
const polled: Source[] = [];
let out = Buffer.alloc(ROUND_BYTES + RX_BYTES);
let outLen = 0;

function report(r: Report, transfer?: ArrayBuffer[]): void {
  port?.postMessage(r, transfer);
}

/** Applies the pending control messages; false when told to stop. */
function takeControl(): boolean {
  for (let m = receiveMessageOnPort(data.control); m; m = receiveMessageOnPort(data.control)) {
    const msg = m.message as Control;
    if (msg.op === 'add') {
      sources.set(msg.id, {
        id: msg.id,
        fd: msg.fd,
        flow: new Int32Array(msg.flow),
        maxPendingBytes: msg.maxPendingBytes,
      });
    } else if (msg.op === 'remove') {
      sources.delete(msg.id);
      report({ op: 'removed', id: msg.id });
    } else {
      return false;
    }
  }
  return true;
}

function wanted(s: Source): boolean {
  return (
    Atomics.load(s.flow, FLOW_PAUSED) === 0 &&
    Atomics.load(s.flow, FLOW_PENDING) < s.maxPendingBytes
  );
}

function record(status: number, length: number): void {
  if (outLen + RECORD_HEADER > out.length) grow(outLen + RECORD_HEADER);
  out.writeInt32LE(status, outLen);
  out.writeUInt32LE(length, outLen + 4);
  outLen += RECORD_HEADER;
}

function grow(min: number): void {
  const next = Buffer.alloc(Math.max(min, out.length * 2));
  out.copy(next, 0, 0, outLen);
  out = next;
}

/** Reads what `s` holds (up to a round's worth) and hands it over. */
function drain(s: Source): void {
  outLen = 0;
  let failed = 0;
  while (outLen < ROUND_BYTES) {
    const n = c.recv(s.fd, rx, rx.length, MSG_DONTWAIT | MSG_TRUNC);
    if (n >= 0) {
      if (n > rx.length) {
        record(EMSGSIZE, n);
        continue;
      }
      record(0, n);
      const end = outLen + ((n + 3) & ~3);
      if (end > out.length) grow(end);
      rx.copy(out, outLen, 0, n);
      out.fill(0, outLen + n, end);
      outLen = end;
      continue;
    }
    const errno = c.errno();
    if (errno === EINTR) continue;
    if (errno === EAGAIN) break;
    record(errno, 0);
    if (errno === ENOBUFS) continue; // the socket goes on receiving after an overrun
    failed = errno;
    break;
  }
  if (outLen > 0) {
    const batch = out.buffer.slice(out.byteOffset, out.byteOffset + outLen);
    Atomics.add(s.flow, FLOW_PENDING, outLen);
    report({ op: 'batch', id: s.id, data: batch }, [batch]);
  }
  if (failed !== 0) {
    sources.delete(s.id);
    report({ op: 'failed', id: s.id, errno: failed });
  }
}

function run(): void {
  for (;;) {
    if (Atomics.load(stop, 0) !== 0 || !takeControl()) return;
    polled.length = 0;
    for (const s of sources.values()) if (wanted(s)) polled.push(s);
    const nfds = polled.length + 1;
    if (pollfds.length < nfds * 8) pollfds = Buffer.alloc(nfds * 16);
    pollfds.writeInt32LE(data.wakeFd, 0);
    pollfds.writeInt32LE(POLLIN, 4); // events = POLLIN, revents = 0
    for (let i = 0; i < polled.length; i++) {
      pollfds.writeInt32LE((polled[i] as Source).fd, (i + 1) * 8);
      pollfds.writeInt32LE(POLLIN, (i + 1) * 8 + 4);
    }
    const ready = c.poll(pollfds, nfds, BACKSTOP_MS);
    if (ready < 0) {
      const errno = c.errno();
      if (errno === EINTR) continue;
      throw new Error(`netlink-ffi: poll() failed in the monitor reader (errno ${errno})`);
    }
    if (ready === 0) continue;
    if (pollfds.readInt16LE(6) !== 0) c.read(data.wakeFd, wakeBuf, 8);
    for (let i = 0; i < polled.length; i++) {
      const revents = pollfds.readInt16LE((i + 1) * 8 + 6);
      if (revents === 0) continue;
      const s = polled[i] as Source;
      if (revents & POLLNVAL) {
        sources.delete(s.id);
        report({ op: 'failed', id: s.id, errno: 9 /* EBADF */ });
      } else if (revents & (POLLIN | POLLERR)) {
        drain(s);
      }
    }
  }
}

run();
