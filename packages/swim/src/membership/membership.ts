// The SWIM failure detector and membership state machine with Lifeguard's extensions. No I/O:
// time, randomness, timers and sending go through `MembershipHost`, so the same code runs on
// real sockets and in the deterministic simulator.
import type { ProtocolSettings } from '../config.js';
import { type Random, sample, shuffle } from '../random.js';
import type { Timer } from '../runtime/types.js';
import { hash48, xor48 } from '../store/digest.js';
import {
  type AliveMessage,
  BODY_HEADER_MAX,
  buildBody,
  type DeadMessage,
  encodeMessage,
  type MemberRecord,
  type MemberSnapshot,
  type MemberStateName,
  MessageType,
  type PacketMessage,
  pack,
  type SuspectMessage,
} from '../wire/messages.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import {
  pushPullScale,
  retransmitLimit,
  suspicionConfirmations,
  suspicionTimeout,
} from './math.js';
import { Suspicion } from './suspicion.js';

export type MemberState = MemberStateName;

/** A read-only view of one member. */
export interface Member {
  readonly name: string;
  /** "ip:port" for both UDP and TCP. */
  readonly addr: string;
  readonly state: MemberState;
  readonly incarnation: number;
  /** Epoch ms when the member's process started; identifies one life of a name. */
  readonly boot: number;
  readonly meta: unknown;
  /** Bumped by the member each time it changes its metadata. */
  readonly metaVersion: number;
}

export type MemberEventType = 'join' | 'update' | 'suspect' | 'alive' | 'dead' | 'leave';

export interface MemberEvent {
  type: MemberEventType;
  member: Member;
}

export type SyncReason = 'join' | 'periodic' | 'reconnect' | 'unknown-sender';

export interface MembershipHost {
  now(): number;
  /** Milliseconds since the epoch, roughly equal on every member (it aligns the probe slots). */
  wallClock(): number;
  random: Random;
  setTimer(ms: number, fn: () => void): Timer;
  /** Sends a datagram body; the host adds the envelope (version byte, encryption). */
  sendBody(addr: string, body: Uint8Array): void;
  /** Tries a TCP connection to `addr` and calls `refused` only if it is actively refused. */
  checkRefused(addr: string, refused: () => void): void;
  /** Asks for a full-state exchange with `addr`. */
  sync(addr: string, reason: SyncReason): void;
  event(e: MemberEvent): void;
  /** This member was declared dead by others and has refuted it (bound data needs re-spreading). */
  refutedDeath(): void;
  /** A summary of local replicated state carried on pings and acks (undefined: none). */
  digest(): number | undefined;
  /** A peer's summary, seen on a ping or an ack. */
  peerDigest(addr: string, sender: string, digest: number): void;
}

export interface MembershipOptions {
  name: string;
  addr: string;
  boot: number;
  meta: unknown;
  settings: ProtocolSettings;
  /** Largest datagram body (packet size minus envelope overhead). */
  bodyBudget: number;
}

export interface MembershipStats {
  probes: number;
  probeFailures: number;
  /** Probes that failed at once because the target's address refused a TCP connection. */
  probesRefused: number;
  indirectProbes: number;
  nacksReceived: number;
  suspicionsRaised: number;
  refutations: number;
  packetsSent: number;
  bytesSent: number;
  broadcastsQueued: number;
}

interface Entry {
  name: string;
  addr: string;
  state: MemberState;
  incarnation: number;
  boot: number;
  meta: unknown;
  metaVersion: number;
  /** `now()` of the last state change. */
  since: number;
  suspicion?: { s: Suspicion; timer: Timer } | undefined;
}

interface AckHandler {
  ack(): void;
  nack(): void;
}

function view(e: Entry): Member {
  return {
    name: e.name,
    addr: e.addr,
    state: e.state,
    incarnation: e.incarnation,
    boot: e.boot,
    meta: e.meta,
    metaVersion: e.metaVersion,
  };
}

