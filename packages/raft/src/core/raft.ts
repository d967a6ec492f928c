import { RaftLog } from './log.js';
import { Prng } from './prng.js';
import { Progress, ProgressState } from './progress.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Snapshot,
} from './types.js';
import {
  ConfChangeType,
  EntryType,
  entrySize,
  isLocalMsg,
  MsgType,
  message,
  NONE,
  Role,
  voteRespType,
} from './types.js';

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  electionTicks: number;
  /** Ticks between leader heartbeats; must be smaller than electionTicks. */
  heartbeatTicks: number;
  /** Run a pre-election first so a partitioned node cannot disrupt the cluster on rejoin. */
  preVote: boolean;
  /** Leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum: boolean;
  /** Upper bound on the entry bytes in one append message. */
  maxSizePerMsg: number;
  /** Appends in flight per follower in the replicate state (pipelining window). */
  maxInflightMsgs: number;
  /** Bytes in flight per follower; 0 for no byte limit. */
  maxInflightBytes: number;
  /** Proposals are dropped once the leader's uncommitted tail exceeds this; 0 for no limit. */
  maxUncommittedBytes: number;
  /** Upper bound on committed entry bytes handed out in one Ready (at least one entry). */
  maxCommittedBytesPerReady: number;
  /** Seed for the randomized election timeout. */
  seed: number;
}

export const DEFAULT_CONFIG: Omit<RaftConfig, 'id' | 'seed'> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 0,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxCommittedBytesPerReady: 16 * 1024 * 1024,
};

/** Why a proposal was not appended to the log. */
export class ProposalDropped extends Error {
  override name = 'ProposalDropped';
  constructor(
    readonly reason:
      | 'not-leader'
      | 'transferring'
      | 'removed'
      | 'too-many-uncommitted'
      | 'conf-change-pending'
      | 'invalid-conf-change',
    detail?: string,
  ) {
    super(detail ? `proposal dropped (${reason}): ${detail}` : `proposal dropped (${reason})`);
  }
}

const CAMPAIGN_TRANSFER = 'transfer';

type CampaignType = 'pre-election' | 'election' | 'transfer';

interface ReadRequest {
  from: NodeId;
  context: string;
  index: number;
  acks: Set<NodeId>;
}

