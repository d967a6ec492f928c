// Collecting a monitor's events in tests: every event in order, and waits for the first event
// (from a position on) that matches.
import { readdirSync } from 'node:fs';
import type { Monitor, MonitorEvent } from '../../src/index.js';

interface Waiter {
  from: number;
  match: (e: MonitorEvent) => boolean;
  resolve: (i: number) => void;
}

export class Recorder {
  readonly events: MonitorEvent[] = [];
  private waiters: Waiter[] = [];

  constructor(mon: Monitor) {
    mon.on('event', (e) => {
      this.events.push(e);
      const i = this.events.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (i < w.from || !w.match(e)) return true;
        w.resolve(i);
        return false;
      });
    });
  }

  /** Index of the first event at or after `from` that matches; rejects after `ms`. */
  waitFor(match: (e: MonitorEvent) => boolean, what: string, from = 0, ms = 5000): Promise<number> {
    for (let i = from; i < this.events.length; i++) {
      if (match(this.events[i] as MonitorEvent)) return Promise.resolve(i);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no event ${what} within ${ms} ms (${this.events.length} events seen)`));
      }, ms);
      const waiter: Waiter = {
        from,
        match,
        resolve: (i) => {
          clearTimeout(timer);
          resolve(i);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** A change event of `kind` and `type` whose object has the given field values. */
export function change(
  type: 'new' | 'del',
  kind: string,
  fields: Record<string, unknown>,
): (e: MonitorEvent) => boolean {
  return (e) => {
    if (e.type !== type || !('kind' in e) || e.kind !== kind) return false;
    const o = e.object as unknown as Record<string, unknown>;
    return Object.entries(fields).every(([k, v]) => o[k] === v);
  };
}

/** Open fds and threads of this process. */
export function resources(): { fds: number; threads: number } {
  return {
    fds: readdirSync('/proc/self/fd').length,
    threads: readdirSync('/proc/self/task').length,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
