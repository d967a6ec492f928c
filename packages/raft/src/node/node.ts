import { EventEmitter } from 'node:events';
import { decodeConfChange, pack, unpack } from '../core/codec.js';
import { hashString } from '../core/prng.js';
import type { RaftConfig } from '../core/raft.js';
import { ProposalDropped } from '../core/raft.js';
import type { CoreStatus, InitialState, Ready } from '../core/rawnode.js';
import { bootstrapState, emptyState, RawNode } from '../core/rawnode.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  RoleName,
  Snapshot,
} from '../core/types.js';
import { ConfChangeType, EntryType, NONE, ROLE_NAMES, Role } from '../core/types.js';
import {
  NotLeaderError,
  ProposalRejectedError,
  RaftError,
  ShuttingDownError,
  TimeoutError,
} from '../errors.js';
import { LevelStorage } from '../storage/level.js';
import type { RaftStorage } from '../storage/storage.js';
import type { Transport } from '../transport/transport.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';

/** The application's deterministic state machine, fed the committed log in order. */
export interface StateMachine<R = unknown> {
  /**
   * Applies one committed command (called once per index per process lifetime, in order; after a
   * restart the log is replayed from the last snapshot). Must be deterministic. If it throws, the
   * error is passed to the proposer and the entry still counts as applied.
   */
  apply(command: Uint8Array, index: number): R | Promise<R>;
  /** Serializes the whole state (everything applied so far). */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void | Promise<void>;
}

export type Logger = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface RaftNodeOptions<R = unknown> {
  /** This node's id (non-empty; stable for the life of its data). */
  id: NodeId;
  /**
   * The founding members (id -> address), identical on every founder; used on the very first
   * start only. Omit it (or set `join`) on a node that will be added to a running cluster.
   */
  peers?: Record<NodeId, string>;
  /** Start empty and wait to be added by the leader (addVoter/addLearner). */
  join?: boolean;
  /** Directory of the LevelDB store. Either this or `storage`. */
  dataDir?: string;
  storage?: RaftStorage;
  stateMachine: StateMachine<R>;
  transport: Transport;
  /** Milliseconds per tick (default 100). Election timeout is electionTicks..2*electionTicks. */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxUncommittedBytes?: number;
  /** Take a snapshot after this many applied entries since the last one (default 100000, as etcd). */
  snapshotEntries?: number;
  /** Entries kept behind a snapshot so slow followers catch up without one (default 5000, as etcd). */
  snapshotTrailingEntries?: number;
  /** Proposal and read timeout in ms (default 10000). */
  timeoutMs?: number;
  /** Largest command accepted by propose (default 1 MiB). */
  maxCommandBytes?: number;
  clock?: Clock;
  /** Seed of the randomized election timeout (default: random). */
  seed?: number;
  logger?: Logger;
}

export interface NodeStatus extends CoreStatus {
  leaderAddress: string | undefined;
  addresses: Record<NodeId, string>;
}

export interface RaftMetrics {
  term: number;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
  isLeader: boolean;
  proposalsTotal: number;
  proposalsFailedTotal: number;
  proposalBatchesTotal: number;
  readsTotal: number;
  readsFailedTotal: number;
  entriesAppliedTotal: number;
  /** Of those, applied while a write was in flight or between Readies (see applyEarly). */
  entriesAppliedEarlyTotal: number;
  readiesTotal: number;
  storageWritesTotal: number;
  storageSyncsTotal: number;
  storageSyncSecondsTotal: number;
  entriesPersistedTotal: number;
  messagesSentTotal: number;
  messagesReceivedTotal: number;
  leaderChangesTotal: number;
  snapshotsCreatedTotal: number;
  snapshotsInstalledTotal: number;
}

export interface RaftNodeEvents {
  /** The known leader changed (`leader` is '' while unknown). */
  leader: [{ leader: NodeId; term: number }];
  role: [{ role: RoleName; term: number }];
  membership: [ConfState];
  /** A fatal error (e.g. the disk failed); the node has stopped. */
  error: [Error];
}

