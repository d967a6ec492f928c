// The operator's `dcos_overlay_network` block once validated. Field names are DC/OS's own, so the
// block can be echoed unchanged in `/overlay-master/state`; the types are the node API's messages
// (proto/overlay.proto), so a field added there reaches the config, the log and the nodes.

import { cut, QUOTE_MAX } from '../input.js';
import type { NetworkMessage__Output, OverlayInfo__Output } from '../protocol/messages.js';

/** One overlay of a validated config: the node API's OverlayInfo, with its name. */
export type OverlayConfig = OverlayInfo__Output & { name: string };

/** A validated network config: the node API's NetworkConfig, every required field set. */
export type NetworkConfig = Omit<NetworkMessage__Output, 'overlays'> & {
  vtep_subnet: string;
  vtep_mac_oui: string;
  overlay_mtu: number;
  overlays: OverlayConfig[];
};

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
    else {
      // A key from the input (an unknown one, say) is shown cut, like any quoted input.
      out += out ? `.${cut(part, QUOTE_MAX)}` : cut(part, QUOTE_MAX);
    }
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
