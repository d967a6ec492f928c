// Request/reply engine over one netlink socket: batches many requests per send and matches the
// replies by sequence number, runs dumps and gets, resolves link names, and keeps the event loop
// responsive: a batch goes out in chunks sized so that each synchronous stretch (encoding a chunk,
// the kernel handling it, reading the replies) takes about `maxChunkMs`, with an event-loop turn
// between chunks; dumps are read one datagram per turn.
//
// The kernel handles a request inside the sender's sendto(): when it returns, every reply (or the
// first part of a dump) is already queued on the socket, so receiving never really waits. The
// calls are therefore synchronous; the bench measures the longest event-loop stall they cause.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { align4, type Message, MessageWriter, parseMessages, setSeq } from './codec/attributes.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './codec/constants.js';
import { parseDoneMessage, parseErrorMessage, type Status } from './codec/control.js';
import { NetlinkDecodeError, NetlinkError, NetlinkSpecError } from './errors.js';
import { type NetnsHandle, type NetnsRef, openNetns, releaseNetns } from './netns.js';
import {
  type Decoder,
  type EncodeContext,
  type LinkRef,
  type Request,
  UnresolvedLink,
  type Words,
} from './objects/common.js';
import { decodeLinkIndex, encodeLinkGet } from './objects/link.js';

const ENOBUFS = 105;
const ENODEV = 19;
const EINTR = 4;

/** Why one request of a batch failed. */
export type Failure = NetlinkError | NetlinkSpecError | NetlinkDecodeError;

/** How the items of a batch become requests. */
export interface BatchCodec<T> {
  /** Writes the item's request into `ctx.w`. */
  encode(item: T, ctx: EncodeContext): void;
  /** The words that name the item in its errors. */
  describe(item: T): Words;
  /** True when the item can change which link a name refers to (link add/delete/rename/move). */
  renames(item: T): boolean;
}

/** What the engine needs from a socket (NetlinkSocket; a scripted fake in tests). */
export interface Transport {
  /** Receive buffer that `receiveInto` fills. */
  readonly rx: Buffer;
  send(buf: Buffer): void;
  receiveInto(wait: boolean): number;
  receive(wait: boolean): Buffer | undefined;
  close(): void;
}

export interface EngineOptions {
  /** Most requests per sendto(). Default 1024. */
  chunkSize?: number;
  /**
   * Target length, in ms, of each synchronous stretch of a batch: encoding a chunk, the kernel
   * handling it, reading the replies (default 2). Chunks shrink when requests are costly (e.g.
   * routes, when thousands share a device) and grow back when they are cheap. The kernel handles
   * a chunk in one stretch under its routing lock; on a kernel without preemption a long stretch
   * can also keep this process's event-loop thread off the CPU.
   */
  maxChunkMs?: number;
  /** Time source in ms (default performance.now); tests drive chunk sizing with a fake one. */
  clock?: () => number;
  /** Attempts at a dump the kernel marks as interrupted by concurrent changes. Default 5. */
  dumpAttempts?: number;
}

function asFailure(e: unknown, field: string): Failure {
  if (
    e instanceof NetlinkError ||
    e instanceof NetlinkSpecError ||
    e instanceof NetlinkDecodeError
  ) {
    return e;
  }
  return new NetlinkSpecError(field, e instanceof Error ? e.message : String(e));
}

function fromStatus(status: Status, words: Words): NetlinkError {
  return new NetlinkError({
    errno: status.errno,
    operation: words.operation,
    kind: words.kind,
    target: words.describe(),
    kernelMessage: status.kernelMessage,
    attributeOffset: status.attributeOffset,
  });
}

/** A socket-level failure (send, receive) restated as the failure of a request. */
function fromSocketError(e: unknown, words: Words, note: string): Failure {
  if (e instanceof NetlinkError) {
    return new NetlinkError({
      errno: e.errno,
      operation: words.operation,
      kind: words.kind,
      target: words.describe(),
      kernelMessage: `${e.operation} failed; ${note}`,
    });
  }
  if (e instanceof NetlinkDecodeError) return e;
  throw e; // not a socket error: a bug, let it surface
}

