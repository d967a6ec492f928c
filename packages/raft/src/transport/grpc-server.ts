import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createServer as createTlsServer } from 'node:tls';
import type { H2Stream } from './h2-connection.js';
import { H2Error } from './h2-connection.js';
import type { H2ServerStream } from './h2-server-connection.js';
import { H2ServerConnection } from './h2-server-connection.js';
import type { HeaderList } from './hpack.js';
import { encodeHeaders, headerValue } from './hpack.js';

/*
 * A lean gRPC server: unary and client-streaming methods with raw byte payloads, speaking the gRPC
 * wire protocol (length-prefixed messages, status in trailers) to any gRPC client over its own
 * HTTP/2 layer (h2-server-connection.ts). It does a fraction of @grpc/grpc-js's per-call work (no
 * interceptor chain, no metadata objects), which is most of a Raft leader's CPU when clients send
 * many small requests, and a response's headers, message and trailers leave in one write.
 */

/** gRPC status codes used here (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  FAILED_PRECONDITION: 9,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

/** A call's outcome other than OK; `metadata` goes into the trailers (ASCII values). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

/** PEM material for mutual TLS: the server presents `cert` and requires clients signed by `ca`. */
export interface GrpcServerTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export type UnaryHandler = (request: Buffer) => Promise<Buffer> | Buffer;

/** One client-streaming call, as its handler sees it. */
export interface ClientStreamCall {
  /** Ends the call with a response (status OK) or an error status; later calls are ignored. */
  finish(result: Buffer | GrpcStatusError): void;
}

/** What a client-streaming handler does with each message and with the end of the stream. */
export interface ClientStreamHandlers {
  message(m: Buffer): void;
  end(): void;
}

type Route =
  | { kind: 'unary'; handler: UnaryHandler }
  | { kind: 'stream'; open: (call: ClientStreamCall) => ClientStreamHandlers };

export interface GrpcServerOptions {
  tls?: GrpcServerTls;
  /** Largest message accepted, in bytes (default 16 MiB); larger ones fail the call. */
  maxMessageBytes?: number;
}

const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
const UNSUPPORTED_MEDIA_TYPE = encodeHeaders([[':status', '415']]);
/** HTTP/2 flow-control windows large enough that a burst of appends never waits for an update. */
export const WINDOW_BYTES = 16 * 1024 * 1024;

