// The cluster bench (`npm run bench` in cluster-tests/), in network namespaces on this machine:
//
// 1. Convergence: with 20 agents up (one on the master, without bridges), start one more; the time
//    until every other node holds its neighbour, FDB entry and route (from `ip -ts monitor` in
//    each node), from the moment the new node published its record and from its process start;
//    then the same for the withdrawal after a SIGKILL. Repeated; p50/p90/p99 over nodes x repeats,
//    against DC/OS's published target (90 % of nodes within 1.5 s).
// 2. Data plane: iperf3 TCP between containers on two nodes over the overlay vnet programmed,
//    and over the same topology built by hand with iproute2 on the same nodes (the anchor),
//    alternating runs.
//
// 3. DNS: dnsperf at a node's navstar fed by gossip with 10,000 tasks, against unbound with the same
//    records in the same node (bench/dns.ts).
// 4. Containers: CNI tasks (`vnet task run`) on one node, timed until a task on another node pings
//    them, against DC/OS's 1.5 s target; and CNI ADD of vnet's chain against the bare bridge +
//    host-local chain (bench/containers.ts).
//
// Last lines: the DESIGN.md JSON of each part (`convergence-...`, `dataplane-...`, `dns-...`,
// `container-start-...`, `cni-add-...`).
//
// Env: BENCH_AGENTS (20), BENCH_REPEATS (5), BENCH_IPERF_RUNS (5), BENCH_IPERF_SECONDS (5),
// BENCH_GRACE_MS (1000), BENCH_PARTS (convergence,dataplane,dns,containers), BENCH_DNS_TASKS
// (10000), BENCH_DNS_SECONDS (10), BENCH_DNS_ROUNDS (2), BENCH_CONTAINER_RUNS (50), BENCH_CNI_RUNS
// (30).
import { benchResultLine, median, percentile } from '@vnet/testkit';
import {
  Cluster,
  type Container,
  type Host,
  type NsProcess,
  startAgent,
  startMaster,
  type VnetDaemon,
  waitFor,
} from '../src/index.js';
import { BENCH_CONFIG as CONFIG } from './config.js';
import { containersBench } from './containers.js';
import { dnsBench } from './dns.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 20);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const IPERF_RUNS = Number(process.env.BENCH_IPERF_RUNS ?? 5);
const IPERF_SECONDS = Number(process.env.BENCH_IPERF_SECONDS ?? 5);
const GRACE_MS = Number(process.env.BENCH_GRACE_MS ?? 1000);
const PARTS = (process.env.BENCH_PARTS ?? 'convergence,dataplane,dns,containers').split(',');

