// `vnet agent`: makes a node part of the overlay. It registers with the masters and follows its
// allocation stream, joins the gossip group and publishes its VTEP record, and reconciles the
// kernel (vtep1024, bridges, NAT and isolation, and a neighbour, FDB entry, nexthop and routes per
// other node) with what both say, repairing at once what someone else changes. The kernel and the
// masters are seams (`AgentDeps`): tests run the agent in-process against an in-memory kernel
// and a scripted master.
import { createServer, type Server } from 'node:http';
import { formatIp } from '@vnet/ip';
import { RecordStore } from '@vnet/navstar';
import { Netlink } from '@vnet/netlink-ffi';
import type { ProfileName } from '@vnet/swim';
import type { Logger } from 'pino';
import { type MasterApi, MasterClient } from '../api/client.js';
import { type Kernel, KernelAdapter } from '../dataplane/kernel.js';
import { AgentDns } from '../dns/agent-dns.js';
import { GossipTaskSource } from '../dns/gossip-source.js';
import { systemNameservers } from '../dns/resolv-conf.js';
import { type DockerIntegration, startDockerIntegration } from '../docker/integration.js';
import { desiredDocker } from '../docker/networks.js';
import { ip4 } from '../net/addr.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import { dockerGateway, mesosGateway } from '../protocol/allocation.js';
import type { AgentJson } from '../protocol/documents.js';
import type { NodeAllocation, Vtep } from '../protocol/node-allocation.js';
import type { TaskSink } from '../protocol/task-record.js';
import { recordJson } from '../protocol/vtep-record.js';
import type { TlsFiles } from '../security/tls.js';
import { AllocationStore } from './allocation-file.js';
import type { BackoffSettings } from './backoff.js';
import { AgentCni, type CniOptions } from './cni.js';
import { Gossip } from './gossip.js';
import { agentHttpHandler } from './http.js';
import {
  inputsKey,
  localNode,
  mappedPorts,
  networkSettings,
  ownRecord,
  type Underlay,
} from './inputs.js';
import { type KernelWatch, watchKernel } from './kernel-watch.js';
import { MastersWatch } from './masters-watch.js';
import { AgentMetrics } from './metrics.js';
import { type ReconcileResult, Reconciler, type Trigger } from './reconciler.js';
import { Registration } from './registration.js';
import { notifying, TaskTable } from './tasks.js';

export interface AgentOptions {
  /** The node's underlay IPv4 address: its identity with the masters and in the group. */
  ip: string;
  /** Every master's gRPC service. */
  masters: HostPort[];
  /** False on masters: a VTEP and a subnet per overlay, no bridges. */
  bridges: boolean;
  dataDir: string;
  http: HostPort;
  gossipPort: number;
  /** The gossip seeds (default: the masters' hosts at the gossip port). */
  gossipSeeds?: HostPort[];
  keyring?: string[];
  /** @vnet/swim's timing profile (default lan). */
  gossipProfile?: ProfileName;
  /** Single @vnet/swim settings over the profile (tests use faster probing). */
  gossipSettings?: Record<string, number>;
  tls?: TlsFiles;
  token?: string;
  backoff: BackoffSettings;
  /** How long a vanished node's entries stay (so a brief flap does not tear routes down). */
  withdrawGraceMs: number;
  reconcileIntervalMs: number;
  /** navstar on this node (absent: no DNS). */
  dns?: DnsOptions;
  /** CNI config lists and the task socket (absent: no CNI). */
  cni?: CniOptions;
  /** The Docker daemon whose networks and containers the agent manages (absent: none). */
  dockerHost?: string;
  logger: Logger;
}

export interface DnsOptions {
  /** UDP and TCP port on every address (53). */
  port: number;
  /** Addresses served besides the bridges' gateways (e.g. 127.0.0.1). */
  listen: string[];
  /** Resolvers for other names; default the node's own (/etc/resolv.conf). */
  upstreams?: string[];
}

