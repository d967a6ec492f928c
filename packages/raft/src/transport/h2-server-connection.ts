import type { Duplex } from 'node:stream';
import type { H2Stream } from './h2-connection.js';
import { ConnectionError, H2Connection, H2Error, Setting } from './h2-connection.js';
import type { HeaderList } from './hpack.js';

export interface H2ServerOptions {
  /** Stream and connection receive window (bytes). */
  windowBytes: number;
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger requests are refused. */
  maxHeaderListBytes: number;
}

/** A stream opened by the client, with its request headers. */
export interface H2ServerStream {
  stream: H2Stream;
  headers: HeaderList;
}

/** The server side of one HTTP/2 connection over `socket` (TCP, or TLS after the handshake). */
export class H2ServerConnection extends H2Connection {
  private lastStreamId = 0;

  constructor(
    socket: Duplex,
    private readonly serverOpts: H2ServerOptions,
    private readonly onStream: (s: H2ServerStream) => void,
    onClose: () => void,
  ) {
    super(
      socket,
      {
        windowBytes: serverOpts.windowBytes,
        settings: [
          [Setting.MAX_CONCURRENT_STREAMS, serverOpts.maxConcurrentStreams],
          [Setting.MAX_HEADER_LIST_SIZE, serverOpts.maxHeaderListBytes],
        ],
      },
      onClose,
    );
    this.expectPreface = true;
    this.start(undefined);
  }

  /** Refuses new streams, lets open ones finish, then closes the connection. */
  shutdown(): void {
    this.goaway(this.lastStreamId);
  }

  protected lastProcessed(): number {
    return this.lastStreamId;
  }

  protected isIdle(id: number): boolean {
    return id > this.lastStreamId;
  }

  /** The response is complete but the client is still sending: tell it to stop. */
  protected override afterLocalEnd(s: H2Stream): void {
    this.sendReset(s.id, H2Error.NO_ERROR);
    s.remoteOpen = false;
    this.forget(s);
  }

  protected onHeaderBlock(id: number, headers: HeaderList, end: boolean): void {
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers of the request: they must end it.
      if (!existing.remoteOpen || !end) {
        this.resetStream(existing, H2Error.PROTOCOL_ERROR);
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
      this.streams.size >= this.serverOpts.maxConcurrentStreams ||
      listSize > this.serverOpts.maxHeaderListBytes
    ) {
      this.sendReset(id, H2Error.REFUSED_STREAM);
      return;
    }
    const stream = this.newStream(id);
    this.onStream({ stream, headers });
    if (end) this.remoteEnded(stream);
  }
}
