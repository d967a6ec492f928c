// The containers bench: tasks started through CNI (`vnet task run`) on a cluster of real `vnet
// master` / `vnet agent` processes in network namespaces.
//
// 1. Container start to reachable: a master (with an agent without bridges) and two agents A and
//    B, each with its own CNI conf dir, lease dir and task socket. A prober task runs on B. Then,
//    BENCH_CONTAINER_RUNS times, `vnet task run` starts a task on A, and the clock runs from just
//    before that command until the prober on B gets a ping reply from the task's address (a ping
//    every 10 ms, from inside the prober's namespace); then `vnet task stop`. Percentiles against
//    DC/OS's 1.5 s target.
// 2. CNI ADD overhead of vnet's chain: on A, ADD and DEL of the config list the agent wrote
//    (bridge + host-local + portmap + vnet's plugin, which reports to the agent) against the bare
//    bridge + host-local chain (its own bridge, subnet and lease dir), through overlay-core's chain
//    executor in one process inside A (bench/cni-chain-worker.ts), a fresh container namespace
//    per run, alternating which goes first.
//
// Every task is stopped with `vnet task stop` (also when the bench fails); on an abrupt exit
// (signal, uncaught exception) a synchronous handler does the same before the cluster goes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CniConfList, CniPluginConf } from '@vnet/overlay-core';
import { median, percentile, startTime } from '@vnet/testkit';
import {
  Cluster,
  type Host,
  startAgent,
  startMaster,
  type VnetDaemon,
  vnetArgv,
  waitFor,
} from '../src/index.js';
import type { ChainJob, ChainTimes } from './cni-chain-worker.js';
import { BENCH_CONFIG as CONFIG, BENCH_NETWORK as NETWORK } from './config.js';

const RUNS = Number(process.env.BENCH_CONTAINER_RUNS ?? 50);
const CNI_RUNS = Number(process.env.BENCH_CNI_RUNS ?? 30);

/** The bare chain's own bridge and subnet (outside the overlay, the VTEPs and the underlay). */
const BARE_BRIDGE = 'b-bench';
const BARE_SUBNET = { subnet: '172.31.213.0/25', gateway: '172.31.213.1', start: '172.31.213.2' };

/** A host's CNI side: the agent's flags and what `vnet task` needs. */
interface CniHost {
  host: Host;
  confDir: string;
  dataDir: string;
  socket: string;
  stateDir: string;
}

function cniHost(host: Host): CniHost {
  const dir = host.dir('cni');
  return {
    host,
    confDir: host.dir('cni/net.d'),
    dataDir: host.dir('cni/networks'),
    socket: join(dir, 'tasks.sock'),
    stateDir: host.dir('cni/tasks'),
  };
}

const agentCniArgs = (c: CniHost) => [
  '--cni-conf-dir',
  c.confDir,
  '--cni-data-dir',
  c.dataDir,
  '--task-socket',
  c.socket,
];

interface TaskJson {
  id: string;
  netns: string;
  ips: string[];
}

