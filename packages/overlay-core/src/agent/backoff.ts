// The agent's registration backoff, as DC/OS's overlay agent module did it: each retry waits a
// random time in [0, max], and max doubles from `initialMs` up to `maxMs` (5 s to 10 min there;
// vnet caps it at a minute, and a master coming back cuts a wait short: see registration.ts); a
// success starts over. Pure: the randomness is passed in.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 5_000, maxMs: 60_000 };

export class Backoff {
  private ceiling: number;

  constructor(
    private readonly settings: BackoffSettings = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(settings.initialMs > 0) || !(settings.maxMs >= settings.initialMs)) {
      throw new RangeError(
        `backoff: need 0 < initial (${settings.initialMs}) <= max (${settings.maxMs})`,
      );
    }
    this.ceiling = settings.initialMs;
  }

  /** The wait before the next attempt; raises the ceiling for the one after. */
  next(): number {
    const wait = Math.floor(this.random() * this.ceiling);
    this.ceiling = Math.min(this.settings.maxMs, this.ceiling * 2);
    return wait;
  }

  reset(): void {
    this.ceiling = this.settings.initialMs;
  }
}