/** Encodes a query without a kernel, for the words of an error: unknown names get index 0. */
const PLACEHOLDER: EncodeContext = {
  w: new MessageWriter(0),
  index: (ref) => (typeof ref === 'number' ? ref : 0),
  netnsFd: () => -1,
};

class BatchContext implements EncodeContext {
  readonly names = new Map<string, number>();
  private fds: NetnsHandle[] = [];

  constructor(readonly w: MessageWriter) {}

  index(ref: LinkRef, field: string): number {
    if (typeof ref === 'number') return ref;
    const i = this.names.get(ref);
    if (i === undefined) throw new UnresolvedLink(ref, field);
    return i;
  }

  netnsFd(ref: NetnsRef, field: string): number {
    const h = openNetns(ref, field);
    this.fds.push(h);
    return h.fd;
  }

  /** The namespace fds opened so far; the caller closes them once the requests are sent. */
  takeFds(): NetnsHandle[] {
    const fds = this.fds;
    this.fds = [];
    return fds;
  }
}

/** One batch call in progress. */
interface BatchRun<T> {
  items: readonly T[];
  codec: BatchCodec<T>;
  /** Per item: undefined (success) or why it failed. */
  results: (Failure | undefined)[];
  ctx: BatchContext;
}

function release(fds: NetnsHandle[]): void {
  for (const h of fds) releaseNetns(h);
}

/**
 * The requests of one datagram, back to back in the engine's writer. Request i has sequence
 * number seq0 + i, so a reply finds its request by subtraction.
 *
 * Only the last request asks for an ack (NLM_F_ACK): the kernel answers a failed request with an
 * error whether asked or not, and handles the requests of a datagram one after another, in order,
 * so once the last one is answered, every request without an error reply has succeeded. This
 * saves the kernel an ack message per request and us a recv() per request.
 */
class Chunk {
  size = 0;
  seq0 = 0;
  /** Whether a request may change what a link name refers to. */
  renames = false;
  /** The batch index of request i. */
  readonly slots: Int32Array;
  /** Where request i starts in the writer. */
  private readonly starts: Int32Array;

  constructor(capacity: number) {
    this.slots = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
  }

  add(slot: number, start: number): void {
    this.slots[this.size] = slot;
    this.starts[this.size] = start;
    this.size++;
  }

  /** Asks for an ack of the last request. */
  seal(w: MessageWriter): void {
    // NLM_F_ACK is in the low byte of nlmsg_flags.
    const flags = (this.starts[this.size - 1] as number) + 6;
    w.buf[flags] = (w.buf[flags] as number) | NLM_F_ACK;
  }

  /** The request a reply with this sequence number answers, or -1. */
  index(seq: number): number {
    const i = (seq - this.seq0) >>> 0;
    return i < this.size ? i : -1;
  }

  reset(): void {
    this.size = 0;
    this.renames = false;
  }
}

export class Engine {
  private tail: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly chunkSize: number;
  private readonly maxChunkMs: number;
  private readonly clock: () => number;
  /** Current requests-per-chunk limit, adapted to what a request costs. */
  private chunkLimit: number;

  private readonly dumpAttempts: number;
  private readonly rxView: DataView;
  /** Where a chunk's requests are written, back to back; sent as one datagram. */
  private readonly writer = new MessageWriter(1 << 16);
  private readonly chunk: Chunk;

  constructor(
    private readonly socket: Transport,
    opts: EngineOptions = {},
  ) {
    this.chunkSize = Math.max(1, opts.chunkSize ?? 1024);
    this.maxChunkMs = opts.maxChunkMs ?? 2;
    this.clock = opts.clock ?? (() => performance.now());
    this.chunkLimit = Math.min(16, this.chunkSize);
    this.dumpAttempts = Math.max(1, opts.dumpAttempts ?? 5);
    this.chunk = new Chunk(this.chunkSize);
    const rx = socket.rx;
    this.rxView = new DataView(rx.buffer, rx.byteOffset, rx.byteLength);
  }