export interface ContainersResult {
  /** Container start to reachable from another node, ms per run. */
  reachable: number[];
  /** `vnet task run` alone, ms per run. */
  run: number[];
  /** `vnet task stop`, ms per run. */
  stop: number[];
  cni: ChainTimes;
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
const sec = (x: number) => `${(x / 1000).toFixed(3)} s`;

function row(name: string, xs: number[], f: (x: number) => string): void {
  console.log(
    `  ${name.padEnd(44)} p50 ${f(percentile(xs, 50))}  p90 ${f(percentile(xs, 90))}  p99 ${f(percentile(xs, 99))}  max ${f(Math.max(...xs))}  (${xs.length})`,
  );
}

async function runTask(c: CniHost, name: string, cniPath: string): Promise<TaskJson> {
  const r = await c.host.execOk(
    vnetArgv([
      'task',
      'run',
      '--network',
      NETWORK,
      '--name',
      name,
      '--framework',
      'bench',
      '--cni-conf-dir',
      c.confDir,
      '--cni-path',
      cniPath,
      '--state-dir',
      c.stateDir,
      '--json',
      '--',
      'sleep',
      '1000000',
    ]),
    { timeoutMs: 60_000 },
  );
  return JSON.parse(r.stdout) as TaskJson;
}

async function stopTask(c: CniHost, id: string): Promise<void> {
  await c.host.execOk(vnetArgv(['task', 'stop', '--state-dir', c.stateDir, id]), {
    timeoutMs: 30_000,
  });
}

/** Stops every task of each host's state dir (what a failed run may have left). */
async function stopAll(hosts: CniHost[]): Promise<void> {
  for (const c of hosts) {
    const r = await c.host.exec(vnetArgv(['task', 'list', '--json', '--state-dir', c.stateDir]));
    if (r.code !== 0) continue;
    for (const t of JSON.parse(r.stdout) as TaskJson[]) {
      const s = await c.host.exec(vnetArgv(['task', 'stop', '--state-dir', c.stateDir, t.id]), {
        timeoutMs: 30_000,
      });
      if (s.code !== 0) console.error(`containers: vnet task stop ${t.id}: ${s.stderr.trim()}`);
    }
  }
}

/**
 * The last resort on an abrupt exit, before the cluster's own handlers delete the hosts: `vnet
 * task stop` for every task on disk; if that fails, the task's process group (only if it is still
 * the recorded process) and its namespace.
 */
function stopAllSync(hosts: CniHost[]): void {
  for (const c of hosts) {
    let files: string[] = [];
    try {
      files = readdirSync(c.stateDir).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      let s: { id: string; netns: string; pid?: number; pidStart?: string };
      try {
        s = JSON.parse(readFileSync(join(c.stateDir, f), 'utf8'));
      } catch {
        continue;
      }
      try {
        execFileSync(
          'nsenter',
          [
            `--net=${c.host.path}`,
            '--',
            ...vnetArgv(['task', 'stop', '--state-dir', c.stateDir, s.id]),
          ],
          { stdio: 'ignore', timeout: 15_000 },
        );
      } catch {
        if (s.pid !== undefined && startTime(s.pid) === s.pidStart) {
          try {
            process.kill(-s.pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        try {
          execFileSync('ip', ['netns', 'del', s.netns], { stdio: 'ignore' });
        } catch {
          // gone
        }
      }
    }
  }
}

/** Waits until the prober (a namespace in B) gets an echo reply from `ip`; returns when. */
async function reachableAt(b: Host, proberNetns: string, ip: string): Promise<number> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    // One echo request every 10 ms until the first reply (or 2 s without one).
    const r = await b.exec(
      [
        'ip',
        'netns',
        'exec',
        proberNetns,
        'ping',
        '-n',
        '-q',
        '-c',
        '1',
        '-i',
        '0.01',
        '-w',
        '2',
        ip,
      ],
      { timeoutMs: 5000 },
    );
    if (r.code === 0) return performance.now();
    if (performance.now() > deadline) {
      throw new Error(`the prober on ${b.name} got no reply from ${ip} within 20 s: ${r.stdout}`);
    }
  }
}

/** The bare chain: vnet's bridge plugin settings on its own bridge, subnet and lease dir. */
function bareList(ours: CniConfList, dataDir: string): CniConfList {
  const bridge = ours.plugins.find((p) => p.type === 'bridge');
  if (!bridge) throw new Error(`vnet's config list ${ours.name} has no bridge plugin`);
  const plugin: CniPluginConf = {
    ...bridge,
    bridge: BARE_BRIDGE,
    ipam: {
      type: 'host-local',
      dataDir,
      ranges: [
        [
          {
            subnet: BARE_SUBNET.subnet,
            rangeStart: BARE_SUBNET.start,
            gateway: BARE_SUBNET.gateway,
          },
        ],
      ],
      routes: [{ dst: '0.0.0.0/0', gw: BARE_SUBNET.gateway }],
    },
  };
  return { cniVersion: ours.cniVersion, name: 'bare', plugins: [plugin] };
}

export async function containersBench(): Promise<ContainersResult> {
  const cluster = await Cluster.create({ hosts: 3, outside: false });
  const [m, a, b] = cluster.hosts as [Host, Host, Host];
  const cni = [m, a, b].map(cniHost);
  const [cm, ca, cb] = cni as [CniHost, CniHost, CniHost];
  const onExit = () => stopAllSync(cni);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // Before the cluster's handlers, which delete the hosts.
  process.prependListener('exit', onExit);
  for (const s of signals) process.prependListener(s, onExit);
  try {
    const binDir = join(cluster.runDir, 'cni-bin');
    mkdirSync(binDir, { recursive: true });
    await m.execOk(vnetArgv(['cni', 'install', '--bin-dir', binDir]));
    const cniPath = `${binDir}:/usr/lib/cni`;

    const t0 = performance.now();
    const master = startMaster(m, {
      config: cluster.file('config.yaml', CONFIG),
      args: ['--log-level', 'warn'],
    });
    await master.ready({ timeoutMs: 60_000 });
    const args = (c: CniHost) => [...agentCniArgs(c), '--log-level', 'warn'];
    const agents: VnetDaemon[] = [
      startAgent(m, { masters: [m], noBridges: true, args: args(cm) }),
      startAgent(a, { masters: [m], args: args(ca) }),
      startAgent(b, { masters: [m], args: args(cb) }),
    ];
    await Promise.all(agents.map((d) => d.ready({ timeoutMs: 120_000 })));
    const confFile = (c: CniHost) => join(c.confDir, `vnet-${NETWORK}.conflist`);
    for (const c of [ca, cb]) {
      await waitFor(`the agent on ${c.host.name} to write its config list`, () =>
        existsSync(confFile(c)),
      );
    }
    console.log(`containers: master + 2 agents up in ${sec(performance.now() - t0)}`);

    const prober = await runTask(cb, 'prober', cniPath);
    console.log(`  prober on ${b.name}: ${prober.ips.join(' ')} (netns ${prober.netns})`);
    const reachable: number[] = [];
    const run: number[] = [];
    const stop: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const task = await runTask(ca, `t${i}`, cniPath);
      const ran = performance.now();
      const ip = task.ips[0]!.split('/')[0]!;
      const replied = await reachableAt(b, prober.netns, ip);
      reachable.push(replied - started);
      run.push(ran - started);
      const s0 = performance.now();
      await stopTask(ca, task.id);
      stop.push(performance.now() - s0);
    }
    await stopTask(cb, prober.id);
    console.log(
      `containers: ${RUNS} tasks started on ${a.name} with \`vnet task run\`, pinged from a task on ${b.name}`,
    );
    row('start to reachable from the other node', reachable, sec);
    row('  of which `vnet task run`', run, sec);
    row('`vnet task stop`', stop, sec);
    const within = reachable.filter((x) => x <= 1500).length;
    console.log(
      `  target p99 <= 1.5 s; ${within} of ${reachable.length} within 1.5 s, p99 ${sec(percentile(reachable, 99))}`,
    );

    const ours = JSON.parse(readFileSync(confFile(ca), 'utf8')) as CniConfList;
    const job: ChainJob = {
      oursFile: confFile(ca),
      bare: bareList(ours, a.dir('cni/bare-networks')),
      cniPath: cniPath.split(':'),
      runs: CNI_RUNS,
      netns: `${cluster.prefix}-cnibench`,
    };
    const worker = join(import.meta.dirname, 'cni-chain-worker.js');
    const r = await a.execOk([process.execPath, worker], {
      input: JSON.stringify(job),
      timeoutMs: 300_000,
    });
    const times = JSON.parse(r.stdout) as ChainTimes;
    const chain = (l: CniConfList) =>
      l.plugins
        .map((p) => {
          const ipam = (p.ipam as { type?: string } | undefined)?.type;
          return ipam ? `${p.type} + ${ipam}` : p.type;
        })
        .join(' + ');
    console.log(
      `cni: ADD and DEL on ${a.name}, ${CNI_RUNS} runs of each chain, alternating, a fresh namespace each`,
    );
    row(`ADD ${chain(ours)}`, times.ours.add, ms);
    row(`ADD ${chain(job.bare)}`, times.bare.add, ms);
    row(`DEL ${chain(ours)}`, times.ours.del, ms);
    row(`DEL ${chain(job.bare)}`, times.bare.del, ms);
    console.log(
      `  median ADD: ours ${ms(median(times.ours.add))}, bare ${ms(median(times.bare.add))} (ratio ${(median(times.ours.add) / median(times.bare.add)).toFixed(2)})`,
    );
    return { reachable, run, stop, cni: times };
  } finally {
    await stopAll(cni);
    await cluster.destroy();
    process.removeListener('exit', onExit);
    for (const s of signals) process.removeListener(s, onExit);
  }
}
