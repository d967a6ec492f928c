// How a master's config file relates to the config the overlay replicated log holds. The log is
// authoritative once it has a config: the file may add overlays and change MTUs; anything that
// would move or drop addresses nodes hold is a conflict, never applied silently.
import type { NetworkConfig, OverlayConfig } from '../config/types.js';
import type { ConfigConflict } from '../protocol/documents.js';

export interface ConfigDiff {
  /** Overlays in the file but not in the log. */
  add: OverlayConfig[];
  /** Overlays in the log but not in the file. */
  missing: string[];
  /** Overlays whose addressing (subnet, prefix, subnet6, prefix6) differs. */
  changed: OverlayConfig[];
  /** Settings the file may change: `vtep_mtu`, `overlay_mtu`, `vtep_subnet6` when the log has none. */
  settings: Partial<Pick<NetworkConfig, 'vtep_mtu' | 'overlay_mtu' | 'vtep_subnet6'>>;
  /** Cluster-wide fields that cannot change while nodes hold addresses of them. */
  fixed: { field: string; log: string; file: string }[];
  /** Overlays whose `isolated` flag the file changes (applied in place). */
  isolation: { name: string; isolated: boolean | undefined }[];
}

const ADDRESSING = ['subnet', 'prefix', 'subnet6', 'prefix6'] as const;

const show = (v: unknown): string => (v === undefined ? '(none)' : String(v));

export function diffConfig(log: NetworkConfig, file: NetworkConfig): ConfigDiff {
  const diff: ConfigDiff = {
    add: [],
    missing: [],
    changed: [],
    settings: {},
    fixed: [],
    isolation: [],
  };
  const inFile = new Map(file.overlays.map((o) => [o.name, o]));
  const inLog = new Map(log.overlays.map((o) => [o.name, o]));
  for (const o of log.overlays) {
    const f = inFile.get(o.name);
    if (!f) diff.missing.push(o.name);
    else if (ADDRESSING.some((k) => o[k] !== f[k])) diff.changed.push(f);
    else if ((o.isolated ?? true) !== (f.isolated ?? true)) {
      diff.isolation.push({ name: o.name, isolated: f.isolated });
    }
  }
  for (const f of file.overlays) if (!inLog.has(f.name)) diff.add.push(f);
  if (log.vtep_subnet !== file.vtep_subnet) {
    diff.fixed.push({ field: 'vtep_subnet', log: log.vtep_subnet, file: file.vtep_subnet });
  }
  if (log.vtep_mac_oui.toLowerCase() !== file.vtep_mac_oui.toLowerCase()) {
    diff.fixed.push({ field: 'vtep_mac_oui', log: log.vtep_mac_oui, file: file.vtep_mac_oui });
  }
  if (log.vtep_subnet6 !== file.vtep_subnet6) {
    if (log.vtep_subnet6 === undefined) diff.settings.vtep_subnet6 = file.vtep_subnet6!;
    else {
      diff.fixed.push({
        field: 'vtep_subnet6',
        log: log.vtep_subnet6,
        file: show(file.vtep_subnet6),
      });
    }
  }
  if (log.vtep_mtu !== file.vtep_mtu && file.vtep_mtu !== undefined) {
    diff.settings.vtep_mtu = file.vtep_mtu;
  }
  if (log.overlay_mtu !== file.overlay_mtu) diff.settings.overlay_mtu = file.overlay_mtu;
  return diff;
}

/** The conflicts of a diff, with how many nodes each one concerns. */
export function conflictsOf(
  diff: ConfigDiff,
  log: NetworkConfig,
  holders: (overlay: string) => number,
  nodes: number,
): ConfigConflict[] {
  const out: ConfigConflict[] = [];
  for (const f of diff.fixed) {
    out.push({
      what: `${f.field} is ${f.log} in the log but ${f.file} in the file`,
      holders: nodes,
      removable: false,
    });
  }
  for (const name of diff.missing) {
    out.push({
      overlay: name,
      what: 'is in the log but missing from the file',
      holders: holders(name),
      removable: true,
    });
  }
  for (const f of diff.changed) {
    const o = log.overlays.find((x) => x.name === f.name)!;
    const parts = ADDRESSING.filter((k) => o[k] !== f[k]).map(
      (k) => `${k} is ${show(o[k])} in the log but ${show(f[k])} in the file`,
    );
    out.push({
      overlay: f.name,
      what: parts.join(', '),
      holders: holders(f.name),
      removable: true,
    });
  }
  return out;
}

/** Shell-quotes an argument when it needs it. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/**
 * The message `vnet master` exits with when its config file conflicts with the log: every
 * conflict with the nodes it concerns, and the exact commands that resolve it safely.
 */
export function conflictMessage(opts: {
  conflicts: ConfigConflict[];
  configFile: string;
  dataDir: string;
  /** The master's own command line, to show it again with --apply-removals. */
  argv: string[];
  log: NetworkConfig;
}): string {
  const lines = [
    `the config file ${opts.configFile} conflicts with the overlay replicated log in ${opts.dataDir}; ` +
      'the log is authoritative and nothing was changed:',
  ];
  const nodes = (n: number) => `${n} node${n === 1 ? '' : 's'}`;
  for (const c of opts.conflicts) {
    const subject = c.overlay ? `overlay "${c.overlay}" ` : '';
    lines.push(
      `  - ${subject}${c.what}; ${nodes(c.holders)} hold${c.holders === 1 ? 's' : ''} ${c.overlay ? 'blocks of it' : 'addresses of it'}`,
    );
  }
  lines.push('to resolve it:');
  for (const c of opts.conflicts.filter((x) => x.overlay)) {
    const o = opts.log.overlays.find((x) => x.name === c.overlay);
    if (o) {
      const fields = (['subnet', 'prefix', 'subnet6', 'prefix6'] as const)
        .filter((k) => o[k] !== undefined)
        .map((k) => `${k}: ${o[k]}`)
        .join(', ');
      lines.push(
        `  - keep overlay "${o.name}": put {name: ${o.name}, ${fields}} back in ${opts.configFile}`,
      );
    }
  }
  const fixed = opts.conflicts.filter((c) => !c.removable);
  if (fixed.length > 0) {
    lines.push(
      `  - cluster-wide fields cannot change while nodes hold VTEP addresses: put the log's values back in ${opts.configFile}` +
        ' (or, to renumber the cluster, delete every node first with `vnet node delete IP...`)',
    );
  }
  if (opts.conflicts.some((c) => c.removable)) {
    const holders = opts.conflicts.filter((c) => c.removable).reduce((n, c) => n + c.holders, 0);
    const argv = opts.argv.filter((a) => a !== '--apply-removals');
    lines.push(
      `  - or apply the file: remove the dropped overlays and re-create the changed ones through the log (${nodes(holders)} lose their blocks of them and get new ones when they next register):`,
      `      ${[...argv, '--apply-removals'].map(quote).join(' ')}`,
    );
    for (const c of opts.conflicts.filter((x) => x.removable && x.overlay)) {
      lines.push(
        `    or, with the cluster running: vnet overlay remove ${c.overlay} --force --master <any master's HTTP address>`,
      );
    }
  }
  return lines.join('\n');
}
