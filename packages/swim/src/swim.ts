// One member of a group: the SWIM membership, the replicated store and the full-state syncs,
// wired to a Runtime (real sockets or the simulator). This is the library's main class.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { splitHostPort } from './address.js';
import {
  type ProfileName,
  type ProtocolSettings,
  resolveSettings,
  SwimConfigError,
} from './config.js';
import {
  type Member,
  type MemberEvent,
  Membership,
  type MembershipStats,
  type SyncReason,
} from './membership/membership.js';
import type { Runtime, Timer } from './runtime/types.js';
import { xor48 } from './store/digest.js';
import { Store, type StoreStats } from './store/store.js';
import { acceptStream, pushEntries, type SyncContext, startSync } from './sync.js';
import { DropError, type DropReason, Envelope } from './wire/envelope.js';
import { Keyring } from './wire/keyring.js';
import { encodeMessage, MessageType, pack, parseBody } from './wire/messages.js';

export interface SwimOptions {
  /** The member's name, unique in the group. */
  name: string;
  /** Small metadata every member sees (msgpack-encodable, at most `metaMaxSize` bytes). */
  meta?: unknown;
  /** memberlist's timing profile to start from (default `lan`). */
  profile?: ProfileName;
  /** Overrides of single settings of the profile. */
  settings?: Partial<ProtocolSettings>;
  /** Encrypt and authenticate everything with these AES-256-GCM keys (primary first). */
  keyring?: Keyring | readonly (string | Uint8Array)[];
  /** With a keyring, still accept unencrypted packets (while a group turns encryption on). */
  acceptPlaintext?: boolean;
  /** This life's boot stamp (epoch ms); defaults to the runtime's wall clock at creation. */
  boot?: number;
}

export interface SwimEvents {
  join: [Member];
  update: [Member];
  suspect: [Member];
  alive: [Member];
  dead: [Member];
  leave: [Member];
  /** A subscriber or event listener threw (emitted only if someone listens). */
  error: [Error];
}

export interface SwimStats {
  packetsReceived: number;
  bytesReceived: number;
  /** Datagrams and stream frames dropped, by reason (undecodable, unauthenticated, ...). */
  dropped: Record<DropReason, number>;
  /** Messages of types this version does not know, skipped. */
  unknownMessages: number;
  syncs: { started: number; completed: number; failed: number; entryPushes: number };
  /** Lifeguard local health score (0 is healthy). */
  health: number;
  membership: MembershipStats;
  store: StoreStats;
}

/** Joining failed: no seed could be reached after every retry. */
export class JoinError extends Error {
  constructor(readonly failures: string[]) {
    super(`could not join through any seed: ${failures.join('; ')}`);
    this.name = 'JoinError';
  }
}

/** Background syncs (periodic, reconnect, unknown sender) in flight at once, at most. */
const MAX_BACKGROUND_SYNCS = 4;
const GC_INTERVAL = 10_000;
const MAX_NAME = 128;

