// The operator's `dcos_overlay_network` block once validated. Field names are DC/OS's own, so the
// block can be echoed unchanged in `/overlay-master/state`.

export interface OverlayConfig {
  /** 1-13 characters; the bridges are `m-<name>` and `d-<name>` (Linux allows 15). */
  name: string;
  /** IPv4 network the overlay's node blocks are cut from. */
  subnet?: string;
  /** Length of the IPv4 block each node gets. */
  prefix?: number;
  subnet6?: string;
  prefix6?: number;
  /** Absent means enabled; kept absent so the state JSON echoes the operator's block. */
  enabled?: boolean;
  /**
   * Absent means true: forwarded traffic between this overlay and another isolated overlay is
   * dropped. `false` lets it exchange traffic with every other overlay, both ways.
   */
  isolated?: boolean;
}

export interface NetworkConfig {
  vtep_subnet: string;
  vtep_subnet6?: string;
  /** Echoed verbatim, as DC/OS did ("70:B3:D5:00:00:00"). */
  vtep_mac_oui: string;
  vtep_mtu?: number;
  /** MTU of bridges and containers; not part of DC/OS's NetworkConfig message. */
  overlay_mtu: number;
  overlays: OverlayConfig[];
}

export type ConfigPath = readonly (string | number)[];

/** One problem with a config, located by its path ("overlays[2].name"). */
export interface ConfigIssue {
  path: ConfigPath;
  message: string;
  /** 1-based position in the source file, when known. */
  line?: number;
  column?: number;
}

export const DEFAULT_OVERLAY_MTU = 1420;
export const DEFAULT_PREFIX6 = 80;
export const DEFAULT_UNDERLAY_MTU = 1500;
/** Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8: what a VXLAN device costs over its underlay. */
export const VXLAN_OVERHEAD = 50;
export const MIN_MTU = 552;
export const MAX_OVERLAY_NAME = 13;
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['host', 'bridge', 'default', 'none']);

export const isEnabled = (o: OverlayConfig): boolean => o.enabled !== false;
export const isIsolated = (o: OverlayConfig): boolean => o.isolated !== false;

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out || '(top level)';
}

export function formatIssue(issue: ConfigIssue, source?: string): string {
  let where = '';
  if (issue.line !== undefined) {
    where = source
      ? `${source}:${issue.line}:${issue.column}: `
      : `line ${issue.line}:${issue.column}: `;
  }
  const path = issue.path.length > 0 ? `${formatPath(issue.path)}: ` : '';
  return `${where}${path}${issue.message}`;
}

/** Issues in file order; those without a position keep their order, after the rest. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue) => (i.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (i.column ?? 0);
  return issues.slice().sort((a, b) => key(a) - key(b));
}

/** Thrown where a config must be valid to go on; carries every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly issues: ConfigIssue[],
    readonly source?: string,
  ) {
    super(
      `invalid overlay network config${source ? ` in ${source}` : ''}:\n` +
        issues.map((i) => `  ${formatIssue(i, source)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}
