import { emptySnapshot, encodeConfChange } from './codec.js';
import { PROGRESS_STATE_NAMES } from './progress.js';
import type { RaftConfig } from './raft.js';
import { DEFAULT_CONFIG, ProposalDropped, Raft } from './raft.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  RoleName,
  Snapshot,
  SoftState,
} from './types.js';
import { ConfChangeType, EntryType, MsgType, message, NONE, ROLE_NAMES, Role } from './types.js';

/**
 * One batch of work for the embedder, in the order it must be handled:
 *  1. persist `snapshot`, `entries` (replacing any stored entries from entries[0].index on) and
 *     `hardState`, atomically, synced to disk when `mustSync`;
 *  2. send `messages` (a leader may send them before step 1, see `canSendBeforePersist`);
 *  3. install `snapshot` into the state machine, apply `committedEntries` in order (calling
 *     `applyConfChange` for conf-change entries) and serve `readStates` once applied;
 *  4. call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
  /**
   * The messages may be sent before this Ready is persisted: set for a leader whose term and vote
   * are already on disk, so its appends are written by followers and itself in parallel (thesis
   * §10.2.1). Otherwise persist first, then send.
   */
  sendBeforePersist: boolean;
}

/** What a node starts from: its persisted state (all empty for a brand-new node). */
export interface InitialState {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export type RawNodeOptions = Partial<Omit<RaftConfig, 'id'>> & { id: NodeId };

export interface ProgressStatus {
  match: number;
  next: number;
  state: (typeof PROGRESS_STATE_NAMES)[number];
  learner: boolean;
  recentActive: boolean;
  inflight: number;
}

export interface CoreStatus {
  id: NodeId;
  role: RoleName;
  leader: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  conf: ConfState;
  leadTransferee: NodeId;
  /** The leader's view of every member; empty on other roles. */
  progress: Record<NodeId, ProgressStatus>;
}

export function emptyState(): InitialState {
  return { hardState: { term: 0, vote: NONE, commit: 0 }, snapshot: emptySnapshot(), entries: [] };
}

/**
 * The persisted state of a new cluster member bootstrapping a cluster of `peers` (id -> address).
 * Every founding member must bootstrap from the same map: the log starts with one committed
 * AddVoter entry per peer, in id order, so members that join later learn the founders from it.
 */
export function bootstrapState(peers: Record<NodeId, string>): InitialState {
  const ids = Object.keys(peers).sort();
  if (ids.length === 0) throw new Error('bootstrap: at least one peer is needed');
  const entries: Entry[] = ids.map((id, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddVoter, id, context: peers[id] }),
  }));
  return {
    hardState: { term: 1, vote: NONE, commit: entries.length },
    snapshot: emptySnapshot(),
    entries,
  };
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The synchronous, single-threaded Raft node (etcd's RawNode): feed it ticks, messages and
 * proposals, then take `ready()` batches and `advance()` after handling each.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private inFlight: Ready | undefined;
  private readonly maxCommittedBytes: number;

  constructor(options: RawNodeOptions, state: InitialState = emptyState()) {
    const cfg: RaftConfig = { ...DEFAULT_CONFIG, seed: 1, ...options };
    this.maxCommittedBytes = cfg.maxCommittedBytesPerReady;
    this.raft = new Raft(cfg, state.hardState, state.snapshot, state.entries);
    this.prevSoft = { leader: this.raft.lead, role: this.raft.role };
    this.prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(message({ type: MsgType.Hup, from: this.raft.id }));
  }

  /**
   * Appends commands to the log (leader only) and returns the index of the first one; they get
   * consecutive indexes. Throws ProposalDropped when they were not appended.
   */
  propose(commands: Uint8Array[]): { index: number; term: number } {
    const index = this.raft.log.lastIndex() + 1;
    this.raft.propose(
      commands.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data })),
    );
    return { index, term: this.raft.term };
  }

  /** Proposes one membership change; only one may be in flight (single-step changes). */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    const invalid = this.raft.validateConfChange(cc);
    if (invalid) throw new ProposalDropped('invalid-conf-change', invalid);
    const index = this.raft.log.lastIndex() + 1;
    this.raft.propose([
      { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) },
    ]);
    return { index, term: this.raft.term };
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Steps a message received from a peer. Throws on messages that may not come from the network. */
  step(m: Message): void {
    this.raft.stepRemote(m);
  }

  /** Requests a linearizable read point; it appears in a later Ready's readStates under `context`. */
  readIndex(context: string): void {
    if (!context) throw new Error('readIndex: context must be a non-empty string');
    this.raft.step(message({ type: MsgType.ReadIndex, from: NONE, context }));
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: NodeId): void {
    this.raft.step(message({ type: MsgType.TransferLeader, from: transferee }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MsgType.Unreachable, from: id }));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MsgType.SnapStatus, from: id, reject: !ok }));
  }

  /**
   * Records a snapshot of the state machine at the applied index. Entries are not dropped until
   * `compact` is called (keep some so slow followers can catch up without a snapshot).
   */
  createSnapshot(data: Uint8Array): Snapshot {
    const log = this.raft.log;
    const index = log.applied;
    if (index <= log.snapshot.meta.index)
      throw new Error(`snapshot at ${index} is not newer than ${log.snapshot.meta.index}`);
    const term = log.term(index);
    if (term === undefined) throw new Error(`cannot snapshot at ${index}: entry is compacted`);
    const snap: Snapshot = { meta: { index, term, conf: this.raft.confState() }, data };
    log.snapshot = snap;
    return snap;
  }

  /** Drops log entries up to `index` (which must be covered by the latest snapshot). */
  compact(index: number): void {
    this.raft.log.compact(index);
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  hasReady(): boolean {
    if (this.inFlight) return false;
    const r = this.raft;
    const soft = this.softState();
    return (
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHard(r.hardState(), this.prevHard) ||
      r.log.pendingSnapshot !== undefined ||
      r.log.stabled < r.log.lastIndex() ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    if (this.inFlight) throw new Error('ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      entries: r.log.unstableEntries(),
      committedEntries: r.log.nextCommittedEntries(this.maxCommittedBytes),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
      sendBeforePersist: false,
    };
    r.msgs = [];
    r.readStates = [];
    const soft = this.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    const hard = r.hardState();
    let termOrVoteChanged = false;
    if (!sameHard(hard, this.prevHard)) {
      rd.hardState = hard;
      termOrVoteChanged = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
      this.prevHard = hard;
    }
    if (r.log.pendingSnapshot) rd.snapshot = r.log.pendingSnapshot;
    rd.mustSync = termOrVoteChanged || rd.entries.length > 0 || rd.snapshot !== undefined;
    rd.sendBeforePersist =
      r.role === Role.Leader && !termOrVoteChanged && rd.snapshot === undefined;
    this.inFlight = rd;
    return rd;
  }

  /** Records that entries up to `index` (committed and handed out) have been applied. */
  appliedTo(index: number): void {
    this.raft.log.appliedTo(index);
  }

  /**
   * Committed entries that are already on disk here and not yet applied, for applying while a
   * Ready's write is in flight (a commit learned meanwhile need not wait for that write). Stops
   * before a configuration change, which goes through the next Ready. The caller applies them in
   * order; they count as applied at once.
   */
  takeCommittedStable(): Entry[] {
    const log = this.raft.log;
    const ents = log.nextCommittedEntries(this.maxCommittedBytes);
    const conf = ents.findIndex((e) => e.type === EntryType.ConfChange);
    const out = conf < 0 ? ents : ents.slice(0, conf);
    if (out.length > 0) log.appliedTo(out[out.length - 1]!.index);
    return out;
  }

  /** Marks a Ready as handled: its entries are stable and its committed entries applied. */
  advance(rd: Ready): void {
    if (rd !== this.inFlight)
      throw new Error('advance() called with a Ready that is not in flight');
    const log = this.raft.log;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index);
      log.appliedTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0)
      log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    this.inFlight = undefined;
  }

  status(): CoreStatus {
    const r = this.raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.role === Role.Leader) {
      for (const [id, pr] of r.prs) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: PROGRESS_STATE_NAMES[pr.state],
          learner: pr.isLearner,
          recentActive: pr.recentActive,
          inflight: pr.inflights.count(),
        };
      }
    }
    return {
      id: r.id,
      role: ROLE_NAMES[r.role],
      leader: r.lead,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      snapshotIndex: r.log.snapshot.meta.index,
      conf: r.confState(),
      leadTransferee: r.leadTransferee,
      progress,
    };
  }
}
