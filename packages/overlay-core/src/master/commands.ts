// The commands of the overlay replicated log and their results. Commands are msgpack-encoded plain
// objects; decoding checks their shape, so a damaged or foreign entry is refused deterministically
// (the same way on every master) instead of throwing out of the state machine.
import { pack, unpack } from '@vnet/raft';
import { formatIssue, type NetworkConfig, type OverlayConfig } from '../config/types.js';
import { OVERLAY_KEYS, validateNetworkConfig } from '../config/validate.js';
import { isObject, quote } from '../input.js';
import type { OverlayStatusReport } from '../protocol/allocation.js';
import type { AgentJson, ConfigConflict } from '../protocol/documents.js';
import type { ErrorCode } from '../protocol/errors.js';
import type { NetworkMessage__Output } from '../protocol/messages.js';
import { parseOverlayReports } from '../protocol/reports.js';

export type MasterCommand =
  /** Registers a node by its underlay IP (masters with bridges false). */
  | { op: 'register'; ip: string; bridges: boolean }
  /** Records what a node reports about its overlays. */
  | { op: 'report'; ip: string; overlays: OverlayStatusReport[] }
  /** Forgets nodes and frees their blocks and VTEP addresses. */
  | { op: 'delete-nodes'; ips: string[] }
  | { op: 'add-overlay'; overlay: OverlayConfig }
  | { op: 'set-enabled'; name: string; enabled: boolean }
  /** Refused while nodes hold blocks of it, unless forced. */
  | { op: 'remove-overlay'; name: string; force: boolean }
  /**
   * A master's config file at start-up: sets the config if the log has none, else adds the
   * file's new overlays and MTUs; with `applyRemovals`, also removes (and re-adds, if changed)
   * overlays the file dropped or changed. Conflicts refuse the whole command.
   */
  | { op: 'ensure-config'; config: NetworkConfig; applyRemovals: boolean };

export interface CommandFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** Nodes holding blocks (OVERLAY_HELD). */
  holders?: string[];
  /** One line per conflict (CONFIG_CONFLICT). */
  conflicts?: ConfigConflict[];
}

export type CommandResult =
  | CommandFailure
  | {
      ok: true;
      op: 'register';
      agent: AgentJson;
      /** The config as the node API carries it, when the registration was applied. */
      network: NetworkMessage__Output;
      created: boolean;
      changed: boolean;
      /** The log index of the registration (the agent's allocation reflects it). */
      index: number;
    }
  | { ok: true; op: 'report'; changed: boolean }
  | { ok: true; op: 'delete-nodes'; deleted: string[]; unknown: string[] }
  | { ok: true; op: 'add-overlay'; created: boolean; nodes: number }
  | { ok: true; op: 'set-enabled'; changed: boolean; nodes: number }
  | { ok: true; op: 'remove-overlay'; holders: string[] }
  | {
      ok: true;
      op: 'ensure-config';
      initialized: boolean;
      added: string[];
      removed: string[];
      updated: string[];
    };

export const encodeCommand = (c: MasterCommand): Buffer => pack(c);
export const encodeResult = (r: CommandResult): Buffer => pack(r);
export const decodeResult = (b: Uint8Array): CommandResult =>
  unpack(b, 'command result') as CommandResult;

export class CommandDecodeError extends Error {
  override name = 'CommandDecodeError';
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new CommandDecodeError(`${key}: expected a string`);
  return v;
}

function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new CommandDecodeError(`${key}: expected true or false`);
  return v;
}

/**
 * An overlay as data, its fields of the right types; null means absent, as for the config rules
 * the state machine checks it with when it adds it.
 */
function overlayData(v: unknown): OverlayConfig {
  if (!isObject(v)) throw new CommandDecodeError('overlay: expected an object');
  const unknown = Object.keys(v).find((k) => !(OVERLAY_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) throw new CommandDecodeError(`overlay: unknown key ${quote(unknown)}`);
  const out: OverlayConfig = { name: str(v, 'name') };
  for (const key of ['subnet', 'subnet6'] as const) {
    if (v[key] !== undefined && v[key] !== null) out[key] = str(v, key);
  }
  for (const key of ['prefix', 'prefix6'] as const) {
    const n = v[key];
    if (n === undefined || n === null) continue;
    if (typeof n !== 'number') throw new CommandDecodeError(`overlay.${key}: expected a number`);
    out[key] = n;
  }
  for (const key of ['enabled', 'isolated'] as const) {
    if (v[key] !== undefined && v[key] !== null) out[key] = bool(v, key);
  }
  return out;
}

/**
 * Decodes a log entry. A network config is validated here with the config file's rules; an
 * overlay is checked for its shape (the state machine checks it against the config it joins).
 */
export function decodeCommand(bytes: Uint8Array): MasterCommand {
  let v: unknown;
  try {
    v = unpack(bytes, 'master command');
  } catch (e) {
    throw new CommandDecodeError((e as Error).message);
  }
  if (!isObject(v)) throw new CommandDecodeError('expected an object');
  switch (v.op) {
    case 'register':
      return { op: 'register', ip: str(v, 'ip'), bridges: bool(v, 'bridges') };
    case 'report': {
      if (!Array.isArray(v.overlays)) throw new CommandDecodeError('overlays: expected a list');
      try {
        return { op: 'report', ip: str(v, 'ip'), overlays: parseOverlayReports(v.overlays) };
      } catch (e) {
        throw new CommandDecodeError((e as Error).message);
      }
    }
    case 'delete-nodes': {
      if (!Array.isArray(v.ips) || v.ips.some((ip) => typeof ip !== 'string')) {
        throw new CommandDecodeError('ips: expected a list of strings');
      }
      return { op: 'delete-nodes', ips: v.ips as string[] };
    }
    case 'add-overlay':
      return { op: 'add-overlay', overlay: overlayData(v.overlay) };
    case 'set-enabled':
      return { op: 'set-enabled', name: str(v, 'name'), enabled: bool(v, 'enabled') };
    case 'remove-overlay':
      return { op: 'remove-overlay', name: str(v, 'name'), force: bool(v, 'force') };
    case 'ensure-config': {
      const checked = validateNetworkConfig(v.config);
      if (!checked.ok) {
        throw new CommandDecodeError(
          `config: ${checked.issues.map((i) => formatIssue(i)).join('; ')}`,
        );
      }
      return {
        op: 'ensure-config',
        config: checked.config,
        applyRemovals: bool(v, 'applyRemovals'),
      };
    }
    default:
      throw new CommandDecodeError(`unknown op ${quote(v.op)}`);
  }
}
