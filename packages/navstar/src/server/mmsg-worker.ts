// A UDP worker thread: blocks in recvmmsg() on the shared socket, answers each batch with
// answerQuery() from its own copy of the table, and sends the answers with one sendmmsg(). Queries
// for other zones go to the main thread, which forwards them and replies on the same socket.
// Table changes arrive on a MessagePort; the main thread bumps a shared sequence number after each
// post, and the worker drains the port whenever it sees the number move (before answering a batch).
import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import koffi from 'koffi';
import { answerQuery, createAnswerContext, FORWARD, rcodeReply } from '../answer.js';
import {
  countResponse,
  DROPPED,
  FORWARD_OVERLOAD,
  INTERNAL_ERRORS,
  MALFORMED,
  Q_UDP,
  SEND_ERRORS,
} from '../counters.js';
import { RCODE_SERVFAIL } from '../wire/constants.js';
import { applyDelta, type NameEntry, type ZoneDelta, type ZoneWire } from '../zone/entry.js';
import {
  EAGAIN,
  EBADF,
  EINTR,
  IOVEC_SIZE,
  loadLibc,
  MMSGHDR_SIZE,
  MSG_FLAGS,
  MSG_IOV,
  MSG_IOVLEN,
  MSG_LEN,
  MSG_NAMELEN,
  MSG_TRUNC,
  MSG_WAITFORONE,
  SOCKADDR_SLOT,
} from './libc.js';

export interface WorkerInit {
  fd: number;
  table: Map<string, NameEntry>;
  zones: ZoneWire[];
  maxUdp: number;
  recursion: boolean;
  batch: number;
  /** Queries handed to the main thread and not yet answered, beyond which we answer SERVFAIL. */
  maxForwardBacklog: number;
  /** Int32Array slots: [0] stop flag, [1] update sequence, [2] this thread's queries waiting on forwarding. */
  control: SharedArrayBuffer;
  /** This thread's counters (Float64Array). */
  counters: SharedArrayBuffer;
  updates: MessagePort;
}

/** Messages to the main thread. */
export type WorkerMessage =
  | { type: 'forward'; query: Uint8Array; addr: Uint8Array }
  | { type: 'fatal'; error: string }
  | { type: 'ready' }
  | { type: 'stopped' };

export const CTRL_STOP = 0;
export const CTRL_SEQ = 1;
export const CTRL_BACKLOG = 2;
/** Largest query we accept; longer datagrams are dropped and counted as malformed. */
const IN_SLOT = 4096;