  /** Runs `fn` after every earlier call has finished (one user of the socket at a time). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** The first of `n` consecutive sequence numbers. */
  private seqRange(n: number): number {
    const first = this.nextSeq();
    this.seq = (first + n - 1) >>> 0;
    return first;
  }

  /**
   * Runs every item in order; returns, per item, undefined on success or why it failed. Between
   * chunks the event loop gets a turn.
   */
  batch<T>(items: readonly T[], codec: BatchCodec<T>): Promise<(Failure | undefined)[]> {
    return this.exclusive(async () => {
      const b: BatchRun<T> = {
        items,
        codec,
        results: new Array(items.length).fill(undefined),
        ctx: new BatchContext(this.writer),
      };
      // Start small and double while requests are cheap (what the last batch did may not say
      // much about this one).
      this.chunkLimit = Math.min(16, this.chunkSize);
      try {
        for (let next = this.stretch(b, 0); next < items.length; next = this.stretch(b, next)) {
          await nextTurn();
        }
      } finally {
        release(b.ctx.takeFds());
      }
      return b.results;
    });
  }

  /**
   * One synchronous stretch of a batch: encodes items from `next` until the chunk is full, sends
   * it and reads the replies. Returns the first item not done yet.
   */
  private stretch<T>(b: BatchRun<T>, next: number): number {
    const started = this.clock();
    let slot = next;
    while (slot < b.items.length && this.chunk.size < this.chunkLimit) this.add(b, slot++);
    const size = this.chunk.size;
    this.flush(b);
    if (size > 0) this.adapt(size, this.clock() - started);
    return slot;
  }

  /** Encodes one item into the chunk (looking up link names it needs), or records why not. */
  private add<T>(b: BatchRun<T>, slot: number): void {
    const item = b.items[slot] as T;
    const w = this.writer;
    const c = this.chunk;
    for (;;) {
      // A chunk's requests are numbered seq0, seq0 + 1, ... (the writer puts the number in).
      if (c.size === 0) c.seq0 = this.seqRange(this.chunkLimit);
      w.seq = (c.seq0 + c.size) >>> 0;
      const start = w.len;
      try {
        b.codec.encode(item, b.ctx);
        c.add(slot, start);
        break;
      } catch (e) {
        w.discard();
        if (!(e instanceof UnresolvedLink)) {
          b.results[slot] = asFailure(e, 'operation');
          return; // (its namespace fds, if any, are closed with the chunk)
        }
        // Earlier requests may create or rename that link: they go first.
        if (c.renames) this.flush(b);
        const index = this.resolveName(e, () => b.codec.describe(item));
        if (typeof index !== 'number') {
          b.results[slot] = index;
          return;
        }
        b.ctx.names.set(e.name, index);
      }
    }
    if (b.codec.renames(item)) {
      b.ctx.names.clear();
      c.renames = true;
    }
  }

  /** Sends the chunk and reads its replies. */
  private flush<T>(b: BatchRun<T>): void {
    const c = this.chunk;
    if (c.size === 0) return;
    const fds = b.ctx.takeFds();
    try {
      c.seal(this.writer);
      try {
        this.socket.send(this.writer.bytes());
      } catch (e) {
        for (let i = 0; i < c.size; i++) {
          const slot = c.slots[i] as number;
          b.results[slot] = fromSocketError(
            e,
            b.codec.describe(b.items[slot] as T),
            'nothing was sent',
          );
        }
        return;
      }
      this.collect(b);
    } finally {
      release(fds);
      c.reset();
      this.writer.clear();
    }
  }

  /** Sizes the next chunks so that a synchronous stretch takes about maxChunkMs. */
  private adapt(size: number, ms: number): void {
    const perRequest = ms / size;
    const fit = perRequest > 0 ? Math.floor(this.maxChunkMs / perRequest) : this.chunkSize;
    // Shrink at once, grow at most twofold per chunk.
    this.chunkLimit = Math.max(1, Math.min(this.chunkSize, fit, this.chunkLimit * 2));
  }