/** The agent's seams; each defaults to the real thing. */
export interface AgentDeps {
  /** This network namespace's kernel through netlink-ffi (and its notifications). */
  kernel?: Kernel;
  /** The masters of `AgentOptions.masters`. */
  masters?: MasterApi;
  /** The interface holding `AgentOptions.ip`, found in the kernel. */
  underlay?: Underlay;
  /** The registration backoff's randomness (Math.random). */
  random?: () => number;
}

export interface RunningAgent {
  port: number;
  /** This node's tasks: where the CNI plugin's socket and the Docker watcher report. */
  tasks: TaskSink;
  stop(): Promise<void>;
}

export class AgentStartError extends Error {
  override name = 'AgentStartError';
}

/** The underlay device holding the node's IP, and its MTU. */
async function findUnderlay(nl: Netlink, ip: string): Promise<Underlay> {
  const addr = (await nl.addresses.list({ family: 4 })).find((a) => a.address === ip);
  if (!addr) {
    throw new AgentStartError(`--ip ${ip}: no interface of this host holds that address`);
  }
  const link = await nl.links.get(addr.index);
  return { ip: ip4(ip)!, dev: link.name, mtu: link.mtu ?? 1500 };
}

/** Where this node's containers reach its DNS: the gateway of every bridge half it holds. */
function bridgeGateways(
  a: NodeAllocation | undefined,
  bridges: boolean,
  docker: boolean,
): string[] {
  if (!a || !bridges) return [];
  return a.overlays.flatMap((o) => {
    if (!o.enabled || !o.block4) return [];
    const gateways = docker
      ? [mesosGateway(o.block4), dockerGateway(o.block4)]
      : [mesosGateway(o.block4)];
    return gateways.map((g) => formatIp(4, g.address));
  });
}

