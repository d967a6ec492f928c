/**
 * Lifeguard's dynamic suspicion timeout: it starts at `max` and falls towards `min` as
 * independent members confirm the suspicion (`max - (max - min) * log(c + 1) / log(k + 1)`).
 * Pure: the owner schedules a timer at `deadline` and re-schedules it after each confirmation.
 */
export class Suspicion {
  readonly #confirmers = new Set<string>();
  #confirmations = 0;

  constructor(
    readonly start: number,
    readonly k: number,
    readonly min: number,
    readonly max: number,
    from: string,
  ) {
    // The member that raised the suspicion is not an independent confirmation.
    this.#confirmers.add(from);
  }

  get confirmations(): number {
    return this.#confirmations;
  }

  /** Counts `from` if it is new and more are wanted; true when the deadline moved. */
  confirm(from: string): boolean {
    if (this.#confirmations >= this.k || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    this.#confirmations++;
    return true;
  }

  /** The timeout for the current number of confirmations. */
  timeout(): number {
    if (this.k < 1) return this.min;
    const frac = Math.log(this.#confirmations + 1) / Math.log(this.k + 1);
    return Math.max(this.min, Math.floor(this.max - frac * (this.max - this.min)));
  }

  get deadline(): number {
    return this.start + this.timeout();
  }
}
