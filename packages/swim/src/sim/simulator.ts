// A deterministic, in-process network of members: one virtual clock, seeded randomness, and a
// datagram network with loss, delay, partitions and degraded members. The members are the real
// `Swim` class over a `Runtime` backed by this simulator, so the protocol code under test is the
// code that runs on sockets. A seed replays a run exactly.
import { type Random, seededRandom } from '../random.js';
import type {
  Runtime,
  RuntimeHandlers,
  StreamConn,
  StreamHandler,
  Timer,
} from '../runtime/types.js';
import { Swim, type SwimOptions } from '../swim.js';

export interface NetworkConditions {
  /** Probability that a datagram is lost. */
  loss: number;
  /** One-way delay is uniform in [minDelay, maxDelay] ms (streams too). */
  minDelay: number;
  maxDelay: number;
}

export interface SimulatorOptions extends Partial<NetworkConditions> {
  seed: number;
  /** Wall-clock epoch (ms) at virtual time 0. */
  epoch?: number;
}

/** Extra trouble for one member: loss and delay on everything it sends and receives. */
export interface MemberConditions {
  loss?: number;
  delay?: number;
}

interface Event {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A binary min-heap of events ordered by (time, insertion order). */
class EventQueue {
  readonly #heap: Event[] = [];

  get size(): number {
    return this.#heap.length;
  }
  peek(): Event | undefined {
    return this.#heap[0];
  }

  push(e: Event): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as Event, h[p] as Event)) break;
      [h[i], h[p]] = [h[p] as Event, h[i] as Event];
      i = p;
    }
  }

  pop(): Event | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l] as Event, h[m] as Event)) m = l;
        if (r < h.length && less(h[r] as Event, h[m] as Event)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Event, h[i] as Event];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

class SimHost implements Runtime {
  handlers: RuntimeHandlers | undefined;
  down = false;
  group = 0;
  loss = 0;
  delay = 0;

  constructor(
    private readonly sim: Simulator,
    readonly address: string,
    private readonly rng: Random,
  ) {}

  now(): number {
    return this.sim.now;
  }
  wallClock(): number {
    return this.sim.epoch + this.sim.now;
  }
  random(): number {
    return this.rng();
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.sim.schedule(ms, () => {
      if (!this.down) fn();
    });
  }
  sendPacket(to: string, data: Uint8Array): void {
    if (!this.down) this.sim.deliver(this, to, data);
  }
  connect(to: string, handler: StreamHandler): StreamConn {
    return this.sim.openStream(this, to, handler);
  }
  listen(handlers: RuntimeHandlers): void {
    this.handlers = handlers;
  }
  async close(): Promise<void> {
    this.down = true;
  }
}

/** One direction of a simulated stream. */
class SimConn implements StreamConn {
  peer: SimConn | undefined;
  handler: StreamHandler | undefined;
  /** Deliveries in this direction keep their order. */
  lastDelivery = 0;
  closedLocal = false;
  notified = false;

  constructor(
    private readonly sim: Simulator,
    readonly host: SimHost,
    readonly remote: string,
  ) {}

  send(frame: Uint8Array): void {
    if (this.closedLocal) return;
    this.sim.streamSend(this, frame);
  }

  close(): void {
    if (this.closedLocal) return;
    this.closedLocal = true;
    this.sim.streamClose(this);
  }

  notifyClosed(err?: Error): void {
    if (this.notified) return;
    this.notified = true;
    this.handler?.closed(err);
  }
}

export interface SimulatorStats {
  packetsSent: number;
  /** The largest datagram sent. */
  maxPacketBytes: number;
  packetsDropped: number;
  packetsDelivered: number;
  streamsOpened: number;
}

export class Simulator {
  readonly seed: number;
  readonly epoch: number;
  readonly random: Random;
  conditions: NetworkConditions;
  readonly stats: SimulatorStats = {
    packetsSent: 0,
    maxPacketBytes: 0,
    packetsDropped: 0,
    packetsDelivered: 0,
    streamsOpened: 0,
  };
  #now = 0;
  #seq = 0;
  readonly #queue = new EventQueue();
  readonly #hosts = new Map<string, SimHost>();

  constructor(opts: SimulatorOptions) {
    this.seed = opts.seed >>> 0;
    this.epoch = opts.epoch ?? 1_700_000_000_000;
    this.random = seededRandom(this.seed);
    this.conditions = {
      loss: opts.loss ?? 0,
      minDelay: opts.minDelay ?? 1,
      maxDelay: opts.maxDelay ?? 5,
    };
  }

  /** Virtual milliseconds since the start. */
  get now(): number {
    return this.#now;
  }

