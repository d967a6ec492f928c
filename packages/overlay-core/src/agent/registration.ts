// The agent's side of the master protocol: register (with backoff, following the masters
// through MasterClient's failover), then keep the allocation stream open and pass on every
// change (overlay added, enabled, disabled, removed, MTU, node deleted) without a restart. When
// the stream ends, or the master says the node was deleted, it registers again.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MasterClient, WatchHandle } from '../api/client.js';
import type { NetworkConfigMessage } from '../api/proto.js';
import type { AgentJson } from '../ipam/state-json.js';
import { Backoff, type BackoffSettings } from './backoff.js';

/** What the masters hand this node: its share of every overlay and the network settings. */
export interface Allocation {
  agent: AgentJson;
  network: NetworkConfigMessage;
  /** Index of the overlay replicated log this allocation reflects. */
  index: number;
}

export interface RegistrationEvents {
  allocation: [Allocation];
  /** A registration succeeded (the allocation stream opens next). */
  registered: [];
  /** A failed attempt (the loop goes on after its backoff). */
  retry: [{ error: Error; waitMs: number }];
}

export class Registration extends EventEmitter<RegistrationEvents> {
  private stopped = false;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  /** Registrations that succeeded (DC/OS's configuration attempts, as the agent counts them). */
  attempts = 0;
  registered = false;

  constructor(
    private readonly client: MasterClient,
    private readonly ip: string,
    private readonly bridges: boolean,
    backoff: BackoffSettings,
    private readonly log: Logger,
  ) {
    super();
    this.backoff = new Backoff(backoff);
  }

  start(): void {
    void this.register();
  }

  private schedule(error: Error): void {
    if (this.stopped) return;
    const waitMs = this.backoff.next();
    this.emit('retry', { error, waitMs });
    this.log.warn(
      { err: error.message, waitMs, master: this.client.master },
      'registration failed; retrying',
    );
    this.timer = setTimeout(() => void this.register(), waitMs);
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.client.register(this.ip, this.bridges);
    } catch (e) {
      this.registered = false;
      this.schedule(e as Error);
      return;
    }
    this.attempts++;
    this.registered = true;
    this.emit('registered');
    this.log.info({ master: this.client.master }, 'registered');
    this.openStream();
  }

  private openStream(): void {
    if (this.stopped) return;
    let first = true;
    this.watch = this.client.watch(
      this.ip,
      (u) => {
        if (u.deleted) {
          // Deleted by an operator while alive: register again (possibly a new allocation).
          this.log.warn('the masters deleted this node; registering again');
          this.watch?.cancel();
          this.registered = false;
          void this.register();
          return;
        }
        if (!u.agent || !u.network) return;
        if (first) {
          first = false;
          this.backoff.reset();
        }
        this.emit('allocation', { agent: u.agent, network: u.network, index: u.index ?? 0 });
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
    this.watch?.cancel();
  }
}
