import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { connect, constants } from 'node:http2';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { GrpcServerTls } from './grpc-server.js';
import { frameMessage, GrpcStatus, GrpcStatusError, WINDOW_BYTES } from './grpc-server.js';

/*
 * The client half of the lean gRPC transport: one HTTP/2 connection per peer and client-streaming
 * calls on it, speaking the gRPC wire protocol to any gRPC server. Connections are made lazily
 * and remade after a failure, waiting 100 ms after the first failure and doubling up to 2 s.
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
  private session: ClientHttp2Session | undefined;
  private backoffMs = 0;
  private retryAt = 0;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly tls?: GrpcServerTls,
  ) {}

  private connect(): ClientHttp2Session | undefined {
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    if (this.closed || performance.now() < this.retryAt) return undefined;
    const authority = `${this.tls ? 'https' : 'http'}://${this.address}`;
    const url = new URL(authority);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const tls = this.tls;
    // Small frames must leave at once: no Nagle delay on the socket.
    const createConnection = () => {
      const socket = netConnect({ host, port, noDelay: true });
      if (!tls) return socket;
      return tlsConnect({
        socket,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        ALPNProtocols: ['h2'],
        ...(isIP(host) ? {} : { servername: host }),
      });
    };
    const session = connect(authority, {
      settings: { initialWindowSize: WINDOW_BYTES },
      createConnection,
    });
    session.on('connect', () => {
      this.backoffMs = 0;
      session.setLocalWindowSize(WINDOW_BYTES);
    });
    const failed = () => {
      if (this.session !== session) return;
      this.session = undefined;
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 || INITIAL_BACKOFF_MS);
      this.retryAt = performance.now() + this.backoffMs;
    };
    session.on('error', failed);
    session.on('close', failed);
    session.on('goaway', failed);
    this.session = session;
    return session;
  }

  /**
   * Starts a client-streaming call to `path`. `done` gets undefined when the server answered OK,
   * or the error that ended the call. Returns undefined (without calling `done`) while the peer
   * is in its reconnection backoff.
   */
  clientStream(path: string, done: (err?: GrpcStatusError) => void): ClientCall | undefined {
    const session = this.connect();
    if (!session) return undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: path,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        te: 'trailers',
      });
    } catch (e) {
      session.destroy();
      done(new GrpcStatusError(GrpcStatus.UNAVAILABLE, (e as Error).message));
      return undefined;
    }
    let status: GrpcStatusError | undefined;
    let finished = false;
    const finish = (err?: GrpcStatusError) => {
      if (finished) return;
      finished = true;
      done(err);
    };
    const readStatus = (h: Record<string, unknown>) => {
      const code = h['grpc-status'];
      if (code === undefined) return;
      status =
        code === '0'
          ? undefined
          : new GrpcStatusError(
              Number(code),
              decodeGrpcMessage(String(h['grpc-message'] ?? `status ${String(code)}`)),
            );
    };
    let sawStatus = false;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) sawStatus = true;
      readStatus(h);
    });
    stream.on('trailers', (h) => {
      sawStatus = true;
      readStatus(h);
    });
    stream.on('data', () => {});
    stream.on('error', (e) => finish(new GrpcStatusError(GrpcStatus.UNAVAILABLE, e.message)));
    stream.on('close', () => {
      if (!sawStatus) status ??= new GrpcStatusError(GrpcStatus.UNAVAILABLE, 'stream closed');
      finish(status);
    });
    return {
      write: (m) => {
        if (finished || stream.destroyed) return false;
        stream.write(frameMessage(m));
        return true;
      },
      get buffered() {
        return stream.writableLength;
      },
      end: () => {
        if (!stream.destroyed) stream.end();
      },
    };
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }
}
