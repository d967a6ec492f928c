// The agent's side of CNI: one config list per overlay in the CNI config dir, following the
// allocation (written one sync at a time); the task socket vnet's plugin reports to; tasks whose
// host-local lease is gone (deleted while the agent was down) dropped at start; and the CNI
// half's address usage and exhaustion in the metrics.
import type { Logger } from 'pino';
import { readCniLeases, syncCniConfigs } from '../cni/conf-dir.js';
import { cniConfigLists } from '../cni/conflist.js';
import { cniTaskId } from '../cni/plugin.js';
import { type ExhaustedReport, startTaskSocket, type TaskSocket } from '../cni/task-socket.js';
import { containersPerHalf } from '../config/validate.js';
import type { NodeAllocation } from '../protocol/node-allocation.js';
import type { TaskSink } from '../protocol/task-record.js';
import type { AgentMetrics } from './metrics.js';

export interface CniOptions {
  /** Where the config lists go (`vnet-<overlay>.conflist`). */
  confDir: string;
  /** host-local's lease dir (on tmpfs: no orphaned leases after a reboot). */
  dataDir: string;
  /** The task socket vnet's plugin reports to. */
  socket: string;
  /** DNS search domains handed to containers. */
  search?: string[];
}

export class AgentCni {
  private syncing: Promise<void> = Promise.resolve();
  private overlays: { name: string; capacity: number }[] = [];

  private constructor(
    private readonly opts: CniOptions,
    private readonly socket: TaskSocket,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  /** Opens the task socket; `onExhausted` hears of a container that found no address. */
  static async start(
    opts: CniOptions,
    sink: TaskSink,
    metrics: AgentMetrics,
    log: Logger,
    onExhausted: () => void,
  ): Promise<AgentCni> {
    let cni: AgentCni | undefined;
    const socket = await startTaskSocket({
      path: opts.socket,
      sink,
      onExhausted: (r) => {
        cni?.exhausted(r);
        onExhausted();
      },
    });
    cni = new AgentCni(opts, socket, metrics, log);
    await cni.pruneStale(sink);
    return cni;
  }

  /** Writes the config lists of `allocation` (none on a node without bridges). */
  sync(allocation: NodeAllocation, bridges: boolean): Promise<void> {
    const lists = bridges
      ? cniConfigLists(allocation, {
          agentSocket: this.opts.socket,
          dataDir: this.opts.dataDir,
          ...(this.opts.search && { search: this.opts.search }),
        })
      : [];
    this.overlays = allocation.overlays.flatMap((o) =>
      bridges && o.enabled && o.block4
        ? [{ name: o.name, capacity: Number(containersPerHalf(4, o.block4.prefix)) }]
        : [],
    );
    this.syncing = this.syncing.then(async () => {
      try {
        const r = await syncCniConfigs(this.opts.confDir, lists);
        if (r.written.length + r.removed.length > 0) {
          this.log.info({ dir: this.opts.confDir, ...r }, 'CNI config lists updated');
        }
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'could not write the CNI config lists');
      }
      await this.countAddresses();
    });
    return this.syncing;
  }

  /** Addresses used and free in each overlay's CNI half, from host-local's leases. */
  async countAddresses(): Promise<void> {
    for (const o of this.overlays) {
      const used = (await readCniLeases(this.opts.dataDir, o.name).catch(() => [])).length;
      this.metrics.cniAddresses.set({ overlay: o.name, state: 'used' }, used);
      this.metrics.cniAddresses.set(
        { overlay: o.name, state: 'free' },
        Math.max(0, o.capacity - used),
      );
    }
  }

  private exhausted(r: ExhaustedReport): void {
    this.metrics.cniExhausted.inc({ overlay: r.network });
    this.log.warn(
      { overlay: r.network, error: r.error },
      "a container found no address in this node's CNI half",
    );
    void this.countAddresses();
  }

  /** Drops CNI tasks whose lease host-local no longer holds (deleted while the agent was down). */
  private async pruneStale(sink: TaskSink): Promise<void> {
    for (const task of sink.list()) {
      if (task.runtime !== 'cni') continue;
      const leases = await readCniLeases(this.opts.dataDir, task.network).catch(() => undefined);
      if (!leases) continue;
      if (!leases.some((l) => cniTaskId(l.containerId, l.ifname) === task.id)) {
        sink.remove(task.id);
        this.log.info({ task: task.id }, 'dropped a task whose container is gone');
      }
    }
  }

  async close(): Promise<void> {
    await this.syncing;
    await this.socket.close();
  }
}
