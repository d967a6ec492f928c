// NavstarServer: the record store's zones served over UDP and TCP on one or more addresses, with
// everything else forwarded upstream. UDP runs on the batched engine (worker threads calling
// recvmmsg/sendmmsg through koffi) where it can, else on node:dgram; TCP and forwarding run on
// the main thread.

import { isIP } from 'node:net';
import { type AnswerContext, answerQuery, createAnswerContext, FORWARD } from '../answer.js';
import {
  COUNTER_COUNT,
  countResponse,
  INTERNAL_ERRORS,
  Q_TCP,
  Q_UDP,
  SEND_ERRORS,
  TCP_CONNECTIONS,
} from '../counters.js';
import type { CacheOptions } from '../forward/cache.js';
import { Forwarder } from '../forward/forwarder.js';
import { Metrics, type MetricsSnapshot } from '../metrics.js';
import { RecordStore } from '../store.js';
import type { NameEntry, ZoneDelta } from '../zone/entry.js';
import { loadLibc } from './libc.js';
import { TcpFront, type TcpOptions } from './tcp.js';
import { DgramUdp } from './udp-dgram.js';
import { MmsgUdp } from './udp-mmsg.js';

export interface ListenAddress {
  address: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  port: number;
}

export interface NavstarServerOptions {
  /** The records to serve; a new empty store by default. */
  store?: RecordStore;
  /** Where to listen (UDP and TCP). Default 127.0.0.1:53. */
  listen?: ListenAddress[];
  /** Resolvers for everything outside our zones ("ip", "ip:port", "[ipv6]:port"). */
  upstreams?: string[];
  /** Zones sent to their own resolvers, e.g. { mesos: ['10.0.0.1:61053'] }. */
  forwardZones?: Record<string, string[]>;
  /** 'auto' (default): batched worker threads on Linux, else node:dgram. */
  udpEngine?: 'auto' | 'mmsg' | 'dgram';
  /** Worker threads per listen address for the batched engine. Default 1. */
  udpThreads?: number;
  /** Our EDNS UDP payload size: the largest UDP reply. Default 1232 (DNS flag day 2020). */
  maxUdpPayload?: number;
  /** Wait per upstream attempt, ms. Default 2000. */
  upstreamTimeoutMs?: number;
  /** Overall wait for a forwarded query before SERVFAIL, ms. Default 5000. */
  forwardTimeoutMs?: number;
  /** Forwarded queries a UDP worker may have waiting on the main thread before it answers SERVFAIL itself. Default 8192. */
  maxForwardBacklog?: number;
  /** Cache of forwarded answers; false disables it. */
  cache?: CacheOptions | false;
  tcp?: TcpOptions;
  /** Unexpected errors (a worker thread failing, for instance); the server keeps running. */
  onError?: (err: Error) => void;
}

export interface BoundAddress {
  address: string;
  port: number;
  udpEngine: 'mmsg' | 'dgram';
}

interface Front {
  bound: BoundAddress;
  udp: MmsgUdp | DgramUdp;
  tcp: TcpFront;
}

export class NavstarServer {
  readonly store: RecordStore;
  private readonly counters = new Float64Array(COUNTER_COUNT);
  private readonly scratch = new Float64Array(COUNTER_COUNT);
  private readonly ctx: AnswerContext;
  /** Re-parses queries that UDP workers hand over for forwarding (its counters are discarded). */
  private readonly forwardCtx: AnswerContext;
  private readonly out = Buffer.alloc(65535);
  private readonly forwarder: Forwarder;
  private readonly fronts: Front[] = [];
  private readonly metricsState: Metrics;
  private unsubscribe: (() => void) | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private readonly maxUdp: number;

