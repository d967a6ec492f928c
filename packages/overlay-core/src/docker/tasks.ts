// Docker containers as vnet tasks (pure): a running container attached to a vnet network is one
// task per such network, named by its labels or its container name, with the addresses Docker
// gave it there and its published ports. Input is one entry of `GET /containers/json` (the list
// holds everything needed, so a resync is one call).
import { isObject } from '../input.js';
import { prefixOf } from '../net/addr.js';
import { contains } from '../net/cidr.js';
import { parseTaskReport, type TaskPortJson, type TaskReport } from '../protocol/task-record.js';
import type { DockerNetworkSpec } from './networks.js';

/** Labels a container may carry for vnet. */
export const TASK_LABEL = 'vnet.task';
export const FRAMEWORK_LABEL = 'vnet.framework';
/** Names of container ports: `http=80,metrics=9100/tcp,dns=53/udp`. */
export const PORTS_LABEL = 'vnet.ports';

export const DEFAULT_FRAMEWORK = 'docker';

/** The id of a container's task: `docker-<12 hex>`, plus `-<network>` when on several. */
export function dockerTaskId(containerId: string, network: string, networks: number): string {
  const short = containerId.slice(0, 12);
  return networks > 1 ? `docker-${short}-${network}` : `docker-${short}`;
}

/** `vnet.ports` as a map `<port>/<proto>` → name; malformed entries are skipped. */
export function portNames(label: string | undefined): Map<string, string> {
  const names = new Map<string, string>();
  for (const entry of (label ?? '').split(',')) {
    const m = /^\s*([A-Za-z0-9_-]{1,63})\s*=\s*(\d{1,5})(?:\/(tcp|udp))?\s*$/.exec(entry);
    if (m) names.set(`${Number(m[2])}/${m[3] ?? 'tcp'}`, m[1]!);
  }
  return names;
}

function portsOf(v: Record<string, unknown>, names: Map<string, string>): TaskPortJson[] {
  const seen = new Map<string, TaskPortJson>();
  for (const p of Array.isArray(v.Ports) ? v.Ports : []) {
    if (!isObject(p) || typeof p.PrivatePort !== 'number') continue;
    const protocol = p.Type === 'udp' ? 'udp' : p.Type === 'tcp' ? 'tcp' : undefined;
    if (!protocol) continue; // sctp: no DNS record form for it
    const hostPort =
      typeof p.PublicPort === 'number' && p.PublicPort > 0 ? p.PublicPort : undefined;
    // Docker lists a binding once per host address family (0.0.0.0 and ::): one port each.
    const key = `${p.PrivatePort}/${protocol}/${hostPort ?? ''}`;
    const name = names.get(`${p.PrivatePort}/${protocol}`);
    seen.set(key, {
      ...(name && { name }),
      protocol,
      containerPort: p.PrivatePort,
      ...(hostPort && { hostPort }),
    });
  }
  // A port only exposed disappears when a binding of the same port exists.
  const bound = new Set(
    [...seen.values()].filter((p) => p.hostPort).map((p) => `${p.containerPort}/${p.protocol}`),
  );
  return [...seen.values()]
    .filter((p) => p.hostPort || !bound.has(`${p.containerPort}/${p.protocol}`))
    .sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
}

const within = (ip: string, subnet: string | undefined): boolean => {
  if (!subnet) return false;
  const family = ip.includes(':') ? 6 : 4;
  const a = prefixOf(ip, family);
  const s = prefixOf(subnet, family);
  return (
    !!a &&
    !!s &&
    contains(
      { family, network: s.value, prefix: s.prefix },
      { family, network: a.value, prefix: a.prefix },
    )
  );
};

/**
 * The tasks of one `GET /containers/json` entry: one per vnet network it is attached to, with
 * the addresses that lie in that network's half (an address from elsewhere — a network not yet
 * fixed — is not published). None for a container that is not running or has no such address.
 */
export function containerTasks(
  v: unknown,
  networks: ReadonlyMap<string, DockerNetworkSpec>,
  onProblem: (message: string) => void = () => {},
): TaskReport[] {
  if (!isObject(v) || typeof v.Id !== 'string' || v.State !== 'running') return [];
  const attached =
    isObject(v.NetworkSettings) && isObject(v.NetworkSettings.Networks)
      ? v.NetworkSettings.Networks
      : {};
  const ours = Object.keys(attached)
    .filter((n) => networks.has(n))
    .sort();
  const labels = isObject(v.Labels) ? v.Labels : {};
  const label = (k: string) =>
    typeof labels[k] === 'string' && labels[k] !== '' ? (labels[k] as string) : undefined;
  const names = Array.isArray(v.Names)
    ? v.Names.filter((n): n is string => typeof n === 'string')
    : [];
  const name = label(TASK_LABEL) ?? names[0]?.replace(/^\//, '') ?? v.Id.slice(0, 12);
  const ports = portsOf(v, portNames(label(PORTS_LABEL)));
  const tasks: TaskReport[] = [];
  for (const network of ours) {
    const spec = networks.get(network)!;
    const ep = attached[network];
    if (!isObject(ep)) continue;
    const ips = [
      typeof ep.IPAddress === 'string' && within(ep.IPAddress, spec.ipv4?.subnet)
        ? ep.IPAddress
        : '',
      typeof ep.GlobalIPv6Address === 'string' && within(ep.GlobalIPv6Address, spec.ipv6?.subnet)
        ? ep.GlobalIPv6Address
        : '',
    ].filter((a) => a !== '');
    if (ips.length === 0) continue;
    try {
      // Checked like every other report (lengths, canonical addresses).
      tasks.push(
        parseTaskReport({
          id: dockerTaskId(v.Id, network, ours.length),
          name,
          framework: label(FRAMEWORK_LABEL) ?? DEFAULT_FRAMEWORK,
          network,
          containerIps: ips,
          ports,
          runtime: 'docker',
        }),
      );
    } catch (e) {
      // E.g. a label too long for a DNS name: the container runs, it just has no task record.
      onProblem(`container ${v.Id.slice(0, 12)} on ${network}: ${(e as Error).message}`);
    }
  }
  return tasks;
}
