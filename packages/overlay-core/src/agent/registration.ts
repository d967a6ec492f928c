// The agent's side of the master protocol: register (with backoff, following the masters
// through the client's failover), take the allocation from the answer, then keep the allocation
// stream open and pass on every change (overlay added, enabled, disabled, removed, MTU, node
// deleted) without a restart. When the stream ends, or the master says the node was deleted, it
// registers again. While it waits out a backoff, a master that becomes reachable again cuts the
// wait short (to a random moment within `reconnectJitterMs`, so a cluster's nodes do not all
// come back at once): a long outage does not leave nodes waiting minutes after it ends.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MasterApi, WatchHandle } from '../api/client.js';
import type { Allocation__Output } from '../protocol/messages.js';
import { type NodeAllocation, parseAllocation } from '../protocol/node-allocation.js';
import { Backoff, type BackoffSettings } from './backoff.js';

export interface RegistrationEvents {
  allocation: [NodeAllocation];
  /** A registration succeeded. */
  registered: [];
  /** A failed attempt (the loop goes on after its backoff). */
  retry: [{ error: Error; waitMs: number }];
}

export interface RegistrationOptions {
  ip: string;
  bridges: boolean;
  backoff: BackoffSettings;
  /** After a master becomes reachable, retry within this many ms (default 2,000). */
  reconnectJitterMs?: number;
  log: Logger;
  random?: () => number;
}

export class Registration extends EventEmitter<RegistrationEvents> {
  private stopped = false;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending retry is due (while waiting out a backoff). */
  private dueAt = 0;
  private stopReconnects: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  /** Registrations that succeeded (DC/OS's configuration attempts, as the agent counts them). */
  attempts = 0;
  registered = false;

  constructor(
    private readonly client: MasterApi,
    private readonly opts: RegistrationOptions,
  ) {
    super();
    this.random = opts.random ?? Math.random;
    this.backoff = new Backoff(opts.backoff, this.random);
  }

  start(): void {
    void this.register();
  }

  private schedule(error: Error): void {
    if (this.stopped) return;
    const waitMs = this.backoff.next();
    this.emit('retry', { error, waitMs });
    this.opts.log.warn(
      { err: error.message, waitMs, master: this.client.master },
      'registration failed; retrying',
    );
    this.retryIn(waitMs);
    this.stopReconnects ??= this.client.watchReconnects((master) => {
      const jitter = Math.floor(this.random() * (this.opts.reconnectJitterMs ?? 2_000));
      if (!this.timer || this.dueAt - Date.now() <= jitter) return;
      this.opts.log.info({ master, inMs: jitter }, 'a master is reachable again; registering');
      this.retryIn(jitter);
    });
  }

  private retryIn(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.register();
    }, ms);
  }

  private accept(m: Allocation__Output): boolean {
    try {
      this.emit('allocation', parseAllocation(m));
      return true;
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'refused an allocation from the masters');
      return false;
    }
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    let answer: Allocation__Output;
    try {
      answer = await this.client.register(this.opts.ip, this.opts.bridges);
    } catch (e) {
      this.registered = false;
      this.schedule(e as Error);
      return;
    }
    if (this.stopped) return;
    this.stopReconnects?.();
    this.stopReconnects = undefined;
    this.attempts++;
    this.registered = true;
    this.emit('registered');
    this.opts.log.info({ master: this.client.master }, 'registered');
    this.accept(answer);
    this.openStream();
  }

  private openStream(): void {
    if (this.stopped) return;
    let first = true;
    this.watch = this.client.watch(
      this.opts.ip,
      (u) => {
        if (u.deleted) {
          // Deleted by an operator while alive: register again (possibly a new allocation).
          this.opts.log.warn('the masters deleted this node; registering again');
          this.watch?.cancel();
          this.registered = false;
          void this.register();
          return;
        }
        if (!this.accept(u)) return;
        if (first) {
          first = false;
          this.backoff.reset();
        }
      },
      (err) => {
        if (this.stopped) return;
        this.watch = undefined;
        this.client.rotate();
        this.schedule(err ?? new Error('the allocation stream ended'));
      },
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopReconnects?.();
    this.watch?.cancel();
  }
}
