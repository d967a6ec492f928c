// A seeded, deterministic cluster simulator. Real RaftNode drivers, the real core and the KV
// example run on a virtual clock over an in-memory network that drops, delays, duplicates and
// reorders messages and partitions nodes; disks complete writes after a delay and nodes crash and
// restart, keeping or losing what was not yet synced. Raft's safety properties are checked after
// every event, and client histories are checked for linearizability at the end.
import { encodeCommand, KvStore } from '../../examples/kv-store.js';
import { Prng } from '../../src/core/prng.js';
import type { InitialState } from '../../src/core/rawnode.js';
import type { Entry, HardState, NodeId, Snapshot } from '../../src/core/types.js';
import { NONE, Role } from '../../src/core/types.js';
import { NotLeaderError } from '../../src/errors.js';
import type { Clock } from '../../src/node/clock.js';
import { RaftNode } from '../../src/node/node.js';
import type { RaftStorage, StorageUpdate } from '../../src/storage/storage.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/transport.js';
import type { KvOp } from './linearizability.js';
import { checkKv } from './linearizability.js';

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

// ------------------------------------------------------------------ virtual clock

interface Ev {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
  scope: number;
}

class SimClock {
  now = 0;
  private seq = 0;
  private readonly heap: Ev[] = [];
  private readonly dead = new Set<number>();
  private nextScope = 1;

  newScope(): number {
    return this.nextScope++;
  }

  kill(scope: number): void {
    this.dead.add(scope);
  }

  schedule(at: number, fn: () => void, scope = 0): Ev {
    const ev: Ev = { at, seq: this.seq++, fn, scope };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, ev)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ev;
    return ev;
  }

  private pop(): Ev | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const cur = m === i ? last : h[m]!;
        let best = cur;
        if (l < h.length && less(h[l]!, best)) {
          m = l;
          best = h[l]!;
        }
        if (r < h.length && less(h[r]!, best)) {
          m = r;
          best = h[r]!;
        }
        if (m === i) break;
        h[i] = h[m]!;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }

  /** Runs the next live event; false when none is due by `until`. */
  runNext(until: number): boolean {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > until) return false;
      this.pop();
      if (!top.fn || this.dead.has(top.scope)) continue;
      this.now = top.at;
      top.fn();
      return true;
    }
  }

  clockFor(scope: number): Clock {
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => this.schedule(this.now + Math.max(0, ms), fn, scope),
      clearTimeout: (h) => {
        (h as Ev).fn = undefined;
      },
      defer: (fn) => {
        this.schedule(this.now, fn, scope);
      },
    };
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

// ------------------------------------------------------------------ hashing

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function chainOf(prev: number, term: number, dataHash: number): number {
  let h = Math.imul(prev ^ 0x9e3779b9, 0x85ebca6b) ^ term;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ dataHash;
  return (h ^ (h >>> 16)) >>> 0;
}

// ------------------------------------------------------------------ disks

interface Image {
  hard: HardState;
  snapshot: Snapshot;
  snapChain: number;
  entries: Entry[];
  chains: number[];
  written: boolean;
}

function cloneImage(i: Image): Image {
  return { ...i, hard: { ...i.hard }, entries: [...i.entries], chains: [...i.chains] };
}

/** Committed entries as the cluster has durably recorded them. */
interface Committed {
  term: number;
  chain: number;
  dataHash: number;
}

class SimDisk {
  stable: Image;
  current: Image;
  inflight: ((img: Image) => void) | undefined;
  inflightSync = false;
  recordedCommit = 0;

  constructor(
    private readonly sim: Simulation,
    readonly id: NodeId,
  ) {
    const empty: Image = {
      hard: { term: 0, vote: NONE, commit: 0 },
      snapshot: {
        meta: { index: 0, term: 0, conf: { voters: [], learners: [] } },
        data: new Uint8Array(0),
      },
      snapChain: 0,
      entries: [],
      chains: [],
      written: false,
    };
    this.stable = empty;
    this.current = cloneImage(empty);
  }

