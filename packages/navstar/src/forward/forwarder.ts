// Forwarding of queries outside our zones to upstream resolvers: two upstreams at once, the first
// good answer (NOERROR or NXDOMAIN, matching question) wins; timeouts, bad answers and failures
// move on to the next pair until the deadline, then SERVFAIL. A truncated answer is fetched again
// over TCP when the client came over TCP; a UDP client gets it truncated and retries over TCP.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { QueryInfo } from '../answer.js';
import {
  CACHE_HITS,
  CACHE_MISSES,
  FORWARD_FAILURES,
  FORWARD_OVERLOAD,
  UPSTREAM_ERRORS,
  UPSTREAM_QUERIES,
  UPSTREAM_TIMEOUTS,
} from '../counters.js';
import { RCODE_NOERROR, RCODE_NXDOMAIN } from '../wire/constants.js';
import { type ParsedMessage, parseMessage } from '../wire/message.js';
import { nameKey } from '../wire/name.js';
import { type CacheOptions, ResponseCache, type StoredAnswer, storeAnswer } from './cache.js';
import { renderAnswer, replyLimit, servfail } from './render.js';
import { parseUpstream, type Upstream, upstreamOrder } from './upstream.js';

export interface ForwarderOptions {
  upstreams: string[];
  /** Zones forwarded to their own resolvers (longest match wins), e.g. { mesos: ['10.0.0.1:61053'] }. */
  forwardZones?: Record<string, string[]>;
  /** Wait per upstream attempt, ms. Default 2000. */
  attemptTimeoutMs?: number;
  /** Overall wait before SERVFAIL, ms. Default 5000. */
  deadlineMs?: number;
  /** Most queries in flight; more get SERVFAIL at once. Default 4096. */
  maxInFlight?: number;
  /** false disables the cache. */
  cache?: CacheOptions | false;
  maxUdp: number;
  counters: Float64Array;
  now?: () => number;
}

const SOCKETS_PER_FAMILY = 8;

interface Pending {
  upstream: Upstream;
  question: { key: string; type: number; class: number };
  done: (result: { msg: Buffer; m: ParsedMessage } | undefined) => void;
}

interface Attempt {
  upstream: Upstream;
  msg: Buffer;
  m: ParsedMessage;
}

export class Forwarder {
  private readonly defaults: Upstream[];
  private readonly zones: Array<{ key: string; upstreams: Upstream[] }>;
  private readonly attemptTimeout: number;
  private readonly deadline: number;
  private readonly maxInFlight: number;
  readonly cache: ResponseCache | undefined;
  private readonly c: Float64Array;
  private readonly now: () => number;
  /** Per family, a pool of sockets on random ports: each query goes out on a random one. */
  private readonly sockets = new Map<4 | 6, dgram.Socket[]>();
  private readonly pending = new Map<string, Pending>();
  private inFlight = 0;
  private turn = 0;
  private closed = false;

  constructor(private readonly opts: ForwarderOptions) {
    this.defaults = opts.upstreams.map(parseUpstream);
    this.zones = Object.entries(opts.forwardZones ?? {})
      .map(([zone, list]) => ({ key: nameKey(zone), upstreams: list.map(parseUpstream) }))
      .sort((a, b) => b.key.length - a.key.length);
    this.attemptTimeout = opts.attemptTimeoutMs ?? 2000;
    this.deadline = opts.deadlineMs ?? 5000;
    this.maxInFlight = opts.maxInFlight ?? 4096;
    this.now = opts.now ?? Date.now;
    this.cache = opts.cache === false ? undefined : new ResponseCache(opts.cache ?? {}, this.now);
    this.c = opts.counters;
  }

  /** True when some query can be forwarded (any upstream configured). */
  get enabled(): boolean {
    return this.defaults.length > 0 || this.zones.length > 0;
  }