const live = (e: Entry) => e.state === 'alive' || e.state === 'suspect';
/** Reap dead and left members this often. */
const REAP_INTERVAL = 10_000;
/** Most members told directly about a graceful leave (the rest hear it by gossip). */
const LEAVE_FANOUT = 256;

export class Membership {
  readonly #host: MembershipHost;
  readonly #cfg: ProtocolSettings;
  readonly #self: Entry;
  readonly #senderBytes: Uint8Array;
  readonly #bodyBudget: number;
  readonly #members = new Map<string, Entry>();
  /** Every entry, for random sampling. */
  readonly #list: Entry[] = [];
  /** The probe ring (live members ordered by name hash) and the live digest it was built for. */
  #ring: Entry[] = [];
  #ringDigest: number | undefined;
  /** Wall-clock phase of this member's probe ticks, and the last probe slot used. */
  #probePhase: number | undefined;
  #lastSlot = Number.NEGATIVE_INFINITY;
  /** Shuffled cycle of gossip targets. */
  #gossipOrder: Entry[] = [];
  #gossipIndex = 0;
  #live = 1;
  /** XOR of hash(name, boot) over live members: equal views have equal digests. */
  #liveDigest = 0;
  readonly #awareness: Awareness;
  readonly #queue: BroadcastQueue;
  readonly #acks = new Map<number, AckHandler>();
  /** Members with an out-of-band (suspicion-triggered) probe in flight. */
  readonly #probing = new Set<string>();
  /** When a sync with an address was last asked for because of an unknown sender. */
  readonly #senderSyncs = new Map<string, number>();
  readonly #timers = new Set<Timer>();
  #seq = 0;
  /** The pending gossip round, when it is due, and when the last one ran. */
  #gossipTimer: Timer | undefined;
  #gossipDue = 0;
  #lastGossip = Number.NEGATIVE_INFINITY;
  #leaving = false;
  #stopped = false;
  readonly stats: MembershipStats = {
    probes: 0,
    probeFailures: 0,
    probesRefused: 0,
    indirectProbes: 0,
    nacksReceived: 0,
    suspicionsRaised: 0,
    refutations: 0,
    packetsSent: 0,
    bytesSent: 0,
    broadcastsQueued: 0,
  };

