// `vnet agent`: makes a node part of the overlay. It registers with the masters and follows its
// allocation stream, joins the gossip group and publishes its VTEP record, and reconciles the
// kernel (vtep1024, bridges, NAT and isolation, and a neighbour, FDB entry, nexthop and routes per
// other node) with what both say, repairing at once what someone else changes.
import { createServer, type Server } from 'node:http';
import { Netlink } from '@vnet/netlink-ffi';
import type { Logger } from 'pino';
import { MasterClient } from '../api/client.js';
import { KernelAdapter } from '../dataplane/kernel.js';
import type { AgentJson } from '../ipam/state-json.js';
import { loadAllocation, saveAllocation } from './allocation-file.js';
import type { BackoffSettings } from './backoff.js';
import { Gossip } from './gossip.js';
import { agentHttpHandler } from './http.js';
import { localNode, networkSettings, ownRecord, remoteNode, type Underlay } from './inputs.js';
import { type KernelWatch, watchKernel } from './kernel-watch.js';
import { AgentMetrics } from './metrics.js';
import { type ReconcileInputs, type ReconcileResult, Reconciler } from './reconciler.js';
import { type Allocation, Registration } from './registration.js';

export interface AgentOptions {
  /** The node's underlay IPv4 address: its identity with the masters and in the group. */
  ip: string;
  /** host:port of every master's gRPC service. */
  masters: string[];
  /** False on masters: a VTEP and a subnet per overlay, no bridges. */
  bridges: boolean;
  dataDir: string;
  http: { host: string; port: number };
  gossipPort: number;
  /** host:port of the gossip seeds (default: the masters' hosts at the gossip port). */
  gossipSeeds?: string[];
  keyring?: string[];
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
  token?: string;
  backoff: BackoffSettings;
  /** How long a vanished node's entries stay (so a brief flap does not tear routes down). */
  withdrawGraceMs: number;
  reconcileIntervalMs: number;
  /** @vnet/swim setting overrides (tests use faster probing). */
  gossipSettings?: Record<string, number>;
  logger: Logger;
}

export interface RunningAgent {
  port: number;
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
  return { ip, dev: link.name, mtu: link.mtu ?? 1500 };
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger;
  const nl = Netlink.open();
  const cleanups: (() => Promise<void> | void)[] = [() => nl.close()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };
  try {
    const underlay = await findUnderlay(nl, opts.ip);
    const metrics = new AgentMetrics();
    const kernel = new KernelAdapter(nl);
    const reconciler = new Reconciler(kernel, metrics, log);
    cleanups.push(() => reconciler.stop());

    const seeds =
      opts.gossipSeeds ??
      opts.masters.map((m) => `${m.slice(0, m.lastIndexOf(':'))}:${opts.gossipPort}`);
    const gossip = await Gossip.start({
      ip: opts.ip,
      port: opts.gossipPort,
      seeds,
      graceMs: opts.withdrawGraceMs,
      log,
      ...(opts.keyring && { keyring: opts.keyring }),
      ...(opts.gossipSettings && { settings: opts.gossipSettings }),
    });
    cleanups.push(() => gossip.stop());

    const client = new MasterClient(opts.masters, {
      ...(opts.tls && { tls: opts.tls }),
      ...(opts.token !== undefined && { token: opts.token }),
    });
    cleanups.push(() => client.close());
    const registration = new Registration(client, opts.ip, opts.bridges, opts.backoff, log);
    cleanups.push(() => registration.stop());

    let allocation: Allocation | undefined = await loadAllocation(opts.dataDir);
    let lastVtep = allocation?.agent.overlays?.[0]?.backend.vxlan;
    let fromMaster = false;
    let reported = '';

    const update = (trigger: 'start' | 'allocation' | 'gossip' | 'kernel' | 'periodic') => {
      if (!allocation) return;
      const local = localNode(allocation, underlay, opts.bridges, lastVtep);
      if (!local) return;
      // Published from the saved allocation too: with every master down, a restarted agent must
      // not let the others withdraw a node whose data plane is intact.
      gossip.publish(ownRecord(local));
      const inputs: ReconcileInputs = {
        local,
        remotes: gossip.records().map(remoteNode),
        settings: networkSettings(allocation),
        prune: gossip.synced,
      };
      reconciler.setInputs(inputs, trigger);
    };

    registration.on('allocation', (a) => {
      allocation = a;
      fromMaster = true;
      lastVtep = a.agent.overlays?.[0]?.backend.vxlan ?? lastVtep;
      saveAllocation(opts.dataDir, a).catch((e) =>
        log.error({ err: e }, 'could not save the allocation'),
      );
      update('allocation');
    });
    registration.on('registered', () => metrics.registrations.inc({ result: 'ok' }));
    registration.on('retry', () => metrics.registrations.inc({ result: 'failed' }));
    let rejected = 0;
    gossip.on('change', () => {
      metrics.members.set(gossip.members);
      metrics.rejectedRecords.inc(gossip.rejected - rejected);
      rejected = gossip.rejected;
      update('gossip');
    });
    reconciler.on('reconciled', (r: ReconcileResult) => {
      if (!fromMaster || !allocation) return;
      const report = r.overlays.map((o) => ({
        name: o.name,
        status: o.status,
        ...(o.error !== undefined && { error: o.error }),
        used: o.used,
      }));
      const key = JSON.stringify(report);
      if (key === reported) return;
      client.reportStatus(opts.ip, report).then(
        () => {
          reported = key;
        },
        (e) => log.warn({ err: (e as Error).message }, 'could not report the status'),
      );
    });

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
    const periodic = setInterval(() => update('periodic'), opts.reconcileIntervalMs);
    cleanups.push(() => clearInterval(periodic));

    const server: Server = createServer(
      agentHttpHandler({
        metrics,
        view: (): AgentJson | undefined => {
          if (!allocation) return undefined;
          const outcomes = new Map((reconciler.last?.overlays ?? []).map((o) => [o.name, o]));
          return {
            ...allocation.agent,
            configuration_attempts: registration.attempts,
            overlays: (allocation.agent.overlays ?? []).map((o) => {
              const r = outcomes.get(o.info.name);
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
        }),
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new AgentStartError(`--http ${opts.http.host}:${opts.http.port}: ${e.message}`)),
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
    if (allocation) update('start');
    registration.start();
    log.info(
      { ip: opts.ip, underlay: underlay.dev, masters: opts.masters, seeds, bridges: opts.bridges },
      'overlay agent started',
    );
    return { port: (server.address() as { port: number }).port, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
