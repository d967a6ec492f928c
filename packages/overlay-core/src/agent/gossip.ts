// The node's membership in the cluster's @vnet/swim group: it publishes one record bound to its
// own liveness (underlay IP, VTEP IP and MAC, its block per overlay) and learns everyone else's.
// A record that vanishes (its node died or left) is withdrawn only after a grace period, so a
// brief flap does not tear routes down. Records from the network are checked before use.
import { EventEmitter } from 'node:events';
import { createSwim, JoinError, type ProfileName, type StoreEvent, type Swim } from '@vnet/swim';
import type { Logger } from 'pino';
import { quote } from '../input.js';
import {
  parseRecord,
  RECORD_PREFIX,
  recordKey,
  type VtepRecord,
  type VtepRecordJson,
} from '../protocol/vtep-record.js';

export interface GossipOptions {
  /** This node's underlay IP: its name in the group and the address it binds. */
  ip: string;
  port: number;
  /** host:port of the group's seeds (the masters). */
  seeds: string[];
  keyring?: string[];
  /** How long a vanished record is kept before its entries are withdrawn. */
  graceMs: number;
  /** @vnet/swim's timing profile (memberlist's lan, wan, local). */
  profile?: ProfileName;
  /** Overrides of single @vnet/swim protocol settings (tests use faster ones). */
  settings?: Record<string, number>;
  log: Logger;
}

export interface GossipEvents {
  /** The set of usable records changed (or the group's full state arrived). */
  change: [];
}

export class Gossip extends EventEmitter<GossipEvents> {
  private readonly live = new Map<string, VtepRecord>();
  /** Records whose owner is gone, kept until their grace ends. */
  private readonly leaving = new Map<string, { record: VtepRecord; timer: NodeJS.Timeout }>();
  private published = '';
  private joinTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Joined and received the group's full state: stale entries may be pruned. */
  synced = false;
  /** Malformed records seen (ignored). */
  rejected = 0;

  private constructor(
    readonly swim: Swim,
    private readonly opts: GossipOptions,
  ) {
    super();
  }

  static async start(opts: GossipOptions): Promise<Gossip> {
    const swim = await createSwim({
      name: opts.ip,
      bindAddr: opts.ip,
      bindPort: opts.port,
      ...(opts.keyring && { keyring: opts.keyring }),
      ...(opts.profile && { profile: opts.profile }),
      ...(opts.settings && { settings: opts.settings }),
    });
    const g = new Gossip(swim, opts);
    swim.store.subscribe(RECORD_PREFIX, (ev) => g.onEvent(ev));
    swim.on('error', (e) => opts.log.warn({ err: e.message }, 'gossip listener error'));
    void g.join();
    return g;
  }

  private async join(): Promise<void> {
    const seeds = this.opts.seeds.filter((s) => s !== `${this.opts.ip}:${this.opts.port}`);
    try {
      const reached = await this.swim.join(seeds);
      this.opts.log.info({ reached, members: this.swim.liveCount }, 'joined the gossip group');
      this.synced = true;
      this.emit('change');
    } catch (e) {
      if (this.stopped) return;
      const why = e instanceof JoinError ? e.failures.join('; ') : (e as Error).message;
      this.opts.log.warn({ reason: why }, 'could not join the gossip group yet; retrying');
      this.joinTimer = setTimeout(() => void this.join(), 2_000);
    }
  }

  private onEvent(ev: StoreEvent): void {
    const own = recordKey(this.opts.ip);
    if (ev.type === 'snapshot') {
      for (const e of ev.entries) if (e.key !== own) this.accept(e.key, e.value);
    } else if (ev.type === 'put') {
      if (ev.entry.key !== own) this.accept(ev.entry.key, ev.entry.value);
    } else if (ev.key !== own) {
      this.withdraw(ev.key);
    }
    this.emit('change');
  }

  private accept(key: string, value: unknown): void {
    const record = parseRecord(value);
    if (!record) {
      this.rejected++;
      this.opts.log.warn({ key: quote(key) }, 'ignored a malformed gossip record');
      return;
    }
    const pending = this.leaving.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.leaving.delete(key);
    }
    this.live.set(key, record);
  }

  private withdraw(key: string): void {
    const record = this.live.get(key);
    if (!record) return;
    this.live.delete(key);
    const timer = setTimeout(() => {
      this.leaving.delete(key);
      this.opts.log.info({ node: record.underlay.text }, 'withdrawing a node that is gone');
      this.emit('change');
    }, this.opts.graceMs);
    this.leaving.set(key, { record, timer });
  }

  /** Every other node's record, those within their grace included. */
  records(): VtepRecord[] {
    return [...this.live.values(), ...[...this.leaving.values()].map((l) => l.record)];
  }

  /** Publishes (or updates) this node's record, bound to its liveness. */
  publish(record: VtepRecordJson): void {
    const text = JSON.stringify(record);
    if (text === this.published) return;
    this.published = text;
    this.swim.store.put(recordKey(this.opts.ip), record, { bound: true });
    this.opts.log.info({ record }, "published this node's VTEP record");
  }

  /** Puts one of this node's own keys (a task record), bound to its liveness. */
  putOwn(key: string, value: unknown): void {
    try {
      this.swim.store.put(key, value, { bound: true });
    } catch (e) {
      this.opts.log.error({ key: quote(key), err: (e as Error).message }, 'could not publish');
    }
  }

  /** Deletes one of this node's own keys. */
  deleteOwn(key: string): void {
    this.swim.store.delete(key);
  }

  /** Whether the member of that name is alive (or only suspected). */
  alive(member: string): boolean {
    const state = this.swim.member(member)?.state;
    return state === 'alive' || state === 'suspect';
  }

  get members(): number {
    return this.swim.liveCount;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    for (const l of this.leaving.values()) clearTimeout(l.timer);
    await this.swim.close();
  }
}
