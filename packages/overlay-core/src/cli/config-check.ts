// `vnet config check FILE`: validate an overlay network config and show what it offers.
import { type Capacity, capacity } from '../config/capacity.js';
import { formatIssue, formatPath, type NetworkConfig, sortIssues } from '../config/types.js';
import { renderTable } from './table.js';

export interface CheckOptions {
  json?: boolean;
  underlayMtu?: number;
}

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export const EXIT_INVALID = 2;

export async function configCheck(
  file: string,
  options: CheckOptions = {},
): Promise<CommandOutput> {
  const { loadConfigFile } = await import('../config/load.js');
  const result = await loadConfigFile(file, { underlayMtu: options.underlayMtu });
  if (!result.ok) {
    const issues = sortIssues(result.issues);
    if (options.json) {
      const errors = issues.map((i) => ({ ...i, path: formatPath(i.path) }));
      return {
        code: EXIT_INVALID,
        stdout: `${JSON.stringify({ ok: false, file, errors }, null, 2)}\n`,
        stderr: '',
      };
    }
    const n = issues.length;
    const lines = issues.map((i) => `  ${formatIssue(i, file)}`);
    return {
      code: EXIT_INVALID,
      stdout: '',
      stderr: `${file}: invalid overlay network config, ${n} problem${n === 1 ? '' : 's'}:\n${lines.join('\n')}\n`,
    };
  }
  const cap = capacity(result.config);
  if (options.json) {
    const body = { ok: true, file, config: result.config, capacity: capacityJson(cap) };
    return { code: 0, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  return { code: 0, stdout: renderReport(file, result.config, cap), stderr: '' };
}

function renderReport(file: string, config: NetworkConfig, cap: Capacity): string {
  const rows = cap.overlays.flatMap((o) =>
    o.families.map((f) => [
      o.name + (o.enabled ? '' : ' (disabled)'),
      f.family === 4 ? 'IPv4' : 'IPv6',
      f.subnet,
      `/${f.prefix}`,
      count(f.nodeSubnets),
      count(f.mesosPerNode),
      count(f.dockerPerNode),
      count(f.totalContainers),
    ]),
  );
  const table = renderTable(
    [
      'overlay',
      'family',
      'subnet',
      'prefix',
      'node subnets',
      'mesos/node',
      'docker/node',
      'containers',
    ],
    rows,
  );
  const limited = cap.overlays
    .filter((o) => o.enabled)
    .flatMap((o) =>
      o.families
        .filter((f) => f.nodeSubnets < cap.maxNodes)
        .map((f) => `${o.name} (${f.subnet}): ${count(f.nodeSubnets)}`),
    );
  const lines = [
    `${file}: valid overlay network config`,
    '',
    `VTEP subnet ${config.vtep_subnet}${config.vtep_subnet6 ? ` and ${config.vtep_subnet6}` : ''}: ` +
      `${count(cap.maxNodes)} VTEP addresses, so at most ${count(cap.maxNodes)} nodes`,
    `VTEP MAC OUI ${config.vtep_mac_oui}, overlay MTU ${config.overlay_mtu}` +
      (config.vtep_mtu !== undefined ? `, VTEP MTU ${config.vtep_mtu}` : ''),
    '',
    table,
    '',
    'Containers per node exclude the network, broadcast and gateway addresses of each half.',
  ];
  if (limited.length > 0) {
    lines.push(`Nodes beyond an overlay's node subnets do not get it: ${limited.join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}

const count = (n: bigint): string => n.toString();

/** Capacity with bigints as JSON numbers where exact, strings beyond 2^53. */
function capacityJson(cap: Capacity): unknown {
  return JSON.parse(
    JSON.stringify(cap, (_k, v) =>
      typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
    ),
  );
}
