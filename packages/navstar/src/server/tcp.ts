// DNS over TCP (RFC 7766): length-prefixed messages, several per connection, answered as they
// complete (out of order when some are forwarded); an idle timeout and caps on connections and on
// queries in flight per connection (reading pauses at the cap).
import net from 'node:net';

export interface TcpOptions {
  /** Close connections idle this long, ms. Default 10,000 (RFC 7766 suggests seconds). */
  idleTimeoutMs?: number;
  /** Default 1024. */
  maxConnections?: number;
  /** Queries in flight per connection before reading pauses. Default 64. */
  maxPipelined?: number;
}

export class TcpFront {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly address: string,
    private readonly handle: (q: Buffer, reply: (r: Uint8Array | null) => void) => void,
    private readonly onConnection: () => void,
    private readonly opts: TcpOptions = {},
  ) {}

  listen(port: number): Promise<number> {
    const server = net.createServer({ noDelay: true }, (s) => this.serve(s));
    server.maxConnections = this.opts.maxConnections ?? 1024;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.address, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', () => {});
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private serve(sock: net.Socket): void {
    this.onConnection();
    this.sockets.add(sock);
    const maxPipelined = this.opts.maxPipelined ?? 64;
    let pending = Buffer.alloc(0);
    let inFlight = 0;
    let paused = false;
    sock.setTimeout(this.opts.idleTimeoutMs ?? 10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = Buffer.from(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        inFlight++;
        this.handle(msg, (r) => {
          inFlight--;
          if (sock.destroyed) return;
          if (r === null) {
            // Nothing to answer (not a query): the stream cannot be trusted any more.
            sock.destroy();
            return;
          }
          const frame = Buffer.allocUnsafe(r.length + 2);
          frame.writeUInt16BE(r.length, 0);
          frame.set(r, 2);
          sock.write(frame);
          if (paused && inFlight < maxPipelined) {
            paused = false;
            sock.resume();
          }
        });
      }
      if (inFlight >= maxPipelined && !paused) {
        paused = true;
        sock.pause();
      }
    });
  }
}
