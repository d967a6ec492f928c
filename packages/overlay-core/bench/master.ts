// The master bench: register 5,000 nodes at concurrency 64 against 3 vnet masters (LevelDB,
// fsync on), and lease 5,000 node subnets the way flannel does against a 3-member etcd (Debian's
// etcd-server), with the same load generator; both clusters run side by side. Reports
// registrations/s, p50/p99, and how the time per registration changes from the first 100 to the
// last 100 (DC/OS rewrote its whole state per operation; this must not grow). Last line: the
// DESIGN.md JSON.
//
//   node dist/bench/master.js     (env: BENCH_NODES=5000 BENCH_CONCURRENCY=64 BENCH_WARMUP=500)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchResultLine, EtcdCluster, MasterCluster, percentile } from '@vnet/testkit';
import { MasterClient } from '../src/api/client.js';
import { FlannelLeases } from './flannel-etcd.js';

const NODES = Number(process.env.BENCH_NODES ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);

const CONFIG = `
vtep_subnet: 44.128.0.0/16
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: dcos
    subnet: 9.0.0.0/8
    prefix: 24
`;

const nodeIp = (i: number) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
const mac = (i: number) =>
  `0a:58:00:${[(i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

interface Run {
  seconds: number;
  rate: number;
  /** Latency of each registration, in the order they were started (ms). */
  latencies: number[];
}

/** Runs `n` registrations (indexes from `first`) with `concurrency` closed-loop workers. */
async function drive(
  n: number,
  first: number,
  register: (i: number) => Promise<unknown>,
): Promise<Run> {
  const latencies = new Array<number>(n);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const k = next++;
        const t0 = performance.now();
        await register(first + k);
        latencies[k] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { seconds, rate: n / seconds, latencies };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function report(name: string, r: Run): { first: number; last: number } {
  const first = mean(r.latencies.slice(0, 100));
  const last = mean(r.latencies.slice(-100));
  console.log(
    `${name.padEnd(28)} ${r.rate.toFixed(0).padStart(6)} registrations/s  p50 ${percentile(r.latencies, 50).toFixed(1)} ms  p99 ${percentile(r.latencies, 99).toFixed(1)} ms  mean of first 100 ${first.toFixed(1)} ms, of last 100 ${last.toFixed(1)} ms (x${(last / first).toFixed(2)})`,
  );
  return { first, last };
}

const dir = mkdtempSync(join(tmpdir(), 'vnet-master-bench-'));
const masters = await MasterCluster.create({
  vnet: fileURLToPath(new URL('../../bin/vnet.js', import.meta.url)),
  n: 3,
  config: CONFIG,
  extraArgs: ['--log-level', 'warn'],
});
const etcd = await EtcdCluster.start(join(dir, 'etcd'));
try {
  await masters.startAll();
  // Nodes talk to any master, as the agents do: each worker's client starts at another one.
  const addresses = masters.masters.map((m) => m.grpc);
  const clients = Array.from({ length: CONCURRENCY }, (_, k) => {
    const j = k % addresses.length;
    return new MasterClient([...addresses.slice(j), ...addresses.slice(0, j)]);
  });
  let rr = 0;
  const ours = (i: number) => clients[rr++ % clients.length]!.register(nodeIp(i), true);
  const flannel = new FlannelLeases(etcd.clientAddrs, {
    base: 0x09000000,
    prefix: 8,
    blockPrefix: 24,
  });
  const anchor = (i: number) => flannel.acquire(nodeIp(i), mac(i));

  console.log(
    `master bench: ${NODES} registrations at concurrency ${CONCURRENCY}, 3 members each, after ${WARMUP} unmeasured`,
  );
  // Warm up both (JIT, connections); the warm-up nodes stay registered.
  await drive(WARMUP, 0, ours);
  await drive(WARMUP, 0, anchor);
  const a = await drive(NODES, WARMUP, ours);
  const b = await drive(NODES, WARMUP, anchor);
  const ga = report('vnet master (Raft)', a);
  const gb = report('etcd, flannel leasing', b);
  console.log(`flannel lost ${flannel.conflicts} create-if-absent races and retried them`);
  console.log(
    `time per registration, last 100 / first 100: vnet x${(ga.last / ga.first).toFixed(2)}, etcd-flannel x${(gb.last / gb.first).toFixed(2)}`,
  );
  for (const c of clients) c.close();
  flannel.close();
  console.log(
    benchResultLine({
      bench: `master-register-${NODES}-c${CONCURRENCY}`,
      unit: 'registrations/s',
      ours: Math.round(a.rate),
      anchor: 'etcd-flannel-subnet-lease',
      anchorValue: Math.round(b.rate),
      higherIsBetter: true,
    }),
  );
} finally {
  await masters.destroy();
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
