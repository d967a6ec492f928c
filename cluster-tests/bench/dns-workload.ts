// The DNS bench's tasks, deterministic: `count` instances on one agent (a gossip member may only
// publish its own), over apps of 1 to 4 instances, some in Marathon groups, some with host ports,
// two frameworks; and a dnsperf query mix of agentip, containerip and autoip names in both zones,
// about 1 in 10 of them names that do not exist.
import type { TaskRecordJson } from '@vnet/overlay-core';
import { mulberry32 } from '@vnet/testkit';

export function benchTasks(count: number, agentIp: string): TaskRecordJson[] {
  const tasks: TaskRecordJson[] = [];
  for (let i = 0; i < count; i++) {
    const app = Math.floor(i / 3);
    tasks.push({
      id: `task-${i}`,
      name: app % 3 === 0 ? `app${app}.team${app % 17}` : `app${app}`,
      framework: app % 10 === 0 ? 'kafka' : 'marathon',
      network: 'dcos',
      agentIp,
      containerIps: [`9.${Math.floor(i / 65536) + 100}.${Math.floor(i / 256) % 256}.${i % 256}`],
      ports:
        app % 5 === 0
          ? [{ name: 'http', protocol: 'tcp', containerPort: 80, hostPort: 20000 + (i % 10000) }]
          : [],
      runtime: 'cni',
    });
  }
  return tasks;
}

/** The DNS label of a task name as navstar makes it (`app1.team1` -> `app1-team1`). */
const label = (name: string) => name.replace(/\./g, '-');

/** dnsperf query lines: "name A". */
export function benchQueries(tasks: TaskRecordJson[], count: number, seed: number): string[] {
  const r = mulberry32(seed);
  const kinds = ['agentip', 'containerip', 'autoip'];
  const zones = ['dcos', 'dcos.thisdcos.directory'];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = tasks[Math.floor(r() * tasks.length)]!;
    const kind = kinds[Math.floor(r() * kinds.length)];
    const zone = zones[Math.floor(r() * zones.length)];
    const name = r() < 0.1 ? `missing${i}` : label(t.name);
    lines.push(`${name}.${t.framework}.${kind}.${zone} A`);
  }
  return lines;
}