function run(init: WorkerInit): void {
  const libc = loadLibc();
  if (!libc) throw new Error('libc is not available in the worker');
  const post = (m: WorkerMessage) => parentPort?.postMessage(m);
  const N = init.batch;
  const OUT_SLOT = init.maxUdp;
  // One native block: recv headers, send headers, recv iovecs, send iovecs, addresses, buffers.
  const recvHdr = 0;
  const sendHdr = recvHdr + N * MMSGHDR_SIZE;
  const recvIov = sendHdr + N * MMSGHDR_SIZE;
  const sendIov = recvIov + N * IOVEC_SIZE;
  const addrs = sendIov + N * IOVEC_SIZE;
  const inBufs = addrs + N * SOCKADDR_SLOT;
  const outBufs = inBufs + N * IN_SLOT;
  const total = outBufs + N * OUT_SLOT;
  const mem = koffi.alloc('uint8_t', total);
  const base = koffi.address(mem) as bigint;
  const ab = koffi.view(mem, total);
  const dv = new DataView(ab);
  const bytes = Buffer.from(ab);
  const inSlot: Buffer[] = [];
  const outSlot: Buffer[] = [];
  const addrOf = (off: number) => base + BigInt(off);
  for (let i = 0; i < N; i++) {
    const rh = recvHdr + i * MMSGHDR_SIZE;
    dv.setBigUint64(rh, addrOf(addrs + i * SOCKADDR_SLOT), true);
    dv.setUint32(rh + MSG_NAMELEN, SOCKADDR_SLOT, true);
    dv.setBigUint64(rh + MSG_IOV, addrOf(recvIov + i * IOVEC_SIZE), true);
    dv.setBigUint64(rh + MSG_IOVLEN, 1n, true);
    dv.setBigUint64(recvIov + i * IOVEC_SIZE, addrOf(inBufs + i * IN_SLOT), true);
    dv.setBigUint64(recvIov + i * IOVEC_SIZE + 8, BigInt(IN_SLOT), true);
    const sh = sendHdr + i * MMSGHDR_SIZE;
    dv.setBigUint64(sh, addrOf(addrs + i * SOCKADDR_SLOT), true);
    dv.setBigUint64(sh + MSG_IOV, addrOf(sendIov + i * IOVEC_SIZE), true);
    dv.setBigUint64(sh + MSG_IOVLEN, 1n, true);
    dv.setBigUint64(sendIov + i * IOVEC_SIZE, addrOf(outBufs + i * OUT_SLOT), true);
    inSlot.push(bytes.subarray(inBufs + i * IN_SLOT, inBufs + (i + 1) * IN_SLOT));
    outSlot.push(bytes.subarray(outBufs + i * OUT_SLOT, outBufs + (i + 1) * OUT_SLOT));
  }
  // sendMap[j]: which receive slot send header j currently points at.
  const sendMap = Int32Array.from({ length: N }, (_, i) => i);
  const control = new Int32Array(init.control);
  const counters = new Float64Array(init.counters);
  const table = init.table;
  const ctx = createAnswerContext(table, init.zones, {
    maxUdp: init.maxUdp,
    recursion: init.recursion,
    counters,
  });
  let seenSeq = Atomics.load(control, CTRL_SEQ);
  const sendBase = addrOf(sendHdr);

  const drainUpdates = () => {
    seenSeq = Atomics.load(control, CTRL_SEQ);
    for (;;) {
      const m = receiveMessageOnPort(init.updates);
      if (!m) break;
      const delta = m.message as ZoneDelta;
      applyDelta(table, delta);
      if (delta.zones) ctx.zones = delta.zones;
    }
  };

  // Changes posted while this thread was starting are already queued: apply them first.
  drainUpdates();
  post({ type: 'ready' });
  // Headers the kernel filled last time (their address lengths must be reset before reuse).
  let used = N;
  while (Atomics.load(control, CTRL_STOP) === 0) {
    for (let i = 0; i < used; i++)
      dv.setUint32(recvHdr + i * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_SLOT, true);
    const got = libc.recvmmsg(init.fd, mem, N, MSG_WAITFORONE, null);
    used = got > 0 ? got : 0;
    if (Atomics.load(control, CTRL_SEQ) !== seenSeq) drainUpdates();
    if (got <= 0) {
      const e = libc.errno();
      if (got < 0 && e === EBADF) break;
      if (got < 0 && e !== EAGAIN && e !== EINTR) counters[INTERNAL_ERRORS]++;
      continue;
    }
    let toSend = 0;
    for (let i = 0; i < got; i++) {
      counters[Q_UDP]++;
      const rh = recvHdr + i * MMSGHDR_SIZE;
      const len = dv.getUint32(rh + MSG_LEN, true);
      if (dv.getInt32(rh + MSG_FLAGS, true) & MSG_TRUNC) {
        counters[MALFORMED]++;
        counters[DROPPED]++;
        continue;
      }
      const out = outSlot[i];
      let r: number;
      try {
        r = answerQuery(inSlot[i], len, out, false, ctx);
      } catch {
        counters[INTERNAL_ERRORS]++;
        continue;
      }
      if (r === FORWARD) {
        if (Atomics.load(control, CTRL_BACKLOG) >= init.maxForwardBacklog) {
          // The main thread is behind: fail fast rather than queue without bound.
          counters[FORWARD_OVERLOAD]++;
          r = rcodeReply(inSlot[i], out, RCODE_SERVFAIL, ctx);
        } else {
          Atomics.add(control, CTRL_BACKLOG, 1);
          const addrLen = dv.getUint32(rh + MSG_NAMELEN, true);
          post({
            type: 'forward',
            query: Uint8Array.from(inSlot[i].subarray(0, len)),
            addr: Uint8Array.from(
              bytes.subarray(addrs + i * SOCKADDR_SLOT, addrs + i * SOCKADDR_SLOT + addrLen),
            ),
          });
        }
      }
      if (r > 0) {
        countResponse(counters, out);
        if (sendMap[toSend] !== i) {
          const sh = sendHdr + toSend * MMSGHDR_SIZE;
          dv.setBigUint64(sh, addrOf(addrs + i * SOCKADDR_SLOT), true);
          dv.setBigUint64(sh + MSG_IOV, addrOf(sendIov + i * IOVEC_SIZE), true);
          sendMap[toSend] = i;
        }
        dv.setUint32(
          sendHdr + toSend * MMSGHDR_SIZE + MSG_NAMELEN,
          dv.getUint32(rh + MSG_NAMELEN, true),
          true,
        );
        dv.setUint32(sendIov + i * IOVEC_SIZE + 8, r, true); // iov_len; its high half stays 0
        toSend++;
      }
    }
    let sent = 0;
    while (sent < toSend) {
      const m = libc.sendmmsg(init.fd, sendBase + BigInt(sent * MMSGHDR_SIZE), toSend - sent, 0);
      if (m < 0) {
        const e = libc.errno();
        if (e === EINTR) continue;
        counters[SEND_ERRORS]++;
        sent++; // skip the message that failed and go on with the rest
      } else if (m === 0) {
        counters[SEND_ERRORS]++;
        sent++;
      } else {
        // A partial send: the message at `sent` failed; the next call retries it (and reports why).
        sent += m;
      }
    }
  }
  post({ type: 'stopped' });
}

try {
  run(workerData as WorkerInit);
} catch (e) {
  parentPort?.postMessage({
    type: 'fatal',
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
}
