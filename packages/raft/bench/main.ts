// npm run bench -w @vnet/raft
// A 3-member cluster of the KV example (LevelDB, fsync on) against a 3-member etcd, both on
// loopback, driven by the same gRPC put load generator at concurrency 1 and 64 for 10 s each.
// Both clusters run side by side and are measured in alternating slices, so a change in the
// machine's speed during the run (a shared VM's neighbours) weighs on both alike.
// The last line is the JSON summary; ratio = ours / etcd writes per second at concurrency 64.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchResultLine, EtcdCluster, freePorts } from '@vnet/testkit';
import { pack } from '../src/core/codec.js';
import { etcdPutTarget } from './etcd-put.js';
import type { LoadResult, Target } from './loadgen.js';
import { mergeResults, runLoad } from './loadgen.js';

const DURATION_MS = Number(process.env.RAFT_BENCH_MS ?? 10_000);
// Both systems get the same unmeasured load first: Node compiles its hot paths (and the load
// generator's) only after a few thousand requests, so a cold start measures the JIT, not the
// steady state a long-running server is in.
const WARMUP_MS = Number(process.env.RAFT_BENCH_WARMUP_MS ?? 5000);
const CONCURRENCY = [1, 64];
/** Each system's measured time per concurrency is split into this many alternating slices. */
const SLICES = 5;
/** Unmeasured load at the start of each slice (connections up, closed loop in steady state). */
const SLICE_WARMUP_MS = 300;
const here = dirname(fileURLToPath(import.meta.url));
const serverJs = join(here, '..', 'examples', 'kv-server.js');

interface System {
  name: string;
  target: Target;
  stop(): Promise<void>;
}

/** Warms both up, then measures each concurrency in alternating slices (ours, etcd, ours, ...). */
async function measure(systems: System[]): Promise<Map<string, Map<number, LoadResult>>> {
  for (const s of systems) await runLoad(s.target, Math.max(...CONCURRENCY), WARMUP_MS, 0);
  const out = new Map(systems.map((s) => [s.name, new Map<number, LoadResult>()]));
  for (const c of CONCURRENCY) {
    const runs = new Map(systems.map((s) => [s.name, [] as LoadResult[]]));
    for (let i = 0; i < SLICES; i++) {
      for (const s of systems) {
        runs.get(s.name)!.push(await runLoad(s.target, c, DURATION_MS / SLICES, SLICE_WARMUP_MS));
      }
    }
    for (const s of systems) out.get(s.name)!.set(c, mergeResults(runs.get(s.name)!));
  }
  return out;
}

async function startOurs(dir: string): Promise<System> {
  const ids = ['a', 'b', 'c'];
  const peers: Record<string, string> = {};
  const ports = await freePorts(ids.length);
  for (const [i, id] of ids.entries()) peers[id] = `127.0.0.1:${ports[i]}`;
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
    return { name: '@vnet/raft kv', target, stop: () => stopAll(procs) };
  } catch (e) {
    await stopAll(procs);
    throw e;
  }
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) {
    p.removeAllListeners('exit');
    p.kill('SIGTERM');
  }
  await Promise.all(
    procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
  );
}

async function startEtcd(dir: string, version: string): Promise<System> {
  const cluster = await EtcdCluster.start(dir);
  return {
    name: `etcd ${version}`,
    target: etcdPutTarget(cluster.leader),
    stop: () => cluster.stop(),
  };
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
  const systems: System[] = [];
  try {
    systems.push(await startOurs(join(dir, 'raft')));
    systems.push(await startEtcd(join(dir, 'etcd'), version));
    const results = await measure(systems);
    const a = results.get(systems[0]!.name)!;
    const b = results.get(systems[1]!.name)!;
    console.log(
      `3-member clusters on 127.0.0.1, fsync on, 256-byte values; ${WARMUP_MS / 1000} s of warm-up at c=${Math.max(...CONCURRENCY)} each, then ${DURATION_MS / 1000} s per system and concurrency in ${SLICES} alternating slices`,
    );
    for (const c of CONCURRENCY) {
      console.log(row(systems[0]!.name, c, a.get(c)!));
      console.log(row(systems[1]!.name, c, b.get(c)!));
    }
    const ours64 = a.get(64)!.writesPerSec;
    const etcd64 = b.get(64)!.writesPerSec;
    console.log(
      benchResultLine({
        bench: 'raft-kv-put-3-members-c64',
        unit: 'writes/s',
        ours: Math.round(ours64),
        anchor: `etcd ${version}`,
        anchorValue: Math.round(etcd64),
        higherIsBetter: true,
      }),
    );
  } finally {
    for (const s of systems) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