  private applyUpdate(img: Image, u: StorageUpdate): void {
    img.written = true;
    if (u.snapshot) {
      img.snapshot = u.snapshot;
      img.snapChain = this.sim.committedChain(u.snapshot, this.id);
      img.entries = [];
      img.chains = [];
    }
    if (u.entries.length > 0) {
      const first = img.snapshot.meta.index + 1;
      const from = u.entries[0]!.index;
      const keep = from - first;
      if (keep < 0 || keep > img.entries.length) {
        throw new SafetyViolation(
          `node ${this.id}: write of entries from ${from} leaves a gap (log starts at ${first}, ${img.entries.length} entries)`,
        );
      }
      img.entries.length = keep;
      img.chains.length = keep;
      for (const e of u.entries) {
        const prev = img.chains.length > 0 ? img.chains[img.chains.length - 1]! : img.snapChain;
        const c = chainOf(prev, e.term, hashBytes(e.data));
        img.entries.push(e);
        img.chains.push(c);
        this.sim.recordEntry(this.id, e.index, e.term, c);
      }
    }
    if (u.hardState) img.hard = { ...u.hardState };
  }

  private compact(img: Image, s: Snapshot, compactTo: number): void {
    img.written = true;
    const first = img.snapshot.meta.index + 1;
    const k = s.meta.index - first;
    img.snapChain =
      k >= 0 && k < img.chains.length ? img.chains[k]! : this.sim.committedChain(s, this.id);
    // The image keeps what a restarted node would load: the snapshot and the entries after it
    // (LevelStorage keeps a few more, up to `compactTo`, which a restart ignores).
    void compactTo;
    const keepFrom = s.meta.index - first + 1;
    img.entries = img.entries.slice(keepFrom);
    img.chains = img.chains.slice(keepFrom);
    img.snapshot = s;
  }

  storage(scope: number): RaftStorage {
    const sim = this.sim;
    const write = (op: (img: Image) => void, sync: boolean) =>
      new Promise<void>((resolve) => {
        this.inflight = op;
        this.inflightSync = sync;
        sim.clock.schedule(
          sim.clock.now + sim.diskLatency(),
          () => {
            this.inflight = undefined;
            op(this.current);
            if (sync) this.stable = cloneImage(this.current);
            sim.afterDiskWrite(this);
            resolve();
          },
          scope,
        );
      });
    return {
      load: async (): Promise<InitialState | undefined> => {
        const img = this.current;
        if (!img.written) return undefined;
        return { hardState: { ...img.hard }, snapshot: img.snapshot, entries: [...img.entries] };
      },
      save: (u) => write((img) => this.applyUpdate(img, u), u.sync),
      saveSnapshot: (s, compactTo) => write((img) => this.compact(img, s, compactTo), true),
      close: async () => {},
    };
  }

  /** A crash: unsynced writes survive a process kill but not a power loss. */
  crash(powerLoss: boolean, rng: Prng): void {
    if (powerLoss) {
      this.current = cloneImage(this.stable);
    } else if (this.inflight && rng.chance(0.5)) {
      // the batch reached the OS before the crash
      this.inflight(this.current);
      this.sim.afterDiskWrite(this);
    }
    this.inflight = undefined;
  }
}

// ------------------------------------------------------------------ the simulation

export interface SimOptions {
  seed: number;
  /** Virtual ms of faults, then of healing. */
  faultMs?: number;
  healMs?: number;
}

interface SimNode {
  id: NodeId;
  disk: SimDisk;
  node: RaftNode | undefined;
  transport: Transport | undefined;
  /** Applied index already recorded as committed. */
  applied: number;
  store: SimStore;
  scope: number;
  starting: boolean;
}

class SimStore extends KvStore {
  constructor(
    private readonly sim: Simulation,
    private readonly id: NodeId,
  ) {
    super();
  }

  override apply(command: Uint8Array, index: number) {
    this.sim.checkApply(this.id, index, command);
    return super.apply(command, index);
  }
}

interface ClientOp extends KvOp {
  node: NodeId;
  done: boolean;
}

export class Simulation {
  readonly clock = new SimClock();
  readonly rng: Prng;
  readonly net: MemoryNetwork;
  readonly ids: NodeId[];
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly committed = new Map<number, Committed>();
  private readonly entryChains = new Map<string, number>();
  private readonly leaders = new Map<number, NodeId>();
  /** term -> highest commit index durably recorded by a node at that term. */
  private readonly commitMarks = new Map<number, number>();
  private readonly history: ClientOp[] = [];
  private readonly outstanding = new Set<ClientOp>();
  private readonly acked: { key: string; value: string; index: number }[] = [];
  private readonly diskRange: [number, number];
  /** Virtual ms between faults: some seeds are far more hostile than others. */
  private readonly faultGap: [number, number];
  private valueSeq = 0;
  steps = 0;
  trace = 0;
  /** An error raised in a callback, rethrown by the run loop. */
  private asyncFailure: Error | undefined;
  log: string[] = [];

