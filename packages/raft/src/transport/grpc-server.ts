import type {
  Http2SecureServer,
  Http2Server,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import { constants, createSecureServer, createServer } from 'node:http2';
import type { Socket } from 'node:net';

/*
 * A lean gRPC server on node:http2: unary and client-streaming methods with raw byte payloads,
 * speaking the gRPC wire protocol (length-prefixed messages, status in trailers) to any gRPC
 * client. It does a fraction of @grpc/grpc-js's per-call work (no interceptor chain, no metadata
 * objects), which is most of a Raft leader's CPU when clients send many small requests.
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

const RESPONSE_HEADERS = {
  [constants.HTTP2_HEADER_STATUS]: 200,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
};
const OK_TRAILERS = { 'grpc-status': '0' };
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
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buf.length >= 5) {
      if (buf[0] !== 0) return 'compressed messages are not supported';
      const len = buf.readUInt32BE(1);
      if (len > this.max) return `message of ${len} bytes exceeds the limit of ${this.max}`;
      if (buf.length < 5 + len) break;
      out.push(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
    if (buf.length > 0) this.pending = buf;
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
function sendStatus(stream: ServerHttp2Stream, e: GrpcStatusError): void {
  if (stream.destroyed || stream.closed) return;
  const headers: Record<string, string | number> = {
    ...RESPONSE_HEADERS,
    'grpc-status': String(e.code),
    'grpc-message': encodeGrpcMessage(e.message),
  };
  for (const [k, v] of Object.entries(e.metadata)) headers[k] = v;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.respond(headers, { endStream: true });
}

function sendResponse(stream: ServerHttp2Stream, payload: Buffer): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
  stream.end(frameMessage(payload));
}

function asStatus(e: unknown): GrpcStatusError {
  return e instanceof GrpcStatusError
    ? e
    : new GrpcStatusError(GrpcStatus.INTERNAL, (e as Error)?.message ?? String(e));
}

export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly server: Http2Server | Http2SecureServer;
  private readonly sockets = new Set<Socket>();
  private readonly maxMessageBytes: number;

  constructor(opts: GrpcServerOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
    const settings = { initialWindowSize: WINDOW_BYTES };
    this.server = opts.tls
      ? createSecureServer({
          settings,
          ca: opts.tls.ca,
          cert: opts.tls.cert,
          key: opts.tls.key,
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: ['h2'],
        })
      : createServer({ settings });
    this.server.on('session', (s) => s.setLocalWindowSize(WINDOW_BYTES));
    this.server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    // A misbehaving peer's session or TLS error concerns that connection only.
    this.server.on('sessionError', () => {});
    this.server.on('tlsClientError', () => {});
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
        for (const s of this.sockets) s.destroy();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => {});
    const path = String(headers[constants.HTTP2_HEADER_PATH] ?? '');
    const type = String(headers[constants.HTTP2_HEADER_CONTENT_TYPE] ?? '');
    if (headers[constants.HTTP2_HEADER_METHOD] !== 'POST' || !type.startsWith('application/grpc')) {
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
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

  private serveUnary(stream: ServerHttp2Stream, handler: UnaryHandler): void {
    const reader = new MessageReader(this.maxMessageBytes);
    const messages: Buffer[] = [];
    let failed = false;
    const fail = (e: GrpcStatusError) => {
      failed = true;
      sendStatus(stream, e);
    };
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      const err = reader.push(chunk, messages);
      if (err) fail(new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, err));
    });
    stream.on('end', () => {
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
    });
  }

  private serveStream(
    stream: ServerHttp2Stream,
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
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      const err = reader.push(chunk, messages);
      for (const m of messages) {
        if (done) break;
        handlers.message(m);
      }
      messages.length = 0;
      if (err) call.finish(new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, err));
    });
    stream.on('end', () => {
      if (done) return;
      if (reader.partial) {
        call.finish(
          new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'stream ended inside a message'),
        );
        return;
      }
      handlers.end();
    });
  }
}
