// The real runtime: UDP datagrams (node:dgram) and TCP streams (node:net) on one port, Node
// timers and clocks. The only module of the library that touches the network.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer, isIP, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { joinHostPort, splitHostPort } from '../address.js';
import { SwimConfigError } from '../config.js';
import { Swim, type SwimOptions } from '../swim.js';
import { FrameDecoder, frameHeader } from './framing.js';
import type { Runtime, RuntimeHandlers, StreamConn, StreamHandler, Timer } from './types.js';

export interface NetOptions {
  /** Address to bind UDP and TCP to (default 0.0.0.0). */
  bindAddr?: string;
  /** Port for both (default 7946; 0 picks a free one). */
  bindPort?: number;
  /** Address others should use (default: the bind address, or the first private IPv4 address). */
  advertiseAddr?: string;
  advertisePort?: number;
  /** Largest stream frame accepted (default 32 MiB). */
  maxFrameSize?: number;
  /** Most inbound streams served at once (default 128, as memberlist). */
  maxInboundStreams?: number;
}

const DEFAULT_PORT = 7946;
const SOCKET_BUFFER = 4 * 1024 * 1024;

function wildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::';
}

function defaultAdvertise(family: 4 | 6): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (!a.internal && (family === 4 ? a.family === 'IPv4' : a.family === 'IPv6'))
        return a.address;
    }
  }
  throw new SwimConfigError(
    'advertiseAddr',
    'binding to a wildcard address needs advertiseAddr (no usable interface found)',
  );
}

class TcpConn implements StreamConn {
  readonly #socket: Socket;
  #closed = false;

  constructor(
    socket: Socket,
    readonly remote: string,
    handler: StreamHandler,
    maxFrame: number,
  ) {
    this.#socket = socket;
    const decoder = new FrameDecoder(maxFrame);
    let notified = false;
    const closed = (err?: Error) => {
      if (notified) return;
      notified = true;
      handler.closed(err);
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        socket.destroy();
        closed(err as Error);
        return;
      }
      for (const f of frames) handler.frame(f);
    });
    socket.on('error', (err) => closed(err));
    socket.on('close', () => closed());
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#socket.write(Buffer.concat([frameHeader(frame.length), frame]));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    // A peer that never closes its side must not pin the socket.
    setTimeout(() => this.#socket.destroy(), 5000).unref();
  }
}

export class NetRuntime implements Runtime {
  readonly address: string;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #maxFrame: number;
  readonly #maxInbound: number;
  readonly #sockets = new Set<Socket>();
  readonly #targets = new Map<string, { host: string; port: number }>();
  #handlers: RuntimeHandlers | undefined;
  #inbound = 0;
  #closed = false;
  /** Datagrams the kernel refused to send (counted, never thrown). */
  sendErrors = 0;

  private constructor(udp: UdpSocket, tcp: Server, address: string, opts: NetOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.address = address;
    this.#maxFrame = opts.maxFrameSize ?? 32 * 1024 * 1024;
    this.#maxInbound = opts.maxInboundStreams ?? 128;
    udp.on('message', (msg, rinfo) => {
      this.#handlers?.packet(joinHostPort(rinfo.address, rinfo.port), msg);
    });
    udp.on('error', () => {
      this.sendErrors++;
    });
    tcp.on('connection', (socket) => this.#accept(socket));
    tcp.on('error', () => {});
  }

  /** Binds TCP and UDP on the same port (retrying when an ephemeral port is taken on UDP). */
  static async create(opts: NetOptions = {}): Promise<NetRuntime> {
    const bindAddr = opts.bindAddr ?? '0.0.0.0';
    const family = isIP(bindAddr);
    if (family === 0)
      throw new SwimConfigError('bindAddr', `${JSON.stringify(bindAddr)} is not an IP address`);
    const wanted = opts.bindPort ?? DEFAULT_PORT;
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
      throw new SwimConfigError('bindPort', `must be 0..65535, got ${wanted}`);
    }
    for (let attempt = 0; ; attempt++) {
      const tcp = createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: bindAddr, port: wanted, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const port = (tcp.address() as { port: number }).port;
      const udp = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: bindAddr, port, exclusive: true }, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        await new Promise<void>((r) => tcp.close(() => r()));
        if (wanted === 0 && attempt < 10) continue;
        throw err;
      }
      try {
        udp.setRecvBufferSize(SOCKET_BUFFER);
        udp.setSendBufferSize(SOCKET_BUFFER);
      } catch {
        // The kernel caps the size; the default still works.
      }
      const advHost =
        opts.advertiseAddr ?? (wildcard(bindAddr) ? defaultAdvertise(family as 4 | 6) : bindAddr);
      if (!isIP(advHost))
        throw new SwimConfigError(
          'advertiseAddr',
          `${JSON.stringify(advHost)} is not an IP address`,
        );
      return new NetRuntime(udp, tcp, joinHostPort(advHost, opts.advertisePort ?? port), opts);
    }
  }

  now(): number {
    return performance.now();
  }
  wallClock(): number {
    return Date.now();
  }
  random(): number {
    return Math.random();
  }

  setTimer(ms: number, fn: () => void): Timer {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  }

  #target(addr: string): { host: string; port: number } {
    let t = this.#targets.get(addr);
    if (!t) {
      t = splitHostPort(addr);
      if (this.#targets.size > 10_000) this.#targets.clear();
      this.#targets.set(addr, t);
    }
    return t;
  }

  sendPacket(to: string, data: Uint8Array): void {
    if (this.#closed) return;
    let t: { host: string; port: number };
    try {
      t = this.#target(to);
    } catch {
      this.sendErrors++;
      return;
    }
    this.#udp.send(data, t.port, t.host, (err) => {
      if (err) this.sendErrors++;
    });
  }

  connect(to: string, handler: StreamHandler): StreamConn {
    let t: { host: string; port: number };
    try {
      t = this.#target(to);
    } catch (err) {
      setImmediate(() => handler.closed(err as Error));
      return { remote: to, send() {}, close() {} };
    }
    const socket = tcpConnect({ host: t.host, port: t.port });
    this.#track(socket);
    return new TcpConn(socket, to, handler, this.#maxFrame);
  }

  listen(handlers: RuntimeHandlers): void {
    this.#handlers = handlers;
  }

  async resolve(addr: string): Promise<string> {
    const { host, port } = splitHostPort(addr);
    if (isIP(host)) return joinHostPort(host, port);
    const { address } = await lookup(host);
    return joinHostPort(address, port);
  }

  #accept(socket: Socket): void {
    if (this.#closed || !this.#handlers || this.#inbound >= this.#maxInbound) {
      socket.destroy();
      return;
    }
    this.#inbound++;
    socket.once('close', () => this.#inbound--);
    this.#track(socket);
    const remote = joinHostPort(socket.remoteAddress ?? '0.0.0.0', socket.remotePort ?? 0);
    const handlers = this.#handlers;
    let handler: StreamHandler | undefined;
    const proxy: StreamHandler = {
      frame: (d) => handler?.frame(d),
      closed: (e) => handler?.closed(e),
    };
    const conn = new TcpConn(socket, remote, proxy, this.#maxFrame);
    handler = handlers.stream(conn);
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers = undefined;
    for (const s of this.#sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => this.#tcp.close(() => r())),
      new Promise<void>((r) => this.#udp.close(() => r())),
    ]);
  }
}

/** Binds sockets and starts a member. Call `join(seeds)` next. */
export async function createSwim(options: SwimOptions & NetOptions): Promise<Swim> {
  const runtime = await NetRuntime.create(options);
  try {
    return new Swim(runtime, options);
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
