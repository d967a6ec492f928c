// The bench's records and queries, deterministic from a seed: task instances spread over agents,
// some in Marathon groups, some with host ports; a query mix of agentip, containerip and autoip
// names in both zones, plus names that do not exist.
import { mulberry32 } from '@vnet/testkit';
import { taskLabel } from '../src/names.js';
import type { TaskRecord } from '../src/zone/records.js';

export function makeTasks(count: number, seed: number): TaskRecord[] {
  const r = mulberry32(seed);
  const tasks: TaskRecord[] = [];
  for (let i = 0; i < count; i++) {
    const agent = i % 250;
    const group = i % 3 === 0 ? `/team${i % 17}/` : '';
    const hostPorts = i % 5 === 0;
    tasks.push({
      id: `task-${i}.${Math.floor(r() * 1e9).toString(36)}`,
      name: `${group}app${i}`,
      framework: i % 10 === 0 ? 'kafka' : 'marathon',
      agentIp: `10.1.${Math.floor(agent / 250)}.${(agent % 250) + 1}`,
      containerIps: [`9.${Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`],
      ports: hostPorts ? [{ name: 'http', containerPort: 80, hostPort: 20000 + (i % 10000) }] : [],
    });
  }
  return tasks;
}

/** dnsperf query lines: "name type". About 1 in 10 names does not exist. */
export function makeQueries(tasks: TaskRecord[], count: number, seed: number): string[] {
  const r = mulberry32(seed);
  const kinds = ['agentip', 'containerip', 'autoip'];
  const zones = ['dcos', 'dcos.thisdcos.directory'];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = tasks[Math.floor(r() * tasks.length)];
    const kind = kinds[Math.floor(r() * kinds.length)];
    const zone = zones[Math.floor(r() * zones.length)];
    const framework = t.framework;
    const name = r() < 0.1 ? `missing${i}` : taskLabel(t.name);
    lines.push(`${name}.${framework}.${kind}.${zone} A`);
  }
  return lines;
}