export async function startAgent(opts: AgentOptions, deps: AgentDeps = {}): Promise<RunningAgent> {
  const log = opts.logger;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };
  try {
    if (!ip4(opts.ip)) throw new AgentStartError(`--ip ${opts.ip}: not an IPv4 address`);
    let nl: Netlink | undefined;
    if (!deps.kernel || !deps.underlay) {
      nl = Netlink.open();
      cleanups.push(() => nl?.close());
    }
    const underlay = deps.underlay ?? (await findUnderlay(nl!, opts.ip));
    const kernel = deps.kernel ?? new KernelAdapter(nl!);
    const metrics = new AgentMetrics();
    const reconciler = new Reconciler(kernel, metrics, log);
    cleanups.push(() => reconciler.stop());

    const seeds = (
      opts.gossipSeeds ?? opts.masters.map((m) => ({ ...m, port: opts.gossipPort }))
    ).map(formatHostPort);
    const gossip = await Gossip.start({
      ip: opts.ip,
      port: opts.gossipPort,
      seeds,
      graceMs: opts.withdrawGraceMs,
      log,
      ...(opts.keyring && { keyring: opts.keyring }),
      ...(opts.gossipProfile && { profile: opts.gossipProfile }),
      ...(opts.gossipSettings && { settings: opts.gossipSettings }),
    });
    cleanups.push(() => gossip.stop());
    const tasks = await TaskTable.load(
      opts.ip,
      { put: (key, record) => gossip.putOwn(key, record), delete: (key) => gossip.deleteOwn(key) },
      opts.dataDir,
      log,
    );
    cleanups.push(() => tasks.flushed());
    let cni: AgentCni | undefined;
    let docker: DockerIntegration | undefined;

    const client =
      deps.masters ??
      new MasterClient(opts.masters.map(formatHostPort), {
        ...(opts.tls && { tls: opts.tls }),
        ...(opts.token !== undefined && { token: opts.token }),
      });
    cleanups.push(() => client.close());
    const registration = new Registration(client, {
      ip: opts.ip,
      bridges: opts.bridges,
      backoff: opts.backoff,
      log,
      ...(deps.random && { random: deps.random }),
    });
    cleanups.push(() => registration.stop());

    const store = new AllocationStore(opts.dataDir, log);
    let allocation: NodeAllocation | undefined = await store.load();
    let lastVtep: Vtep | undefined = allocation?.vtep;
    let fromMaster = false;
    let reported = '';
    /** The inputs the reconciler has (their key and allocation index)... */
    let given = { key: '', index: 0 };
    /** ...and those of the last reconcile that got through. */
    let applied = { key: '', index: 0 };

    const update = (trigger: Trigger) => {
      if (!allocation) return;
      const local = localNode(
        allocation,
        underlay,
        opts.bridges,
        lastVtep,
        mappedPorts(tasks.list()),
      );
      if (!local) return;
      // Published from the saved allocation too: with every master down, a restarted agent must
      // not let the others withdraw a node whose data plane is intact.
      gossip.publish(recordJson(ownRecord(local), local.vtep.prefix, local.vtep.prefix6));
      const settings = networkSettings(allocation);
      const key = inputsKey(local, settings);
      // An allocation that changes nothing the kernel holds (a status echo, an unrelated
      // change of the log) costs no reconcile.
      const same = trigger === 'allocation' && key === given.key;
      given = { key, index: allocation.index };
      if (same) return;
      reconciler.setInputs(
        {
          local,
          remotes: gossip.records(),
          settings,
          prune: gossip.synced,
          key,
          index: allocation.index,
        },
        trigger,
      );
    };

    /** Reports a reconcile's statuses to the masters, unless they already hold the same. */
    const report = (r: ReconcileResult) => {
      if (!fromMaster) return;
      const overlays = r.overlays.map((o) => ({
        name: o.name,
        status: o.status,
        ...(o.error !== undefined && { error: o.error }),
        used: o.used,
      }));
      const key = JSON.stringify(overlays);
      if (key === reported) return;
      client.reportStatus(opts.ip, overlays).then(
        () => {
          reported = key;
        },
        (e) => log.warn({ err: (e as Error).message }, 'could not report the status'),
      );
    };

    registration.on('allocation', (a) => {
      allocation = a;
      fromMaster = true;
      lastVtep = a.vtep ?? lastVtep;
      store.save(a);
      void cni?.sync(a, opts.bridges);
      docker?.setNetworks(desiredDocker(a, opts.bridges));
      update('allocation');
      // The kernel may already hold it (a restart with the same allocation costs no reconcile):
      // then the last reconcile's statuses are this allocation's.
      if (reconciler.last?.key === given.key) report(reconciler.last);
    });
    registration.on('registered', () => {
      // A new registration may be a new record at the masters (the node was deleted): report anew.
      reported = '';
      metrics.registrations.inc({ result: 'ok' });
    });
    registration.on('retry', () => metrics.registrations.inc({ result: 'failed' }));
    let rejected = 0;
    gossip.on('change', () => {
      metrics.members.set(gossip.members);
      metrics.rejectedRecords.inc(gossip.rejected - rejected);
      rejected = gossip.rejected;
      update('gossip');
    });
    reconciler.on('reconciled', (r: ReconcileResult) => {
      if (r.ok) applied = { key: r.key, index: r.index };
      report(r);
      void dns?.update(bridgeGateways(allocation, opts.bridges, opts.dockerHost !== undefined));
    });

    let dns: AgentDns | undefined;
    if (opts.dns) {
      const records = new RecordStore();
      const source = new GossipTaskSource({
        store: gossip.swim.store,
        alive: (member) => gossip.alive(member),
        graceMs: opts.withdrawGraceMs,
        masters: opts.masters.flatMap((m) => (ip4(m.host) ? [m.host] : [])),
        log,
        onRejected: () => metrics.rejectedTasks.inc(),
      });
      const detach = records.attach(source, (e) =>
        log.warn({ err: e.message }, 'a task record navstar refused'),
      );
      cleanups.push(detach);
      const masters = new MastersWatch(client, (v) => source.setMasters(v.masters, v.leader), log);
      masters.start();
      cleanups.push(() => masters.stop());
      // Never forward to ourselves (a node whose resolv.conf already names navstar).
      const served = new Set(opts.dns.listen);
      dns = new AgentDns({
        store: records,
        port: opts.dns.port,
        listen: opts.dns.listen,
        upstreams:
          opts.dns.upstreams ?? (await systemNameservers()).filter((ip) => !served.has(ip)),
        log,
      });
      const agentDns = dns;
      cleanups.push(() => agentDns.close());
      await dns.update(bridgeGateways(allocation, opts.bridges, opts.dockerHost !== undefined));
    }

    if (nl && !deps.kernel) {
      let watch: KernelWatch | undefined;
      try {
        watch = watchKernel({
          onChange: () => update('kernel'),
          log,
          links: await nl.links.list(),
          ownPort: nl.portId,
        });
        cleanups.push(() => watch?.close());
      } catch (e) {
        log.warn(
          { err: (e as Error).message },
          'no kernel notifications; relying on the periodic pass',
        );
      }
    }
    const periodic = setInterval(() => update('periodic'), opts.reconcileIntervalMs);
    cleanups.push(() => clearInterval(periodic));

    const server: Server = createServer(
      agentHttpHandler({
        metrics,
        view: (): AgentJson | undefined => {
          const agent = allocation?.message.agent;
          if (!agent) return undefined;
          const outcomes = new Map((reconciler.last?.overlays ?? []).map((o) => [o.name, o]));
          return {
            ...agent,
            configuration_attempts: registration.attempts,
            overlays: (agent.overlays ?? []).map((o) => {
              const r = outcomes.get(o.info?.name ?? '');
              if (!r) return o;
              const { state: _fromMaster, ...rest } = o;
              return {
                ...rest,
                state: { status: r.status, ...(r.error !== undefined && { error: r.error }) },
              };
            }),
          };
        },
        health: () => ({
          registered: registration.registered,
          allocation: allocation !== undefined,
          reconciled: reconciler.last?.ok ?? false,
          gossipSynced: gossip.synced,
          gossipMembers: gossip.members,
          peers: gossip.records().length,
          reconcileRuns: reconciler.runs,
          allocationIndex: allocation?.index ?? 0,
          appliedIndex: applied.key === given.key ? given.index : applied.index,
          tasks: tasks.size,
          dns: dns?.addresses ?? [],
          ...(docker && { docker: docker.status() }),
        }),
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new AgentStartError(`--http ${formatHostPort(opts.http)}: ${e.message}`)),
      );
      server.listen(opts.http.port, opts.http.host, resolve);
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );

    // What the last allocation says is checked at once (nothing is pruned before the group's
    // full state is known); then the masters' answer takes over.
    // A container started or stopped changes a bridge's ports: reconcile and report the usage.
    const runtimes = notifying(tasks, () => {
      update('tasks');
      void cni?.countAddresses();
    });
    if (opts.dockerHost) {
      const integration = startDockerIntegration({
        dockerHost: opts.dockerHost,
        sink: runtimes,
        log,
        registry: metrics.registry,
      });
      docker = integration;
      cleanups.push(() => integration.stop());
      if (allocation) docker.setNetworks(desiredDocker(allocation, opts.bridges));
    }
    if (opts.cni) {
      cni = await AgentCni.start(opts.cni, runtimes, metrics, log, () => update('tasks'));
      const agentCni = cni;
      cleanups.push(() => agentCni.close());
    }
    if (allocation) {
      void cni?.sync(allocation, opts.bridges);
      update('start');
    }
    registration.start();
    log.info(
      {
        ip: opts.ip,
        underlay: underlay.dev,
        masters: opts.masters.map(formatHostPort),
        seeds,
        bridges: opts.bridges,
      },
      'overlay agent started',
    );
    return { port: (server.address() as { port: number }).port, tasks, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
