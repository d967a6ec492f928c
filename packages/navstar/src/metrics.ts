// Server figures as a plain object: counters summed over the main thread and every UDP worker
// thread, queries per second over a sliding window, and gauges supplied by the server.
import * as C from './counters.js';

export interface MetricsSnapshot {
  queries: { udp: number; tcp: number; total: number };
  /** Queries per second over the last `qpsWindowSeconds` (0 until two samples exist). */
  qps: number;
  qpsWindowSeconds: number;
  responses: Record<
    'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'other',
    number
  >;
  /** Queries answered from our zones. */
  authoritative: number;
  /** Queries handed to forwarding (cache hits included). */
  forwarded: number;
  /** Packets with no reply at all, and malformed packets (dropped or answered FORMERR). */
  dropped: number;
  malformed: number;
  truncated: number;
  cache: { hits: number; misses: number; entries: number };
  upstream: { queries: number; timeouts: number; errors: number };
  /** Forwarded queries answered SERVFAIL: no upstream gave a good answer, or too many in flight. */
  forwardFailures: number;
  forwardOverload: number;
  sendErrors: number;
  internalErrors: number;
  tcpConnections: number;
  records: { tasks: number; names: number; serial: number };
}

export interface Gauges {
  cacheEntries: number;
  tasks: number;
  names: number;
  serial: number;
}

export class Metrics {
  private readonly samples: Array<{ at: number; queries: number }> = [];

  constructor(
    private readonly sources: () => Float64Array[],
    private readonly gauges: () => Gauges,
    readonly windowSeconds = 5,
    private readonly now: () => number = Date.now,
  ) {}

  totals(): Float64Array {
    const t = new Float64Array(C.COUNTER_COUNT);
    for (const s of this.sources()) for (let i = 0; i < C.COUNTER_COUNT; i++) t[i] += s[i];
    return t;
  }

  /** Records the query total now (the server calls this every second). */
  sample(): void {
    const t = this.totals();
    this.samples.push({ at: this.now(), queries: t[C.Q_UDP] + t[C.Q_TCP] });
    while (this.samples.length > this.windowSeconds + 1) this.samples.shift();
  }

  qps(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    return b.at > a.at ? ((b.queries - a.queries) * 1000) / (b.at - a.at) : 0;
  }

  snapshot(): MetricsSnapshot {
    const t = this.totals();
    const g = this.gauges();
    return {
      queries: { udp: t[C.Q_UDP], tcp: t[C.Q_TCP], total: t[C.Q_UDP] + t[C.Q_TCP] },
      qps: this.qps(),
      qpsWindowSeconds: this.windowSeconds,
      responses: {
        NOERROR: t[C.R_BASE],
        FORMERR: t[C.R_BASE + 1],
        SERVFAIL: t[C.R_BASE + 2],
        NXDOMAIN: t[C.R_BASE + 3],
        NOTIMP: t[C.R_BASE + 4],
        REFUSED: t[C.R_BASE + 5],
        other: t[C.R_OTHER],
      },
      authoritative: t[C.AUTHORITATIVE],
      forwarded: t[C.FORWARDED],
      dropped: t[C.DROPPED],
      malformed: t[C.MALFORMED],
      truncated: t[C.TRUNCATED],
      cache: { hits: t[C.CACHE_HITS], misses: t[C.CACHE_MISSES], entries: g.cacheEntries },
      upstream: {
        queries: t[C.UPSTREAM_QUERIES],
        timeouts: t[C.UPSTREAM_TIMEOUTS],
        errors: t[C.UPSTREAM_ERRORS],
      },
      forwardFailures: t[C.FORWARD_FAILURES],
      forwardOverload: t[C.FORWARD_OVERLOAD],
      sendErrors: t[C.SEND_ERRORS],
      internalErrors: t[C.INTERNAL_ERRORS],
      tcpConnections: t[C.TCP_CONNECTIONS],
      records: { tasks: g.tasks, names: g.names, serial: g.serial },
    };
  }
}
