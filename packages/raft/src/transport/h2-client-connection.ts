import type { Duplex } from 'node:stream';
import type { H2Stream } from './h2-connection.js';
import { ConnectionError, H2Connection, H2Error, PREFACE, Setting } from './h2-connection.js';
import type { HeaderList } from './hpack.js';

const MAX_STREAM_ID = 2 ** 31 - 1;

/** The client side of one HTTP/2 connection: opens streams, never accepts any. */
export class H2ClientConnection extends H2Connection {
  private nextStreamId = 1;

  constructor(socket: Duplex, windowBytes: number, onClose: () => void) {
    super(socket, { windowBytes, settings: [[Setting.ENABLE_PUSH, 0]] }, onClose);
    this.start(PREFACE);
  }

  /** Whether new streams can be opened (not closed, no GOAWAY either way). */
  get usable(): boolean {
    return !this.closed && !this.goingAway && this.nextStreamId <= MAX_STREAM_ID;
  }

  /** Opens a stream with a request header block; undefined when the connection takes no more. */
  request(headerBlock: Buffer): H2Stream | undefined {
    if (!this.usable) return undefined;
    const s = this.newStream(this.nextStreamId);
    this.nextStreamId += 2;
    s.sendHeaders(headerBlock, false);
    return s;
  }

  /** Sends GOAWAY; the connection closes once its streams are done (or after `graceMs`). */
  close(graceMs = 1000): void {
    this.goaway(0);
    setTimeout(() => this.destroy(), graceMs).unref();
  }

  protected lastProcessed(): number {
    return 0;
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id >= this.nextStreamId;
  }

  protected onHeaderBlock(id: number, headers: HeaderList, end: boolean): void {
    const s = this.streams.get(id);
    if (!s) {
      if (this.isIdle(id)) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${id}`);
      }
      return;
    }
    s.onHeaders(headers, end);
    if (end) this.remoteEnded(s);
  }

  /** Streams above the server's last one were not processed: they fail at once. */
  protected override onGoaway(payload: Buffer): void {
    if (payload.length < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY length');
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    this.goingAway = true;
    for (const s of [...this.streams.values()]) {
      if (s.id > last) this.resetStream(s, H2Error.REFUSED_STREAM);
    }
    if (this.streams.size === 0) this.socket.end();
  }
}