interface AgentView {
  overlays?: {
    subnet?: string;
    mesos_bridge?: { ip?: string };
    backend: { vxlan: { vtep_ip: string; vtep_mac: string } };
  }[];
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

async function startMasterAndAgents(cluster: Cluster, agentHosts: Host[], args: string[]) {
  const masterHost = cluster.hosts[0]!;
  const config = cluster.file('config.yaml', CONFIG);
  const master = startMaster(masterHost, {
    config,
    args: ['--log-level', 'warn'],
  });
  await master.ready({ timeoutMs: 60_000 });
  const agents = [
    startAgent(masterHost, { masters: [masterHost], noBridges: true, args }),
    ...agentHosts.map((h) => startAgent(h, { masters: [masterHost], args })),
  ];
  await Promise.all(agents.map((a) => a.ready({ timeoutMs: 120_000 })));
  return { master, masterHost, agents };
}

async function view(agent: VnetDaemon): Promise<AgentView> {
  return (await agent.http('/overlay-agent/overlay')).json<AgentView>();
}

/** `ip -ts monitor route neigh` in a host: every route, neighbour and FDB change, timestamped. */
function monitor(h: Host): NsProcess {
  return h.spawn(['ip', '-ts', 'monitor', 'route', 'neigh'], {
    name: 'ip-monitor',
    env: { ...process.env, TZ: 'UTC' },
  });
}

/** When (epoch ms) each wanted line first appeared in a monitor's output, after `since`. */
function seenAt(mon: NsProcess, patterns: RegExp[], since: number): number | undefined {
  let last = 0;
  for (const re of patterns) {
    let found: number | undefined;
    for (const line of mon.log().split('\n')) {
      const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (.*)$/.exec(line);
      if (!m || !re.test(m[2]!)) continue;
      const at = Date.parse(`${m[1]!.slice(0, 23)}Z`);
      if (at >= since) {
        found = at;
        break;
      }
    }
    if (found === undefined) return undefined;
    last = Math.max(last, found);
  }
  return last;
}

const esc = (s: string) => s.replace(/[.]/g, '\\.');

async function convergence(): Promise<Record<string, number>> {
  const cluster = await Cluster.create({ hosts: AGENTS + 1, outside: false });
  try {
    const hosts = cluster.hosts;
    const others = hosts.slice(1, AGENTS);
    const newcomer = hosts[AGENTS]!;
    const args = ['--withdraw-grace-ms', String(GRACE_MS), '--log-level', 'info'];
    const t0 = performance.now();
    const { masterHost } = await startMasterAndAgents(cluster, others, args);
    console.log(
      `convergence: ${AGENTS} agents up in ${fmt(performance.now() - t0)}; starting one more, ${REPEATS} times`,
    );
    const watched = [masterHost, ...others];
    const monitors = watched.map(monitor);
    await new Promise((r) => setTimeout(r, 500));
    const joinFromRecord: number[] = [];
    const joinFromStart: number[] = [];
    const leave: number[] = [];
    let agent: VnetDaemon | undefined;
    for (let rep = 0; rep < REPEATS; rep++) {
      const spawnedAt = Date.now();
      if (!agent) agent = startAgent(newcomer, { masters: [masterHost], args });
      else await agent.process.restart();
      await agent.ready({ timeoutMs: 60_000 });
      const v = await view(agent);
      const o = v.overlays![0]!;
      const vtep = o.backend.vxlan.vtep_ip.split('/')[0]!;
      const mac = o.backend.vxlan.vtep_mac;
      const patterns = [
        new RegExp(`^${esc(vtep)} dev vtep1024 lladdr ${mac} PERMANENT`),
        new RegExp(`^${esc(newcomer.ip)} dev vtep1024 lladdr ${mac}`),
        new RegExp(`^${esc(o.subnet!)} nhid`),
      ];
      const published = await waitFor(
        'the newcomer to publish its record',
        () => {
          const line = agent!.process
            .log()
            .split('\n')
            .filter((l) => l.includes("published this node's VTEP record"))
            .at(-1);
          return line ? (JSON.parse(line) as { time: number }).time : undefined;
        },
        (t) => t !== undefined && t >= spawnedAt,
        { timeoutMs: 30_000 },
      );
      const times = await waitFor(
        'every node to hold the newcomer',
        () => monitors.map((m) => seenAt(m, patterns, spawnedAt)),
        (ts) => ts.every((x) => x !== undefined),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      for (const t of times) {
        joinFromRecord.push(t! - published!);
        joinFromStart.push(t! - spawnedAt);
      }
      const killedAt = Date.now();
      agent.kill('SIGKILL');
      await agent.process.waitExit(5000);
      // A deleted permanent neighbour is announced without its link-layer address.
      const gone = [
        new RegExp(`^Deleted ${esc(vtep)} dev vtep1024`),
        new RegExp(`^Deleted ${esc(newcomer.ip)} dev vtep1024 lladdr ${mac}`),
        new RegExp(`^Deleted ${esc(o.subnet!)} nhid`),
      ];
      const deleted = await waitFor(
        'every node to withdraw the newcomer',
        () => monitors.map((m) => seenAt(m, gone, killedAt)),
        (ts) => ts.every((x) => x !== undefined),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      for (const t of deleted) leave.push(t! - killedAt);
      console.log(
        `  repeat ${rep + 1}: join p50 ${fmt(median(times.map((t) => t! - published!)))} from the record, withdrawal p50 ${fmt(median(deleted.map((t) => t! - killedAt)))}`,
      );
    }
    const within = joinFromRecord.filter((x) => x <= 1500).length / joinFromRecord.length;
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(44)} p50 ${fmt(percentile(xs, 50))}  p90 ${fmt(percentile(xs, 90))}  p99 ${fmt(percentile(xs, 99))}  max ${fmt(Math.max(...xs))}  (${xs.length} samples)`,
      );
    row('join, from the record being published', joinFromRecord);
    row('join, from the agent process starting', joinFromStart);
    row(`withdrawal after SIGKILL (grace ${GRACE_MS} ms)`, leave);
    console.log(
      `DC/OS's target: 90 % of nodes within 1.5 s; here ${(within * 100).toFixed(0)} % within 1.5 s of the record (p90 ${fmt(percentile(joinFromRecord, 90))})`,
    );
    return {
      joinP50: percentile(joinFromRecord, 50),
      joinP99: percentile(joinFromRecord, 99),
      joinFromStartP99: percentile(joinFromStart, 99),
      leaveP50: percentile(leave, 50),
      leaveP99: percentile(leave, 99),
    };
  } finally {
    await cluster.destroy();
  }
}

/** iperf3 TCP from `from` to `to` (server started in `to` for one test); bits/s received. */
async function iperf(from: Container, to: Container): Promise<number> {
  const server = to.spawn(['iperf3', '-s', '-1', '-p', '5201', '--forceflush'], {
    name: 'iperf3-server',
  });
  await server.waitForLog(/Server listening/, { timeoutMs: 10_000 });
  const r = await from.execOk(
    ['iperf3', '-c', to.ip!, '-p', '5201', '-t', String(IPERF_SECONDS), '-J'],
    {
      timeoutMs: (IPERF_SECONDS + 20) * 1000,
    },
  );
  await server.waitExit(10_000);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second;
}

interface NodeView {
  host: Host;
  ip: string;
  vtepIp: string;
  prefix: string;
  mac: string;
  block: string;
  gateway: string;
}

async function nodeView(agent: VnetDaemon): Promise<NodeView> {
  const o = (await view(agent)).overlays![0]!;
  const [vtepIp, prefix] = o.backend.vxlan.vtep_ip.split('/') as [string, string];
  const half = o.mesos_bridge!.ip!.split('/')[0]!.split('.').map(Number);
  half[3]! += 1;
  return {
    host: agent.host,
    ip: agent.host.ip,
    vtepIp,
    prefix,
    mac: o.backend.vxlan.vtep_mac,
    block: o.subnet!,
    gateway: `${half.join('.')}/25`,
  };
}

/** Everything either data plane made on a node, removed (its agent is stopped). */
async function flush(h: Host): Promise<void> {
  await h.exec(['ip', 'link', 'del', 'vtep1024']);
  await h.exec(['ip', 'link', 'del', 'm-dcos']);
  await h.exec(['ip', 'rule', 'del', 'pref', '32000']);
  await h.exec(['nft', 'delete', 'table', 'inet', 'vnet']);
  await h.exec(['iptables', '-t', 'nat', '-F', 'POSTROUTING']);
}

/**
 * The anchor: the same nodes wired by hand with iproute2 as DESIGN.md describes the data plane
 * (vtep1024, the m-dcos bridge and gateway, and per other node a permanent ARP entry, an FDB
 * entry and an onlink route), with the addresses vnet allocated. `full` adds what DC/OS put on
 * every node besides (and vnet does too): the masquerade of the overlay to the outside (DC/OS's
 * iptables rule) and table 42's policy rule; without it, the bare tunnel.
 */
async function handBuild(nodes: NodeView[], full: boolean): Promise<void> {
  for (const n of nodes) {
    const lines = [
      `link add vtep1024 type vxlan id 1024 dstport 64000 local ${n.ip} dev eth0 nolearning`,
      `link set vtep1024 address ${n.mac} mtu 1450 up`,
      `addr add ${n.vtepIp}/${n.prefix} dev vtep1024`,
      'link add m-dcos type bridge',
      'link set m-dcos mtu 1420 up',
      `addr add ${n.gateway} dev m-dcos`,
    ];
    for (const p of nodes) {
      if (p === n) continue;
      lines.push(
        `neigh replace ${p.vtepIp} lladdr ${p.mac} dev vtep1024 nud permanent`,
        `route replace ${p.block} via ${p.vtepIp} dev vtep1024 onlink`,
      );
      if (full) lines.push(`route replace ${p.ip}/32 via ${p.vtepIp} dev vtep1024 onlink table 42`);
    }
    if (full) lines.push('rule add pref 32000 from 9.0.0.0/8 lookup 42');
    await n.host.ipBatch(lines);
    for (const p of nodes) {
      if (p !== n) {
        await n.host.execOk([
          'bridge',
          'fdb',
          'replace',
          p.mac,
          'dev',
          'vtep1024',
          'dst',
          p.ip,
          'self',
          'permanent',
        ]);
      }
    }
    if (full) {
      await n.host.execOk([
        'iptables',
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-s',
        '9.0.0.0/8',
        '!',
        '-d',
        '9.0.0.0/8',
        '-j',
        'MASQUERADE',
      ]);
    }
  }
}

/** Puts each container's host-side veth back on its m-dcos bridge (after a bridge was re-made). */
async function attach(containers: Container[]): Promise<void> {
  for (const c of containers) {
    await c.host.waitLink('m-dcos', { timeoutMs: 15_000 });
    await c.host.ipCmd('link', 'set', c.hostVeth, 'master', 'm-dcos');
  }
}

async function flows(a: Container, b: Container, what: string): Promise<void> {
  await waitFor(
    `the ${what} overlay to carry traffic`,
    () => a.ping(b.ip!, { count: 1, waitS: 1 }),
    (r) => r.received === 1,
    {
      timeoutMs: 20_000,
    },
  );
}

type Plane = 'vnet' | 'hand' | 'bare';

/**
 * iperf3 between containers on two nodes, on the same nodes and containers, rounds of three in
 * a rotating order: over what the vnet agents programmed (agents running, settled); over the same
 * data plane built by hand (DC/OS's, the anchor); over the bare hand-built tunnel.
 */
async function dataplane(): Promise<Record<Plane, number>> {
  const cluster = await Cluster.create({ hosts: 3, outside: false });
  try {
    const agentHosts = cluster.hosts.slice(1);
    const { agents } = await startMasterAndAgents(cluster, agentHosts, ['--log-level', 'warn']);
    const nodeAgents = agents.slice(1);
    const nodes = await Promise.all(nodeAgents.map(nodeView));
    const containers: Container[] = [];
    for (const [i, n] of nodes.entries()) {
      const gw = n.gateway.split('/')[0]!.split('.').map(Number);
      gw[3]! += 1;
      containers.push(await n.host.addContainer(`c${i}`, { address: `${gw.join('.')}/25` }));
    }
    const [x, y] = containers as [Container, Container];
    await flows(x, y, 'vnet');
    await iperf(x, y); // warm-up
    let running = true;
    const switchTo = async (plane: Plane) => {
      if (running) await Promise.all(nodeAgents.map((a) => a.stop()));
      running = false;
      for (const n of nodes) await flush(n.host);
      if (plane === 'vnet') {
        await Promise.all(nodeAgents.map((a) => a.process.restart()));
        await Promise.all(nodeAgents.map((a) => a.ready({ timeoutMs: 60_000 })));
        running = true;
        // Let the agents settle (start-up, JIT, gossip) before measuring.
        await new Promise((r) => setTimeout(r, 3000));
      } else {
        await handBuild(nodes, plane === 'hand');
      }
      await attach(containers);
      await flows(x, y, plane);
    };
    const runs: Record<Plane, number[]> = { vnet: [], hand: [], bare: [] };
    const order: Plane[] = ['vnet', 'hand', 'bare'];
    for (let i = 0; i < IPERF_RUNS; i++) {
      for (let k = 0; k < order.length; k++) {
        const plane = order[(i + k) % order.length]!;
        await switchTo(plane);
        runs[plane].push(await iperf(x, y));
      }
    }
    const gbit = (v: number) => `${(v / 1e9).toFixed(2)}`;
    console.log(
      `data plane: iperf3 TCP, ${IPERF_SECONDS} s x ${IPERF_RUNS} rounds on the same two nodes (Gbit/s)`,
    );
    const label: Record<Plane, string> = {
      vnet: 'vnet-programmed overlay',
      hand: "hand-built, DC/OS's data plane (+NAT, table 42)",
      bare: 'hand-built, bare tunnel (no NAT, no rule)',
    };
    for (const p of order) {
      console.log(
        `  ${label[p].padEnd(50)} ${runs[p].map(gbit).join(', ')}  median ${gbit(median(runs[p]))}`,
      );
    }
    const med = (p: Plane) => median(runs[p]);
    console.log(
      `  ratio vnet / DC/OS's data plane ${(med('vnet') / med('hand')).toFixed(3)}; vnet / bare tunnel ${(med('vnet') / med('bare')).toFixed(3)}`,
    );
    return { vnet: med('vnet'), hand: med('hand'), bare: med('bare') };
  } finally {
    await cluster.destroy();
  }
}

let conv: Record<string, number> | undefined;
if (PARTS.includes('convergence')) conv = await convergence();
let dp: Record<Plane, number> | undefined;
if (PARTS.includes('dataplane')) dp = await dataplane();
const dns = PARTS.includes('dns') ? await dnsBench() : undefined;
const containers = PARTS.includes('containers') ? await containersBench() : undefined;
if (conv) {
  console.log(
    benchResultLine({
      bench: `convergence-join-${AGENTS}-agents-p99`,
      unit: 's',
      ours: Number((conv.joinP99! / 1000).toFixed(3)),
      anchor: 'dcos-target-90pct-within-1.5s',
      anchorValue: 1.5,
      higherIsBetter: false,
    }),
  );
}
if (dp) {
  console.log(
    benchResultLine({
      bench: 'dataplane-iperf3-tcp-two-nodes',
      unit: 'bits/s',
      ours: Math.round(dp.vnet),
      anchor: 'hand-built-vxlan-iproute2-dcos-nat-table42',
      anchorValue: Math.round(dp.hand),
      higherIsBetter: true,
    }),
  );
}
if (dns) {
  console.log(
    benchResultLine({
      bench: 'dns-navstar-gossip-10000-tasks-udp-qps',
      unit: 'queries/s',
      ours: Math.round(dns.navstar),
      anchor: 'unbound-1-thread-local-data-same-records',
      anchorValue: Math.round(dns.unbound),
      higherIsBetter: true,
    }),
  );
}
if (containers) {
  console.log(
    benchResultLine({
      bench: 'container-start-to-reachable-p99',
      unit: 's',
      ours: Number((percentile(containers.reachable, 99) / 1000).toFixed(3)),
      anchor: 'dcos-target-1.5s',
      anchorValue: 1.5,
      higherIsBetter: false,
    }),
  );
  console.log(
    benchResultLine({
      bench: 'cni-add-vnet-chain-vs-bare-bridge',
      unit: 'ms',
      ours: Number(median(containers.cni.ours.add).toFixed(1)),
      anchor: 'bridge+host-local',
      anchorValue: Number(median(containers.cni.bare.add).toFixed(1)),
      higherIsBetter: false,
    }),
  );
}