  constructor(readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    const size = this.rng.chance(0.6) ? 3 : 5;
    this.faultGap = this.rng.chance(0.5) ? [10, 80] : [50, 300];
    this.ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    this.net = new MemoryNetwork({
      clock: this.clock.clockFor(0),
      seed: opts.seed ^ 0x5bd1e995,
      latency: [1, 1 + this.rng.int(1, 15)],
      dropRate: this.rng.chance(0.5) ? this.rng.next() * 0.1 : 0,
      duplicateRate: this.rng.chance(0.5) ? this.rng.next() * 0.05 : 0,
    });
    this.diskRange = [1, 1 + this.rng.int(1, 8)];
    for (const id of this.ids) {
      const s: SimNode = {
        id,
        disk: new SimDisk(this, id),
        node: undefined,
        transport: undefined,
        applied: 0,
        store: new SimStore(this, id),
        scope: 0,
        starting: false,
      };
      this.nodes.set(id, s);
    }
  }

  diskLatency(): number {
    return this.rng.int(this.diskRange[0], this.diskRange[1] + 1);
  }

  private note(s: string): void {
    this.log.push(`${this.clock.now.toFixed(0).padStart(6)} ${s}`);
    if (this.log.length > 400) this.log.shift();
  }

  // ---- invariants

  private fail(what: string): never {
    throw new SafetyViolation(`${what} (at ${this.clock.now} ms, step ${this.steps})`);
  }

  recordEntry(id: NodeId, index: number, term: number, chain: number): void {
    const k = `${index}:${term}`;
    const c = this.entryChains.get(k);
    if (c === undefined) this.entryChains.set(k, chain);
    else if (c !== chain)
      this.fail(
        `log matching: node ${id} stored entry (${index}, term ${term}) after a different log prefix`,
      );
  }

  committedChain(s: Snapshot, id: NodeId): number {
    const c = this.committed.get(s.meta.index);
    if (s.meta.index === 0) return 0;
    if (!c) this.fail(`node ${id} got a snapshot at ${s.meta.index} that was never committed`);
    if (c.term !== s.meta.term)
      this.fail(
        `node ${id} got a snapshot at ${s.meta.index} with term ${s.meta.term}, committed term ${c.term}`,
      );
    return c.chain;
  }

  afterDiskWrite(disk: SimDisk): void {
    const img = disk.current;
    const commit = img.hard.commit;
    const first = img.snapshot.meta.index + 1;
    if (img.snapshot.meta.index > disk.recordedCommit)
      disk.recordedCommit = img.snapshot.meta.index;
    for (let i = Math.max(disk.recordedCommit + 1, first); i <= commit; i++) {
      if (!img.entries[i - first])
        this.fail(
          `node ${disk.id}: commit ${commit} beyond its stored log (${first}..${first + img.entries.length - 1})`,
        );
      this.recordCommitted(disk, i, img.hard.term);
    }
    if (commit > disk.recordedCommit) disk.recordedCommit = commit;
  }

  /** Records that `index` is committed, as the entry `disk` holds there; checks it agrees. */
  private recordCommitted(
    disk: SimDisk,
    index: number,
    knownAtTerm: number,
  ): Committed | undefined {
    const img = disk.current;
    const first = img.snapshot.meta.index + 1;
    const e = img.entries[index - first];
    if (!e) return this.committed.get(index);
    const rec: Committed = {
      term: e.term,
      chain: img.chains[index - first]!,
      dataHash: hashBytes(e.data),
    };
    const prev = this.committed.get(index);
    if (!prev) this.committed.set(index, rec);
    else if (prev.term !== rec.term || prev.chain !== rec.chain) {
      this.fail(
        `state machine safety: node ${disk.id} has (${index}, term ${e.term}) committed, but (${index}, term ${prev.term}) was committed before`,
      );
    }
    if ((this.commitMarks.get(knownAtTerm) ?? 0) < index) this.commitMarks.set(knownAtTerm, index);
    return rec;
  }