  /**
   * Reads the replies to a sent chunk (they are already queued) until the last request's ack,
   * and records the requests the kernel refused.
   */
  private collect<T>(b: BatchRun<T>): void {
    const dv = this.rxView;
    for (;;) {
      let n: number;
      try {
        n = this.socket.receiveInto(true);
      } catch (e) {
        this.lost(e, b);
        return;
      }
      // Read in place; only error replies are copied and decoded in full.
      let off = 0;
      let done = false;
      while (off + 16 <= n) {
        const len = dv.getUint32(off, true);
        if (len < 16 || len > n - off) break;
        if (dv.getUint16(off + 4, true) === NLMSG_ERROR) {
          const reply = this.socket.rx.subarray(off, off + len);
          done = this.record(reply, b) || done;
        }
        off += align4(len);
      }
      if (done) return;
    }
  }

  /**
   * Records one NLMSG_ERROR reply (an ack, or why a request failed); true when it answers the
   * chunk's last request. Replies to other requests (stale ones) are ignored.
   */
  private record<T>(reply: Buffer, b: BatchRun<T>): boolean {
    const c = this.chunk;
    const i = c.index(reply.readUInt32LE(8));
    if (i < 0) return false;
    if (reply.length < 20 || reply.readInt32LE(16) !== 0) {
      const slot = c.slots[i] as number;
      const words = b.codec.describe(b.items[slot] as T);
      try {
        const [m] = parseMessages(Buffer.from(reply));
        b.results[slot] = fromStatus(parseErrorMessage(m as Message), words);
      } catch (e) {
        b.results[slot] = asFailure(e, words.kind);
      }
    }
    return i === c.size - 1;
  }

  /**
   * Receiving failed: ENOBUFS (the kernel dropped replies for want of room) or no reply in time.
   * Requests without an error reply are then in an unknown state, unless the replies that did
   * arrive include the last request's ack.
   */
  private lost<T>(e: unknown, b: BatchRun<T>): void {
    const c = this.chunk;
    const overrun = e instanceof NetlinkError && e.errno === ENOBUFS;
    let complete = false;
    if (overrun) {
      // Take the replies that did arrive.
      try {
        for (let d = this.socket.receive(false); d; d = this.socket.receive(false)) {
          for (const m of parseMessages(d)) {
            if (m.type !== NLMSG_ERROR) continue;
            const reply = d.subarray(m.offset, m.offset + 16 + m.body.length);
            complete = this.record(reply, b) || complete;
          }
        }
      } catch {
        // Whatever is still waiting stays unknown.
      }
    }
    if (complete) return;
    const note = overrun
      ? 'the reply was lost (receive buffer overrun); the change may or may not be applied'
      : 'no reply; the change may or may not be applied';
    for (let i = 0; i < c.size; i++) {
      const slot = c.slots[i] as number;
      if (b.results[slot] === undefined) {
        b.results[slot] = fromSocketError(e, b.codec.describe(b.items[slot] as T), note);
      }
    }
  }

  /**
   * Looks a link name up. On failure, returns an error naming the request that needed it
   * (`words` gives its words).
   */
  private resolveName(e: UnresolvedLink, words: () => Words): number | Failure {
    try {
      return this.getNow(encodeLinkGet(e.name, PLACEHOLDER), decodeLinkIndex);
    } catch (err) {
      if (!(err instanceof NetlinkError)) return asFailure(err, e.field);
      const w = words();
      return new NetlinkError({
        errno: err.errno,
        operation: w.operation,
        kind: w.kind,
        target: w.describe(),
        kernelMessage:
          err.errno === ENODEV
            ? `no link named "${e.name}" (${e.field})`
            : `looking up link "${e.name}" (${e.field}): ${err.message}`,
      });
    }
  }

