// A vnet cluster for the scenario tests: masters (each also running an agent without bridges)
// and agents on the other hosts, started through the `vnet` CLI only and waited for through
// their HTTP APIs; and test containers on the `m-<overlay>` bridges the agents create, with an
// address from their node's Mesos half.
import {
  type Cluster,
  type Container,
  type Host,
  startAgent,
  startMasters,
  type VnetDaemon,
  waitFor,
} from '../../src/index.js';

/** Fast failure detection and withdrawal for tests; the defaults are for real networks. */
export const FAST_AGENT_ARGS = [
  '--gossip-profile',
  'local',
  '--withdraw-grace-ms',
  '3000',
  '--register-backoff-ms',
  '500',
  '--register-backoff-max-ms',
  '2000',
];

export const CONFIG = `
vtep_subnet: 44.128.0.0/20
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: dcos
    subnet: 9.0.0.0/8
    prefix: 24
  - name: blue
    subnet: 10.99.0.0/16
    prefix: 24
`;

/** The parts of an agent's `GET /overlay-agent/overlay` (DC/OS's AgentInfo) the tests read. */
export interface AgentJson {
  ip: string;
  configuration_attempts?: number;
  overlays?: {
    info: { name: string; subnet?: string; subnet6?: string; isolated?: boolean };
    subnet?: string;
    subnet6?: string;
    mesos_bridge?: { name: string; ip?: string; ip6?: string };
    docker_bridge?: { name: string; ip?: string; ip6?: string };
    backend: { vxlan: { vtep_ip: string; vtep_ip6?: string; vtep_mac: string } };
    state?: { status: string; error?: string };
  }[];
}

export interface OverlayCluster {
  cluster: Cluster;
  masterHosts: Host[];
  agentHosts: Host[];
  masters: VnetDaemon[];
  /** Agents on the master hosts (no bridges). */
  masterAgents: VnetDaemon[];
  /** Agents by host name. */
  agents: Map<string, VnetDaemon>;
}

export async function startOverlay(
  cluster: Cluster,
  opts: {
    masters: number;
    agents: number;
    config?: string;
    agentArgs?: string[];
    /** More arguments for one host's agent. */
    argsFor?: (h: Host) => string[];
    masterArgs?: string[];
  },
): Promise<OverlayCluster> {
  const masterHosts = cluster.hosts.slice(0, opts.masters);
  const agentHosts = cluster.hosts.slice(opts.masters, opts.masters + opts.agents);
  const config = cluster.file('config.yaml', opts.config ?? CONFIG);
  const masters = startMasters(masterHosts, {
    config,
    args: ['--raft-tick-ms', '50', ...(opts.masterArgs ?? [])],
  });
  await Promise.all(masters.map((m) => m.ready({ timeoutMs: 60_000 })));
  const agentArgs = [...FAST_AGENT_ARGS, ...(opts.agentArgs ?? [])];
  const masterAgents = masterHosts.map((h) =>
    startAgent(h, { masters: masterHosts, noBridges: true, args: agentArgs }),
  );
  const agents = new Map(
    agentHosts.map((h) => [
      h.name,
      startAgent(h, { masters: masterHosts, args: [...agentArgs, ...(opts.argsFor?.(h) ?? [])] }),
    ]),
  );
  const all = [...masterAgents, ...agents.values()];
  await Promise.all(all.map((a) => a.ready({ timeoutMs: 60_000 })));
  // Ready means registered and programmed; wait until every node also programs all the others.
  await Promise.all(all.map((a) => waitForPeers(a, all.length - 1)));
  return { cluster, masterHosts, agentHosts, masters, masterAgents, agents };
}

/** Waits until an agent programs `n` other nodes (its /health `peers`). */
export async function waitForPeers(agent: VnetDaemon, n: number): Promise<void> {
  await waitFor(
    `${agent.host.name} to program ${n} other nodes`,
    async () => (await agent.http('/health')).json<{ peers: number }>().peers,
    (p) => p === n,
    { timeoutMs: 30_000 },
  );
}

/**
 * Waits until every agent of the cluster (masters' too) holds an allocation for which `holds`
 * is true and has applied it to its kernel (its /health `appliedIndex` equals its
 * `allocationIndex`): what a test that changed the config depends on before it sends traffic.
 */
export async function waitForApplied(
  oc: OverlayCluster,
  what: string,
  holds: (info: AgentJson) => boolean,
): Promise<void> {
  await Promise.all(
    [...oc.masterAgents, ...oc.agents.values()].map((a) =>
      waitFor(
        `${a.host.name} to apply ${what}`,
        async () => ({
          info: await agentInfo(a),
          health: (await a.http('/health')).json<{
            reconciled: boolean;
            allocationIndex: number;
            appliedIndex: number;
          }>(),
        }),
        (s) =>
          holds(s.info) &&
          s.health.reconciled &&
          s.health.appliedIndex === s.health.allocationIndex,
        { timeoutMs: 30_000 },
      ),
    ),
  );
}

/** What an agent says it holds (`GET /overlay-agent/overlay`). */
export async function agentInfo(agent: VnetDaemon): Promise<AgentJson> {
  const r = await agent.http('/overlay-agent/overlay');
  if (r.status !== 200) throw new Error(`${agent.host.name}: ${r.status} ${r.body}`);
  return r.json() as AgentJson;
}

/** The n-th container address of a node's Mesos half of an overlay (gateway = first host). */
export async function containerAddress(
  agent: VnetDaemon,
  overlay = 'dcos',
  n = 2,
): Promise<string> {
  const info = await agentInfo(agent);
  const o = info.overlays?.find((x) => x.info.name === overlay);
  const half = o?.mesos_bridge?.ip;
  if (!half) throw new Error(`${agent.host.name} has no Mesos half of ${overlay}`);
  const [net, len] = half.split('/');
  const parts = net!.split('.').map(Number);
  parts[3]! += n;
  return `${parts.join('.')}/${len}`;
}

/** A test container on `host`'s `m-<overlay>` bridge with the node's n-th Mesos address. */
export async function addContainer(
  oc: OverlayCluster,
  host: Host,
  name: string,
  overlay = 'dcos',
  n = 2,
): Promise<Container> {
  const agent = oc.agents.get(host.name)!;
  const address = await containerAddress(agent, overlay, n);
  return host.addContainer(name, { bridge: `m-${overlay}`, address });
}

/** `address` + n, for an IPv6 address (no zone) in any text form. */
function addIpv6(address: string, n: number): string {
  const [head, tail = ''] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const h = groups(head!);
  const t = groups(tail);
  const all = address.includes('::')
    ? [...h, ...new Array(8 - h.length - t.length).fill(0), ...t]
    : h;
  let value = all.reduce((v, g) => (v << 16n) | BigInt(g), 0n) + BigInt(n);
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    out.unshift((value & 0xffffn).toString(16));
    value >>= 16n;
  }
  return out.join(':');
}

/** The n-th IPv6 container address of a node's Mesos half of an overlay, with the half's length. */
export async function containerAddress6(
  agent: VnetDaemon,
  overlay: string,
  n = 2,
): Promise<string> {
  const info = await agentInfo(agent);
  const half = info.overlays?.find((x) => x.info.name === overlay)?.mesos_bridge?.ip6;
  if (!half) throw new Error(`${agent.host.name} has no IPv6 Mesos half of ${overlay}`);
  const [net, len] = half.split('/');
  return `${addIpv6(net!, n)}/${len}`;
}
