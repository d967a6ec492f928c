// Prometheus metrics of the Docker integration, registered into the agent's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class DockerMetrics {
  readonly connected: Gauge;
  readonly networkFixes: Counter<'action'>;
  readonly resyncs: Counter<'reason'>;
  readonly tasks: Gauge;
  readonly errors: Counter<'op'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connected = new Gauge({
      name: 'vnet_agent_docker_connected',
      help: "1 while the agent follows dockerd's event stream",
      registers,
    });
    this.networkFixes = new Counter({
      name: 'vnet_agent_docker_network_fixes_total',
      help: 'Docker networks vnet changed: create, recreate (differed), takeover (not made by vnet), remove',
      labelNames: ['action'],
      registers,
    });
    this.resyncs = new Counter({
      name: 'vnet_agent_docker_resyncs_total',
      help: 'Full resyncs of the Docker tasks from the container list, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.tasks = new Gauge({
      name: 'vnet_agent_docker_tasks',
      help: 'Tasks this node reports from Docker containers',
      registers,
    });
    this.errors = new Counter({
      name: 'vnet_agent_docker_errors_total',
      help: 'Failed Docker operations (the agent retries them), by operation',
      labelNames: ['op'],
      registers,
    });
  }
}