  checkApply(id: NodeId, index: number, command: Uint8Array): void {
    const s = this.nodes.get(id)!;
    const term = s.node?.coreForTesting().raft.term ?? 0;
    const c = this.recordCommitted(s.disk, index, term);
    if (!c) this.fail(`node ${id} applied index ${index}, which is not on its disk`);
    if (c.dataHash !== hashBytes(command))
      this.fail(`state machine safety: node ${id} applied a different command at ${index}`);
  }

  private checkNodes(): void {
    for (const s of this.nodes.values()) {
      if (!s.node) continue;
      const r = s.node.coreForTesting().raft;
      this.trace = (Math.imul(this.trace ^ r.term, 31) + r.log.committed) >>> 0;
      // Applied entries (no-ops and conf changes included) are committed.
      for (let i = Math.max(s.applied + 1, r.log.firstIndex()); i <= r.log.applied; i++) {
        this.recordCommitted(s.disk, i, r.term);
      }
      s.applied = r.log.applied;
      if (r.role !== Role.Leader) continue;
      const prev = this.leaders.get(r.term);
      if (prev === undefined) {
        this.leaders.set(r.term, s.id);
        this.note(`${s.id} leader of term ${r.term}`);
      } else if (prev !== s.id)
        this.fail(`election safety: ${prev} and ${s.id} both led term ${r.term}`);
      // Leader completeness: entries committed as known at earlier terms are in this leader's log.
      let c = 0;
      for (const [term, idx] of this.commitMarks) if (term < r.term && idx > c) c = idx;
      if (c === 0) continue;
      const want = this.committed.get(c)!;
      const have = r.log.term(c);
      if (have !== undefined && have !== want.term) {
        this.fail(
          `leader completeness: ${s.id} leads term ${r.term} with (${c}, term ${have}), committed term ${want.term}`,
        );
      }
      if (have === undefined && c > r.log.snapshot.meta.index) {
        this.fail(`leader completeness: ${s.id} leads term ${r.term} without committed entry ${c}`);
      }
    }
  }

  // ---- nodes

  private start(id: NodeId): void {
    const s = this.nodes.get(id)!;
    if (s.node || s.starting) return;
    s.starting = true;
    s.scope = this.clock.newScope();
    s.applied = 0;
    s.store = new SimStore(this, id);
    const peers = Object.fromEntries(this.ids.map((x) => [x, `mem:${x}`]));
    const scope = s.scope;
    s.transport = this.net.transport();
    RaftNode.start({
      id,
      peers,
      storage: s.disk.storage(scope),
      stateMachine: s.store,
      transport: s.transport,
      clock: this.clock.clockFor(scope),
      seed: (this.opts.seed * 31 + scope) >>> 0,
      tickMs: 10,
      electionTicks: 10,
      heartbeatTicks: 1,
      timeoutMs: 500,
      snapshotEntries: 25,
      snapshotTrailingEntries: 5,
      maxSizePerMsg: 4096,
      maxInflightMsgs: 16,
    }).then(
      (node) => {
        if (s.scope !== scope) return;
        s.node = node;
        s.starting = false;
        this.note(`${id} started`);
      },
      (e: Error) => {
        this.asyncFailure ??= new SafetyViolation(`node ${id} failed to start: ${e.stack}`);
      },
    );
  }

  private crash(id: NodeId): void {
    const s = this.nodes.get(id)!;
    if (!s.node && !s.starting) return;
    const powerLoss = this.rng.chance(0.5);
    this.clock.kill(s.scope);
    void s.transport?.stop();
    s.transport = undefined;
    s.node = undefined;
    s.starting = false;
    s.scope = -1;
    s.disk.crash(powerLoss, this.rng);
    for (const op of this.outstanding) {
      if (op.node === id) this.settle(op, undefined);
    }
    this.note(`${id} crashed${powerLoss ? ' (power loss)' : ''}`);
  }

  private live(): SimNode[] {
    return [...this.nodes.values()].filter((s) => s.node);
  }

  private leader(): SimNode | undefined {
    return this.live().find((s) => s.node!.isLeader());
  }

  // ---- clients