  async start(): Promise<void> {
    const families = new Set(
      [...this.defaults, ...this.zones.flatMap((z) => z.upstreams)].map((u) => u.family),
    );
    for (const family of families) {
      const pool: dgram.Socket[] = [];
      this.sockets.set(family, pool);
      for (let i = 0; i < SOCKETS_PER_FAMILY; i++) {
        const s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
        const tag = `${family}/${i}`;
        s.on('message', (msg, rinfo) => this.onMessage(tag, msg, rinfo));
        s.on('error', () => {}); // ICMP errors on an unconnected socket are per-send; timeouts cover them
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind({ port: 0, address: family === 4 ? '0.0.0.0' : '::' }, () => {
            s.off('error', reject);
            resolve();
          });
        });
        pool.push(s);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const pool of this.sockets.values()) for (const s of pool) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.done(undefined);
    this.pending.clear();
  }

  /** Per-upstream figures. */
  upstreamStatus(): Array<Omit<Upstream, 'family'>> {
    const all = [...this.defaults, ...this.zones.flatMap((z) => z.upstreams)];
    return all.map(({ address, port, failures, queries, timeouts, errors }) => ({
      address,
      port,
      failures,
      queries,
      timeouts,
      errors,
    }));
  }

  /** The reply to a query outside our zones (`info` from answerQuery). Never rejects. */
  async resolve(query: Buffer, info: QueryInfo, tcp: boolean): Promise<Buffer> {
    const limit = replyLimit(info, tcp, this.opts.maxUdp);
    const cacheKey = `${info.key}/${info.qtype}/${info.qclass}/${info.dnssecOk ? 1 : 0}${query[3] & 0x10 ? 1 : 0}`;
    if (this.cache) {
      const hit = this.cache.get(cacheKey);
      if (hit) {
        this.c[CACHE_HITS]++;
        return renderAnswer(hit.answer, hit.age, query, info, limit, this.opts.maxUdp, true);
      }
      this.c[CACHE_MISSES]++;
    }
    if (this.inFlight >= this.maxInFlight || this.closed) {
      this.c[FORWARD_OVERLOAD]++;
      return servfail(query, info, this.opts.maxUdp);
    }
    this.inFlight++;
    try {
      const answer = await this.ask(query, info, tcp);
      if (!answer) {
        this.c[FORWARD_FAILURES]++;
        return servfail(query, info, this.opts.maxUdp);
      }
      if (this.cache && answer.ttl > 0) this.cache.set(cacheKey, answer);
      return renderAnswer(answer, 0, query, info, limit, this.opts.maxUdp, false);
    } finally {
      this.inFlight--;
    }
  }

  private upstreamsFor(key: string): Upstream[] {
    for (const z of this.zones) {
      if (key.endsWith(z.key)) {
        // Only at a label boundary.
        let i = 0;
        const start = key.length - z.key.length;
        while (i < start) i += 1 + key.charCodeAt(i);
        if (i === start) return z.upstreams;
      }
    }
    return this.defaults;
  }

  private async ask(
    query: Buffer,
    info: QueryInfo,
    tcp: boolean,
  ): Promise<StoredAnswer | undefined> {
    const list = this.upstreamsFor(info.key);
    if (list.length === 0) return undefined;
    const order = upstreamOrder(list, this.turn++);
    const giveUpAt = this.now() + this.deadline;
    const question = { key: info.key, type: info.qtype, class: info.qclass };
    // What we send: the client's query, its EDNS size capped by what we can pass on.
    const out = Buffer.from(query);
    if (info.optOffset >= 0)
      out.writeUInt16BE(tcp ? 4096 : Math.min(info.udpSize, this.opts.maxUdp), info.optOffset + 3);
    for (let i = 0; i < order.length; i += 2) {
      const left = giveUpAt - this.now();
      if (left <= 0 || this.closed) break;
      const pair = order.slice(i, i + 2);
      const first = await this.race(pair, out, question, Math.min(left, this.attemptTimeout));
      if (!first) continue;
      let { msg, m } = first;
      if (m.tc && tcp) {
        const full = await this.askTcp(
          first.upstream,
          out,
          question,
          Math.max(1, giveUpAt - this.now()),
        );
        if (!full) continue;
        ({ msg, m } = full);
      }
      const stored = this.cache
        ? storeAnswer(msg, m, this.now(), this.cache.options)
        : storeAnswer(msg, m, this.now(), { maxEntries: 0, maxTtl: 0, maxNegativeTtl: 0 });
      if (stored) return stored;
      this.fail(first.upstream, 'error');
    }
    return undefined;
  }

  /** Sends to every upstream in `pair`; resolves with the first good answer, or undefined. */
  private race(
    pair: Upstream[],
    msg: Buffer,
    question: Pending['question'],
    timeoutMs: number,
  ): Promise<Attempt | undefined> {
    return new Promise((resolve) => {
      let open = pair.length;
      let settled = false;
      const cleanups: Array<() => void> = [];
      const finish = (a: Attempt | undefined) => {
        if (settled) return;
        settled = true;
        for (const c of cleanups) c();
        resolve(a);
      };
      for (const upstream of pair) {
        const pool = this.sockets.get(upstream.family);
        if (!pool) {
          if (--open === 0) finish(undefined);
          continue;
        }
        // Random socket (so random source port) and random ID: about 19 bits an off-path
        // spoofer must guess, on top of the upstream's address and port being checked.
        const index = randomInt(pool.length);
        const socket = pool[index];
        const tag = `${upstream.family}/${index}`;
        const id = this.freeId(tag);
        const key = `${tag}/${id}`;
        const timer = setTimeout(() => {
          this.pending.delete(key);
          this.c[UPSTREAM_TIMEOUTS]++;
          this.fail(upstream, 'timeout');
          if (--open === 0) finish(undefined);
        }, timeoutMs);
        cleanups.push(() => {
          clearTimeout(timer);
          this.pending.delete(key);
        });
        this.pending.set(key, {
          upstream,
          question,
          done: (r) => {
            clearTimeout(timer);
            this.pending.delete(key);
            if (r && (r.m.rcode === RCODE_NOERROR || r.m.rcode === RCODE_NXDOMAIN)) {
              upstream.failures = 0;
              finish({ upstream, ...r });
              return;
            }
            if (r) {
              this.c[UPSTREAM_ERRORS]++;
              this.fail(upstream, 'error');
            }
            if (--open === 0) finish(undefined);
          },
        });
        const copy = Buffer.from(msg);
        copy.writeUInt16BE(id, 0);
        upstream.queries++;
        this.c[UPSTREAM_QUERIES]++;
        socket.send(copy, upstream.port, upstream.address, (err) => {
          if (err)
            this.pending
              .get(key)
              ?.done({ msg: Buffer.alloc(0), m: { rcode: -1 } as ParsedMessage });
        });
      }
    });
  }

  private onMessage(tag: string, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const key = `${tag}/${msg.readUInt16BE(0)}`;
    const p = this.pending.get(key);
    // Only the upstream we asked may answer (anything else is stray or spoofed: ignore it).
    if (
      !p ||
      p.upstream.address !== normalizeAddress(rinfo.address) ||
      p.upstream.port !== rinfo.port
    )
      return;
    p.done(this.check(msg, p.question));
  }

  /** The parsed answer if it answers our question; a stand-in with rcode -1 if it is malformed. */
  private check(msg: Buffer, q: Pending['question']): { msg: Buffer; m: ParsedMessage } {
    try {
      const m = parseMessage(msg);
      const ok =
        m.qr &&
        m.opcode === 0 &&
        m.question !== undefined &&
        m.question.type === q.type &&
        m.question.class === q.class &&
        msg.toString('latin1', 12, m.question.end - 4).toLowerCase() === q.key;
      return ok ? { msg, m } : { msg, m: { ...m, rcode: -1 } };
    } catch {
      return { msg, m: { rcode: -1 } as ParsedMessage };
    }
  }

  private askTcp(
    upstream: Upstream,
    msg: Buffer,
    question: Pending['question'],
    timeoutMs: number,
  ): Promise<{ msg: Buffer; m: ParsedMessage } | undefined> {
    return new Promise((resolve) => {
      upstream.queries++;
      this.c[UPSTREAM_QUERIES]++;
      const frame = Buffer.alloc(msg.length + 2);
      frame.writeUInt16BE(msg.length, 0);
      msg.copy(frame, 2);
      const id = frame.readUInt16BE(2);
      const sock = net.connect({ host: upstream.address, port: upstream.port });
      let buf = Buffer.alloc(0);
      let settled = false;
      const finish = (
        r: { msg: Buffer; m: ParsedMessage } | undefined,
        why?: 'timeout' | 'error',
      ) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (why) {
          this.c[why === 'timeout' ? UPSTREAM_TIMEOUTS : UPSTREAM_ERRORS]++;
          this.fail(upstream, why);
        }
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined, 'timeout'), timeoutMs);
      sock.on('connect', () => sock.write(frame));
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const resp = Buffer.from(buf.subarray(2, 2 + len));
        const r =
          resp.length >= 12 && resp.readUInt16BE(0) === id ? this.check(resp, question) : undefined;
        if (r && (r.m.rcode === RCODE_NOERROR || r.m.rcode === RCODE_NXDOMAIN)) {
          upstream.failures = 0;
          finish(r);
        } else finish(undefined, 'error');
      });
      sock.on('error', () => finish(undefined, 'error'));
      sock.on('close', () => finish(undefined, 'error'));
    });
  }

  private fail(u: Upstream, why: 'timeout' | 'error'): void {
    u.failures++;
    if (why === 'timeout') u.timeouts++;
    else u.errors++;
  }

  private freeId(tag: string): number {
    for (;;) {
      const id = randomInt(0x10000);
      if (!this.pending.has(`${tag}/${id}`)) return id;
    }
  }
}

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
