import type { Duplex } from 'node:stream';
import type { HeaderList } from './hpack.js';
import { HpackDecoder, HpackError } from './hpack.js';

/*
 * The server side of one HTTP/2 connection (RFC 9113), as much as a gRPC server needs: streams
 * opened by the client, flow control both ways, SETTINGS/PING/GOAWAY/RST_STREAM, CONTINUATION.
 * Everything written in one turn of the event loop leaves in one write, so a response's headers,
 * message and trailers reach the client together (node:http2 sends trailers a turn later, which
 * costs a unary call a wake-up of the client and a loop turn of the server).
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

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

const S_MAX_CONCURRENT_STREAMS = 3;
const S_INITIAL_WINDOW_SIZE = 4;
const S_MAX_FRAME_SIZE = 5;
const S_MAX_HEADER_LIST_SIZE = 6;

const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** Our SETTINGS_MAX_FRAME_SIZE (the protocol's default). */
const MAX_FRAME = 16_384;
/** Largest header block (all its frames) accepted before the connection is closed. */
const MAX_HEADER_BLOCK = 256 * 1024;

export interface H2ServerOptions {
  /** Stream and connection receive window (bytes). */
  windowBytes: number;
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger requests are refused. */
  maxHeaderListBytes: number;
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v);
  return b;
}

/** One request stream as the application sees it. */
export class H2ServerStream {
  /** Called with each piece of the request body, then once at its end (unless reset). */
  onData: (chunk: Buffer) => void = () => {};
  onEnd: () => void = () => {};
  /** The client reset the stream or the connection went away before the response ended. */
  onReset: () => void = () => {};
  remoteOpen = true;
  localOpen = true;
  headersSent = false;
  sendWindow: number;
  recvUnacked = 0;
  /** Response data waiting for flow-control window, and the trailers that follow it. */
  pendingData: Buffer | undefined;
  pendingTrailers: Buffer | undefined;