  private settle(op: ClientOp, ret: number | undefined): void {
    if (op.done) return;
    op.done = true;
    this.outstanding.delete(op);
    if (ret === undefined) {
      // Unknown outcome: a write may or may not have happened; a read tells nothing.
      if (op.kind === 'put') this.history.push({ ...op, ret: Infinity });
    } else {
      this.history.push({ ...op, ret });
    }
  }

  private runClient(client: number, until: number): void {
    let target = this.ids[client % this.ids.length]!;
    const issue = () => {
      if (this.clock.now >= until) return;
      const s = this.nodes.get(target);
      const node = s?.node;
      const next = (delay: number) => this.clock.schedule(this.clock.now + delay, issue);
      if (!node) {
        target = this.rng.pick(this.ids);
        next(5);
        return;
      }
      const key = `k${this.rng.int(0, 3)}`;
      const isPut = this.rng.chance(0.6);
      const value = isPut ? `c${client}-${++this.valueSeq}` : null;
      const op: ClientOp = {
        client,
        key,
        kind: isPut ? 'put' : 'get',
        value,
        call: this.clock.now,
        ret: 0,
        node: target,
        done: false,
      };
      this.outstanding.add(op);
      const onError = (e: unknown) => {
        if (op.done) return;
        if (e instanceof NotLeaderError) {
          // Definitely not applied: the operation did not happen.
          op.done = true;
          this.outstanding.delete(op);
          target =
            e.leaderId && this.ids.includes(e.leaderId) ? e.leaderId : this.rng.pick(this.ids);
        } else {
          this.settle(op, undefined);
          target = this.rng.pick(this.ids);
        }
        next(this.rng.int(1, 10));
      };
      if (isPut) {
        node.propose(encodeCommand({ op: 'put', key, value: value! })).then((r) => {
          if (op.done) return;
          const res = r as { index: number } | undefined;
          if (typeof res?.index !== 'number') {
            this.asyncFailure ??= new SafetyViolation(
              `put ${key}=${value} resolved with ${JSON.stringify(r)}, not its own result`,
            );
            return;
          }
          this.acked.push({ key, value: value!, index: res.index });
          this.settle(op, this.clock.now);
          next(this.rng.int(0, 10));
        }, onError);
      } else {
        const store = s.store;
        node.read().then(() => {
          if (op.done) return;
          op.value = store.get(key);
          this.settle(op, this.clock.now);
          next(this.rng.int(0, 10));
        }, onError);
      }
    };
    this.clock.schedule(this.clock.now + this.rng.int(0, 20), issue);
  }

  // ---- faults

  private fault(): void {
    const r = this.rng.next();
    const down = this.ids.filter(
      (id) => !this.nodes.get(id)!.node && !this.nodes.get(id)!.starting,
    );
    if (r < 0.1) {
      // Cut the leader off with at most a minority: it keeps taking proposals it cannot commit.
      const l = this.leader();
      if (l) {
        const others = this.ids.filter((x) => x !== l.id).sort(() => this.rng.next() - 0.5);
        const minority = [
          l.id,
          ...others.slice(0, Math.floor((this.ids.length - 1) / 2) - this.rng.int(0, 2)),
        ];
        this.net.partition([minority, this.ids.filter((x) => !minority.includes(x))]);
        this.note(`leader cut off with ${minority}`);
      }
    } else if (r < 0.2) {
      const shuffled = [...this.ids].sort(() => this.rng.next() - 0.5);
      const cut = this.rng.int(1, shuffled.length);
      this.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      this.note(`partition ${shuffled.slice(0, cut)} | ${shuffled.slice(cut)}`);
    } else if (r < 0.4) {
      this.net.heal();
      this.note('heal');
    } else if (r < 0.6) {
      if (down.length < this.ids.length - 1) this.crash(this.rng.pick(this.ids));
    } else if (r < 0.8) {
      if (down.length > 0) this.start(this.rng.pick(down));
    } else if (r < 0.9) {
      const l = this.leader();
      if (l) {
        const to = this.rng.pick(this.ids.filter((x) => x !== l.id));
        l.node!.transferLeadership(to).catch(() => {});
        this.note(`transfer ${l.id} -> ${to}`);
      }
    } else {
      const l = this.leader();
      if (l) {
        this.crash(l.id);
      }
    }
  }

  // ---- run