  private constructor(private readonly opts: NavstarServerOptions) {
    this.store = opts.store ?? new RecordStore();
    this.maxUdp = opts.maxUdpPayload ?? 1232;
    if (!Number.isInteger(this.maxUdp) || this.maxUdp < 512 || this.maxUdp > 4096) {
      throw new Error(`maxUdpPayload: ${opts.maxUdpPayload} is not between 512 and 4096`);
    }
    this.forwarder = new Forwarder({
      upstreams: opts.upstreams ?? [],
      forwardZones: opts.forwardZones,
      attemptTimeoutMs: opts.upstreamTimeoutMs,
      deadlineMs: opts.forwardTimeoutMs,
      cache: opts.cache,
      maxUdp: this.maxUdp,
      counters: this.counters,
    });
    const table = this.store.table as Map<string, NameEntry>;
    const recursion = this.forwarder.enabled;
    this.ctx = createAnswerContext(table, this.store.zoneWires(), {
      maxUdp: this.maxUdp,
      recursion,
      counters: this.counters,
    });
    this.forwardCtx = createAnswerContext(table, this.ctx.zones, {
      maxUdp: this.maxUdp,
      recursion,
      counters: this.scratch,
    });
    this.metricsState = new Metrics(
      () => [
        this.counters,
        ...this.fronts.flatMap((f) => (f.udp instanceof MmsgUdp ? f.udp.counters() : [])),
      ],
      () => ({
        cacheEntries: this.forwarder.cache?.size ?? 0,
        tasks: this.store.taskCount,
        names: this.store.nameCount,
        serial: this.store.serial,
      }),
    );
  }