export class Swim extends EventEmitter<SwimEvents> {
  readonly store: Store;
  readonly keyring: Keyring | undefined;
  readonly settings: Readonly<ProtocolSettings>;
  readonly #runtime: Runtime;
  readonly #membership: Membership;
  readonly #envelope: Envelope;
  readonly #sync: SyncContext;
  readonly #syncing = new Set<string>();
  readonly #timers = new Set<Timer>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The last store-digest mismatch seen on a ping or ack, and when a repair last started. */
  #mismatch: { local: number; remote: number; at: number } | undefined;
  #lastRepair = Number.NEGATIVE_INFINITY;
  /** After a join: one more sync once no new member has shown up for a while. */
  #settle: { timer: Timer; until: number } | undefined;
  readonly #stats = {
    packetsReceived: 0,
    bytesReceived: 0,
    dropped: { short: 0, version: 0, envelope: 0, auth: 0, plaintext: 0, decode: 0 } as Record<
      DropReason,
      number
    >,
    unknownMessages: 0,
    syncs: { started: 0, completed: 0, failed: 0, entryPushes: 0 },
  };

  constructor(runtime: Runtime, options: SwimOptions) {
    super();
    const name = options.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) {
      throw new SwimConfigError('name', `must be a string of 1..${MAX_NAME} characters`);
    }
    this.settings = Object.freeze(resolveSettings(options.profile, options.settings));
    const k = options.keyring;
    this.keyring = k === undefined ? undefined : k instanceof Keyring ? k : new Keyring(k);
    this.#envelope = new Envelope(this.keyring, options.acceptPlaintext === true);
    this.#runtime = runtime;
    const boot = Math.floor(options.boot ?? runtime.wallClock());
    if (!Number.isSafeInteger(boot) || boot < 0)
      throw new SwimConfigError('boot', 'must be a non-negative integer');
    this.#checkMeta(options.meta ?? null);

    this.#membership = new Membership(
      {
        now: () => runtime.now(),
        wallClock: () => runtime.wallClock(),
        random: () => runtime.random(),
        setTimer: (ms, fn) => runtime.setTimer(ms, fn),
        sendBody: (addr, body) => runtime.sendPacket(addr, this.#envelope.seal(body)),
        checkRefused: (addr, refused) => this.#checkRefused(addr, refused),
        sync: (addr, reason) => this.#background(addr, reason),
        event: (e) => this.#onMemberEvent(e),
        refutedDeath: () => {
          for (const wire of this.store.ownBound()) this.#spread(wire[0] as string, wire);
        },
        digest: () => this.#stateDigest(),
        peerDigest: (addr, _sender, digest) => this.#onPeerDigest(addr, digest),
      },
      {
        name,
        addr: runtime.address,
        boot,
        meta: options.meta ?? null,
        settings: this.settings,
        bodyBudget: this.settings.packetSize - this.#envelope.overhead,
      },
    );
    this.store = new Store(
      {
        self: name,
        boot,
        now: () => runtime.now(),
        wallClock: () => runtime.wallClock(),
        ownerLife: (owner) => this.#membership.member(owner),
        spread: (key, wire) => this.#spread(key, wire),
        listenerError: (err) => this.#report(err),
      },
      this.settings,
    );
    this.#sync = {
      runtime,
      envelope: this.#envelope,
      membership: this.#membership,
      store: this.store,
      tcpTimeout: this.settings.tcpTimeout,
      dropped: (reason) => this.#stats.dropped[reason]++,
      learned: (entries) => {
        for (const e of entries) this.#spread(e[0] as string, e);
      },
    };
    runtime.listen({
      packet: (from, data) => this.#onPacket(from, data),
      stream: (conn) => acceptStream(this.#sync, conn),
    });
    this.#membership.start();
    this.#every(GC_INTERVAL, () => {
      this.store.collectGarbage(
        this.#membership
          .members()
          .filter((m) => m.name !== name)
          .map((m) => m.name),
      );
    });
  }

  get name(): string {
    return this.#membership.name;
  }
  /** "ip:port" where this member listens (UDP and TCP). */
  get address(): string {
    return this.#runtime.address;
  }
  get local(): Member {
    return this.#membership.local;
  }
  /** Lifeguard local health score (0 is healthy, up to awarenessMaxMultiplier - 1). */
  get health(): number {
    return this.#membership.health;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** How many members are alive or suspect, this one included. */
  get liveCount(): number {
    return this.#membership.liveCount;
  }

  /** Members alive or suspect (this one included); with `includeGone` also dead and left ones. */
  members(includeGone = false): Member[] {
    return this.#membership.members(includeGone);
  }

  member(name: string): Member | undefined {
    return this.#membership.member(name);
  }

  /**
   * Joins the group through seed addresses ("ip:port", or "host:port" if the runtime resolves
   * names): a full-state exchange with each, retried `joinRetries` times. Resolves with the number
   * of seeds reached (0 when the only seed is this member); rejects with JoinError if none was.
   */
  async join(seeds: readonly string[]): Promise<number> {
    if (this.#closed) throw new Error('join: this member is closed');
    const addrs: string[] = [];
    for (const seed of seeds) {
      const addr = await this.#resolve(seed);
      if (addr !== this.address && !addrs.includes(addr)) addrs.push(addr);
    }
    if (addrs.length === 0) return 0;
    let failures: string[] = [];
    for (let attempt = 0; attempt < this.settings.joinRetries; attempt++) {
      if (attempt > 0) await this.#sleep(this.settings.joinRetryInterval);
      if (this.#closed) break;
      const results = await Promise.all(addrs.map((a) => this.#syncOnce(a, true)));
      const reached = results.filter((r) => r === undefined).length;
      if (reached > 0) {
        this.#startSettling();
        return reached;
      }
      failures = results.map((e, i) => `${addrs[i]}: ${e?.message}`);
    }
    throw new JoinError(failures);
  }

  /** Replaces this member's metadata; everyone sees an `update` event. */
  setMeta(meta: unknown): void {
    this.#checkMeta(meta);
    this.#membership.setMeta(meta);
  }

  /**
   * Leaves gracefully: every member learns at once (directly and by gossip) and drops the keys
   * bound to this member; then the member closes. Waits at most `timeoutMs` for the gossip.
   */
  async leave(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const t = this.#runtime.setTimer(timeoutMs, resolve);
      this.#membership.leave(() => {
        t.cancel();
        resolve();
      });
    });
    await this.close();
  }

  /** Stops without telling anyone (the others will detect the failure). */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#membership.stop();
      for (const t of this.#timers) t.cancel();
      this.#timers.clear();
      this.#settle?.timer.cancel();
      this.#settle = undefined;
      this.#closing = this.#runtime.close();
    }
    return this.#closing;
  }

  stats(): SwimStats {
    return {
      ...this.#stats,
      dropped: { ...this.#stats.dropped },
      syncs: { ...this.#stats.syncs },
      health: this.#membership.health,
      membership: { ...this.#membership.stats },
      store: this.store.stats,
    };
  }

  // ---- internals -------------------------------------------------------------------------

  #onPacket(from: string, data: Uint8Array): void {
    if (this.#closed) return;
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += data.length;
    let decoded: ReturnType<typeof parseBody>;
    try {
      decoded = parseBody(this.#envelope.open(data));
    } catch (err) {
      this.#stats.dropped[err instanceof DropError ? err.reason : 'decode']++;
      return;
    }
    this.#stats.unknownMessages += decoded.unknown;
    this.#membership.receive(from, decoded.sender, decoded.messages);
    for (const m of decoded.messages) {
      if (m.type !== MessageType.entry) continue;
      try {
        this.store.applyRemote(m.entry);
      } catch (err) {
        this.#stats.dropped[err instanceof DropError ? err.reason : 'decode']++;
      }
    }
  }

  /**
   * Members that join at the same moment can miss each other: a seed answers each joiner with
   * the view it has at that instant, and news of later joiners may be gossiped out before this
   * member is known to the gossipers. So once the view has been quiet for a moment (no new
   * member for one gossip interval, or 10 s at most), one more sync with a random member picks
   * up whatever the join storm left out.
   */
  #startSettling(): void {
    if (this.#settle) return;
    this.#settle = { timer: { cancel() {} }, until: this.#runtime.now() + 10_000 };
    this.#resettle();
  }

  #resettle(): void {
    const settle = this.#settle;
    if (!settle) return;
    settle.timer.cancel();
    const quiet = this.settings.gossipInterval;
    const delay = Math.min(quiet, Math.max(0, settle.until - this.#runtime.now()));
    settle.timer = this.#runtime.setTimer(delay, () => {
      this.#settle = undefined;
      const [peer] = this.#membership.randomLive(1);
      if (peer && !this.#closed) this.#background(peer.addr, 'join');
    });
  }

  #onMemberEvent(e: MemberEvent): void {
    const m = e.member;
    if (e.type === 'join' && this.#settle) this.#resettle();
    if (e.type === 'dead' || e.type === 'leave') {
      this.store.dropOwner(m.name, m.boot);
      this.store.forgetPeer(m.name);
    } else if (e.type === 'join' || e.type === 'update') {
      // A newer life of a name makes the keys its older lives bound obsolete.
      this.store.dropOwner(m.name, m.boot - 1);
    }
    try {
      this.emit(e.type, m);
    } catch (err) {
      this.#report(err);
    }
  }

  /**
   * Gossip can miss a member. Pings and acks carry a digest of the live members and the store;
   * when the same mismatch (our digest and the peer's both unchanged) is seen again a probe
   * period later, nothing is in flight any more, and a full sync with that peer repairs the
   * difference within seconds instead of waiting for the periodic push-pull.
   */
  #stateDigest(): number {
    return xor48(this.store.rootDigest(), this.#membership.liveDigest);
  }

  #onPeerDigest(addr: string, remote: number): void {
    const local = this.#stateDigest();
    if (remote === local) {
      this.#mismatch = undefined;
      return;
    }
    const now = this.#runtime.now();
    const m = this.#mismatch;
    if (m && m.local === local && m.remote === remote) {
      if (
        now - m.at >= this.settings.probeInterval &&
        now - this.#lastRepair >= this.settings.probeInterval
      ) {
        this.#mismatch = undefined;
        this.#lastRepair = now;
        this.#background(addr, 'periodic');
      }
      return;
    }
    this.#mismatch = { local, remote, at: now };
  }

  #spread(key: string, wire: unknown[]): void {
    const msg = encodeMessage({ type: MessageType.entry, entry: wire });
    if (msg.length <= this.#membership.maxBroadcastSize) {
      this.#membership.broadcast(`k:${key}`, msg);
      return;
    }
    for (const peer of this.#membership.randomLive(this.settings.gossipNodes)) {
      this.#stats.syncs.entryPushes++;
      pushEntries(this.#sync, peer.addr, [wire], () => {});
    }
  }

  #checkRefused(addr: string, refused: () => void): void {
    if (this.#closed) return;
    let timer: Timer | undefined;
    const conn = this.#runtime.connect(addr, {
      frame: () => {},
      closed: (err) => {
        timer?.cancel();
        if ((err as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED') refused();
      },
    });
    // Accepted: the member is there after all; hang up (it sees an empty stream).
    timer = this.#runtime.setTimer(this.settings.probeTimeout, () => conn.close());
  }

  #background(addr: string, _reason: SyncReason): void {
    if (this.#closed || this.#syncing.has(addr) || this.#syncing.size >= MAX_BACKGROUND_SYNCS)
      return;
    void this.#syncOnce(addr, false);
  }

  #syncOnce(addr: string, join: boolean): Promise<Error | undefined> {
    this.#stats.syncs.started++;
    this.#syncing.add(addr);
    return new Promise((resolve) => {
      startSync(this.#sync, addr, join, (err) => {
        this.#syncing.delete(addr);
        if (err) this.#stats.syncs.failed++;
        else this.#stats.syncs.completed++;
        resolve(err);
      });
    });
  }

  async #resolve(seed: string): Promise<string> {
    const { host, port } = splitHostPort(seed);
    if (isIP(host)) return seed.startsWith('[') ? seed : `${host}:${port}`;
    if (!this.#runtime.resolve)
      throw new SwimConfigError('seeds', `cannot resolve host name ${host}`);
    return this.#runtime.resolve(seed);
  }

  #checkMeta(meta: unknown): void {
    let size: number;
    try {
      size = pack(meta ?? null).length;
    } catch (err) {
      throw new SwimConfigError('meta', `cannot be encoded: ${(err as Error).message}`);
    }
    if (size > this.settings.metaMaxSize) {
      throw new SwimConfigError(
        'meta',
        `${size} bytes encoded, more than metaMaxSize ${this.settings.metaMaxSize}`,
      );
    }
  }

  #report(err: unknown): void {
    if (this.listenerCount('error') > 0)
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#runtime.setTimer(ms, resolve));
  }

  #every(ms: number, fn: () => void): void {
    const tick = () => {
      if (this.#closed) return;
      fn();
      const t = this.#runtime.setTimer(ms, () => {
        this.#timers.delete(t);
        tick();
      });
      this.#timers.add(t);
    };
    const t = this.#runtime.setTimer(ms, () => {
      this.#timers.delete(t);
      tick();
    });
    this.#timers.add(t);
  }
}