  private async drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
  }

  private async runUntil(t: number, onStep?: () => void): Promise<void> {
    // Let callbacks of the last step (e.g. a node starting) schedule their events first.
    await this.drain();
    while (this.clock.runNext(t)) {
      await this.drain();
      if (this.asyncFailure) throw this.asyncFailure;
      this.steps++;
      this.checkNodes();
      onStep?.();
    }
    this.clock.now = Math.max(this.clock.now, t);
  }

  /** Runs the scenario; throws SafetyViolation (or another error) describing what went wrong. */
  async run(): Promise<{ steps: number; ops: number; trace: number; early: number }> {
    const faultMs = this.opts.faultMs ?? 2000;
    const healMs = this.opts.healMs ?? 3000;
    for (const id of this.ids) this.start(id);
    const clients = 3;
    for (let c = 0; c < clients; c++) this.runClient(c, faultMs);
    let nextFault = 100;
    while (this.clock.now < faultMs) {
      await this.runUntil(nextFault);
      this.fault();
      nextFault += this.rng.int(this.faultGap[0], this.faultGap[1]);
    }
    // Heal: everything back up and connected; all operations must finish and replicas converge.
    this.net.heal();
    this.net.dropRate = 0;
    this.net.duplicateRate = 0;
    for (const id of this.ids) this.start(id);
    const end = this.clock.now + healMs;
    let converged = false;
    await this.runUntil(end, () => {
      if (converged || this.outstanding.size > 0) return;
      converged = this.isConverged();
    });
    if (this.outstanding.size > 0)
      this.fail(
        `liveness: ${this.outstanding.size} client operations never finished after healing`,
      );
    if (!this.isConverged())
      this.fail(`liveness: replicas did not converge after healing: ${this.describe()}`);
    this.checkAcked();
    const res = checkKv(this.history);
    if (!res.ok) {
      const h = res
        .history!.map((o) => `${o.kind}(${o.value}) c${o.client} [${o.call}, ${o.ret}]`)
        .join('\n  ');
      this.fail(`linearizability: history of key ${res.key} is not linearizable:\n  ${h}`);
    }
    const early = this.live().reduce((n, s) => n + s.node!.metrics().entriesAppliedEarlyTotal, 0);
    return { steps: this.steps, ops: this.history.length, trace: this.trace, early };
  }

  private isConverged(): boolean {
    const l = this.leader();
    if (!l) return false;
    const commit = l.node!.coreForTesting().raft.log.committed;
    const live = this.live();
    if (live.length !== this.ids.length) return false;
    const digest = l.store.digest();
    return live.every((s) => s.node!.status().applied === commit && s.store.digest() === digest);
  }

  private describe(): string {
    return [...this.nodes.values()]
      .map((s) => {
        if (!s.node) return `${s.id}: down`;
        const st = s.node.status();
        const prs = Object.entries(st.progress)
          .map(
            ([id, p]) =>
              `${id}=${p.state}/m${p.match}/n${p.next}${p.recentActive ? '' : '/inactive'}`,
          )
          .join(',');
        return `${s.id}: ${st.role} term ${st.term} commit ${st.commit} applied ${st.applied} first ${st.firstIndex} last ${st.lastIndex} snap ${st.snapshotIndex}${prs ? ` [${prs}]` : ''}`;
      })
      .join('; ');
  }

  /** Every acknowledged write is in the committed log at the index it was acknowledged with. */
  private checkAcked(): void {
    for (const a of this.acked) {
      const c = this.committed.get(a.index);
      const cmd = encodeCommand({ op: 'put', key: a.key, value: a.value });
      if (!c || c.dataHash !== hashBytes(cmd)) {
        this.fail(
          `acknowledged write ${a.key}=${a.value} at index ${a.index} is not in the committed log`,
        );
      }
    }
  }
}

/** Runs one seed; returns a description of the failure, if any. */
export async function runSeed(
  seed: number,
  opts: Partial<SimOptions> = {},
): Promise<{ error?: string; steps: number; ops: number; trace: number; early: number }> {
  const sim = new Simulation({ seed, ...opts });
  try {
    const r = await sim.run();
    return r;
  } catch (e) {
    const err = e as Error;
    return {
      error: `seed ${seed}: ${err.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 6).join('\n') ?? ''}\nrecent events:\n${sim.log.slice(-40).join('\n')}`,
      steps: sim.steps,
      ops: 0,
      trace: sim.trace,
      early: 0,
    };
  }
}
