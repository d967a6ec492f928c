// A cluster of real RaftNodes (LevelDB in a temp dir, real clock) over the in-memory network.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStore } from '../../examples/kv-store.js';
import type { RaftNodeOptions } from '../../src/node/node.js';
import { RaftNode } from '../../src/node/node.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

export interface Member {
  id: string;
  node: RaftNode;
  store: KvStore;
}

export class TestCluster {
  readonly net = new MemoryNetwork({ latency: [0, 1] });
  readonly members = new Map<string, Member>();
  readonly peers: Record<string, string>;

  private constructor(
    readonly dir: string,
    readonly ids: string[],
    private readonly extra: Partial<RaftNodeOptions>,
  ) {
    this.peers = Object.fromEntries(ids.map((id) => [id, `mem://${id}`]));
  }

  static async start(n: number, extra: Partial<RaftNodeOptions> = {}): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'raft-cluster-'));
    const c = new TestCluster(
      dir,
      Array.from({ length: n }, (_, i) => `n${i + 1}`),
      extra,
    );
    for (const id of c.ids) await c.startMember(id);
    return c;
  }

  async startMember(id: string, opts: Partial<RaftNodeOptions> = {}): Promise<Member> {
    const store = new KvStore();
    const node = await RaftNode.start({
      id,
      peers: this.peers,
      dataDir: join(this.dir, id),
      stateMachine: store,
      transport: this.net.transport(),
      tickMs: 10,
      electionTicks: 10,
      timeoutMs: 2000,
      ...this.extra,
      ...opts,
    });
    const m = { id, node, store };
    this.members.set(id, m);
    return m;
  }

  async stopMember(id: string): Promise<void> {
    const m = this.members.get(id);
    this.members.delete(id);
    await m?.node.stop();
  }

  member(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Waits until one running member is leader and the others agree on it. */
  async leader(timeoutMs = 5000): Promise<Member> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const ms = [...this.members.values()];
      const l = ms.find((m) => m.node.isLeader());
      if (l && ms.every((m) => m.node.leaderId() === l.id)) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no leader elected in time');
  }

  async stop(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stopMember(id);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function until(
  cond: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