/**
 * The Raft protocol as a deterministic state machine (a port of etcd-io/raft's raft.go): messages
 * and ticks in, messages and log changes out. It never touches a clock, a socket or a disk.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  readonly prs = new Map<NodeId, Progress>();
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId = NONE;
  /** Index of the last conf change appended; a new one waits until it is applied. */
  pendingConfIndex = 0;

  private readonly cfg: RaftConfig;
  private readonly rng: Prng;
  private votes = new Map<NodeId, boolean>();
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private uncommittedBytes = 0;
  /** Scratch space of maybeCommit (one slot per voter). */
  private readonly matchScratch: number[] = [];
  private readQueue: ReadRequest[] = [];
  private pendingReadIndexMessages: Message[] = [];

  constructor(cfg: RaftConfig, hard: HardState, snapshot: Snapshot, entries: Entry[]) {
    if (!cfg.id) throw new Error('raft config: id must be a non-empty string');
    if (cfg.heartbeatTicks <= 0) throw new Error('raft config: heartbeatTicks must be > 0');
    if (cfg.electionTicks <= cfg.heartbeatTicks) {
      throw new Error('raft config: electionTicks must be greater than heartbeatTicks');
    }
    if (cfg.maxInflightMsgs <= 0) throw new Error('raft config: maxInflightMsgs must be > 0');
    this.cfg = cfg;
    this.id = cfg.id;
    this.rng = new Prng(cfg.seed);
    this.log = new RaftLog(snapshot, entries, hard.commit);
    this.applyConfState(snapshot.meta.conf);
    this.becomeFollower(hard.term, NONE);
    this.vote = hard.vote;
  }

  // ---------------------------------------------------------------- state transitions

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  promotable(): boolean {
    return this.voters.has(this.id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.cfg.electionTicks + this.rng.int(0, this.cfg.electionTicks);
    this.abortLeaderTransfer();
    this.votes = new Map();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      const fresh = new Progress(
        last + 1,
        pr.isLearner,
        this.cfg.maxInflightMsgs,
        this.cfg.maxInflightBytes,
      );
      if (id === this.id) fresh.match = last;
      this.prs.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readQueue = [];
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote.
    this.votes = new Map();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  becomeCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  becomeLeader(): void {
    if (this.role === Role.Follower) throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.prs.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conf changes in the uncommitted tail may be pending: allow no new one before they apply.
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op entry of the new term lets earlier-term entries commit (§5.4.2).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MsgType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(message({ type: MsgType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MsgType.Beat, from: this.id }));
    }
  }

  /** For tests: whether the election timer has passed the randomized timeout. */
  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  randomizedTimeout(): number {
    return this.randomizedElectionTimeout;
  }

  /** For tests: pins the randomized election timeout. */
  setRandomizedElectionTimeout(ticks: number): void {
    this.randomizedElectionTimeout = ticks;
  }

  // ---------------------------------------------------------------- sending

  private send(m: Message): void {
    m.from = this.id;
    if (
      m.type === MsgType.Vote ||
      m.type === MsgType.VoteResp ||
      m.type === MsgType.PreVote ||
      m.type === MsgType.PreVoteResp
    ) {
      if (m.term === 0) throw new Error(`term must be set when sending ${m.type}`);
    } else {
      if (m.term !== 0) throw new Error(`term must not be set when sending ${m.type}`);
      // Proposals and read requests forwarded to the leader carry no term (local-like).
      if (m.type !== MsgType.ReadIndex && m.type !== MsgType.TransferLeader) m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot) to `to` if its flow control allows. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || !this.log.hasEntriesFrom(pr.next)) {
      return this.sendSnapshot(to, pr);
    }
    const ents = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsg);
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    this.send(
      message({
        type: MsgType.App,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.log.committed,
      }),
    );
    pr.sentEntries(ents.length, bytes, ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot;
    pr.becomeSnapshot(snap.meta.index);
    this.send(message({ type: MsgType.Snap, to, snapshot: snap }));
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private sendHeartbeat(to: NodeId, context: string): void {
    const pr = this.prs.get(to)!;
    // Never tell a follower to commit past what it is known to have.
    const commit = Math.min(pr.match, this.log.committed);
    this.send(message({ type: MsgType.Heartbeat, to, commit, context }));
  }

  bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context = ''): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  // ---------------------------------------------------------------- log

  appendEntries(es: Entry[]): boolean {
    const last = this.log.lastIndex();
    let bytes = 0;
    for (const e of es) bytes += e.data.length;
    if (
      this.cfg.maxUncommittedBytes > 0 &&
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes
    ) {
      return false;
    }
    this.uncommittedBytes += bytes;
    for (let i = 0; i < es.length; i++) {
      es[i]!.term = this.term;
      es[i]!.index = last + 1 + i;
    }
    const li = this.log.append(es);
    this.prs.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return true;
  }

  /** Advances the commit index to the quorum's match (current-term entries only). */
  maybeCommit(): boolean {
    if (this.voters.size === 0) return false;
    // The quorum-th highest match, by insertion sort into a reused array: this runs on every
    // acknowledgement, so it allocates nothing.
    const matches = this.matchScratch;
    let n = 0;
    for (const id of this.voters) {
      const m = this.prs.get(id)?.match ?? 0;
      let i = n++;
      for (; i > 0 && matches[i - 1]! < m; i--) matches[i] = matches[i - 1]!;
      matches[i] = m;
    }
    const mci = matches[this.quorum() - 1]!;
    const before = this.log.committed;
    if (!this.log.maybeCommit(mci, this.term)) return false;
    if (this.uncommittedBytes > 0) {
      for (const e of this.log.slice(before + 1, this.log.committed + 1)) {
        this.uncommittedBytes -= e.data.length;
      }
      if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    }
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---------------------------------------------------------------- elections

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (lo > this.log.committed) return false;
    for (const e of this.log.slice(lo, this.log.committed + 1)) {
      if (e.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  private hup(t: CampaignType): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  private campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MsgType;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MsgType.PreVote;
      // Pre-vote requests carry the term we would have, without changing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MsgType.Vote;
      term = this.term;
    }
    const res = this.poll(this.id, voteRespType(voteMsg), true);
    if (res === 'won') {
      // Single voter: no one to ask.
      if (t === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    for (const id of [...this.voters].sort()) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteMsg,
          to: id,
          term,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
          context: t === 'transfer' ? CAMPAIGN_TRANSFER : '',
        }),
      );
    }
  }

  private poll(id: NodeId, _t: MsgType, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.voters) {
      const g = this.votes.get(v);
      if (g === true) yes++;
      else if (g === false) no++;
    }
    const q = this.quorum();
    if (yes >= q) return 'won';
    if (this.voters.size - no < q) return 'lost';
    return 'pending';
  }

  // ---------------------------------------------------------------- step

  step(m: Message): void {
    if (m.term === 0) {
      // local message (or a forwarded proposal / read request)
    } else if (m.term > this.term) {
      if (m.type === MsgType.Vote || m.type === MsgType.PreVote) {
        const force = m.context === CAMPAIGN_TRANSFER;
        const inLease =
          this.cfg.checkQuorum &&
          this.lead !== NONE &&
          this.electionElapsed < this.cfg.electionTicks;
        // A node that hears from a leader ignores disruptive candidates (§4.2.3 of the thesis).
        if (!force && inLease) return;
      }
      if (m.type === MsgType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MsgType.PreVoteResp && !m.reject) {
        // We sent pre-votes with a future term; a granted one does not move ours.
      } else if (
        m.type === MsgType.App ||
        m.type === MsgType.Heartbeat ||
        m.type === MsgType.Snap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MsgType.Heartbeat || m.type === MsgType.App)
      ) {
        // A stale leader (e.g. after a partition heals) learns our term from this and steps down.
        this.send(message({ type: MsgType.AppResp, to: m.from }));
      } else if (m.type === MsgType.PreVote) {
        this.send(
          message({ type: MsgType.PreVoteResp, to: m.from, term: this.term, reject: true }),
        );
      }
      return;
    }

    switch (m.type) {
      case MsgType.Hup:
        this.hup(this.cfg.preVote ? 'pre-election' : 'election');
        return;
      case MsgType.Vote:
      case MsgType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MsgType.PreVote && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.send(message({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === MsgType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(
            message({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }),
          );
        }
        return;
      }
      default:
        if (this.role === Role.Leader) this.stepLeader(m);
        else if (this.role === Role.Follower) this.stepFollower(m);
        else this.stepCandidate(m);
    }
  }

  /** Appends a proposal; throws ProposalDropped when this node cannot take it. */
  propose(entries: Entry[]): void {
    if (this.role !== Role.Leader) throw new ProposalDropped('not-leader');
    if (entries.length === 0) throw new Error('propose: no entries');
    if (!this.prs.has(this.id)) throw new ProposalDropped('removed');
    if (this.leadTransferee !== NONE)
      throw new ProposalDropped('transferring', `to ${this.leadTransferee}`);
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.type !== EntryType.ConfChange) continue;
      if (this.pendingConfIndex > this.log.applied) {
        throw new ProposalDropped(
          'conf-change-pending',
          `index ${this.pendingConfIndex} not applied yet`,
        );
      }
      this.pendingConfIndex = this.log.lastIndex() + i + 1;
    }
    if (!this.appendEntries(entries)) throw new ProposalDropped('too-many-uncommitted');
    this.bcastAppend();
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MsgType.Beat:
        this.bcastHeartbeat();
        return;
      case MsgType.CheckQuorum:
        if (!this.quorumActive()) this.becomeFollower(this.term, NONE);
        for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
        return;
      case MsgType.Prop:
        try {
          this.propose(m.entries);
        } catch (e) {
          if (!(e instanceof ProposalDropped)) throw e;
        }
        return;
      case MsgType.ReadIndex:
        if (this.voters.size === 1 && this.voters.has(this.id)) {
          this.respondToReadIndex(m.from, m.context, this.log.committed);
        } else if (!this.committedEntryInCurrentTerm()) {
          // The commit index of a new leader is only known once an entry of its term commits.
          this.pendingReadIndexMessages.push(m);
        } else {
          this.startReadIndex(m);
        }
        return;
      case MsgType.TransferLeader:
        this.handleTransferLeader(m);
        return;
    }
    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MsgType.AppResp:
        this.handleAppendResponse(m, pr);
        return;
      case MsgType.HeartbeatResp:
        this.handleHeartbeatResponse(m, pr);
        return;
      case MsgType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's answer (or the next heartbeat) before probing again.
        pr.paused = true;
        return;
      case MsgType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (this.maybeCommit()) {
        this.releasePendingReadIndexMessages();
        this.bcastAppend();
      } else if (wasPaused) {
        this.sendAppend(m.from);
      }
      // Fill the pipeline while flow control allows.
      while (this.maybeSendAppend(m.from, false)) {}
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.sendTimeoutNow(m.from);
      }
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.paused = false;
    if (pr.match < this.log.lastIndex() || pr.state === ProgressState.Probe)
      this.sendAppend(m.from);
    if (m.context === '') return;
    const i = this.readQueue.findIndex((r) => r.context === m.context);
    if (i < 0) return;
    const req = this.readQueue[i]!;
    if (this.voters.has(m.from)) req.acks.add(m.from);
    let acks = 0;
    for (const id of req.acks) if (this.voters.has(id)) acks++;
    if (acks < this.quorum()) return;
    // A quorum confirmed leadership after this request arrived: it and every earlier one are safe.
    const done = this.readQueue.splice(0, i + 1);
    for (const r of done) this.respondToReadIndex(r.from, r.context, r.index);
  }

  private startReadIndex(m: Message): void {
    if (this.readQueue.some((r) => r.context === m.context)) return;
    this.readQueue.push({
      from: m.from,
      context: m.context,
      index: this.log.committed,
      acks: new Set([this.id]),
    });
    this.bcastHeartbeat(m.context);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondToReadIndex(from: NodeId, context: string, index: number): void {
    if (from === NONE || from === this.id) {
      this.readStates.push({ index, context });
    } else {
      this.send(message({ type: MsgType.ReadIndexResp, to: from, index, context }));
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === this.id || this.prs.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }

  private handleTransferLeader(m: Message): void {
    const transferee = m.from;
    const pr = this.prs.get(transferee);
    if (!pr || pr.isLearner || !this.voters.has(transferee)) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message({ type: MsgType.TimeoutNow, to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === Role.PreCandidate ? MsgType.PreVoteResp : MsgType.VoteResp;
    switch (m.type) {
      case MsgType.Prop:
        return;
      case MsgType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MsgType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MsgType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const res = this.poll(m.from, m.type, !m.reject);
        if (res === 'won') {
          if (this.role === Role.PreCandidate) {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === 'lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MsgType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MsgType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MsgType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MsgType.TransferLeader:
        if (this.lead === NONE) return;
        this.msgs.push({ ...m, to: this.lead, term: 0 });
        return;
      case MsgType.TimeoutNow:
        // Leader transfer: campaign at once, skipping the pre-vote and the lease check.
        this.hup('transfer');
        return;
      case MsgType.ReadIndex:
        if (this.lead === NONE) return;
        this.msgs.push({ ...m, to: this.lead, from: this.id, term: 0 });
        return;
      case MsgType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(message({ type: MsgType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: MsgType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index where our log could match the leader's.
    const hint = Math.min(m.index, this.log.lastIndex());
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(hint, m.logTerm);
    this.send(
      message({
        type: MsgType.AppResp,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: hintTerm,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(message({ type: MsgType.HeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.send(message({ type: MsgType.AppResp, to: m.from, index: this.log.lastIndex() }));
    } else {
      this.send(message({ type: MsgType.AppResp, to: m.from, index: this.log.committed }));
    }
  }

  /** Installs a leader's snapshot; false if it is stale or already covered by our log. */
  restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.role !== Role.Follower) {
      // Only followers take snapshots; this should not happen since the sender is the leader.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const inConf = s.meta.conf.voters.includes(this.id) || s.meta.conf.learners.includes(this.id);
    if (!inConf) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the entries: just fast-forward the commit index.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.prs.clear();
    this.voters.clear();
    this.learners.clear();
    this.applyConfState(s.meta.conf);
    return true;
  }

  // ---------------------------------------------------------------- membership

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  private applyConfState(cs: ConfState): void {
    for (const id of cs.voters) this.voters.add(id);
    for (const id of cs.learners) this.learners.add(id);
    const last = this.log.lastIndex();
    for (const id of [...cs.voters, ...cs.learners]) {
      const pr = new Progress(
        last + 1,
        this.learners.has(id),
        this.cfg.maxInflightMsgs,
        this.cfg.maxInflightBytes,
      );
      if (id === this.id) pr.match = last;
      this.prs.set(id, pr);
    }
  }

  /** Checks a change against the current configuration (single-step changes only). */
  validateConfChange(cc: ConfChange): string | undefined {
    if (!cc.id) return 'node id must be a non-empty string';
    if (cc.type === ConfChangeType.Remove && this.voters.has(cc.id) && this.voters.size === 1) {
      return `removing ${cc.id} would leave no voters`;
    }
    if (cc.type === ConfChangeType.AddLearner && this.voters.has(cc.id) && this.voters.size === 1) {
      return `demoting ${cc.id} would leave no voters`;
    }
    return undefined;
  }

  /** Applies a committed conf change (call when the entry is applied); returns the new config. */
  applyConfChange(cc: ConfChange): ConfState {
    if (this.validateConfChange(cc) !== undefined) return this.confState();
    const last = this.log.lastIndex();
    const ensure = (learner: boolean) => {
      let pr = this.prs.get(cc.id);
      if (!pr) {
        pr = new Progress(last + 1, learner, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
        // A new member counts as active so CheckQuorum does not trip before it answers.
        pr.recentActive = true;
        if (cc.id === this.id) pr.match = last;
        this.prs.set(cc.id, pr);
      }
      pr.isLearner = learner;
    };
    switch (cc.type) {
      case ConfChangeType.AddVoter:
        this.learners.delete(cc.id);
        this.voters.add(cc.id);
        ensure(false);
        break;
      case ConfChangeType.AddLearner:
        this.voters.delete(cc.id);
        this.learners.add(cc.id);
        ensure(true);
        break;
      case ConfChangeType.Remove:
        this.voters.delete(cc.id);
        this.learners.delete(cc.id);
        this.prs.delete(cc.id);
        break;
    }
    if (this.role === Role.Leader) {
      if (!this.voters.has(this.id)) {
        // Removed or demoted leader: step down; the others elect a new leader.
        this.becomeFollower(this.term, NONE);
      } else {
        if (this.leadTransferee !== NONE && !this.voters.has(this.leadTransferee))
          this.abortLeaderTransfer();
        if (this.maybeCommit()) {
          this.releasePendingReadIndexMessages();
          this.bcastAppend();
        } else {
          for (const id of this.prs.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
        }
      }
    }
    return this.confState();
  }

  // ---------------------------------------------------------------- local-message helpers

  /**
   * Entry point for messages from the network: local message types, and term-less messages other
   * than forwarded requests, are refused with an error naming them.
   */
  stepRemote(m: Message): void {
    if (isLocalMsg(m.type)) throw new Error(`message type ${m.type} from ${m.from} is local-only`);
    if (m.term === 0 && m.type !== MsgType.ReadIndex && m.type !== MsgType.TransferLeader) {
      throw new Error(`message type ${m.type} from ${m.from} has no term`);
    }
    if (!m.from) throw new Error(`message type ${m.type} has no sender`);
    this.step(m);
  }
}
