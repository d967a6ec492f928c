/**
 * A hybrid logical clock packed into one safe integer: `wallMs * 1000 + logical`. It never goes
 * backwards, stays close to wall time, and moves past every timestamp it observes, so a write
 * made after seeing another write always carries a larger timestamp.
 */
export class HybridClock {
  #last = 0;

  constructor(private readonly wallClock: () => number) {}

  /** A timestamp larger than every one issued or observed before. */
  tick(): number {
    const physical = Math.floor(this.wallClock()) * 1000;
    this.#last = Math.max(physical, this.#last + 1);
    return this.#last;
  }

  /** Takes note of a remote timestamp. */
  observe(ts: number): void {
    if (ts > this.#last) this.#last = ts;
  }

  get last(): number {
    return this.#last;
  }
}