  schedule(delay: number, fn: () => void): Timer {
    const e: Event = { at: this.#now + Math.max(0, delay), seq: this.#seq++, fn, cancelled: false };
    this.#queue.push(e);
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Runs events up to `now + ms` synchronously. */
  runSync(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const top = this.#queue.peek();
      if (!top || top.at > end) break;
      this.#queue.pop();
      if (top.cancelled) continue;
      this.#now = top.at;
      top.fn();
    }
    this.#now = end;
  }

  /**
   * Runs `ms` of virtual time, letting promise continuations (joins, leaves) run every `step` ms.
   */
  async run(ms: number, step = 10): Promise<void> {
    const end = this.#now + ms;
    while (this.#now < end) {
      this.runSync(Math.min(step, end - this.#now));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Runs until `done()` holds (checked every `check` ms) or `maxMs` passed; returns `done()`. */
  async runUntil(done: () => boolean, maxMs: number, check = 50): Promise<boolean> {
    const end = this.#now + maxMs;
    while (!done() && this.#now < end) await this.run(Math.min(check, end - this.#now));
    return done();
  }

  /** Runs until `p` settles (or `maxMs` passes, then throws). */
  async settle<T>(p: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    if (!(await this.runUntil(() => settled, maxMs, 10))) {
      throw new Error(`did not settle within ${maxMs} virtual ms`);
    }
    return watched;
  }

  /** Starts a member with a simulated address (10.x.y.z:7946 unless `addr` is given). */
  add(options: SwimOptions & { addr?: string }): Swim {
    const i = this.#hosts.size + 1;
    const addr = options.addr ?? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7946`;
    if (this.#hosts.has(addr)) throw new Error(`address ${addr} is taken`);
    const host = new SimHost(this, addr, seededRandom((this.seed * 2654435761 + i * 40503) >>> 0));
    this.#hosts.set(addr, host);
    return new Swim(host, { boot: this.epoch + this.#now, ...options });
  }

  /** Crashes a member: it stops at once, tells no one, and its address goes silent. */
  crash(swim: Swim): void {
    void swim.close();
  }

  /** Only members in the same group can talk; members not listed stay in group 0. */
  partition(...groups: Swim[][]): void {
    for (const h of this.#hosts.values()) h.group = 0;
    groups.forEach((g, i) => {
      for (const s of g) this.#host(s).group = i + 1;
    });
  }

  heal(): void {
    for (const h of this.#hosts.values()) h.group = 0;
  }

  /** Degrades one member (Lifeguard scenarios: a slow or lossy member). */
  degrade(swim: Swim, c: MemberConditions): void {
    const h = this.#host(swim);
    h.loss = c.loss ?? 0;
    h.delay = c.delay ?? 0;
  }

  #host(swim: Swim): SimHost {
    const h = this.#hosts.get(swim.address);
    if (!h) throw new Error(`${swim.name} is not part of this simulation`);
    return h;
  }

  #delay(a: SimHost, b: SimHost): number {
    const c = this.conditions;
    return c.minDelay + this.random() * (c.maxDelay - c.minDelay) + a.delay + b.delay;
  }

  #reachable(a: SimHost, b: SimHost): boolean {
    return !b.down && a.group === b.group;
  }

  deliver(from: SimHost, to: string, data: Uint8Array): void {
    this.stats.packetsSent++;
    if (data.length > this.stats.maxPacketBytes) this.stats.maxPacketBytes = data.length;
    const dst = this.#hosts.get(to);
    const loss = 1 - (1 - this.conditions.loss) * (1 - from.loss) * (1 - (dst?.loss ?? 0));
    if (!dst || !this.#reachable(from, dst) || this.random() < loss) {
      this.stats.packetsDropped++;
      return;
    }
    this.schedule(this.#delay(from, dst), () => {
      if (dst.down || !dst.handlers) return;
      this.stats.packetsDelivered++;
      dst.handlers.packet(from.address, data);
    });
  }

  openStream(from: SimHost, to: string, handler: StreamHandler): StreamConn {
    this.stats.streamsOpened++;
    const local = new SimConn(this, from, to);
    local.handler = handler;
    const dst = this.#hosts.get(to);
    if (!dst || dst.down) {
      // Nothing listens there: the connection is refused after one round trip.
      this.schedule(2 * this.conditions.maxDelay, () =>
        local.notifyClosed(
          Object.assign(new Error(`connection to ${to} refused`), { code: 'ECONNREFUSED' }),
        ),
      );
      return local;
    }
    const d = this.#delay(from, dst);
    local.lastDelivery = this.#now + d;
    this.schedule(d, () => {
      if (local.closedLocal || !this.#reachable(from, dst) || !dst.handlers) {
        // A partition or a crash in between: the connect times out (the session's deadline).
        return;
      }
      const remote = new SimConn(this, dst, from.address);
      remote.peer = local;
      local.peer = remote;
      remote.lastDelivery = this.#now;
      remote.handler = dst.handlers.stream(remote);
    });
    return local;
  }

  streamSend(conn: SimConn, frame: Uint8Array): void {
    const other = this.#hosts.get(conn.remote) ?? conn.host;
    const at = Math.max(this.#now + this.#delay(conn.host, other), conn.lastDelivery);
    conn.lastDelivery = at;
    this.schedule(at - this.#now, () => {
      const peer = conn.peer;
      if (!peer || peer.notified) return;
      if (!this.#reachable(conn.host, peer.host) || conn.host.down) {
        conn.notifyClosed(new Error('connection broken'));
        peer.notifyClosed(new Error('connection broken'));
        return;
      }
      if (!peer.closedLocal) peer.handler?.frame(frame);
    });
  }

  streamClose(conn: SimConn): void {
    const at = Math.max(this.#now + this.conditions.minDelay, conn.lastDelivery);
    conn.lastDelivery = at;
    this.schedule(at - this.#now, () => {
      conn.peer?.notifyClosed();
      conn.notifyClosed();
    });
  }
}
