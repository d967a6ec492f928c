import { decodeMessages, encodeMessages } from '../core/codec.js';
import { Prng } from '../core/prng.js';
import type { Message, NodeId } from '../core/types.js';
import { MsgType } from '../core/types.js';
import type { Clock } from '../node/clock.js';
import { realClock } from '../node/clock.js';
import type { Transport, TransportHandler } from './transport.js';

export interface MemoryNetworkOptions {
  clock?: Clock;
  /** Seed of the fault decisions. */
  seed?: number;
  /** One-way delay in ms, uniformly in [min, max]; 0 delivers on the next turn. */
  latency?: [number, number];
  /** Probability that a message is lost. */
  dropRate?: number;
  /** Probability that a message is delivered twice. */
  duplicateRate?: number;
}

/**
 * An in-process network for tests: every message goes through the wire codec, then is delivered
 * after a delay, possibly dropped or duplicated (independent delays reorder), and never across a
 * partition.
 */
export class MemoryNetwork {
  private readonly clock: Clock;
  private readonly rng: Prng;
  private readonly handlers = new Map<NodeId, TransportHandler>();
  private groups: NodeId[][] | undefined;
  latency: [number, number];
  dropRate: number;
  duplicateRate: number;
  delivered = 0;
  dropped = 0;

  constructor(opts: MemoryNetworkOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.rng = new Prng(opts.seed ?? 1);
    this.latency = opts.latency ?? [0, 0];
    this.dropRate = opts.dropRate ?? 0;
    this.duplicateRate = opts.duplicateRate ?? 0;
  }

  transport(): Transport {
    return new MemoryTransport(this);
  }

  /** Splits the network: nodes in different groups cannot talk; unlisted nodes are cut off. */
  partition(groups: NodeId[][]): void {
    this.groups = groups.map((g) => [...g]);
  }

  isolate(id: NodeId): void {
    const others = [...this.handlers.keys()].filter((x) => x !== id);
    this.partition([[id], others]);
  }

  heal(): void {
    this.groups = undefined;
  }

  connected(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  attach(id: NodeId, h: TransportHandler): void {
    this.handlers.set(id, h);
  }

  detach(id: NodeId, h: TransportHandler): void {
    if (this.handlers.get(id) === h) this.handlers.delete(id);
  }

  deliver(from: NodeId, msgs: Message[]): void {
    for (const m of msgs) {
      const copies = this.rng.chance(this.duplicateRate) ? 2 : 1;
      const wire = encodeMessages([m]);
      for (let c = 0; c < copies; c++) {
        const lost = !this.connected(from, m.to) || this.rng.chance(this.dropRate);
        const [lo, hi] = this.latency;
        const delay = hi > 0 ? lo + this.rng.next() * (hi - lo) : 0;
        const arrive = () => {
          const sender = this.handlers.get(from);
          const target = this.handlers.get(m.to);
          if (lost || !target || !this.connected(from, m.to)) {
            this.dropped++;
            if (m.type === MsgType.Snap && c === 0) sender?.onSnapshotStatus(m.to, false);
            return;
          }
          this.delivered++;
          target.onMessage(decodeMessages(wire)[0]!);
          if (m.type === MsgType.Snap && c === 0) sender?.onSnapshotStatus(m.to, true);
        };
        if (delay > 0) this.clock.setTimeout(arrive, delay);
        else this.clock.defer(arrive);
      }
    }
  }
}

class MemoryTransport implements Transport {
  private id: NodeId = '';
  private handler: TransportHandler | undefined;
  private stopped = false;

  constructor(private readonly net: MemoryNetwork) {}

  async start(localId: NodeId, handler: TransportHandler): Promise<void> {
    if (this.stopped) return;
    this.id = localId;
    this.handler = handler;
    this.net.attach(localId, handler);
  }

  setPeers(): void {}

  send(messages: Message[]): void {
    if (this.handler) this.net.deliver(this.id, messages);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handler) this.net.detach(this.id, this.handler);
    this.handler = undefined;
  }
}