  /** Starts a server; rejects with a clear error if an address cannot be bound. */
  static async start(opts: NavstarServerOptions = {}): Promise<NavstarServer> {
    const s = new NavstarServer(opts);
    try {
      await s.open();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  get addresses(): BoundAddress[] {
    return this.fronts.map((f) => ({ ...f.bound }));
  }

  metrics(): MetricsSnapshot {
    return this.metricsState.snapshot();
  }

  upstreams(): ReturnType<Forwarder['upstreamStatus']> {
    return this.forwarder.upstreamStatus();
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.sampler) clearInterval(this.sampler);
    await Promise.all(this.fronts.map((f) => Promise.all([f.udp.close(), f.tcp.close()])));
    this.fronts.length = 0;
    this.forwarder.close();
  }

  private async open(): Promise<void> {
    const listen = this.opts.listen ?? [{ address: '127.0.0.1', port: 53 }];
    if (listen.length === 0) throw new Error('listen: at least one address is needed');
    for (const l of listen) {
      if (isIP(l.address) === 0) throw new Error(`listen: "${l.address}" is not an IP address`);
      if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535)
        throw new Error(`listen: bad port ${l.port}`);
    }
    const backlog = this.opts.maxForwardBacklog ?? 8192;
    if (!Number.isInteger(backlog) || backlog < 0)
      throw new Error(`maxForwardBacklog: ${backlog} is not a non-negative integer`);
    const threads = this.opts.udpThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`udpThreads: ${threads} is not a positive integer`);
    const engine = this.opts.udpEngine ?? 'auto';
    const libc = engine === 'dgram' ? undefined : loadLibc();
    if (engine === 'mmsg' && !libc)
      throw new Error('udpEngine "mmsg" needs Linux (x64/arm64) and koffi');
    if (this.forwarder.enabled) await this.forwarder.start();
    this.store.flush();
    this.unsubscribe = this.store.onDelta((d) => this.onDelta(d));
    for (const l of listen) this.fronts.push(await this.openFront(l, libc, threads));
    this.sampler = setInterval(() => this.metricsState.sample(), 1000);
    this.sampler.unref();
    this.metricsState.sample();
  }

  private async openFront(
    l: ListenAddress,
    libc: ReturnType<typeof loadLibc>,
    threads: number,
  ): Promise<Front> {
    // UDP first (port 0 picks one), then TCP on the same port; retry if TCP finds it taken.
    for (let attempt = 0; ; attempt++) {
      let udp: MmsgUdp | DgramUdp;
      let port: number;
      if (libc) {
        const m = new MmsgUdp(libc, {
          address: l.address,
          port: l.port,
          threads,
          maxUdp: this.maxUdp,
          recursion: this.ctx.recursion,
          snapshot: () => ({ table: this.store.table, zones: this.ctx.zones }),
          onForward: (q, reply) => this.handleForwarded(q, reply),
          maxForwardBacklog: this.opts.maxForwardBacklog ?? 8192,
          onError: (e) => this.reportError(e),
        });
        udp = m;
        port = m.port;
      } else {
        const d = new DgramUdp(
          l.address,
          l.port,
          (q, reply) => this.handle(q, false, reply),
          () => {
            this.counters[SEND_ERRORS]++;
          },
        );
        udp = d;
        port = await d.listen();
      }
      const tcp = new TcpFront(
        l.address,
        (q, reply) => this.handle(q, true, reply),
        () => {
          this.counters[TCP_CONNECTIONS]++;
        },
        this.opts.tcp,
      );
      try {
        await tcp.listen(port);
      } catch (e) {
        await udp.close();
        if (l.port === 0 && attempt < 5 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE')
          continue;
        throw new Error(`cannot listen on TCP ${l.address}:${port}: ${(e as Error).message}`);
      }
      if (udp instanceof MmsgUdp) await udp.start();
      return { bound: { address: l.address, port, udpEngine: libc ? 'mmsg' : 'dgram' }, udp, tcp };
    }
  }

  private onDelta(delta: ZoneDelta): void {
    // The main table is the store's own map (already updated); only the zones' SOA changes here.
    if (delta.zones) {
      this.ctx.zones = delta.zones;
      this.forwardCtx.zones = delta.zones;
    }
    for (const f of this.fronts) if (f.udp instanceof MmsgUdp) f.udp.applyDelta(delta);
  }

  /** One query from the dgram engine or TCP. */
  private handle(q: Buffer, tcp: boolean, reply: (r: Uint8Array | null) => void): void {
    const c = this.counters;
    c[tcp ? Q_TCP : Q_UDP]++;
    let r: number;
    try {
      r = answerQuery(q, q.length, this.out, tcp, this.ctx);
    } catch (e) {
      c[INTERNAL_ERRORS]++;
      this.reportError(e);
      reply(null);
      return;
    }
    if (r > 0) {
      const resp = Buffer.from(this.out.subarray(0, r));
      countResponse(c, resp);
      reply(resp);
    } else if (r === FORWARD) {
      this.forward(q, { ...this.ctx.info }, tcp, reply);
    } else {
      reply(null);
    }
  }

  /** A query a UDP worker handed over (already counted there); `reply` is called exactly once. */
  private handleForwarded(q: Buffer, reply: (r: Uint8Array | null) => void): void {
    let r: number;
    try {
      r = answerQuery(q, q.length, this.out, false, this.forwardCtx);
    } catch (e) {
      this.counters[INTERNAL_ERRORS]++;
      this.reportError(e);
      reply(null);
      return;
    }
    if (r === FORWARD) this.forward(q, { ...this.forwardCtx.info }, false, reply);
    else if (r > 0) {
      const resp = Buffer.from(this.out.subarray(0, r));
      countResponse(this.counters, resp);
      reply(resp);
    } else reply(null);
  }

  private forward(
    q: Buffer,
    info: AnswerContext['info'],
    tcp: boolean,
    reply: (r: Uint8Array | null) => void,
  ): void {
    this.forwarder.resolve(q, info, tcp).then(
      (resp) => {
        countResponse(this.counters, resp);
        reply(resp);
      },
      (e) => {
        this.counters[INTERNAL_ERRORS]++;
        this.reportError(e);
        reply(null);
      },
    );
  }

  private reportError(e: unknown): void {
    this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
  }
}
