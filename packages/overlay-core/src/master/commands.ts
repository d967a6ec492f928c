// The commands of the overlay replicated log and their results. Commands are msgpack-encoded plain
// objects; decoding checks their shape, so a damaged or foreign entry is refused deterministically
// (the same way on every master) instead of throwing out of the state machine.
import { pack, unpack } from '@vnet/raft';
import type { NetworkConfig, OverlayConfig } from '../config/types.js';
import { type AddressUsage, OVERLAY_STATUSES, type OverlayStatus } from '../ipam/ipam.js';
import type { AgentJson } from '../ipam/state-json.js';

/** One overlay's status as a node reports it. */
export interface OverlayStatusReport {
  name: string;
  status: OverlayStatus;
  error?: string;
  used?: AddressUsage;
}

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

export type ErrorCode =
  | 'BAD_COMMAND'
  | 'NO_CONFIG'
  | 'INVALID_NODE_IP'
  | 'VTEP_EXHAUSTED'
  | 'UNKNOWN_NODE'
  | 'UNKNOWN_OVERLAY'
  | 'INVALID_OVERLAY'
  | 'OVERLAY_EXISTS'
  | 'OVERLAY_HELD'
  | 'INVALID_CONFIG'
  | 'CONFIG_CONFLICT';

export interface CommandFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** Nodes holding blocks (OVERLAY_HELD). */
  holders?: string[];
  /** One line per conflict (CONFIG_CONFLICT). */
  conflicts?: ConfigConflict[];
}

/** How a config file differs from the log in a way that cannot be applied silently. */
export interface ConfigConflict {
  /** The overlay concerned, or undefined for a cluster-wide field. */
  overlay?: string;
  /** What differs, in words: `subnet is 9.0.0.0/8 in the log but 10.0.0.0/8 in the file`. */
  what: string;
  /** Nodes holding blocks of the overlay (or VTEP addresses, for cluster-wide fields). */
  holders: number;
  /** Whether `--apply-removals` resolves it (removing or re-creating the overlay). */
  removable: boolean;
}

export type CommandResult =
  | CommandFailure
  | { ok: true; op: 'register'; agent: AgentJson; created: boolean; changed: boolean }
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

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

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

function usage(v: unknown): AddressUsage | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new CommandDecodeError('used: expected {mesos, docker}');
  const count = (key: string): number => {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new CommandDecodeError(`used.${key}: expected a count`);
    }
    return n;
  };
  return { mesos: count('mesos'), docker: count('docker') };
}

function statusReport(v: unknown): OverlayStatusReport {
  if (!isObject(v)) throw new CommandDecodeError('overlays[]: expected an object');
  const status = str(v, 'status');
  if (!OVERLAY_STATUSES.includes(status as OverlayStatus)) {
    throw new CommandDecodeError(`status: unknown status ${JSON.stringify(status)}`);
  }
  const out: OverlayStatusReport = { name: str(v, 'name'), status: status as OverlayStatus };
  if (v.error !== undefined) out.error = str(v, 'error');
  const used = usage(v.used);
  if (used) out.used = used;
  return out;
}

/**
 * Decodes a log entry. Overlay and network configs are passed on as data: the state machine
 * validates them with the same rules as a config file.
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
      return { op: 'report', ip: str(v, 'ip'), overlays: v.overlays.map(statusReport) };
    }
    case 'delete-nodes': {
      if (!Array.isArray(v.ips) || v.ips.some((ip) => typeof ip !== 'string')) {
        throw new CommandDecodeError('ips: expected a list of strings');
      }
      return { op: 'delete-nodes', ips: v.ips as string[] };
    }
    case 'add-overlay':
      if (!isObject(v.overlay)) throw new CommandDecodeError('overlay: expected an object');
      return { op: 'add-overlay', overlay: v.overlay as unknown as OverlayConfig };
    case 'set-enabled':
      return { op: 'set-enabled', name: str(v, 'name'), enabled: bool(v, 'enabled') };
    case 'remove-overlay':
      return { op: 'remove-overlay', name: str(v, 'name'), force: bool(v, 'force') };
    case 'ensure-config':
      if (!isObject(v.config)) throw new CommandDecodeError('config: expected an object');
      return {
        op: 'ensure-config',
        config: v.config as unknown as NetworkConfig,
        applyRemovals: bool(v, 'applyRemovals'),
      };
    default:
      throw new CommandDecodeError(`unknown op ${JSON.stringify(v.op)}`);
  }
}
