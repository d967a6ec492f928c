// The overlay master's replicated state machine: the Ipam, fed the committed commands of the
// overlay replicated log in order. Deterministic (same commands, same state on every master);
// every outcome, failures included, is a result value, so it can travel back to a proposer on
// another master. Snapshots are the Ipam's versioned IpamSnapshot.
import type { StateMachine } from '@vnet/raft';
import { pack, unpack } from '@vnet/raft';
import { ConfigError, formatIssue, type NetworkConfig } from '../config/types.js';
import { quote } from '../input.js';
import { AllocationError } from '../ipam/errors.js';
import { Ipam, type IpamSnapshot, normalizeNodeIp } from '../ipam/ipam.js';
import {
  CommandDecodeError,
  type CommandFailure,
  type CommandResult,
  decodeCommand,
  type MasterCommand,
} from './commands.js';
import { conflictsOf, diffConfig } from './config-diff.js';
import { agentJson, networkMessage } from './render.js';

/** What one applied command changed, for the allocation streams. */
export interface AppliedChange {
  index: number;
  /** Nodes whose allocation changed, new ones included. */
  nodes: string[];
  /**
   * Nodes whose reported status changed (and nothing else): their allocation streams do not
   * carry it back, since it is what the node itself said.
   */
  reported: string[];
  /** Nodes that were deleted. */
  deleted: string[];
  /** The network config changed: every node's view changes. */
  config: boolean;
}

const SNAPSHOT_FORMAT = 1;

const fail = (code: CommandFailure['code'], message: string, extra: Partial<CommandFailure> = {}) =>
  ({ ok: false, code, message, ...extra }) as CommandFailure;

export class MasterStateMachine implements StateMachine<CommandResult> {
  private state: Ipam | undefined;
  private applied = 0;
  private readonly listeners = new Set<(change: AppliedChange) => void>();

