/** Time as the node driver sees it; tests and the simulator substitute a virtual clock. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` soon, after the I/O callbacks already queued (the in-memory transport delivers so). */
  defer(fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  defer: (fn) => setImmediate(fn),
};