/** A gRPC length-prefixed message (uncompressed). */
export function frameMessage(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** Splits an HTTP/2 byte stream into gRPC messages (5-byte prefix: compressed flag, length). */
class MessageReader {
  private pending: Buffer | undefined;

  constructor(private readonly max: number) {}

  /** Returns the complete messages in `chunk` (with what came before), or an error text. */
  push(chunk: Buffer, out: Buffer[]): string | undefined {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    while (buf.length - off >= 5) {
      if (buf[off] !== 0) return 'compressed messages are not supported';
      const len = buf.readUInt32BE(off + 1);
      if (len > this.max) return `message of ${len} bytes exceeds the limit of ${this.max}`;
      if (buf.length - off < 5 + len) break;
      out.push(buf.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    if (off < buf.length) this.pending = buf.subarray(off);
    return undefined;
  }

  get partial(): boolean {
    return this.pending !== undefined;
  }
}

/** grpc-message encoding: printable ASCII except '%' as is, every other byte as %XX. */
function encodeGrpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Ends `stream` with a status only (a "trailers-only" response), if it is still open. */
function sendStatus(stream: H2Stream, e: GrpcStatusError): void {
  if (!stream.localOpen) return;
  if (stream.headersSent) {
    stream.reset(H2Error.INTERNAL_ERROR);
    return;
  }
  const headers: HeaderList = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', String(e.code)],
    ['grpc-message', encodeGrpcMessage(e.message)],
  ];
  for (const [k, v] of Object.entries(e.metadata)) headers.push([k.toLowerCase(), v]);
  stream.hold();
  stream.sendHeaders(encodeHeaders(headers), true);
}

/** Headers, message and trailers: one write, shared with the other responses of this job. */
function sendResponse(stream: H2Stream, payload: Buffer): void {
  if (!stream.localOpen) return;
  stream.hold();
  stream.sendHeaders(RESPONSE_HEADERS, false);
  stream.write(frameMessage(payload));
  stream.end(OK_TRAILERS);
}

function asStatus(e: unknown): GrpcStatusError {
  return e instanceof GrpcStatusError
    ? e
    : new GrpcStatusError(GrpcStatus.INTERNAL, (e as Error)?.message ?? String(e));
}

export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly server: Server;
  private readonly connections = new Set<H2ServerConnection>();
  private readonly maxMessageBytes: number;

  constructor(opts: GrpcServerOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
    const onSocket = (socket: Socket) => this.onConnection(socket);
    if (opts.tls) {
      const server = createTlsServer(
        {
          ca: opts.tls.ca,
          cert: opts.tls.cert,
          key: opts.tls.key,
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: ['h2'],
        },
        onSocket,
      );
      // A failed handshake concerns that connection only.
      server.on('tlsClientError', () => {});
      this.server = server;
    } else {
      this.server = createServer(onSocket);
    }
  }

  private onConnection(socket: Socket | TLSSocket): void {
    socket.setNoDelay(true);
    const conn = new H2ServerConnection(
      socket,
      { windowBytes: WINDOW_BYTES, maxConcurrentStreams: 10_000, maxHeaderListBytes: 64 * 1024 },
      (stream) => this.onStream(stream),
      () => this.connections.delete(conn),
    );
    this.connections.add(conn);
  }

  /** Adds a unary method at `path` (`/package.Service/Method`). */
  unary(path: string, handler: UnaryHandler): this {
    this.addRoute(path, { kind: 'unary', handler });
    return this;
  }

  /** Adds a client-streaming method at `path`. */
  clientStream(path: string, open: (call: ClientStreamCall) => ClientStreamHandlers): this {
    this.addRoute(path, { kind: 'stream', open });
    return this;
  }

  private addRoute(path: string, route: Route): void {
    if (!/^\/[^/]+\/[^/]+$/.test(path)) {
      throw new Error(`grpc server: method path must be /Service/Method, got "${path}"`);
    }
    if (this.routes.has(path)) throw new Error(`grpc server: ${path} is already registered`);
    this.routes.set(path, route);
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the port. */
  listen(address: string): Promise<number> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(new Error(`grpc server: expected host:port, got "${address}"`));
    }
    return new Promise((resolve, reject) => {
      const onError = (e: Error) =>
        reject(new Error(`grpc server: cannot listen on ${address}: ${e.message}`));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** Stops accepting, lets calls in progress finish for up to `graceMs`, then cuts connections. */
  close(graceMs = 1000): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.connections) c.destroy();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const c of this.connections) c.shutdown();
    });
  }

  private onStream({ stream, headers }: H2ServerStream): void {
    const path = headerValue(headers, ':path') ?? '';
    const type = headerValue(headers, 'content-type') ?? '';
    if (headerValue(headers, ':method') !== 'POST' || !type.startsWith('application/grpc')) {
      stream.sendHeaders(UNSUPPORTED_MEDIA_TYPE, true);
      return;
    }
    const route = this.routes.get(path);
    if (!route) {
      sendStatus(stream, new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`));
      return;
    }
    if (route.kind === 'unary') this.serveUnary(stream, route.handler);
    else this.serveStream(stream, route.open);
  }

  private serveUnary(stream: H2Stream, handler: UnaryHandler): void {
    const reader = new MessageReader(this.maxMessageBytes);
    const messages: Buffer[] = [];
    let failed = false;
    const fail = (e: GrpcStatusError) => {
      failed = true;
      sendStatus(stream, e);
    };
    stream.onData = (chunk) => {
      if (failed) return;
      const err = reader.push(chunk, messages);
      if (err) fail(new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, err));
    };
    stream.onEnd = () => {
      if (failed) return;
      if (messages.length !== 1 || reader.partial) {
        fail(
          new GrpcStatusError(
            GrpcStatus.INVALID_ARGUMENT,
            `a unary call takes exactly one whole message, got ${messages.length}${reader.partial ? ' and a partial one' : ''}`,
          ),
        );
        return;
      }
      let result: Promise<Buffer> | Buffer;
      try {
        result = handler(messages[0]!);
      } catch (e) {
        fail(asStatus(e));
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (r) => sendResponse(stream, r),
          (e) => fail(asStatus(e)),
        );
      } else sendResponse(stream, result);
    };
  }

  private serveStream(
    stream: H2Stream,
    open: (call: ClientStreamCall) => ClientStreamHandlers,
  ): void {
    const reader = new MessageReader(this.maxMessageBytes);
    let done = false;
    const call: ClientStreamCall = {
      finish: (result) => {
        if (done) return;
        done = true;
        if (result instanceof GrpcStatusError) sendStatus(stream, result);
        else sendResponse(stream, result);
      },
    };
    const handlers = open(call);
    const messages: Buffer[] = [];
    stream.onData = (chunk) => {
      if (done) return;
      const err = reader.push(chunk, messages);
      for (const m of messages) {
        if (done) break;
        handlers.message(m);
      }
      messages.length = 0;
      if (err) call.finish(new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, err));
    };
    stream.onEnd = () => {
      if (done) return;
      if (reader.partial) {
        call.finish(
          new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'stream ended inside a message'),
        );
        return;
      }
      handlers.end();
    };
  }
}