  /** Encodes a query with link names resolved first; returns it and the fds to close. */
  private prepare(make: (ctx: EncodeContext) => Request): { req: Request; fds: NetnsHandle[] } {
    const ctx = new BatchContext(PLACEHOLDER.w);
    for (;;) {
      try {
        return { req: make(ctx), fds: ctx.takeFds() };
      } catch (e) {
        release(ctx.takeFds());
        if (!(e instanceof UnresolvedLink)) throw e;
        // Its words come from encoding it once more with a placeholder index (encoding is pure).
        const index = this.resolveName(e, () => make(PLACEHOLDER));
        if (typeof index !== 'number') throw index;
        ctx.names.set(e.name, index);
      }
    }
  }

  /** A request answered by one message (RTM_GET* without NLM_F_DUMP). */
  get<T>(make: (ctx: EncodeContext) => Request, decode: Decoder<T>): Promise<T> {
    return this.exclusive(async () => {
      const { req, fds } = this.prepare(make);
      try {
        return this.getNow(req, decode);
      } finally {
        release(fds);
      }
    });
  }

  private getNow<T>(req: Request, decode: Decoder<T>): T {
    const seq = this.nextSeq();
    setSeq(req.message, seq);
    try {
      this.socket.send(req.message);
    } catch (e) {
      throw fromSocketError(e, req, 'nothing was sent');
    }
    for (;;) {
      let dgram: Buffer | undefined;
      try {
        dgram = this.socket.receive(true);
      } catch (e) {
        throw fromSocketError(e, req, 'no reply');
      }
      for (const m of parseMessages(dgram as Buffer)) {
        if (m.seq !== seq || m.type === NLMSG_NOOP) continue;
        if (m.type === NLMSG_ERROR) {
          const status = parseErrorMessage(m);
          if (status.errno !== 0) throw fromStatus(status, req);
          continue;
        }
        return decode(m);
      }
    }
  }

  /**
   * A dump: every object of a kind, decoded (messages decoded to undefined are skipped); retried
   * when the kernel flags it as interrupted by concurrent changes.
   */
  dump<T>(make: (ctx: EncodeContext) => Request, decode: Decoder<T | undefined>): Promise<T[]> {
    return this.exclusive(async () => {
      const { req, fds } = this.prepare(make);
      release(fds);
      for (let attempt = 1; attempt <= this.dumpAttempts; attempt++) {
        const { items, interrupted } = await this.dumpOnce(req, decode);
        if (!interrupted) return items;
      }
      throw new NetlinkError({
        errno: EINTR,
        operation: req.operation,
        kind: req.kind,
        target: req.describe(),
        kernelMessage: `the dump was interrupted by concurrent changes ${this.dumpAttempts} times`,
      });
    });
  }

  private async dumpOnce<T>(
    req: Request,
    decode: Decoder<T | undefined>,
  ): Promise<{ items: T[]; interrupted: boolean }> {
    const seq = this.nextSeq();
    setSeq(req.message, seq);
    try {
      this.socket.send(req.message);
    } catch (e) {
      throw fromSocketError(e, req, 'nothing was sent');
    }
    const items: T[] = [];
    let interrupted = false;
    let failure: Failure | undefined;
    for (let first = true; ; first = false) {
      // The kernel fills the next datagram while we receive; let the event loop in between.
      if (!first) await nextTurn();
      let messages: Message[];
      try {
        messages = parseMessages(this.socket.receive(true) as Buffer);
      } catch (e) {
        throw fromSocketError(e, req, 'the dump is incomplete');
      }
      for (const m of messages) {
        if (m.seq !== seq || m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE) {
          const status = parseDoneMessage(m);
          if (status.errno !== 0) throw fromStatus(status, req);
          if (failure) throw failure;
          return { items, interrupted };
        }
        if (m.type === NLMSG_ERROR) {
          const status = parseErrorMessage(m);
          if (status.errno !== 0) throw fromStatus(status, req);
          continue;
        }
        if (failure) continue; // keep draining the dump so the socket stays in step
        try {
          const item = decode(m);
          if (item !== undefined) items.push(item);
        } catch (e) {
          failure = asFailure(e, req.kind);
        }
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}
