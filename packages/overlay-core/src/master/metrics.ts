// Prometheus metrics of a master (prom-client, one registry per master, no global state):
// Raft progress and leadership, registrations, allocation failures by reason, and the free
// blocks and VTEP addresses read from the state at scrape time.
import type { RaftNode } from '@vnet/raft';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FailureReason } from '../protocol/errors.js';
import type { CommandResult } from './commands.js';
import type { MasterStateMachine } from './state-machine.js';

export type RegistrationOutcome = 'created' | 'changed' | 'unchanged' | 'failed';

export class MasterMetrics {
  readonly registry = new Registry();
  private readonly registrations: Counter<'outcome'>;
  private readonly failures: Counter<'reason'>;
  private readonly reports: Counter<'outcome'>;

  constructor(node: RaftNode<CommandResult>, sm: MasterStateMachine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'vnet_master_' });
    this.registrations = new Counter({
      name: 'vnet_master_registrations_total',
      help: 'Node registrations answered by this master, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'vnet_master_allocation_failures_total',
      help: 'Allocations this master could not make, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.reports = new Counter({
      name: 'vnet_master_status_reports_total',
      help: 'Status reports from nodes, by whether they changed the state',
      labelNames: ['outcome'],
      registers,
    });
    const raftGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    raftGauge('vnet_master_raft_term', 'Current Raft term', () => node.status().term);
    raftGauge('vnet_master_raft_commit_index', 'Raft commit index', () => node.status().commit);
    raftGauge('vnet_master_raft_applied_index', 'Raft applied index', () => node.status().applied);
    raftGauge('vnet_master_raft_is_leader', '1 if this master leads', () =>
      node.status().role === 'leader' ? 1 : 0,
    );
    raftGauge('vnet_master_raft_leader_known', '1 if this master knows a leader', () =>
      node.status().leader ? 1 : 0,
    );
    raftGauge(
      'vnet_master_raft_leader_changes_total',
      'Leader changes this master has seen',
      () => node.metrics().leaderChangesTotal,
    );
    raftGauge('vnet_master_nodes', 'Registered nodes', () => {
      const ipam = sm.ipam;
      return ipam?.nodeCount ?? 0;
    });
    new Gauge({
      name: 'vnet_master_free_vtep_addresses',
      help: 'Free VTEP addresses, by family',
      labelNames: ['family'],
      registers,
      collect() {
        this.reset();
        const c = sm.ipam?.counts();
        if (!c) return;
        this.set({ family: 'ipv4' }, c.vtep.free);
        if (c.vtep6) this.set({ family: 'ipv6' }, c.vtep6.free);
      },
    });
    for (const [name, help, pick] of [
      ['vnet_master_free_blocks', 'Free node blocks per overlay and family', 'free'],
      ['vnet_master_blocks', 'Node blocks per overlay and family', 'total'],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['overlay', 'family'],
        registers,
        collect() {
          this.reset();
          const c = sm.ipam?.counts();
          for (const [overlay, fams] of Object.entries(c?.overlays ?? {})) {
            if (fams.v4) this.set({ overlay, family: 'ipv4' }, fams.v4[pick]);
            if (fams.v6) this.set({ overlay, family: 'ipv6' }, fams.v6[pick]);
          }
        },
      });
    }
  }

  registration(outcome: RegistrationOutcome): void {
    this.registrations.inc({ outcome });
  }

  failure(reason: FailureReason, n = 1): void {
    this.failures.inc({ reason }, n);
  }

  report(changed: boolean): void {
    this.reports.inc({ outcome: changed ? 'changed' : 'unchanged' });
  }
}
