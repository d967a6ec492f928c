import type { Socket } from 'node:net';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { GrpcServerTls } from './grpc-server.js';
import { frameMessage, GrpcStatus, GrpcStatusError, WINDOW_BYTES } from './grpc-server.js';
import { H2ClientConnection } from './h2-client-connection.js';
import { H2Error } from './h2-connection.js';
import { encodeHeaders, headerValue } from './hpack.js';

/*
 * The client half of the lean gRPC transport: one HTTP/2 connection per peer (our own HTTP/2
 * layer, h2-client-connection.ts) and client-streaming calls on it, speaking the gRPC wire
 * protocol to any gRPC server. A message goes to the socket when it is written, not a loop turn
 * later. Connections are made lazily and remade after a failure, waiting 100 ms after the first
 * failure and doubling up to 2 s.
 */

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/** One client-streaming call in progress. */
export interface ClientCall {
  /** Sends one message; false when the call is already over. */
  write(message: Buffer): boolean;
  /** Bytes queued and not yet handed to the socket. */
  readonly buffered: number;
  /** Half-closes: the server answers once it has read everything. */
  end(): void;
}

function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export class GrpcChannel {
  private conn: H2ClientConnection | undefined;
  private backoffMs = 0;
  private retryAt = 0;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly tls?: GrpcServerTls,
  ) {}

  private connect(): H2ClientConnection | undefined {
    if (this.conn?.usable) return this.conn;
    if (this.closed || performance.now() < this.retryAt) return undefined;
    const url = new URL(`http://${this.address}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const tls = this.tls;
    // Small frames must leave at once: no Nagle delay on the socket.
    const tcp = netConnect({ host, port, noDelay: true });
    const socket: Socket = tls
      ? tlsConnect({
          socket: tcp,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          ALPNProtocols: ['h2'],
          ...(isIP(host) ? {} : { servername: host }),
        })
      : tcp;
    // A refused or broken TCP connection closes the TLS socket over it too.
    if (socket !== tcp) tcp.once('close', () => socket.destroy());
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      this.backoffMs = 0;
    });
    const conn = new H2ClientConnection(socket, WINDOW_BYTES, () => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 || INITIAL_BACKOFF_MS);
      this.retryAt = performance.now() + this.backoffMs;
    });
    this.conn?.close();
    this.conn = conn;
    return conn;
  }

  /**
   * Starts a client-streaming call to `path`. `done` gets undefined when the server answered OK,
   * or the error that ended the call. Returns undefined (without calling `done`) while the peer
   * is in its reconnection backoff.
   */
  clientStream(path: string, done: (err?: GrpcStatusError) => void): ClientCall | undefined {
    const conn = this.connect();
    if (!conn) return undefined;
    const stream = conn.request(
      encodeHeaders([
        [':method', 'POST'],
        [':scheme', this.tls ? 'https' : 'http'],
        [':path', path],
        [':authority', this.address],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]),
    );
    if (!stream) return undefined;
    let status: GrpcStatusError | undefined;
    let sawStatus = false;
    let finished = false;
    const finish = (err?: GrpcStatusError) => {
      if (finished) return;
      finished = true;
      // The server may answer before reading everything: stop sending.
      if (stream.localOpen) stream.reset(H2Error.CANCEL);
      done(err);
    };
    stream.onHeaders = (h) => {
      const code = headerValue(h, 'grpc-status');
      if (code === undefined) return;
      sawStatus = true;
      status =
        code === '0'
          ? undefined
          : new GrpcStatusError(
              Number(code),
              decodeGrpcMessage(headerValue(h, 'grpc-message') ?? `status ${code}`),
            );
    };
    stream.onEnd = () =>
      finish(sawStatus ? status : new GrpcStatusError(GrpcStatus.UNAVAILABLE, 'stream closed'));
    stream.onReset = (code) =>
      finish(new GrpcStatusError(GrpcStatus.UNAVAILABLE, `stream reset (HTTP/2 error ${code})`));
    return {
      write: (m) => {
        if (finished || !stream.localOpen) return false;
        stream.write(frameMessage(m));
        return true;
      },
      get buffered() {
        return stream.buffered;
      },
      end: () => stream.end(),
    };
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
  }
}