  /** The allocation state; undefined until the log holds a config. */
  get ipam(): Ipam | undefined {
    return this.state;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** Called after every applied command that changed something. Returns an unsubscribe. */
  onChange(listener: (change: AppliedChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(bytes: Uint8Array, index: number): CommandResult {
    this.applied = index;
    let command: MasterCommand;
    try {
      command = decodeCommand(bytes);
    } catch (e) {
      if (e instanceof CommandDecodeError) return fail('BAD_COMMAND', e.message);
      throw e;
    }
    const change: AppliedChange = { index, nodes: [], reported: [], deleted: [], config: false };
    const result = this.run(command, change);
    if (
      change.nodes.length > 0 ||
      change.reported.length > 0 ||
      change.deleted.length > 0 ||
      change.config
    ) {
      for (const l of this.listeners) l(change);
    }
    return result;
  }

  private run(c: MasterCommand, change: AppliedChange): CommandResult {
    if (c.op === 'ensure-config') return this.ensureConfig(c.config, c.applyRemovals, change);
    const ipam = this.state;
    if (!ipam) return fail('NO_CONFIG', 'the overlay replicated log holds no network config yet');
    switch (c.op) {
      case 'register': {
        try {
          const r = ipam.register(c.ip, { bridges: c.bridges });
          if (r.changed) change.nodes.push(r.node.ip);
          return {
            ok: true,
            op: 'register',
            agent: agentJson(ipam, r.node),
            network: networkMessage(ipam.config),
            created: r.created,
            changed: r.changed,
            index: change.index,
          };
        } catch (e) {
          if (e instanceof AllocationError) {
            return fail(
              e.code === 'VTEP_EXHAUSTED' ? 'VTEP_EXHAUSTED' : 'INVALID_NODE_IP',
              e.message,
            );
          }
          throw e;
        }
      }
      case 'report': {
        const ip = safeIp(c.ip);
        const node = ip === undefined ? undefined : ipam.getNode(ip);
        if (!node) return fail('UNKNOWN_NODE', `node ${quote(c.ip)} is not registered`);
        // Overlays the node does not hold (removed since the report was checked) are skipped;
        // the gRPC service refuses a report naming one before proposing it.
        let changed = false;
        for (const r of c.overlays) {
          const before = ipam.getStatus(node.ip, r.name);
          if (!ipam.setStatus(node.ip, r.name, r)) continue;
          if (JSON.stringify(before) !== JSON.stringify(ipam.getStatus(node.ip, r.name))) {
            changed = true;
          }
        }
        if (changed) change.reported.push(node.ip);
        return { ok: true, op: 'report', changed };
      }
      case 'delete-nodes': {
        const deleted: string[] = [];
        const unknown: string[] = [];
        for (const text of c.ips) {
          const ip = safeIp(text);
          if (ip !== undefined && ipam.remove(ip)) deleted.push(ip);
          else unknown.push(text);
        }
        change.deleted.push(...deleted);
        return { ok: true, op: 'delete-nodes', deleted, unknown };
      }
      case 'add-overlay': {
        const existing = ipam.config.overlays.find((o) => o.name === c.overlay.name);
        if (existing) {
          const same = (['subnet', 'prefix', 'subnet6', 'prefix6'] as const).every(
            (k) => existing[k] === c.overlay[k],
          );
          if (same) return { ok: true, op: 'add-overlay', created: false, nodes: 0 };
          return fail(
            'OVERLAY_EXISTS',
            `an overlay named "${existing.name}" exists with other addresses; remove it first`,
          );
        }
        try {
          ipam.addOverlay(c.overlay);
        } catch (e) {
          if (e instanceof ConfigError) {
            return fail('INVALID_OVERLAY', e.issues.map((i) => formatIssue(i)).join('; '));
          }
          throw e;
        }
        const nodes = ipam.fillNodes();
        change.nodes.push(...nodes);
        change.config = true;
        return { ok: true, op: 'add-overlay', created: true, nodes: nodes.length };
      }
      case 'set-enabled': {
        const o = ipam.config.overlays.find((x) => x.name === c.name);
        if (!o) return fail('UNKNOWN_OVERLAY', `no overlay named ${quote(c.name)}`);
        if ((o.enabled !== false) === c.enabled) {
          return { ok: true, op: 'set-enabled', changed: false, nodes: 0 };
        }
        ipam.setOverlayEnabled(c.name, c.enabled);
        const nodes = c.enabled ? ipam.fillNodes() : [];
        change.nodes.push(...nodes);
        change.config = true;
        return { ok: true, op: 'set-enabled', changed: true, nodes: nodes.length };
      }
      case 'remove-overlay': {
        if (!ipam.config.overlays.some((o) => o.name === c.name)) {
          return fail('UNKNOWN_OVERLAY', `no overlay named ${quote(c.name)}`);
        }
        const holders = ipam.holders(c.name);
        if (holders.length > 0 && !c.force) {
          return fail(
            'OVERLAY_HELD',
            `${holders.length} node${holders.length === 1 ? '' : 's'} hold blocks of overlay "${c.name}"; remove it with force to take them away (vnet overlay remove ${c.name} --force)`,
            { holders },
          );
        }
        ipam.removeOverlay(c.name);
        change.config = true;
        return { ok: true, op: 'remove-overlay', holders };
      }
    }
  }

  /** `wanted` comes validated (decodeCommand). */
  private ensureConfig(
    wanted: NetworkConfig,
    applyRemovals: boolean,
    change: AppliedChange,
  ): CommandResult {
    const current = this.state;
    if (!current) {
      this.state = new Ipam(wanted);
      change.config = true;
      return {
        ok: true,
        op: 'ensure-config',
        initialized: true,
        added: [],
        removed: [],
        updated: [],
      };
    }
    const log = current.config;
    const diff = diffConfig(log, wanted);
    const conflicts = conflictsOf(
      diff,
      log,
      (name) => current.holders(name).length,
      current.nodeCount,
    ).filter((x) => !(applyRemovals && x.removable));
    if (conflicts.length > 0) {
      return fail('CONFIG_CONFLICT', 'the config conflicts with the overlay replicated log', {
        conflicts,
      });
    }
    const drop = new Set(
      applyRemovals ? [...diff.missing, ...diff.changed.map((o) => o.name)] : [],
    );
    const changedByName = new Map(diff.changed.map((o) => [o.name, o]));
    const isolation = new Map(diff.isolation.map((x) => [x.name, x.isolated]));
    const overlays = [
      ...log.overlays
        .filter((o) => !diff.missing.includes(o.name) || !applyRemovals)
        .map((o) => (applyRemovals && changedByName.has(o.name) ? changedByName.get(o.name)! : o))
        .map((o) => {
          if (!isolation.has(o.name)) return o;
          const { isolated: _old, ...rest } = o;
          const isolated = isolation.get(o.name);
          return isolated === undefined ? rest : { ...rest, isolated };
        }),
      ...diff.add,
    ];
    const updated = [
      ...Object.keys(diff.settings),
      ...diff.isolation.map((x) => `overlays.${x.name}.isolated`),
    ];
    if (drop.size === 0 && diff.add.length === 0 && updated.length === 0) {
      return { ok: true, op: 'ensure-config', initialized: false, added: [], removed: [], updated };
    }
    const next: NetworkConfig = { ...log, ...diff.settings, overlays };
    const snap = current.snapshot();
    for (const n of snap.nodes) n.overlays = n.overlays.filter((s) => !drop.has(s.name));
    let ipam: Ipam;
    try {
      ipam = Ipam.restore(snap, next);
    } catch (e) {
      if (e instanceof ConfigError) {
        return fail('INVALID_CONFIG', e.issues.map((i) => formatIssue(i)).join('; '));
      }
      if (e instanceof AllocationError) return fail('INVALID_CONFIG', e.message);
      throw e;
    }
    this.state = ipam;
    change.nodes.push(...ipam.fillNodes());
    change.config = true;
    return {
      ok: true,
      op: 'ensure-config',
      initialized: false,
      added: [...diff.add.map((o) => o.name), ...[...drop].filter((n) => changedByName.has(n))],
      removed: [...drop],
      updated,
    };
  }

  snapshot(): Uint8Array {
    return pack({ format: SNAPSHOT_FORMAT, ipam: this.state?.snapshot() ?? null });
  }

  restore(data: Uint8Array): void {
    const v = unpack(data, 'master snapshot') as { format?: unknown; ipam?: IpamSnapshot | null };
    if (v?.format !== SNAPSHOT_FORMAT) {
      throw new Error(`master snapshot: unknown format ${JSON.stringify(v?.format)}`);
    }
    this.state = v.ipam ? Ipam.restore(v.ipam) : undefined;
    for (const l of this.listeners) {
      l({ index: this.applied, nodes: [], reported: [], deleted: [], config: true });
    }
  }
}

function safeIp(text: string): string | undefined {
  try {
    return normalizeNodeIp(text);
  } catch {
    return undefined;
  }
}
