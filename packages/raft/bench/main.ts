// npm run bench -w @vnet/raft
// A 3-member cluster of the KV example (LevelDB, fsync on) against a 3-member etcd, both on
// loopback, driven by the same gRPC put load generator at concurrency 1 and 64 for 10 s each.
// The last line is the JSON summary; ratio = ours / etcd writes per second at concurrency 64.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pack } from '../src/core/codec.js';
import { EtcdCluster } from './etcd.js';
import type { LoadResult, Target } from './loadgen.js';
import { runLoad } from './loadgen.js';

const DURATION_MS = Number(process.env.RAFT_BENCH_MS ?? 10_000);
// Both systems get the same unmeasured load first: Node compiles its hot paths (and the load
// generator's) only after a few thousand requests, so a cold start measures the JIT, not the
// steady state a long-running server is in.
const WARMUP_MS = Number(process.env.RAFT_BENCH_WARMUP_MS ?? 5000);
const CONCURRENCY = [1, 64];
const here = dirname(fileURLToPath(import.meta.url));
const serverJs = join(here, '..', 'examples', 'kv-server.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Warms `target` up at the highest concurrency, then measures each concurrency in turn. */
async function measure(target: Target): Promise<Map<number, LoadResult>> {
  await runLoad(target, Math.max(...CONCURRENCY), WARMUP_MS, 0);
  const out = new Map<number, LoadResult>();
  for (const c of CONCURRENCY) out.set(c, await runLoad(target, c, DURATION_MS));
  return out;
}

async function ours(dir: string): Promise<Map<number, LoadResult>> {
  const ids = ['a', 'b', 'c'];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `127.0.0.1:${await freePort()}`;
  const peerArg = ids.map((id) => `${id}=${peers[id]}`).join(',');
  const procs: ChildProcess[] = [];
  const leaders = new Map<string, string>();
  try {
    await Promise.all(
      ids.map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [serverJs, '--id', id, '--data', join(dir, id), '--peers', peerArg],
              {
                stdio: ['ignore', 'pipe', 'inherit'],
              },
            );
            procs.push(child);
            child.once('exit', (code) => reject(new Error(`kv-server ${id} exited (${code})`)));
            createInterface({ input: child.stdout! }).on('line', (line) => {
              const ev = JSON.parse(line) as { event: string; leader?: string };
              if (ev.event === 'ready') resolve();
              if (ev.event === 'leader') leaders.set(id, ev.leader ?? '');
            });
          }),
      ),
    );
    let leader = '';
    while (!leader) {
      const views = ids.map((id) => leaders.get(id) ?? '');
      if (views[0] && views.every((v) => v === views[0])) leader = views[0];
      else await new Promise((r) => setTimeout(r, 50));
    }
    const target: Target = {
      address: peers[leader]!,
      path: '/kv.v1.KV/Put',
      encode: (key, value) => pack([key, value.toString('latin1')]),
    };
    return await measure(target);
  } finally {
    for (const p of procs) {
      p.removeAllListeners('exit');
      p.kill('SIGTERM');
    }
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
    );
  }
}

async function etcd(dir: string): Promise<Map<number, LoadResult>> {
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const peerPorts = [await freePort(), await freePort(), await freePort()];
  const cluster = await EtcdCluster.start(dir, clientPorts, peerPorts);
  try {
    return await measure(cluster.target(await cluster.leader()));
  } finally {
    await cluster.stop();
  }
}

function row(name: string, c: number, r: LoadResult): string {
  return `${name.padEnd(14)} c=${String(c).padEnd(3)} ${r.writesPerSec.toFixed(0).padStart(7)} writes/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   (${r.writes} writes, ${r.errors} errors)`;
}

async function main(): Promise<void> {
  const version = execFileSync('/usr/bin/etcd', ['--version'])
    .toString()
    .split('\n')[0]!
    .replace('etcd Version: ', '');
  const dir = await mkdtemp(join(tmpdir(), 'raft-bench-'));
  try {
    const a = await ours(join(dir, 'raft'));
    const b = await etcd(join(dir, 'etcd'));
    console.log(
      `3-member clusters on 127.0.0.1, fsync on, 256-byte values, ${WARMUP_MS / 1000} s of warm-up at c=${Math.max(...CONCURRENCY)}, then ${DURATION_MS / 1000} s per run`,
    );
    for (const c of CONCURRENCY) {
      console.log(row('@vnet/raft kv', c, a.get(c)!));
      console.log(row(`etcd ${version}`, c, b.get(c)!));
    }
    const ours64 = a.get(64)!.writesPerSec;
    const etcd64 = b.get(64)!.writesPerSec;
    console.log(
      JSON.stringify({
        bench: 'raft-kv-put-3-members-c64',
        unit: 'writes/s',
        ours: Math.round(ours64),
        anchor: `etcd ${version}`,
        anchor_value: Math.round(etcd64),
        ratio: Number((ours64 / etcd64).toFixed(3)),
        higher_is_better: true,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
