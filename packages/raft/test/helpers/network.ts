// An etcd-style synchronous in-memory network for core tests: messages are delivered in order,
// instantly, with optional drops, cuts and ignored types; storage is "written" on every step.
import { decodeConfChange } from '../../src/core/codec.js';
import { Prng } from '../../src/core/prng.js';
import type { InitialState, RawNodeOptions } from '../../src/core/rawnode.js';
import { RawNode } from '../../src/core/rawnode.js';
import type { Entry, Message, MsgType, NodeId, ReadState, Snapshot } from '../../src/core/types.js';
import { EntryType, message, NONE } from '../../src/core/types.js';

export interface TestRaftOptions extends Partial<Omit<RawNodeOptions, 'id'>> {
  learners?: NodeId[];
  state?: Partial<InitialState>;
}

export function snapshotOf(
  index: number,
  term: number,
  voters: NodeId[],
  learners: NodeId[] = [],
): Snapshot {
  return { meta: { index, term, conf: { voters, learners } }, data: new Uint8Array(0) };
}

/** A core node with the given voters (and learners), as etcd's newTestRaft. */
export function newRaft(id: NodeId, voters: NodeId[], opts: TestRaftOptions = {}): RawNode {
  const { learners = [], state = {}, ...cfg } = opts;
  const snapshot = state.snapshot ?? snapshotOf(0, 0, voters, learners);
  return new RawNode(
    {
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      seed: seedOf(id),
      ...cfg,
      id,
    },
    {
      hardState: state.hardState ?? { term: 0, vote: NONE, commit: 0 },
      snapshot,
      entries: state.entries ?? [],
    },
  );
}

function seedOf(id: NodeId): number {
  let h = 7;
  for (const c of id) h = h * 31 + c.charCodeAt(0);
  return h;
}

export function ents(...terms: number[]): Entry[] {
  return terms.map((term, i) => ({
    term,
    index: i + 1,
    type: EntryType.Normal,
    data: new Uint8Array(0),
  }));
}

export function entry(index: number, term: number, data = ''): Entry {
  return { term, index, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

/** A node whose log holds entries with the given terms (index 1..n) and whose term is the last. */
export function raftWithLog(
  id: NodeId,
  voters: NodeId[],
  terms: number[],
  opts: TestRaftOptions = {},
): RawNode {
  const last = terms.length ? terms[terms.length - 1]! : 0;
  return newRaft(id, voters, {
    ...opts,
    state: { entries: ents(...terms), hardState: { term: last, vote: NONE, commit: 0 } },
  });
}

/** Takes the node's pending outgoing messages without persisting anything. */
export function takeMsgs(n: RawNode): Message[] {
  const ms = n.raft.msgs;
  n.raft.msgs = [];
  return ms;
}

/** Handles all of a node's Ready batches at once (persist, apply conf changes, advance). */
export function drain(n: RawNode, readStates?: ReadState[]): Message[] {
  const out: Message[] = [];
  while (n.hasReady()) {
    const rd = n.ready();
    readStates?.push(...rd.readStates);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) n.applyConfChange(decodeConfChange(e.data));
    }
    out.push(...rd.messages);
    n.advance(rd);
  }
  return out;
}

export function ids(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => String(i + 1));
}

export class Network {
  readonly peers = new Map<NodeId, RawNode | null>();
  private readonly dropm = new Map<string, number>();
  private readonly ignorem = new Set<MsgType>();
  private readonly rng = new Prng(42);
  msgHook: ((m: Message) => boolean) | undefined;
  delivered: Message[] = [];
  /** Read states each node produced, in order. */
  readonly reads = new Map<NodeId, ReadState[]>();

  private drainNode(id: NodeId, n: RawNode): Message[] {
    let rs = this.reads.get(id);
    if (!rs) {
      rs = [];
      this.reads.set(id, rs);
    }
    return drain(n, rs);
  }

  /** Builds a network of nodes '1'..'n'; `null` is a black hole, `undefined` a fresh node. */
  constructor(nodes: (RawNode | null | undefined)[], opts: TestRaftOptions = {}) {
    const all = ids(nodes.length);
    nodes.forEach((n, i) => {
      const id = all[i]!;
      this.peers.set(id, n === undefined ? newRaft(id, all, opts) : n);
    });
  }

  node(id: NodeId): RawNode {
    const n = this.peers.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  send(...msgs: Message[]): void {
    const queue = [...msgs];
    while (queue.length > 0) {
      const m = queue.shift()!;
      const p = this.peers.get(m.to);
      if (!p) continue;
      this.delivered.push(m);
      p.raft.step(m);
      queue.push(...this.filter(this.drainNode(m.to, p)));
    }
  }

  /** Starts an election on `id` and delivers everything that follows. */
  campaign(id: NodeId): void {
    this.send(message({ type: 0 as MsgType, from: id, to: id }));
  }

  propose(id: NodeId, data = 'x'): void {
    const n = this.node(id);
    try {
      n.propose([new TextEncoder().encode(data)]);
    } catch {
      // dropped: mirrors a proposal to a non-leader
    }
    this.send(...this.filter(this.drainNode(id, n)));
  }

  tick(id: NodeId, times = 1): void {
    const n = this.node(id);
    for (let i = 0; i < times; i++) n.tick();
    this.send(...this.filter(this.drainNode(id, n)));
  }

  filter(msgs: Message[]): Message[] {
    return msgs.filter((m) => {
      if (this.ignorem.has(m.type)) return false;
      const p = this.dropm.get(`${m.from}->${m.to}`) ?? 0;
      if (p > 0 && this.rng.next() < p) return false;
      if (this.msgHook && !this.msgHook(m)) return false;
      return true;
    });
  }

  drop(from: NodeId, to: NodeId, perc: number): void {
    this.dropm.set(`${from}->${to}`, perc);
  }

  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b, 2);
    this.drop(b, a, 2);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MsgType): void {
    this.ignorem.add(t);
  }

  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
    this.msgHook = undefined;
  }
}

/** Has every follower acknowledge the leader's no-op entry, then persists and applies it. */
export function commitNoop(n: RawNode): void {
  drain(n);
  for (const id of n.raft.prs.keys()) {
    if (id === n.raft.id) continue;
    n.raft.step(
      message({
        type: 11 as MsgType,
        from: id,
        to: n.raft.id,
        term: n.raft.term,
        index: n.raft.log.lastIndex(),
      }),
    );
  }
  drain(n);
}
