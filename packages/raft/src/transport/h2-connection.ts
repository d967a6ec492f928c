import type { Duplex } from 'node:stream';
import type { HeaderList } from './hpack.js';
import { HpackDecoder, HpackError } from './hpack.js';

/*
 * One HTTP/2 connection (RFC 9113), as much as gRPC needs: streams, flow control both ways,
 * SETTINGS/PING/GOAWAY/RST_STREAM, CONTINUATION. The server and client roles
 * (h2-server-connection.ts, h2-client-connection.ts) differ only in who opens streams.
 *
 * Frames go to the socket as they are made (a frame's header and payload in one writev), so a
 * raft message leaves while its Ready is still being handled, and a response's headers, message
 * and trailers leave together (node:http2 defers writes to the next check phase and sends
 * trailers one loop turn after the data).
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const T_DATA = 0;
const T_HEADERS = 1;
const T_PRIORITY = 2;
const T_RST_STREAM = 3;
const T_SETTINGS = 4;
const T_PUSH_PROMISE = 5;
const T_PING = 6;
const T_GOAWAY = 7;
const T_WINDOW_UPDATE = 8;
const T_CONTINUATION = 9;

const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

export const H2Error = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export const Setting = {
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** Our SETTINGS_MAX_FRAME_SIZE (the protocol's default). */
const MAX_FRAME = 16_384;
/** Frames up to this payload size are written as one buffer with their header. */
const SMALL_FRAME = 4096;
/** Largest header block (all its frames) accepted before the connection is closed. */
const MAX_HEADER_BLOCK = 256 * 1024;

export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v);
  return b;
}

/** One stream, either side. Callbacks are set by whoever owns the stream. */
export class H2Stream {
  /** A header block arrived (response headers, or trailers when `end`). */
  onHeaders: (headers: HeaderList, end: boolean) => void = () => {};
  onData: (chunk: Buffer) => void = () => {};
  /** The peer ended its side (after any headers and data). */
  onEnd: () => void = () => {};
  /** The stream was reset (by either side, with `code`) or the connection went away. */
  onReset: (code: number) => void = () => {};
  remoteOpen = true;
  localOpen = true;
  headersSent = false;
  sendWindow: number;
  recvUnacked = 0;
  /** Data waiting for flow-control window, and how the stream ends after it. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ending: { trailers: Buffer | undefined } | undefined;

  constructor(
    private readonly conn: H2Connection,
    readonly id: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /** Bytes written and not yet sent for lack of flow-control window. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Coalesces what this side writes until the end of the current job into one socket write. */
  hold(): void {
    this.conn.hold();
  }

  sendHeaders(block: Buffer, endStream: boolean): void {
    if (!this.localOpen) return;
    this.headersSent = true;
    this.conn.sendHeaders(this.id, block, endStream);
    if (endStream) this.conn.localEnded(this);
  }

  write(data: Buffer): void {
    if (!this.localOpen || this.ending || data.length === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.flush();
  }

  /** Ends this side after the data written: with trailers, or an empty DATA frame. */
  end(trailers?: Buffer): void {
    if (!this.localOpen || this.ending) return;
    this.ending = { trailers };
    this.flush();
  }

  reset(code: number): void {
    if (!this.localOpen && !this.remoteOpen) return;
    this.conn.resetStream(this, code);
  }

  /** Sends what the windows allow, then the end if it was asked for. */
  flush(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const endHere =
        this.pending.length === 1 && this.ending !== undefined && !this.ending.trailers;
      const n = this.conn.sendData(this, head, endHere);
      if (n === 0) return;
      this.pendingBytes -= n;
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        continue;
      }
      this.pending.shift();
      if (endHere) {
        this.conn.localEnded(this);
        return;
      }
    }
    if (this.ending && this.localOpen) {
      if (this.ending.trailers) this.conn.sendHeaders(this.id, this.ending.trailers, true);
      else this.conn.sendEmptyEnd(this.id);
      this.conn.localEnded(this);
    }
  }
}

export interface H2Options {
  /** Stream and connection receive window (bytes). */
  windowBytes: number;
  /** Settings announced besides the window (e.g. concurrency limits). */
  settings?: [id: number, value: number][];
}

