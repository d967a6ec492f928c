/** Smallest message worth looking for in the space left, and misses before giving up. */
const MIN_MESSAGE = 8;
const MAX_MISSES = 16;

/** One message waiting to be piggybacked, already encoded. */
interface Broadcast {
  readonly key: string;
  readonly data: Uint8Array;
  transmits: number;
  readonly done?: (() => void) | undefined;
}

/**
 * memberlist's TransmitLimitedQueue: broadcasts are sent least-transmitted first, each at most
 * `limit()` times; a new broadcast about a key replaces the queued one. Levels indexed by
 * transmit count keep selection cheap with thousands queued.
 */
export class BroadcastQueue {
  readonly #levels: Set<Broadcast>[] = [];
  readonly #byKey = new Map<string, Broadcast>();

  constructor(private readonly limit: () => number) {}

  get size(): number {
    return this.#byKey.size;
  }

  /** Queues `data` under `key`, replacing (and completing) an older broadcast of that key. */
  queue(key: string, data: Uint8Array, done?: () => void): void {
    this.#remove(key, true);
    const b: Broadcast = { key, data, transmits: 0, done };
    this.#byKey.set(key, b);
    this.#level(0).add(b);
  }

  /**
   * Takes broadcasts whose encoded sizes fit in `budget` bytes (each costing its size plus
   * `overhead`), counting one transmission for each.
   */
  take(budget: number, overhead = 0): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#byKey.size === 0) return out;
    const limit = this.limit();
    const picked: Broadcast[] = [];
    let left = budget;
    let misses = 0;
    scan: for (let t = 0; t < this.#levels.length; t++) {
      const level = this.#levels[t];
      if (!level || level.size === 0) continue;
      for (const b of level) {
        const cost = b.data.length + overhead;
        if (cost > left) {
          // A nearly full packet: a few more misses mean it is not worth scanning further.
          if (++misses >= MAX_MISSES) break scan;
          continue;
        }
        left -= cost;
        picked.push(b);
        out.push(b.data);
        if (left <= overhead + MIN_MESSAGE) break scan;
      }
    }
    for (const b of picked) {
      this.#levels[b.transmits]?.delete(b);
      b.transmits++;
      if (b.transmits >= limit) {
        this.#byKey.delete(b.key);
        b.done?.();
      } else {
        this.#level(b.transmits).add(b);
      }
    }
    return out;
  }

  /** Drops everything queued (completing any waiters). */
  clear(): void {
    for (const key of [...this.#byKey.keys()]) this.#remove(key, true);
  }

  #remove(key: string, complete: boolean): void {
    const old = this.#byKey.get(key);
    if (!old) return;
    this.#byKey.delete(key);
    this.#levels[old.transmits]?.delete(old);
    if (complete) old.done?.();
  }

  #level(t: number): Set<Broadcast> {
    let level = this.#levels[t];
    if (!level) {
      level = new Set();
      this.#levels[t] = level;
    }
    return level;
  }
}