  constructor(
    private readonly conn: H2ServerConnection,
    readonly id: number,
    readonly headers: HeaderList,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  header(name: string): string | undefined {
    for (const [n, v] of this.headers) if (n === name) return v;
    return undefined;
  }

  /** Response headers, then `data` (if any), then the trailers ending the stream. */
  respond(headerBlock: Buffer, data: Buffer | undefined, trailerBlock: Buffer): void {
    if (!this.localOpen || this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaders(this.id, headerBlock, false);
    this.pendingData = data && data.length > 0 ? data : undefined;
    this.pendingTrailers = trailerBlock;
    this.conn.flushStream(this);
  }

  /** A header block that ends the stream (a trailers-only response). */
  respondEnd(headerBlock: Buffer): void {
    if (!this.localOpen || this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaders(this.id, headerBlock, true);
    this.conn.localEnded(this);
  }

  /** Abandons the stream (RST_STREAM). */
  reset(code: number): void {
    if (!this.localOpen) return;
    this.conn.resetStream(this, code);
  }
}

/** The server side of one HTTP/2 connection over `socket` (TCP, or TLS after the handshake). */
export class H2ServerConnection {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private settingsSeen = false;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2ServerStream>();
  private lastStreamId = 0;
  private goingAway = false;
  private closed = false;
  /** A header block being continued: stream, flags of its HEADERS frame, fragments so far. */
  private continuation:
    | { stream: number; flags: number; parts: Buffer[]; size: number }
    | undefined;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvUnacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = MAX_FRAME;
  private readonly blocked = new Set<H2ServerStream>();
  private out: Buffer[] = [];
  private flushScheduled = false;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: H2ServerOptions,
    private readonly onStream: (stream: H2ServerStream) => void,
    private readonly onClose: () => void,
  ) {
    const settings = [
      [S_MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [S_INITIAL_WINDOW_SIZE, opts.windowBytes],
      [S_MAX_HEADER_LIST_SIZE, opts.maxHeaderListBytes],
    ];
    const payload = Buffer.allocUnsafe(6 * settings.length);
    settings.forEach(([id, v], i) => {
      payload.writeUInt16BE(id!, 6 * i);
      payload.writeUInt32BE(v!, 6 * i + 2);
    });
    this.frame(T_SETTINGS, 0, 0, payload);
    if (opts.windowBytes > DEFAULT_WINDOW) {
      this.frame(T_WINDOW_UPDATE, 0, 0, u32(opts.windowBytes - DEFAULT_WINDOW));
    }
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.teardown());
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Refuses new streams, lets open ones finish, then closes the connection. */
  goaway(): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.frame(T_GOAWAY, 0, 0, Buffer.concat([u32(this.lastStreamId), u32(H2Error.NO_ERROR)]));
    this.maybeEnd();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ output

  private queue(b: Buffer): void {
    if (this.closed) return;
    this.out.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the current job and its promise reactions: responses completed together leave in
      // one write.
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    this.out = [];
    if (this.closed || out.length === 0) return;
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  private frame(type: number, flags: number, stream: number, payload: Buffer): void {
    this.queue(frameHeader(payload.length, type, flags, stream));
    if (payload.length > 0) this.queue(payload);
  }

  sendHeaders(stream: number, block: Buffer, endStream: boolean): void {
    const end = endStream ? F_END_STREAM : 0;
    if (block.length <= this.peerMaxFrame) {
      this.frame(T_HEADERS, end | F_END_HEADERS, stream, block);
      return;
    }
    for (let off = 0; off < block.length; off += this.peerMaxFrame) {
      const part = block.subarray(off, off + this.peerMaxFrame);
      const last = off + this.peerMaxFrame >= block.length;
      const type = off === 0 ? T_HEADERS : T_CONTINUATION;
      this.frame(type, (off === 0 ? end : 0) | (last ? F_END_HEADERS : 0), stream, part);
    }
  }

  /** Sends as much of the stream's pending data as the windows allow, then its trailers. */
  flushStream(s: H2ServerStream): void {
    while (s.pendingData) {
      const n = Math.min(
        s.pendingData.length,
        s.sendWindow,
        this.connSendWindow,
        this.peerMaxFrame,
      );
      if (n <= 0) {
        this.blocked.add(s);
        return;
      }
      this.frame(T_DATA, 0, s.id, s.pendingData.subarray(0, n));
      s.sendWindow -= n;
      this.connSendWindow -= n;
      s.pendingData = n < s.pendingData.length ? s.pendingData.subarray(n) : undefined;
    }
    this.blocked.delete(s);
    if (s.pendingTrailers) {
      const t = s.pendingTrailers;
      s.pendingTrailers = undefined;
      this.sendHeaders(s.id, t, true);
      this.localEnded(s);
    }
  }

  localEnded(s: H2ServerStream): void {
    s.localOpen = false;
    if (s.remoteOpen) {
      // The response is complete but the client is still sending: tell it to stop.
      this.frame(T_RST_STREAM, 0, s.id, u32(H2Error.NO_ERROR));
      s.remoteOpen = false;
    }
    this.forget(s);
  }

  resetStream(s: H2ServerStream, code: number): void {
    this.frame(T_RST_STREAM, 0, s.id, u32(code));
    s.localOpen = false;
    s.remoteOpen = false;
    this.forget(s);
  }

  private forget(s: H2ServerStream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.goingAway && this.streams.size === 0 && !this.closed) {
      this.flush();
      this.socket.end();
    }
  }

  // ------------------------------------------------------------------ input

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      if (!this.prefaceSeen) {
        const n = Math.min(this.buf.length, PREFACE.length);
        if (!this.buf.subarray(0, n).equals(PREFACE.subarray(0, n))) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
        }
        if (this.buf.length < PREFACE.length) return;
        this.buf = this.buf.subarray(PREFACE.length);
        this.prefaceSeen = true;
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

  private fail(code: number, message: string): void {
    if (this.closed) return;
    this.frame(
      T_GOAWAY,
      0,
      0,
      Buffer.concat([u32(this.lastStreamId), u32(code), Buffer.from(message)]),
    );
    this.flush();
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
      s.onReset();
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
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case T_PING:
        if (stream !== 0 || payload.length !== 8) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed PING');
        }
        if (!(flags & F_ACK)) this.frame(T_PING, F_ACK, 0, Buffer.from(payload));
        break;
      case T_WINDOW_UPDATE:
        this.onWindowUpdate(stream, payload);
        break;
      default:
        // GOAWAY needs nothing (the client closes); unknown types are ignored (RFC 9113 4.1).
        break;
    }
  }

  /** Strips the padding of a PADDED frame. */
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & F_PADDED)) return payload;
    if (payload.length < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
    const pad = payload[0]!;
    if (pad >= payload.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
    return payload.subarray(1, payload.length - pad);
  }

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
      if (id > this.lastStreamId) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      }
      // A stream this side closed or reset: its late frames are ignored (RFC 9113 5.1).
      return;
    }
    s.recvUnacked += payload.length;
    if (s.recvUnacked > this.opts.windowBytes) {
      this.resetStream(s, H2Error.FLOW_CONTROL_ERROR);
      s.onReset();
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

  private remoteEnded(s: H2ServerStream): void {
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
      this.onHeaderBlock(id, flags, block);
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
    this.onHeaderBlock(id, c.flags, Buffer.concat(c.parts, c.size));
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    // Decoded even when the stream is refused: the decoder's table must stay in step.
    const headers = this.decoder.decode(block);
    const end = (flags & F_END_STREAM) !== 0;
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers of the request: they must end it.
      if (!existing.remoteOpen || !end) {
        this.resetStream(existing, H2Error.PROTOCOL_ERROR);
        existing.onReset();
        return;
      }
      this.remoteEnded(existing);
      return;
    }
    if (id % 2 === 0 || id <= this.lastStreamId) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${id}`);
    }
    this.lastStreamId = id;
    let listSize = 0;
    for (const [n, v] of headers) listSize += n.length + v.length + 32;
    if (
      this.goingAway ||
      this.streams.size >= this.opts.maxConcurrentStreams ||
      listSize > this.opts.maxHeaderListBytes
    ) {
      this.frame(T_RST_STREAM, 0, id, u32(H2Error.REFUSED_STREAM));
      return;
    }
    const s = new H2ServerStream(this, id, headers, this.peerInitialWindow);
    this.streams.set(id, s);
    this.onStream(s);
    if (end) this.remoteEnded(s);
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
    s.onReset();
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
      if (key === S_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'initial window too large');
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === S_MAX_FRAME_SIZE) {
        if (value < MAX_FRAME || value > 16_777_215) {
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'invalid max frame size');
        }
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE concerns an encoder's table (ours keeps none); the rest need nothing.
    }
    this.frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0));
    for (const s of [...this.blocked]) this.flushStream(s);
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
      for (const s of [...this.blocked]) this.flushStream(s);
      return;
    }
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.resetStream(s, inc === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
      s.onReset();
      return;
    }
    s.sendWindow += inc;
    if (this.blocked.has(s)) this.flushStream(s);
  }
}
