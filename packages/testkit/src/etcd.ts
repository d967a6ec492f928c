// An etcd cluster (Debian's etcd-server) on 127.0.0.1, the anchor of the benches that measure a
// replicated store: started on free ports (again on others when one was taken), ready once every
// member names the same leader (asked through etcd's JSON gateway), stopped by its pids.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PortTakenError, portTakenIn, withFreePorts } from './ports.js';

const ETCD = '/usr/bin/etcd';
const SIZE = 3;

interface Member {
  name: string;
  /** host:port of its client URL (gRPC, and the JSON gateway under /v3/). */
  client: string;
  child: ChildProcess;
  stderr: string;
}

/** Maintenance/Status through the JSON gateway: [this member's id, the leader's id]. */
async function status(client: string): Promise<[string, string]> {
  const res = await fetch(`http://${client}/v3/maintenance/status`, {
    method: 'POST',
    body: '{}',
    signal: AbortSignal.timeout(1000),
  });
  const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
  return [body.header?.member_id ?? '', body.leader ?? ''];
}

export class EtcdCluster {
  /** host:port of the leader's client URL. */
  leader = '';

  private constructor(private readonly members: Member[]) {}

  /** host:port of every member's client URL. */
  get clientAddrs(): string[] {
    return this.members.map((m) => m.client);
  }

  /** Starts 3 members, with their data under `dir`; resolves once they agree on a leader. */
  static start(dir: string): Promise<EtcdCluster> {
    return withFreePorts('etcd', 2 * SIZE, async (ports) => {
      const c = new EtcdCluster(EtcdCluster.#spawn(dir, ports.slice(0, SIZE), ports.slice(SIZE)));
      try {
        await c.#waitLeader(20_000);
        return c;
      } catch (e) {
        await c.stop();
        const said = c.members.map((m) => m.stderr).join('');
        for (const m of c.members) rmSync(join(dir, m.name), { recursive: true, force: true });
        if (portTakenIn(said)) throw new PortTakenError(said.trim().split('\n')[0] ?? '');
        throw new Error(`${(e as Error).message}; etcd said: ${said.trim() || 'nothing'}`);
      }
    });
  }

  static #spawn(dir: string, clientPorts: number[], peerPorts: number[]): Member[] {
    const names = clientPorts.map((_, i) => `e${i + 1}`);
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');
    return names.map((name, i) => {
      const client = `127.0.0.1:${clientPorts[i]}`;
      const peer = `http://127.0.0.1:${peerPorts[i]}`;
      const child = spawn(
        ETCD,
        [
          ...['--name', name, '--data-dir', join(dir, name)],
          ...[
            '--listen-client-urls',
            `http://${client}`,
            '--advertise-client-urls',
            `http://${client}`,
          ],
          ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
          ...['--initial-cluster', initial, '--initial-cluster-token', 'vnet-bench'],
          ...['--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'error'],
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const m: Member = { name, client, child, stderr: '' };
      child.stderr!.on('data', (b) => {
        m.stderr += b;
      });
      return m;
    });
  }

  /** Waits until every member names the same leader; fails at once when a member exits. */
  async #waitLeader(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const gone = this.members.find((m) => m.child.exitCode !== null);
      if (gone) throw new Error(`etcd member ${gone.name} exited with ${gone.child.exitCode}`);
      try {
        const st = await Promise.all(this.members.map((m) => status(m.client)));
        const leader = st[0]![1];
        const i = st.findIndex(([id]) => id === leader);
        if (leader !== '' && leader !== '0' && i >= 0 && st.every(([, l]) => l === leader)) {
          this.leader = this.members[i]!.client;
          return;
        }
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd: no leader within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
