// The masters and the leader as the masters say (their WatchMasters stream), for the node's DNS
// (master.dcos, leader.dcos). A stream that ends is opened again on the next master after a
// pause; what was last heard stays meanwhile.
import type { Logger } from 'pino';
import type { MasterApi, WatchHandle } from '../api/client.js';

export interface MastersView {
  masters: string[];
  leader: string | null;
}

const RETRY_MS = 2_000;

export class MastersWatch {
  private handle: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private last = '';

  constructor(
    private readonly client: MasterApi,
    private readonly onChange: (view: MastersView) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopped) return;
    this.handle = this.client.watchMasters(
      (m) => {
        const view = { masters: m.masters ?? [], leader: m.leader || null };
        const key = JSON.stringify(view);
        if (key === this.last) return;
        this.last = key;
        this.onChange(view);
      },
      (err) => {
        if (this.stopped) return;
        if (err) this.log.debug({ err: err.message }, 'masters stream ended; opening it again');
        this.client.rotate();
        this.timer = setTimeout(() => this.start(), RETRY_MS);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.handle?.cancel();
  }
}
