// Real processes: three kv-server members over gRPC with LevelDB on disk. Under a write load the
// leader and then a follower are SIGKILLed and restarted. Every acknowledged write must be in every
// member's log afterwards, and the client history must be linearizable.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from '@vnet/testkit';
import t from 'tap';
import { KV_GET, KV_PUT, KvClient } from '../examples/kv-service.js';
import { decodeCommand } from '../examples/kv-store.js';
import { LevelStorage } from '../src/storage/level.js';
import type { KvOp } from './helpers/linearizability.js';
import { checkKv } from './helpers/linearizability.js';

const here = dirname(fileURLToPath(import.meta.url));
const serverJs = join(here, '..', 'examples', 'kv-server.js');

interface Proc {
  id: string;
  child: ChildProcess | undefined;
  leader: string;
}

t.test(
  'SIGKILL of the leader and of a follower under write load loses no acknowledged write',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'raft-proc-'));
    const ids = ['a', 'b', 'c'];
    const peers: Record<string, string> = {};
    const ports = await freePorts(ids.length);
    for (const [i, id] of ids.entries()) peers[id] = `127.0.0.1:${ports[i]}`;
    const peerArg = ids.map((id) => `${id}=${peers[id]}`).join(',');
    const procs = new Map<string, Proc>(
      ids.map((id) => [id, { id, child: undefined, leader: '' }]),
    );
    const client = new KvClient(Object.values(peers), { timeoutMs: 2000 });
    t.teardown(async () => {
      client.close();
      for (const p of procs.values()) p.child?.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });

    const start = (id: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [serverJs, '--id', id, '--data', join(dir, id), '--peers', peerArg, '--tick-ms', '50'],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const p = procs.get(id)!;
        p.child = child;
        child.once('exit', (code, sig) => {
          if (p.child === child) p.child = undefined;
          reject(new Error(`member ${id} exited before it was ready (${code ?? sig})`));
        });
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const ev = JSON.parse(line) as { event: string; leader?: string };
          if (ev.event === 'ready') resolve();
          if (ev.event === 'leader') p.leader = ev.leader ?? '';
        });
      });
    const kill = (id: string) => {
      const p = procs.get(id)!;
      p.child?.kill('SIGKILL');
      p.child = undefined;
      p.leader = '';
    };
    const leader = async (): Promise<string> => {
      for (;;) {
        const views = [...procs.values()].filter((p) => p.child).map((p) => p.leader);
        if (views.length > 0 && views[0] && views.every((v) => v === views[0])) return views[0];
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    for (const id of ids) await start(id);
    const first = await leader();
    t.ok(first, `leader ${first} elected`);

    // ---- load: workers put unique values and read a few keys; every operation is recorded
    const history: KvOp[] = [];
    const acked: { key: string; value: string; index: number }[] = [];
    let running = true;
    let seq = 0;
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const worker = async (w: number) => {
      let target = peers[first]!;
      while (running) {
        const key = `k${seq % 4}`;
        const isPut = seq % 3 !== 0;
        const value = `w${w}-${++seq}`;
        const call = now();
        try {
          if (isPut) {
            const [index] = (await client.callOnce(target, KV_PUT, [key, value])) as [number];
            history.push({ client: w, key, kind: 'put', value, call, ret: now() });
            acked.push({ key, value, index });
          } else {
            const [v] = (await client.callOnce(target, KV_GET, [key])) as [string | null];
            history.push({ client: w, key, kind: 'get', value: v, call, ret: now() });
          }
        } catch (e) {
          const err = e as grpc.ServiceError;
          if (err.code === grpc.status.FAILED_PRECONDITION) {
            // not the leader: definitely not applied
            const hint = err.metadata?.get('leader-address')[0];
            target = hint ? String(hint) : peers[ids[Math.floor(Math.random() * 3)]!]!;
          } else {
            if (isPut) history.push({ client: w, key, kind: 'put', value, call, ret: Infinity });
            target = peers[ids[Math.floor(Math.random() * 3)]!]!;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));

    await new Promise((r) => setTimeout(r, 1500));
    const victim1 = await leader();
    kill(victim1);
    t.comment(
      `SIGKILL leader ${victim1} at ${now().toFixed(0)} ms (${acked.length} writes acknowledged)`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    await start(victim1);
    await new Promise((r) => setTimeout(r, 1500));
    const l2 = await leader();
    const victim2 = ids.find((id) => id !== l2)!;
    kill(victim2);
    t.comment(
      `SIGKILL follower ${victim2} at ${now().toFixed(0)} ms (${acked.length} writes acknowledged)`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await start(victim2);
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await Promise.all(workers);

    // final reads of every key, after all writes finished
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const call = now();
      const v = await client.get(key);
      history.push({ client: 99, key, kind: 'get', value: v, call, ret: now() });
    }
    t.ok(acked.length > 100, `${acked.length} writes acknowledged across the kills`);
    const res = checkKv(history);
    t.ok(
      res.ok,
      `history of ${history.length} operations is linearizable${res.ok ? '' : ` (key ${res.key} is not)`}`,
    );

    // stop everyone cleanly and read every member's log from disk
    for (const p of procs.values()) {
      const c = p.child;
      if (!c) continue;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGTERM');
      });
      p.child = undefined;
    }
    const logs = new Map<string, Map<number, string>>();
    for (const id of ids) {
      const s = await LevelStorage.open(join(dir, id), { nodeId: id });
      const st = (await s.load())!;
      await s.close();
      const m = new Map<number, string>();
      for (const e of st.entries) {
        if (e.index > st.hardState.commit || e.type !== 0 || e.data.length === 0) continue;
        const c = decodeCommand(e.data);
        if (c.op === 'put') m.set(e.index, `${c.key}=${c.value}`);
      }
      logs.set(id, m);
      t.equal(st.snapshot.meta.index, 0, `${id}: no snapshot yet, the whole log is on disk`);
    }
    for (const id of ids) {
      const missing = acked.filter((a) => logs.get(id)!.get(a.index) !== `${a.key}=${a.value}`);
      t.equal(missing.length, 0, `member ${id} has every acknowledged write at its index`);
    }
  },
);