/** The frame machinery shared by both roles. */
export abstract class H2Connection {
  protected readonly streams = new Map<number, H2Stream>();
  protected goingAway = false;
  protected closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private settingsSeen = false;
  private readonly decoder = new HpackDecoder();
  private continuation:
    | { stream: number; flags: number; parts: Buffer[]; size: number }
    | undefined;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvUnacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = MAX_FRAME;
  private readonly blocked = new Set<H2Stream>();
  /** Whether the peer's first bytes must be the client connection preface (server role). */
  protected expectPreface = false;

  constructor(
    protected readonly socket: Duplex,
    protected readonly opts: H2Options,
    private readonly onClose: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.teardown());
  }

  /** Sends the role's preface (if any), our SETTINGS and the connection window. */
  protected start(preface: Buffer | undefined): void {
    const settings = [
      [Setting.INITIAL_WINDOW_SIZE, this.opts.windowBytes],
      ...(this.opts.settings ?? []),
    ];
    const payload = Buffer.allocUnsafe(6 * settings.length);
    settings.forEach(([id, v], i) => {
      payload.writeUInt16BE(id!, 6 * i);
      payload.writeUInt32BE(v!, 6 * i + 2);
    });
    this.socket.cork();
    if (preface) this.socket.write(preface);
    this.frame(T_SETTINGS, 0, 0, payload);
    if (this.opts.windowBytes > DEFAULT_WINDOW) {
      this.frame(T_WINDOW_UPDATE, 0, 0, u32(this.opts.windowBytes - DEFAULT_WINDOW));
    }
    this.socket.uncork();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Role hook: a complete header block on stream `id` (not yet known as a stream, perhaps). */
  protected abstract onHeaderBlock(id: number, headers: HeaderList, end: boolean): void;

  // ------------------------------------------------------------------ output

  protected frame(type: number, flags: number, stream: number, payload: Buffer): void {
    if (this.closed) return;
    // Small frames are copied behind their header (one socket write); large ones are not copied.
    const small = payload.length <= SMALL_FRAME;
    const h = Buffer.allocUnsafe(small ? 9 + payload.length : 9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    if (small) {
      payload.copy(h, 9);
      this.socket.write(h);
      return;
    }
    this.socket.cork();
    this.socket.write(h);
    this.socket.write(payload);
    this.socket.uncork();
  }

  private held = false;

  hold(): void {
    if (this.held || this.closed) return;
    this.held = true;
    this.socket.cork();
    process.nextTick(() => {
      this.held = false;
      this.socket.uncork();
    });
  }

  protected newStream(id: number): H2Stream {
    const s = new H2Stream(this, id, this.peerInitialWindow);
    this.streams.set(id, s);
    return s;
  }

  sendHeaders(stream: number, block: Buffer, endStream: boolean): void {
    const end = endStream ? F_END_STREAM : 0;
    if (block.length <= this.peerMaxFrame) {
      this.frame(T_HEADERS, end | F_END_HEADERS, stream, block);
      return;
    }
    this.socket.cork();
    for (let off = 0; off < block.length; off += this.peerMaxFrame) {
      const part = block.subarray(off, off + this.peerMaxFrame);
      const last = off + this.peerMaxFrame >= block.length;
      const type = off === 0 ? T_HEADERS : T_CONTINUATION;
      this.frame(type, (off === 0 ? end : 0) | (last ? F_END_HEADERS : 0), stream, part);
    }
    this.socket.uncork();
  }

  /** Sends up to one frame of `data` as the windows allow; returns the bytes sent. */
  sendData(s: H2Stream, data: Buffer, endStream: boolean): number {
    const n = Math.min(data.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
    if (n <= 0) {
      this.blocked.add(s);
      return 0;
    }
    s.sendWindow -= n;
    this.connSendWindow -= n;
    const whole = n === data.length;
    this.frame(
      T_DATA,
      endStream && whole ? F_END_STREAM : 0,
      s.id,
      whole ? data : data.subarray(0, n),
    );
    return n;
  }

  sendEmptyEnd(stream: number): void {
    this.frame(T_DATA, F_END_STREAM, stream, Buffer.alloc(0));
  }

  localEnded(s: H2Stream): void {
    s.localOpen = false;
    this.blocked.delete(s);
    if (!s.remoteOpen) this.forget(s);
    else this.afterLocalEnd(s);
  }

  /** Role hook: this side finished a stream whose peer is still sending. */
  protected afterLocalEnd(_s: H2Stream): void {}

  /** Tells the peer to abandon stream `id` (the stream's own state is the caller's). */
  protected sendReset(id: number, code: number): void {
    this.frame(T_RST_STREAM, 0, id, u32(code));
  }

  resetStream(s: H2Stream, code: number): void {
    this.sendReset(s.id, code);
    s.localOpen = false;
    s.remoteOpen = false;
    this.forget(s);
    s.onReset(code);
  }

  protected forget(s: H2Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.maybeEnd();
  }

  /** Sends GOAWAY: no new streams; open ones finish, then the connection closes. */
  goaway(lastStreamId: number): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.frame(T_GOAWAY, 0, 0, Buffer.concat([u32(lastStreamId), u32(H2Error.NO_ERROR)]));
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.goingAway && this.streams.size === 0 && !this.closed) this.socket.end();
  }

  // ------------------------------------------------------------------ input

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      if (this.expectPreface) {
        const n = Math.min(this.buf.length, PREFACE.length);
        if (!this.buf.subarray(0, n).equals(PREFACE.subarray(0, n))) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
        }
        if (this.buf.length < PREFACE.length) return;
        this.buf = this.buf.subarray(PREFACE.length);
        this.expectPreface = false;
      }
      while (this.buf.length >= 9 && !this.closed) {
        const length = this.buf.readUIntBE(0, 3);
        if (length > MAX_FRAME) {
          throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
        }
        if (this.buf.length < 9 + length) break;
        const type = this.buf[3]!;
        const flags = this.buf[4]!;
        const stream = this.buf.readUInt32BE(5) & 0x7fffffff;
        const payload = this.buf.subarray(9, 9 + length);
        this.buf = this.buf.subarray(9 + length);
        this.onFrame(type, flags, stream, payload);
      }
    } catch (e) {
      if (e instanceof ConnectionError) this.fail(e.code, e.message);
      else if (e instanceof HpackError) this.fail(H2Error.COMPRESSION_ERROR, e.message);
      else throw e;
    }
  }

  /** The highest stream id this side has processed (for GOAWAY). */
  protected abstract lastProcessed(): number;

  /** Closes the connection with GOAWAY(code). */
  fail(code: number, message: string): void {
    if (this.closed) return;
    this.frame(
      T_GOAWAY,
      0,
      0,
      Buffer.concat([u32(this.lastProcessed()), u32(code), Buffer.from(message)]),
    );
    this.socket.end();
    this.teardown();
    // A peer that never closes its side is cut off.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of open) {
      s.localOpen = false;
      s.remoteOpen = false;
      s.onReset(H2Error.CANCEL);
    }
    this.onClose();
  }

  private onFrame(type: number, flags: number, stream: number, payload: Buffer): void {
    if (!this.settingsSeen && type !== T_SETTINGS) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
    }
    if (this.continuation && type !== T_CONTINUATION) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case T_DATA:
        this.onData(flags, stream, payload);
        break;
      case T_HEADERS:
        this.onHeaders(flags, stream, payload);
        break;
      case T_CONTINUATION:
        this.onContinuation(flags, stream, payload);
        break;
      case T_PRIORITY:
        if (stream === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        break;
      case T_RST_STREAM:
        this.onReset(stream, payload);
        break;
      case T_SETTINGS:
        this.onSettings(flags, stream, payload);
        break;
      case T_PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE is not accepted');
      case T_PING:
        if (stream !== 0 || payload.length !== 8) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed PING');
        }
        if (!(flags & F_ACK)) this.frame(T_PING, F_ACK, 0, Buffer.from(payload));
        break;
      case T_GOAWAY:
        this.onGoaway(payload);
        break;
      case T_WINDOW_UPDATE:
        this.onWindowUpdate(stream, payload);
        break;
      default:
        // Unknown frame types are ignored (RFC 9113 section 4.1).
        break;
    }
  }

  /** Role hook: the peer sent GOAWAY. */
  protected onGoaway(_payload: Buffer): void {}

  /** Strips the padding of a PADDED frame. */
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & F_PADDED)) return payload;
    if (payload.length < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
    const pad = payload[0]!;
    if (pad >= payload.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
    return payload.subarray(1, payload.length - pad);
  }

  /** Role hook: whether `id` is a stream that never existed (DATA on it is a protocol error). */
  protected abstract isIdle(id: number): boolean;

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    // The whole frame, padding included, counts against the windows.
    this.connRecvUnacked += payload.length;
    if (this.connRecvUnacked > this.opts.windowBytes) {
      throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window exceeded');
    }
    if (this.connRecvUnacked >= this.opts.windowBytes / 2) {
      this.frame(T_WINDOW_UPDATE, 0, 0, u32(this.connRecvUnacked));
      this.connRecvUnacked = 0;
    }
    const data = this.unpad(flags, payload);
    const s = this.streams.get(id);
    if (!s?.remoteOpen) {
      if (this.isIdle(id)) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      }
      // A stream this side closed or reset: its late frames are ignored (RFC 9113 5.1).
      return;
    }
    s.recvUnacked += payload.length;
    if (s.recvUnacked > this.opts.windowBytes) {
      this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    const end = (flags & F_END_STREAM) !== 0;
    if (!end && s.recvUnacked >= this.opts.windowBytes / 2) {
      this.frame(T_WINDOW_UPDATE, 0, id, u32(s.recvUnacked));
      s.recvUnacked = 0;
    }
    if (data.length > 0) s.onData(data);
    if (end) this.remoteEnded(s);
  }

  protected remoteEnded(s: H2Stream): void {
    if (!s.remoteOpen) return;
    s.remoteOpen = false;
    s.onEnd();
    if (!s.localOpen) this.forget(s);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let block = this.unpad(flags, payload);
    if (flags & F_PRIORITY) {
      if (block.length < 5) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad priority');
      block = block.subarray(5);
    }
    if (flags & F_END_HEADERS) {
      this.headerBlock(id, flags, block);
      return;
    }
    this.continuation = { stream: id, flags, parts: [Buffer.from(block)], size: block.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.continuation;
    if (!c || c.stream !== id) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    }
    c.size += payload.length;
    if (c.size > MAX_HEADER_BLOCK) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
    }
    c.parts.push(Buffer.from(payload));
    if (!(flags & F_END_HEADERS)) return;
    this.continuation = undefined;
    this.headerBlock(id, c.flags, Buffer.concat(c.parts, c.size));
  }

  private headerBlock(id: number, flags: number, block: Buffer): void {
    // Decoded whatever becomes of the stream: the decoder's table must stay in step.
    const headers = this.decoder.decode(block);
    this.onHeaderBlock(id, headers, (flags & F_END_STREAM) !== 0);
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0 || payload.length !== 4) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed RST_STREAM');
    }
    const s = this.streams.get(id);
    if (!s) return;
    s.localOpen = false;
    s.remoteOpen = false;
    this.forget(s);
    s.onReset(payload.readUInt32BE(0));
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & F_ACK) {
      if (payload.length !== 0) {
        throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ack with a payload');
      }
      return;
    }
    if (payload.length % 6 !== 0) {
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length');
    }
    this.settingsSeen = true;
    for (let off = 0; off < payload.length; off += 6) {
      const key = payload.readUInt16BE(off);
      const value = payload.readUInt32BE(off + 2);
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'initial window too large');
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < MAX_FRAME || value > 16_777_215) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'invalid max frame size');
        }
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE concerns an encoder's table (ours keeps none); the rest need nothing.
    }
    this.frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0));
    this.unblock();
  }

  private unblock(): void {
    for (const s of [...this.blocked]) {
      this.blocked.delete(s);
      s.flush();
    }
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    }
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'zero window increment');
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW) {
        throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow');
      }
      this.unblock();
      return;
    }
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.resetStream(s, inc === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.sendWindow += inc;
    if (this.blocked.delete(s)) s.flush();
  }
}