interface PendingProposal {
  term: number;
  deadline: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface QueuedProposal {
  command: Uint8Array;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface ReadWaiter {
  deadline: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Encloses the state machine's snapshot with the member address book. */
function wrapSnapshot(sm: Uint8Array, addresses: Record<NodeId, string>): Uint8Array {
  return pack([sm, addresses]);
}

function unwrapSnapshot(data: Uint8Array): { sm: Uint8Array; addresses: Record<NodeId, string> } {
  const v = unpack(data, 'snapshot envelope');
  if (!Array.isArray(v) || !(v[0] instanceof Uint8Array) || typeof v[1] !== 'object') {
    throw new Error('snapshot envelope: malformed');
  }
  return { sm: v[0], addresses: v[1] as Record<NodeId, string> };
}

/**
 * A Raft cluster member: drives the pure core with a clock, a storage and a transport, applies
 * committed commands to the state machine, and offers propose/read to the application.
 *
 * Each Ready is handled in order: a leader sends its appends first and writes its own log in
 * parallel; everyone else writes first (one atomic, fsynced batch) and then sends. Proposals that
 * arrive while a write is in flight are batched into the next one.
 */
export class RaftNode<R = unknown> extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  private readonly core: RawNode;
  private readonly storage: RaftStorage;
  private readonly sm: StateMachine<R>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly tickMs: number;
  private readonly timeoutMs: number;
  private readonly maxCommandBytes: number;
  private readonly snapshotEntries: number;
  private readonly trailing: number;
  private readonly electionMs: number;
  private addresses: Record<NodeId, string>;

  private stopped = false;
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  /** A Ready's committed entries are applied and its write is in flight. */
  private writing = false;
  /** Entries being applied early (see applyEarly) by an asynchronous state machine. */
  private earlyApply: Promise<void> | undefined;
  private tickTimer: unknown;
  private queue: QueuedProposal[] = [];
  private flushScheduled = false;
  private readonly pending = new Map<number, PendingProposal>();
  private readQueue: ReadWaiter[] = [];
  private readFlushScheduled = false;
  private readSeq = 0;
  private readonly readRequests = new Map<string, ReadWaiter[]>();
  private readonly readWaitingApply: { index: number; waiter: ReadWaiter }[] = [];
  private leader: NodeId = NONE;
  private role: Role = Role.Follower;
  /** The newest hard state the core reported, and the one last written. */
  private latestHard: HardState | undefined;
  private persistedHard: HardState | undefined;
  private readonly m: RaftMetrics = {
    term: 0,
    commitIndex: 0,
    appliedIndex: 0,
    snapshotIndex: 0,
    isLeader: false,
    proposalsTotal: 0,
    proposalsFailedTotal: 0,
    proposalBatchesTotal: 0,
    readsTotal: 0,
    readsFailedTotal: 0,
    entriesAppliedTotal: 0,
    entriesAppliedEarlyTotal: 0,
    readiesTotal: 0,
    storageWritesTotal: 0,
    storageSyncsTotal: 0,
    storageSyncSecondsTotal: 0,
    entriesPersistedTotal: 0,
    messagesSentTotal: 0,
    messagesReceivedTotal: 0,
    leaderChangesTotal: 0,
    snapshotsCreatedTotal: 0,
    snapshotsInstalledTotal: 0,
  };

  private constructor(opts: RaftNodeOptions<R>, storage: RaftStorage, state: InitialState) {
    super();
    this.id = opts.id;
    this.storage = storage;
    this.sm = opts.stateMachine;
    this.transport = opts.transport;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? (() => {});
    this.tickMs = opts.tickMs ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxCommandBytes = opts.maxCommandBytes ?? 1024 * 1024;
    this.snapshotEntries = opts.snapshotEntries ?? 100_000;
    this.trailing = opts.snapshotTrailingEntries ?? 5000;
    const electionTicks = opts.electionTicks ?? 10;
    this.electionMs = electionTicks * this.tickMs;
    this.addresses = { ...(opts.peers ?? {}) };
    const cfg: Partial<RaftConfig> & { id: NodeId } = {
      id: opts.id,
      electionTicks,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      seed: opts.seed ?? (hashString(opts.id) ^ Math.floor(Math.random() * 2 ** 32)) >>> 0,
    };
    if (opts.maxSizePerMsg !== undefined) cfg.maxSizePerMsg = opts.maxSizePerMsg;
    if (opts.maxInflightMsgs !== undefined) cfg.maxInflightMsgs = opts.maxInflightMsgs;
    if (opts.maxUncommittedBytes !== undefined) cfg.maxUncommittedBytes = opts.maxUncommittedBytes;
    this.core = new RawNode(cfg, state);
  }

  /** Opens (or creates) the node's store, restores its state machine and joins the cluster. */
  static async start<R>(opts: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    if (!opts.id) throw new Error('raft node: id must be a non-empty string');
    if (!opts.storage && !opts.dataDir)
      throw new Error('raft node: dataDir or storage is required');
    if (opts.peers && !opts.join && !(opts.id in opts.peers)) {
      throw new Error(`raft node: peers must include this node's id ${opts.id}`);
    }
    const storage = opts.storage ?? (await LevelStorage.open(opts.dataDir!, { nodeId: opts.id }));
    try {
      let state = await storage.load();
      if (!state) {
        if (opts.join || !opts.peers || Object.keys(opts.peers).length === 0) {
          state = emptyState();
        } else {
          state = bootstrapState(opts.peers);
          await storage.save({ entries: state.entries, hardState: state.hardState, sync: true });
        }
      }
      const node = new RaftNode(opts, storage, state);
      await node.init(state.snapshot);
      return node;
    } catch (e) {
      await storage.close().catch(() => {});
      throw e;
    }
  }

  private async init(snapshot: Snapshot): Promise<void> {
    if (snapshot.meta.index > 0) {
      const { sm, addresses } = unwrapSnapshot(snapshot.data);
      await this.sm.restore(sm);
      this.addresses = { ...this.addresses, ...addresses };
    }
    this.m.snapshotIndex = snapshot.meta.index;
    this.m.appliedIndex = snapshot.meta.index;
    this.transport.setPeers(this.addresses);
    await this.transport.start(this.id, {
      onMessage: (m) => this.receive(m),
      onUnreachable: (peer) => {
        if (this.stopped) return;
        this.core.reportUnreachable(peer);
        this.kick();
      },
      onSnapshotStatus: (peer, ok) => {
        if (this.stopped) return;
        this.core.reportSnapshot(peer, ok);
        this.kick();
      },
    });
    this.scheduleTick();
    this.kick();
  }

  // ---------------------------------------------------------------- public API

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied here.
   * Rejects with NotLeaderError (not applied; retry at the leader), TimeoutError (outcome
   * unknown), ShuttingDownError, or ProposalRejectedError.
   */
  propose(command: Uint8Array): Promise<R> {
    if (this.stopped) return Promise.reject(new ShuttingDownError());
    if (!(command instanceof Uint8Array)) {
      return Promise.reject(new TypeError('propose: command must be a Uint8Array'));
    }
    if (command.length > this.maxCommandBytes) {
      this.m.proposalsFailedTotal++;
      return Promise.reject(
        new ProposalRejectedError(
          `command of ${command.length} bytes exceeds the limit of ${this.maxCommandBytes}`,
        ),
      );
    }
    if (this.role !== Role.Leader) {
      this.m.proposalsFailedTotal++;
      return Promise.reject(this.notLeader());
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, resolve: resolve as (v: unknown) => void, reject });
      // While a Ready is being written, proposals wait and go out together with the next one
      // (the run loop flushes them); otherwise together with the others made in this same turn
      // of the event loop (e.g. every request read from one socket), without waiting a turn.
      if (!this.flushScheduled && !this.running) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flushProposals());
      }
    });
  }

  /**
   * Resolves once this node's state machine reflects every command committed before the call
   * (ReadIndex: the leader confirms it is still leader with a quorum). Read local state right
   * after it resolves, without awaiting in between.
   */
  read(): Promise<void> {
    if (this.stopped) return Promise.reject(new ShuttingDownError());
    if (this.leader === NONE) {
      this.m.readsFailedTotal++;
      return Promise.reject(this.notLeader());
    }
    return new Promise<void>((resolve, reject) => {
      this.readQueue.push({ deadline: this.clock.now() + this.timeoutMs, resolve, reject });
      if (!this.readFlushScheduled) {
        this.readFlushScheduled = true;
        queueMicrotask(() => this.flushReads());
      }
    });
  }

  /** Adds a voting member (one change at a time); resolves with the new configuration. */
  addVoter(id: NodeId, address: string): Promise<ConfState> {
    return this.proposeConf({ type: ConfChangeType.AddVoter, id, context: address });
  }

  /** Adds a non-voting member that receives the log (promote it later with addVoter). */
  addLearner(id: NodeId, address: string): Promise<ConfState> {
    return this.proposeConf({ type: ConfChangeType.AddLearner, id, context: address });
  }

  removeMember(id: NodeId): Promise<ConfState> {
    return this.proposeConf({ type: ConfChangeType.Remove, id });
  }

  /** Hands leadership to `id`; resolves when it has taken over. */
  transferLeadership(id: NodeId): Promise<void> {
    if (this.stopped) return Promise.reject(new ShuttingDownError());
    if (this.role !== Role.Leader) return Promise.reject(this.notLeader());
    return new Promise<void>((resolve, reject) => {
      const onLeader = ({ leader }: { leader: NodeId }) => {
        if (leader !== id) return;
        cleanup();
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        cleanup();
        reject(new TimeoutError(`leadership transfer to ${id} did not finish in time`));
      }, this.electionMs * 2);
      const cleanup = () => {
        this.off('leader', onLeader);
        this.clock.clearTimeout(timer);
      };
      this.on('leader', onLeader);
      this.core.transferLeader(id);
      this.kick();
    });
  }

  isLeader(): boolean {
    return this.role === Role.Leader;
  }

  leaderId(): NodeId {
    return this.leader;
  }

  status(): NodeStatus {
    const s = this.core.status();
    return { ...s, leaderAddress: this.addresses[s.leader], addresses: { ...this.addresses } };
  }

  metrics(): RaftMetrics {
    const s = this.core.status();
    return {
      ...this.m,
      term: s.term,
      commitIndex: s.commit,
      snapshotIndex: s.snapshotIndex,
      isLeader: this.role === Role.Leader,
    };
  }

  /** Stops ticking and receiving, fails pending operations, finishes the write in progress, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== undefined) this.clock.clearTimeout(this.tickTimer);
    this.failAll(() => new ShuttingDownError());
    await this.idle;
    await this.transport.stop();
    // The commit index is written lazily; leave the latest one on disk.
    if (this.latestHard && this.latestHard !== this.persistedHard) {
      await this.storage
        .save({ entries: [], hardState: this.latestHard, sync: true })
        .catch(() => {});
    }
    await this.storage.close();
  }

  /** Internal: the core, for the simulator's invariant checks. */
  coreForTesting(): RawNode {
    return this.core;
  }

  // ---------------------------------------------------------------- internals

  private notLeader(detail?: string): NotLeaderError {
    return new NotLeaderError(this.leader, this.addresses[this.leader], detail);
  }

  private proposeConf(cc: ConfChange): Promise<ConfState> {
    if (this.stopped) return Promise.reject(new ShuttingDownError());
    if (this.role !== Role.Leader) return Promise.reject(this.notLeader());
    try {
      const { index, term } = this.core.proposeConfChange(cc);
      return new Promise<ConfState>((resolve, reject) => {
        this.setPending(index, {
          term,
          deadline: this.clock.now() + this.timeoutMs,
          resolve: resolve as (v: unknown) => void,
          reject,
        });
        this.kick();
      });
    } catch (e) {
      return Promise.reject(this.dropError(e));
    }
  }

  private dropError(e: unknown): Error {
    if (!(e instanceof ProposalDropped)) return e as Error;
    if (e.reason === 'not-leader') return this.notLeader();
    if (e.reason === 'transferring') return this.notLeader('leadership is being transferred');
    return new ProposalRejectedError(e.message);
  }

  private setPending(index: number, p: PendingProposal): void {
    const old = this.pending.get(index);
    // Our log was truncated below `index` since `old` was proposed, so it never committed.
    if (old) old.reject(this.notLeader('leadership changed before the command committed'));
    this.pending.set(index, p);
  }

  private flushProposals(): void {
    this.flushScheduled = false;
    if (this.running && this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || this.stopped) return;
    try {
      const { index, term } = this.core.propose(batch.map((p) => p.command));
      const deadline = this.clock.now() + this.timeoutMs;
      batch.forEach((p, i) => {
        this.setPending(index + i, { term, deadline, resolve: p.resolve, reject: p.reject });
      });
      this.m.proposalsTotal += batch.length;
      this.m.proposalBatchesTotal++;
      this.kick();
    } catch (e) {
      const err = this.dropError(e);
      this.m.proposalsFailedTotal += batch.length;
      for (const p of batch) p.reject(err);
    }
  }

  private flushReads(): void {
    this.readFlushScheduled = false;
    const waiters = this.readQueue;
    this.readQueue = [];
    if (waiters.length === 0 || this.stopped) return;
    if (this.leader === NONE) {
      this.m.readsFailedTotal += waiters.length;
      for (const w of waiters) w.reject(this.notLeader());
      return;
    }
    const ctx = `${this.id}/${++this.readSeq}`;
    this.readRequests.set(ctx, waiters);
    this.m.readsTotal += waiters.length;
    this.core.readIndex(ctx);
    this.kick();
  }

  private receive(m: Message): void {
    if (this.stopped) return;
    this.m.messagesReceivedTotal++;
    try {
      this.core.step(m);
    } catch (e) {
      this.log('warn', 'dropped invalid message', { from: m.from, error: (e as Error).message });
      return;
    }
    // Between Readies too: the proposers hear back before the next Ready's messages go out. When
    // something was applied between Readies, the next Ready waits until their answers (written
    // at the end of this job) have left: the transport writes a Ready's messages at once.
    if ((this.writing || !this.running) && this.applyEarly() && !this.running) {
      this.clock.defer(() => this.kick());
      return;
    }
    this.kick();
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tickTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      this.core.tick();
      this.expire();
      this.kick();
      this.scheduleTick();
    }, this.tickMs);
  }

  /** Fails proposals and reads whose deadline passed. */
  private expire(): void {
    const now = this.clock.now();
    for (const [index, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(index);
      this.m.proposalsFailedTotal++;
      p.reject(
        new TimeoutError(`proposal at index ${index} was not applied within ${this.timeoutMs} ms`),
      );
    }
    const late = (w: ReadWaiter) => w.deadline <= now;
    const timeout = () => new TimeoutError(`read was not served within ${this.timeoutMs} ms`);
    for (const [ctx, ws] of this.readRequests) {
      if (!ws.some(late)) continue;
      this.readRequests.set(
        ctx,
        ws.filter((w) => {
          if (!late(w)) return true;
          this.m.readsFailedTotal++;
          w.reject(timeout());
          return false;
        }),
      );
    }
    for (let i = this.readWaitingApply.length - 1; i >= 0; i--) {
      const { waiter } = this.readWaitingApply[i]!;
      if (!late(waiter)) continue;
      this.readWaitingApply.splice(i, 1);
      this.m.readsFailedTotal++;
      waiter.reject(timeout());
    }
  }

  private failAll(err: () => Error): void {
    for (const p of this.queue) p.reject(err());
    this.queue = [];
    for (const p of this.pending.values()) p.reject(err());
    this.pending.clear();
    for (const w of this.readQueue) w.reject(err());
    this.readQueue = [];
    for (const ws of this.readRequests.values()) for (const w of ws) w.reject(err());
    this.readRequests.clear();
    for (const { waiter } of this.readWaitingApply) waiter.reject(err());
    this.readWaitingApply.length = 0;
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = this.run();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.queue.length > 0) this.flushProposals();
        if (this.stopped || !this.core.hasReady()) break;
        await this.handleReady(this.core.ready());
        if (!this.stopped && this.snapshotDue()) await this.takeSnapshot();
      }
    } catch (e) {
      this.fatal(e as Error);
    } finally {
      this.running = false;
    }
  }

  private fatal(e: Error): void {
    this.log('error', 'raft node failed', { error: e.message });
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== undefined) this.clock.clearTimeout(this.tickTimer);
    this.failAll(() => new RaftError(`raft node ${this.id} failed: ${e.message}`));
    void this.transport.stop().catch(() => {});
    void this.storage.close().catch(() => {});
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private send(messages: Message[]): void {
    if (messages.length === 0) return;
    this.m.messagesSentTotal += messages.length;
    this.transport.send(messages);
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.m.readiesTotal++;
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.role);
    if (rd.hardState) this.latestHard = rd.hardState;
    if (rd.sendBeforePersist) this.send(rd.messages);
    // A change of the commit index alone is not written by itself: safety does not need it on
    // disk, and it goes along with the next write (a restarted node learns it from the leader).
    const write =
      rd.entries.length > 0 || rd.snapshot !== undefined || rd.mustSync
        ? this.persist(rd)
        : undefined;
    // Committed entries are at most the stable index of earlier Readies, so they are on disk
    // already (here and on a quorum) and are applied while this Ready's write is in flight; each
    // proposer hears back as soon as its command is applied. (With a snapshot pending there are
    // none.) Reads are released after advance, once the core counts the entries as applied.
    if (this.earlyApply) await this.earlyApply;
    for (const e of rd.committedEntries) {
      const async = this.applyEntry(e);
      if (async) await async;
      if (this.stopped) return;
    }
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    if (last) this.core.appliedTo(last.index);
    this.releaseReads();
    if (write) {
      this.writing = true;
      try {
        await write;
      } finally {
        this.writing = false;
      }
      if (this.stopped) return;
    }
    if (!rd.sendBeforePersist) this.send(rd.messages);
    if (rd.snapshot) await this.installSnapshot(rd.snapshot);
    for (const rs of rd.readStates) {
      const ws = this.readRequests.get(rs.context);
      if (!ws) continue;
      this.readRequests.delete(rs.context);
      for (const waiter of ws) this.readWaitingApply.push({ index: rs.index, waiter });
    }
    this.core.advance(rd);
    this.m.appliedIndex = this.core.raft.log.applied;
    this.releaseReads();
  }

  private async persist(rd: Ready): Promise<void> {
    const hard = this.latestHard !== this.persistedHard ? this.latestHard : undefined;
    const t0 = this.clock.now();
    await this.storage.save({
      entries: rd.entries,
      ...(hard ? { hardState: hard } : {}),
      ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
      sync: rd.mustSync,
    });
    this.persistedHard = hard ?? this.persistedHard;
    this.m.storageWritesTotal++;
    this.m.entriesPersistedTotal += rd.entries.length;
    if (rd.mustSync) {
      this.m.storageSyncsTotal++;
      this.m.storageSyncSecondsTotal += (this.clock.now() - t0) / 1000;
    }
  }

  /**
   * Applies entries committed while a Ready's write is in flight or no Ready is being handled, if
   * they are on disk here already (from earlier Readies): on a leader, a follower's
   * acknowledgement then answers the proposers at once instead of after the write of the next
   * batch. Everything sent still goes through Readies,
   * so no commit index leaves this node before the entries it covers are on its disk.
   */
  /** Returns whether anything was applied (or is being applied). */
  private applyEarly(): boolean {
    if (this.earlyApply || this.stopped) return false;
    const entries = this.core.takeCommittedStable();
    this.m.entriesAppliedEarlyTotal += entries.length;
    for (let i = 0; i < entries.length; i++) {
      const async = this.applyEntry(entries[i]!);
      if (!async) continue;
      const rest = entries.slice(i + 1);
      this.earlyApply = (async () => {
        await async;
        for (const e of rest) {
          if (this.stopped) return;
          await this.applyEntry(e);
        }
      })().finally(() => {
        this.earlyApply = undefined;
        this.m.appliedIndex = this.core.raft.log.applied;
        this.releaseReads();
      });
      return true;
    }
    if (entries.length === 0) return false;
    this.m.appliedIndex = this.core.raft.log.applied;
    this.releaseReads();
    return true;
  }

  private releaseReads(): void {
    const applied = this.core.raft.log.applied;
    for (let i = this.readWaitingApply.length - 1; i >= 0; i--) {
      const r = this.readWaitingApply[i]!;
      if (r.index > applied) continue;
      this.readWaitingApply.splice(i, 1);
      r.waiter.resolve();
    }
  }

  private onSoftState(leader: NodeId, role: Role): void {
    const leaderChanged = leader !== this.leader;
    const roleChanged = role !== this.role;
    this.leader = leader;
    this.role = role;
    const term = this.core.raft.term;
    if (leaderChanged) {
      this.m.leaderChangesTotal++;
      // Read requests in flight went to the old leader and may never be answered.
      for (const ws of this.readRequests.values()) {
        for (const w of ws) {
          this.m.readsFailedTotal++;
          w.reject(this.notLeader('leader changed while the read was in flight'));
        }
      }
      this.readRequests.clear();
      this.log('info', 'leader changed', { leader, term });
      this.emit('leader', { leader, term });
    }
    if (roleChanged) {
      if (role !== Role.Leader) {
        for (const p of this.queue) p.reject(this.notLeader());
        this.queue = [];
      }
      this.emit('role', { role: ROLE_NAMES[role], term });
    }
  }

  private async installSnapshot(s: Snapshot): Promise<void> {
    const { sm, addresses } = unwrapSnapshot(s.data);
    await this.sm.restore(sm);
    this.addresses = { ...addresses };
    this.transport.setPeers(this.addresses);
    this.m.snapshotsInstalledTotal++;
    this.m.snapshotIndex = s.meta.index;
    // Proposals at or below the snapshot were overtaken; their outcome is unknown here.
    for (const [index, p] of this.pending) {
      if (index > s.meta.index) continue;
      this.pending.delete(index);
      p.reject(
        new TimeoutError(`proposal at index ${index} was overtaken by a snapshot; outcome unknown`),
      );
    }
  }

  /**
   * Applies one committed entry and settles the proposal waiting for it. Returns a promise only
   * when the state machine's apply does, so a synchronous state machine costs no extra turns.
   */
  private applyEntry(e: Entry): Promise<void> | undefined {
    let p = this.pending.get(e.index);
    if (p) {
      this.pending.delete(e.index);
      if (p.term !== e.term) {
        // Another leader's entry took this index: our command was never committed.
        this.m.proposalsFailedTotal++;
        p.reject(this.notLeader('leadership changed before the command committed'));
        p = undefined;
      }
    }
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      const cs = this.core.applyConfChange(cc);
      if (cc.type === ConfChangeType.Remove) delete this.addresses[cc.id];
      else if (cc.context) this.addresses[cc.id] = cc.context;
      this.transport.setPeers(this.addresses);
      this.emit('membership', cs);
      p?.resolve(cs);
      return undefined;
    }
    this.m.entriesAppliedTotal++;
    if (e.data.length === 0) {
      p?.resolve(undefined);
      return undefined;
    }
    const failed = (err: unknown) => {
      this.log('warn', 'state machine apply failed', {
        index: e.index,
        error: (err as Error).message,
      });
      p?.reject(err as Error);
    };
    let r: R | Promise<R>;
    try {
      r = this.sm.apply(e.data, e.index);
    } catch (err) {
      failed(err);
      return undefined;
    }
    if (!(r instanceof Promise)) {
      p?.resolve(r);
      return undefined;
    }
    return r.then((v) => p?.resolve(v), failed);
  }

  private snapshotDue(): boolean {
    const log = this.core.raft.log;
    return log.applied - log.snapshot.meta.index >= this.snapshotEntries;
  }

  private async takeSnapshot(): Promise<void> {
    const log = this.core.raft.log;
    const data = wrapSnapshot(await this.sm.snapshot(), this.addresses);
    if (this.stopped) return;
    const snap = this.core.createSnapshot(data);
    const compactTo = Math.max(log.firstIndex() - 1, snap.meta.index - this.trailing);
    await this.storage.saveSnapshot(snap, compactTo);
    if (this.stopped) return;
    this.core.compact(compactTo);
    this.m.snapshotsCreatedTotal++;
    this.m.snapshotIndex = snap.meta.index;
    this.log('info', 'snapshot taken', { index: snap.meta.index, compactedTo: compactTo });
  }
}
