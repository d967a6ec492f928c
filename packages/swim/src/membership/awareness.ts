/**
 * Lifeguard's local health awareness: a score in [0, max - 1] that grows when this member
 * misses acks it should have got (or must refute a suspicion of itself) and shrinks when probes
 * succeed. Timeouts and the probe interval are stretched by `score + 1`, so a slow member
 * slows down instead of accusing healthy ones.
 */
export class Awareness {
  #score = 0;

  constructor(readonly max: number) {}

  get score(): number {
    return this.#score;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.max - 1, Math.max(0, this.#score + delta));
  }

  scale(timeout: number): number {
    return timeout * (this.#score + 1);
  }
}
