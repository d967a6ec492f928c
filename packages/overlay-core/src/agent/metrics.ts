// Prometheus metrics of an agent (prom-client, its own registry): entries programmed per kind,
// reconcile runs and the fixes they made, gossip members, and the convergence lag (from a
// change being seen to the kernel holding it).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly entries: Gauge<'kind'>;
  readonly reconciles: Counter<'trigger' | 'result'>;
  readonly fixes: Counter<'kind' | 'action'>;
  readonly members: Gauge;
  readonly lag: Histogram;
  readonly registrations: Counter<'result'>;
  readonly rejectedRecords: Counter;
  readonly rejectedTasks: Counter;
  readonly cniAddresses: Gauge<'overlay' | 'state'>;
  readonly cniExhausted: Counter<'overlay'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'vnet_agent_' });
    this.entries = new Gauge({
      name: 'vnet_agent_entries',
      help: 'Kernel entries vnet wants on this node, by kind (after the last reconcile)',
      labelNames: ['kind'],
      registers,
    });
    this.reconciles = new Counter({
      name: 'vnet_agent_reconcile_runs_total',
      help: 'Reconcile runs, by what triggered them and how they ended',
      labelNames: ['trigger', 'result'],
      registers,
    });
    this.fixes = new Counter({
      name: 'vnet_agent_reconcile_fixes_total',
      help: 'Kernel changes reconcile made, by kind and action',
      labelNames: ['kind', 'action'],
      registers,
    });
    this.members = new Gauge({
      name: 'vnet_agent_gossip_members',
      help: 'Live members of the gossip group, this node included',
      registers,
    });
    this.lag = new Histogram({
      name: 'vnet_agent_convergence_lag_seconds',
      help: 'From a change being seen (allocation, gossip record, kernel event) to the kernel holding the result',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.registrations = new Counter({
      name: 'vnet_agent_registrations_total',
      help: 'Registration attempts with the masters, by result',
      labelNames: ['result'],
      registers,
    });
    this.rejectedRecords = new Counter({
      name: 'vnet_agent_gossip_records_rejected_total',
      help: 'Malformed gossip records that were ignored',
      registers,
    });
    this.rejectedTasks = new Counter({
      name: 'vnet_agent_gossip_tasks_rejected_total',
      help: 'Task records in gossip that were ignored (malformed, or not published by the node they name)',
      registers,
    });
    this.cniAddresses = new Gauge({
      name: 'vnet_agent_cni_addresses',
      help: "Container addresses of each overlay's CNI half on this node, used and free (host-local's leases)",
      labelNames: ['overlay', 'state'],
      registers,
    });
    this.cniExhausted = new Counter({
      name: 'vnet_agent_cni_exhausted_total',
      help: "Containers that found no free address in this node's CNI half of an overlay",
      labelNames: ['overlay'],
      registers,
    });
  }
}