  constructor(host: MembershipHost, opts: MembershipOptions) {
    this.#host = host;
    this.#cfg = opts.settings;
    this.#bodyBudget = opts.bodyBudget;
    this.#self = {
      name: opts.name,
      addr: opts.addr,
      state: 'alive',
      incarnation: 0,
      boot: opts.boot,
      meta: opts.meta ?? null,
      metaVersion: 0,
      since: host.now(),
    };
    this.#senderBytes = pack(opts.name);
    this.#members.set(opts.name, this.#self);
    this.#list.push(this.#self);
    this.#liveDigest = hash48(opts.name, opts.boot);
    this.#awareness = new Awareness(this.#cfg.awarenessMaxMultiplier);
    this.#queue = new BroadcastQueue(() => retransmitLimit(this.#cfg.retransmitMult, this.#live));
  }

  get name(): string {
    return this.#self.name;
  }
  get local(): Member {
    return view(this.#self);
  }
  /** Lifeguard local health score (0 is healthy). */
  get health(): number {
    return this.#awareness.score;
  }
  /** Members alive or suspect, this one included. */
  get liveCount(): number {
    return this.#live;
  }
  /** A summary of which members (and which lives) this member holds as alive or suspect. */
  get liveDigest(): number {
    return this.#liveDigest;
  }

  /** Starts the periodic probe, gossip, push-pull, reconnect and reap loops. */
  start(): void {
    const r = this.#host.random;
    this.#after(r() * this.#cfg.probeInterval, () => this.#probeTick());
    this.#after(r() * this.#cfg.pushPullInterval, () => this.#pushPullTick());
    this.#every(this.#cfg.reconnectInterval, r() * this.#cfg.reconnectInterval, () =>
      this.#reconnect(),
    );
    this.#every(REAP_INTERVAL, REAP_INTERVAL, () => this.#reap());
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    for (const e of this.#list) {
      e.suspicion?.timer.cancel();
      e.suspicion = undefined;
    }
    this.#acks.clear();
  }

  members(includeGone = false): Member[] {
    const out: Member[] = [];
    for (const e of this.#list) if (includeGone || live(e)) out.push(view(e));
    return out;
  }

  member(name: string): Member | undefined {
    const e = this.#members.get(name);
    return e ? view(e) : undefined;
  }

  /** Our full view, for a push-pull exchange. */
  snapshot(): MemberSnapshot[] {
    return this.#list.map((e) => ({
      name: e.name,
      addr: e.addr,
      incarnation: e.incarnation,
      state: e.state,
      boot: e.boot,
      metaVersion: e.metaVersion,
      meta: e.meta,
    }));
  }

  /**
   * Merges a peer's full view (memberlist's rule: a peer's "dead" or "suspect" only makes us
   * suspect, so one stale view cannot kill a member).
   */
  merge(states: readonly MemberSnapshot[]): void {
    for (const s of states) {
      if (s.state === 'alive') this.#onAlive(s);
      else if (s.state === 'left') {
        this.#onDead({
          type: MessageType.dead,
          name: s.name,
          boot: s.boot,
          incarnation: s.incarnation,
          from: s.name,
        });
      } else {
        this.#onSuspect({
          type: MessageType.suspect,
          name: s.name,
          boot: s.boot,
          incarnation: s.incarnation,
          from: this.#self.name,
        });
      }
    }
  }

  /** Changes this member's metadata and tells everyone. */
  setMeta(meta: unknown): void {
    this.#self.meta = meta ?? null;
    this.#self.metaVersion++;
    this.#self.incarnation++;
    this.#broadcastAlive(this.#self);
  }

  /** Queues a piggybacked broadcast (used by the store); `key` replaces older ones. */
  broadcast(key: string, message: Uint8Array): void {
    this.stats.broadcastsQueued++;
    this.#queue.queue(key, message);
    this.#kickGossip();
  }

  /** Largest message that can be piggybacked in a datagram. */
  get maxBroadcastSize(): number {
    return this.#bodyBudget - BODY_HEADER_MAX - this.#senderBytes.length;
  }

  /** Random live members other than this one (for pushing large store entries by stream). */
  randomLive(k: number): Member[] {
    return sample(this.#list, k, this.#host.random, (e) => e !== this.#self && live(e)).map(view);
  }

  /**
   * Starts a graceful leave: everyone is told this member left (directly, up to a bound, and by
   * gossip). Probing stops; `done` runs once the news has been gossiped its full number of
   * times, and the caller then closes the transport.
   */
  leave(done?: () => void): void {
    if (this.#leaving) return;
    this.#leaving = true;
    const s = this.#self;
    const msg: DeadMessage = {
      type: MessageType.dead,
      name: s.name,
      boot: s.boot,
      incarnation: s.incarnation,
      from: s.name,
    };
    const data = encodeMessage(msg);
    for (const e of sample(
      this.#list,
      LEAVE_FANOUT,
      this.#host.random,
      (x) => x !== s && live(x),
    )) {
      this.#send(e.addr, [data]);
    }
    this.#queue.queue(`m:${s.name}`, data, done);
    this.#kickGossip();
  }

  /** A decoded datagram from `addr`, sent by the member called `sender`. */
  receive(addr: string, sender: string, messages: readonly PacketMessage[]): void {
    if (this.#stopped) return;
    this.#noteSender(addr, sender);
    for (const m of messages) {
      switch (m.type) {
        case MessageType.ping:
          if (m.target === this.#self.name && !this.#leaving) {
            this.#send(addr, [
              encodeMessage({ type: MessageType.ack, seq: m.seq, digest: this.#host.digest() }),
            ]);
          }
          if (m.digest !== undefined) this.#host.peerDigest(addr, sender, m.digest);
          break;
        case MessageType.indirectPing:
          this.#onIndirectPing(addr, m.seq, m.target, m.targetAddr, m.nack);
          break;
        case MessageType.ack:
          this.#acks.get(m.seq)?.ack();
          if (m.digest !== undefined) this.#host.peerDigest(addr, sender, m.digest);
          break;
        case MessageType.nack:
          this.#acks.get(m.seq)?.nack();
          break;
        case MessageType.alive:
          this.#onAlive(m);
          break;
        case MessageType.suspect:
          this.#onSuspect(m);
          break;
        case MessageType.dead:
          this.#onDead(m);
          break;
        case MessageType.entry:
          break; // routed to the store by the caller
      }
    }
  }

  // ---- probing -------------------------------------------------------------------------

  #probeTick(): void {
    if (this.#stopped) return;
    this.#after(this.#awareness.scale(this.#cfg.probeInterval), () => this.#probeTick());
    if (this.#leaving) return;
    const target = this.#nextProbeTarget();
    if (target) this.#probe(target);
  }

  /**
   * Probe targets follow a ring shared by everyone: the live members ordered by a hash of their
   * names. In probe slot c (wall-clock time in probe intervals, counted from this member's own
   * tick phase) the member at ring position p probes position p + 1 + (c mod (n - 1)). With equal
   * views and clocks within a fraction of an interval, each slot is a permutation: every member is
   * probed by exactly one other per interval, so a crash is noticed within about one interval,
   * where memberlist's independent shuffles leave an exponential tail (several seconds at 50
   * members, as its first prober may come late). Each member still probes every other once per
   * n - 1 slots, SWIM's time-bounded completeness; differing views or clocks only make the
   * pattern look random, as memberlist's is.
   */
  #nextProbeTarget(): Entry | undefined {
    if (this.#ringDigest !== this.#liveDigest) {
      this.#ring = this.#list
        .filter(live)
        .map((e) => ({ e, key: hash48(e.name, 0) }))
        .sort((a, b) => a.key - b.key || (a.e.name < b.e.name ? -1 : 1))
        .map((x) => x.e);
      this.#ringDigest = this.#liveDigest;
    }
    const ring = this.#ring;
    const n = ring.length;
    if (n < 2) return undefined;
    const interval = this.#cfg.probeInterval;
    const wall = this.#host.wallClock();
    this.#probePhase ??= wall % interval;
    let slot = Math.round((wall - this.#probePhase) / interval);
    if (slot <= this.#lastSlot) slot = this.#lastSlot + 1;
    this.#lastSlot = slot;
    const p = ring.indexOf(this.#self);
    const target = ring[(p + 1 + (slot % (n - 1))) % n] as Entry;
    return target !== this.#self && live(target) && this.#members.get(target.name) === target
      ? target
      : undefined;
  }

  #probe(target: Entry): void {
    this.stats.probes++;
    const seq = this.#nextSeq();
    const interval = this.#awareness.scale(this.#cfg.probeInterval);
    const timeout = this.#awareness.scale(this.#cfg.probeTimeout);
    let done = false;
    let nacks = 0;
    let expectedNacks = 0;
    const timers: Timer[] = [];
    const finish = () => {
      done = true;
      this.#acks.delete(seq);
      for (const t of timers) this.#cancel(t);
    };
    /** `refused`: the target's host said nothing listens there, which says nothing about us. */
    const fail = (refused = false) => {
      if (done || this.#stopped) return;
      finish();
      this.stats.probeFailures++;
      // Lifeguard: missing nacks from helpers suggest that we, not the target, are slow.
      const delta = expectedNacks > 0 ? expectedNacks - nacks : 1;
      if (delta > 0 && !refused) this.#awareness.apply(delta);
      const current = this.#members.get(target.name);
      if (current !== target || !live(target)) return;
      this.#onSuspect({
        type: MessageType.suspect,
        name: target.name,
        boot: target.boot,
        incarnation: target.incarnation,
        from: this.#self.name,
      });
    };
    this.#acks.set(seq, {
      ack: () => {
        if (done) return;
        finish();
        this.#awareness.apply(-1);
      },
      nack: () => {
        nacks++;
        this.stats.nacksReceived++;
        // Every helper has given up on the target: no ack can come through them any more.
        if (expectedNacks > 0 && nacks >= expectedNacks) fail();
      },
    });
    const msgs = [
      encodeMessage({
        type: MessageType.ping,
        seq,
        target: target.name,
        digest: this.#host.digest(),
      }),
    ];
    if (target.state === 'suspect') {
      // Lifeguard's buddy system: tell the suspect directly so it can refute at once.
      msgs.push(
        encodeMessage({
          type: MessageType.suspect,
          name: target.name,
          boot: target.boot,
          incarnation: target.incarnation,
          from: this.#self.name,
        }),
      );
    }
    this.#send(target.addr, msgs);
    timers.push(
      this.#after(timeout, () => {
        if (done || this.#stopped) return;
        const helpers = sample(
          this.#list,
          this.#cfg.indirectChecks,
          this.#host.random,
          (e) => e !== this.#self && e !== target && e.state === 'alive',
        );
        expectedNacks = helpers.length;
        const req = encodeMessage({
          type: MessageType.indirectPing,
          seq,
          target: target.name,
          targetAddr: target.addr,
          nack: true,
        });
        for (const h of helpers) {
          this.stats.indirectProbes++;
          this.#send(h.addr, [req]);
        }
        // A refused TCP connection means the target's host answers but nothing listens at the
        // member's port any more (the process is gone): conclusive, so the suspicion starts now
        // instead of at the end of the probe period. A timeout proves nothing and is ignored.
        this.#host.checkRefused(target.addr, () => {
          if (done) return;
          this.stats.probesRefused++;
          fail(true);
        });
      }),
    );
    timers.push(this.#after(interval, () => fail()));
  }

  #onIndirectPing(
    requester: string,
    reqSeq: number,
    target: string,
    targetAddr: string,
    wantNack: boolean,
  ): void {
    if (this.#leaving) return;
    const seq = this.#nextSeq();
    let done = false;
    const timer = this.#after(this.#cfg.probeTimeout * 0.8, () => {
      if (done) return;
      done = true;
      this.#acks.delete(seq);
      if (wantNack) this.#send(requester, [encodeMessage({ type: MessageType.nack, seq: reqSeq })]);
    });
    this.#acks.set(seq, {
      ack: () => {
        if (done) return;
        done = true;
        this.#acks.delete(seq);
        this.#cancel(timer);
        this.#send(requester, [encodeMessage({ type: MessageType.ack, seq: reqSeq })]);
      },
      nack: () => {},
    });
    this.#send(targetAddr, [encodeMessage({ type: MessageType.ping, seq, target })]);
  }

  // ---- state transitions ---------------------------------------------------------------

  #onAlive(a: MemberRecord): void {
    const self = this.#self;
    if (a.name === self.name) {
      if (this.#leaving || a.boot > self.boot) return;
      // Stale news about us (an old life, or an older or different record of this one): refute.
      if (a.boot < self.boot || a.incarnation > self.incarnation) {
        this.#refute(a.boot < self.boot ? self.incarnation : a.incarnation, false);
      } else if (
        a.incarnation === self.incarnation &&
        (a.addr !== self.addr || a.metaVersion !== self.metaVersion)
      ) {
        this.#refute(a.incarnation, false);
      }
      return;
    }
    const e = this.#members.get(a.name);
    if (!e) {
      const added: Entry = {
        name: a.name,
        addr: a.addr,
        state: 'alive',
        incarnation: a.incarnation,
        boot: a.boot,
        meta: a.meta,
        metaVersion: a.metaVersion,
        since: this.#host.now(),
      };
      this.#members.set(a.name, added);
      this.#list.push(added);
      this.#live++;
      this.#liveDigest = xor48(this.#liveDigest, hash48(added.name, added.boot));
      this.#broadcastAlive(added);
      this.#host.event({ type: 'join', member: view(added) });
      return;
    }
    if (a.boot < e.boot) return;
    const newLife = a.boot > e.boot;
    if (!newLife && a.incarnation <= e.incarnation) return;
    const was = e.state;
    const metaChanged = a.metaVersion !== e.metaVersion || a.addr !== e.addr || newLife;
    this.#clearSuspicion(e);
    if (newLife && live(e)) {
      this.#liveDigest = xor48(
        this.#liveDigest,
        xor48(hash48(e.name, e.boot), hash48(e.name, a.boot)),
      );
    }
    e.addr = a.addr;
    e.incarnation = a.incarnation;
    e.boot = a.boot;
    e.meta = a.meta;
    e.metaVersion = a.metaVersion;
    this.#setState(e, 'alive');
    this.#broadcastAlive(e);
    if (was === 'dead' || was === 'left') this.#host.event({ type: 'join', member: view(e) });
    else {
      if (was === 'suspect') this.#host.event({ type: 'alive', member: view(e) });
      if (metaChanged) this.#host.event({ type: 'update', member: view(e) });
    }
  }

  #onSuspect(s: SuspectMessage): void {
    const e = this.#members.get(s.name);
    if (!e || s.boot !== e.boot || s.incarnation < e.incarnation) return;
    if (e === this.#self) {
      if (!this.#leaving) this.#refute(s.incarnation, false);
      return;
    }
    if (e.state === 'suspect' && e.suspicion) {
      if (s.incarnation === e.incarnation && e.suspicion.s.confirm(s.from)) {
        this.#scheduleSuspicion(e);
        this.#queueMessage(e.name, s);
      }
      return;
    }
    if (e.state !== 'alive' && e.state !== 'suspect') return;
    this.stats.suspicionsRaised++;
    e.incarnation = s.incarnation;
    this.#setState(e, 'suspect');
    const n = this.#live;
    const min = suspicionTimeout(this.#cfg.suspicionMult, n, this.#cfg.probeInterval);
    const k = suspicionConfirmations(this.#cfg.suspicionConfirmations, n);
    const suspicion = new Suspicion(
      this.#host.now(),
      k,
      min,
      min * this.#cfg.suspicionMaxTimeoutMult,
      s.from,
    );
    e.suspicion = { s: suspicion, timer: { cancel() {} } };
    this.#scheduleSuspicion(e);
    this.#queueMessage(e.name, s);
    this.#host.event({ type: 'suspect', member: view(e) });
    // Probe the suspect ourselves now rather than when its turn comes: an independent
    // confirmation (or the buddy-system nudge that lets it refute) arrives within one period.
    if (this.#cfg.probeOnSuspicion && s.from !== this.#self.name && !this.#probing.has(e.name)) {
      this.#probing.add(e.name);
      this.#after(this.#host.random() * this.#cfg.gossipInterval, () => {
        this.#probing.delete(e.name);
        if (
          !this.#stopped &&
          !this.#leaving &&
          this.#members.get(e.name) === e &&
          e.state === 'suspect'
        ) {
          this.#probe(e);
        }
      });
    }
  }

  #scheduleSuspicion(e: Entry): void {
    const sus = e.suspicion;
    if (!sus) return;
    this.#cancel(sus.timer);
    const delay = Math.max(0, sus.s.deadline - this.#host.now());
    sus.timer = this.#after(delay, () => {
      if (e.suspicion?.s !== sus.s || e.state !== 'suspect') return;
      this.#onDead({
        type: MessageType.dead,
        name: e.name,
        boot: e.boot,
        incarnation: e.incarnation,
        from: this.#self.name,
      });
    });
  }

  #onDead(d: DeadMessage): void {
    const e = this.#members.get(d.name);
    if (!e || d.boot !== e.boot || d.incarnation < e.incarnation) return;
    if (e.state === 'dead' || e.state === 'left') {
      // A leave heard after a death notice: remember it as a leave (no reconnect attempts).
      if (e.state === 'dead' && d.from === d.name) e.state = 'left';
      return;
    }
    if (e === this.#self) {
      if (!this.#leaving) this.#refute(d.incarnation, true);
      return;
    }
    this.#clearSuspicion(e);
    e.incarnation = d.incarnation;
    const left = d.from === d.name;
    this.#setState(e, left ? 'left' : 'dead');
    this.#queueMessage(e.name, d);
    this.#host.event({ type: left ? 'leave' : 'dead', member: view(e) });
  }

  #refute(incarnation: number, wasDead: boolean): void {
    const self = this.#self;
    self.incarnation = Math.max(self.incarnation, incarnation) + 1;
    this.stats.refutations++;
    this.#awareness.apply(1);
    this.#broadcastAlive(self);
    if (wasDead) this.#host.refutedDeath();
  }

  #clearSuspicion(e: Entry): void {
    if (e.suspicion) {
      this.#cancel(e.suspicion.timer);
      e.suspicion = undefined;
    }
  }

  #setState(e: Entry, state: MemberState): void {
    if (e.state === state) return;
    const wasLive = live(e);
    e.state = state;
    e.since = this.#host.now();
    const isLive = live(e);
    if (wasLive !== isLive) {
      this.#live += isLive ? 1 : -1;
      this.#liveDigest = xor48(this.#liveDigest, hash48(e.name, e.boot));
    }
  }

  #broadcastAlive(e: Entry): void {
    const msg: AliveMessage = {
      type: MessageType.alive,
      name: e.name,
      addr: e.addr,
      incarnation: e.incarnation,
      boot: e.boot,
      metaVersion: e.metaVersion,
      meta: e.meta,
    };
    this.#queueMessage(e.name, msg);
  }

  #queueMessage(name: string, msg: PacketMessage): void {
    this.stats.broadcastsQueued++;
    this.#queue.queue(`m:${name}`, encodeMessage(msg));
    this.#kickGossip();
  }

  // ---- dissemination and anti-entropy --------------------------------------------------

  /** Sends `primary` messages to `addr` with as many queued broadcasts as fit. */
  #send(addr: string, primary: readonly Uint8Array[]): void {
    let used = BODY_HEADER_MAX + this.#senderBytes.length;
    for (const m of primary) used += m.length;
    const extra = this.#queue.take(this.#bodyBudget - used);
    const body = buildBody(this.#senderBytes, extra.length ? [...primary, ...extra] : primary);
    this.stats.packetsSent++;
    this.stats.bytesSent += body.length;
    this.#host.sendBody(addr, body);
  }

  /**
   * Gossip runs only while something is queued (no timer at rest), and fresh news goes out
   * promptly: a round starts at most a quarter of `gossipInterval` after the previous one, and
   * rounds repeat every `gossipInterval` while the queue drains.
   */
  #kickGossip(): void {
    if (this.#stopped) return;
    const now = this.#host.now();
    const due = Math.max(now, this.#lastGossip + this.#cfg.gossipInterval / 4);
    if (this.#gossipTimer && this.#gossipDue <= due) return;
    this.#scheduleGossip(due - now);
  }

  #scheduleGossip(delay: number): void {
    if (this.#gossipTimer) this.#cancel(this.#gossipTimer);
    this.#gossipDue = this.#host.now() + delay;
    this.#gossipTimer = this.#after(delay, () => {
      this.#gossipTimer = undefined;
      this.#gossip();
      if (this.#queue.size > 0) this.#scheduleGossip(this.#cfg.gossipInterval);
    });
  }

  #gossip(): void {
    this.#lastGossip = this.#host.now();
    if (this.#queue.size === 0) return;
    const now = this.#host.now();
    const eligible = (e: Entry) =>
      e !== this.#self &&
      this.#members.get(e.name) === e &&
      (live(e) || (e.state === 'dead' && now - e.since < this.#cfg.gossipToTheDeadTime));
    // Targets come from a shuffled cycle over the members rather than independent draws, so a
    // message's few transmissions from one member go to different members.
    const targets: Entry[] = [];
    for (
      let scanned = 0;
      targets.length < this.#cfg.gossipNodes && scanned <= this.#gossipOrder.length;
      scanned++
    ) {
      if (this.#gossipIndex >= this.#gossipOrder.length) {
        this.#gossipOrder = shuffle(this.#list.filter(eligible), this.#host.random);
        this.#gossipIndex = 0;
        if (this.#gossipOrder.length === 0) break;
      }
      const e = this.#gossipOrder[this.#gossipIndex++] as Entry;
      if (eligible(e) && !targets.includes(e)) targets.push(e);
    }
    for (const t of targets) {
      if (this.#queue.size === 0) break;
      this.#send(t.addr, []);
    }
  }

  #pushPullTick(): void {
    if (this.#stopped) return;
    this.#after(pushPullScale(this.#cfg.pushPullInterval, this.#live), () => this.#pushPullTick());
    if (this.#leaving) return;
    const [peer] = sample(
      this.#list,
      1,
      this.#host.random,
      (e) => e !== this.#self && e.state === 'alive',
    );
    if (peer) this.#host.sync(peer.addr, 'periodic');
  }

  /** serf's reconnect: now and then try a member we hold as dead, so partitions heal. */
  #reconnect(): void {
    if (this.#leaving) return;
    const now = this.#host.now();
    const [peer] = sample(
      this.#list,
      1,
      this.#host.random,
      (e) => e.state === 'dead' && now - e.since < this.#cfg.reconnectTimeout,
    );
    if (peer) this.#host.sync(peer.addr, 'reconnect');
  }

  /** A datagram from a member we do not know or hold as dead: exchange full state with it. */
  #noteSender(addr: string, sender: string): void {
    if (!this.#cfg.syncUnknownSenders || this.#leaving || sender === this.#self.name) return;
    const e = this.#members.get(sender);
    if (e && live(e)) return;
    const now = this.#host.now();
    const last = this.#senderSyncs.get(addr);
    if (last !== undefined && now - last < 2 * this.#cfg.probeInterval) return;
    this.#senderSyncs.set(addr, now);
    this.#host.sync(addr, 'unknown-sender');
  }

  #reap(): void {
    const now = this.#host.now();
    for (const [addr, at] of this.#senderSyncs) {
      if (now - at > 2 * this.#cfg.probeInterval) this.#senderSyncs.delete(addr);
    }
    let removed = false;
    for (const e of this.#list) {
      if (!live(e) && now - e.since > this.#cfg.reconnectTimeout) {
        this.#members.delete(e.name);
        removed = true;
      }
    }
    if (removed) {
      const keep = this.#list.filter((e) => this.#members.get(e.name) === e);
      this.#list.length = 0;
      this.#list.push(...keep);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #after(ms: number, fn: () => void): Timer {
    const t = this.#host.setTimer(ms, () => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    });
    this.#timers.add(t);
    return t;
  }

  #every(ms: number, first: number, fn: () => void): void {
    const tick = () => {
      fn();
      this.#after(ms, tick);
    };
    this.#after(first, tick);
  }

  #cancel(t: Timer): void {
    t.cancel();
    this.#timers.delete(t);
  }
}
