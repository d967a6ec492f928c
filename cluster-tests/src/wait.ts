// Waiting for a condition with a timeout, and an error that says what was waited for and what was
// seen last, so a failed cluster test explains itself.
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export interface WaitOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between observations; default 100 ms. */
  intervalMs?: number;
  /**
   * Checked before each observation; a string ends the wait at once with that reason (e.g. "the
   * agent exited with code 1" while waiting for its /health).
   */
  stopIf?: () => string | undefined;
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly lastObservation: string,
    message: string,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** A short text of an observation: JSON for data, the message for an error. */
export function describeObservation(o: unknown): string {
  if (o instanceof Error) return `error: ${o.message}`;
  if (typeof o === 'string') return JSON.stringify(o.length > 500 ? `${o.slice(0, 500)}…` : o);
  try {
    const s = JSON.stringify(o);
    if (s === undefined) return String(o);
    return s.length > 500 ? `${s.slice(0, 500)}…` : s;
  } catch {
    return String(o);
  }
}

/**
 * Observes until `accept` holds and returns the accepted observation. An observation that throws
 * counts as not accepted (its error is the last observation). On timeout it rejects with
 * "timed out after N ms waiting for WHAT; last observation: ...".
 */
export async function waitFor<O>(
  what: string,
  observe: () => O | Promise<O>,
  accept: (o: O) => boolean = (o) => Boolean(o),
  opts: WaitOptions = {},
): Promise<O> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const start = Date.now();
  let last: unknown = '(nothing observed yet)';
  let tries = 0;
  for (;;) {
    const stop = opts.stopIf?.();
    if (stop !== undefined) {
      throw new WaitTimeoutError(
        what,
        describeObservation(last),
        `gave up waiting for ${what}: ${stop}; last observation: ${describeObservation(last)}`,
      );
    }
    tries++;
    try {
      const o = await observe();
      if (accept(o)) return o;
      last = o;
    } catch (e) {
      last = e;
    }
    const elapsed = Date.now() - start;
    if (elapsed >= timeoutMs) {
      throw new WaitTimeoutError(
        what,
        describeObservation(last),
        `timed out after ${elapsed} ms (${tries} tries) waiting for ${what}; last observation: ${describeObservation(last)}`,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsed)));
  }
}
