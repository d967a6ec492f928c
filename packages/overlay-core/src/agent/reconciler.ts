// Reconcile, never only append: the desired kernel state (a pure function of the allocation and
// the gossip records) is diffed against a dump of what the kernel holds, and only differences are
// written. Runs on start, on every change (allocation, gossip, kernel notification) and
// periodically; one run at a time, bursts of triggers coalesced into the next run. Stale entries
// are pruned only once the gossip group's full state is known, so a restart never tears down
// what is right.
import { EventEmitter } from 'node:events';
import type { Operation, OperationResult } from '@vnet/netlink-ffi';
import type { Logger } from 'pino';
import { desiredState } from '../dataplane/desired.js';
import { planDiff } from '../dataplane/diff.js';
import type { Kernel } from '../dataplane/kernel.js';
import type { LocalNode, NetworkSettings } from '../dataplane/types.js';
import { cut } from '../input.js';
import {
  type AddressUsage,
  dockerBridgeName,
  mesosBridgeName,
  type OverlayStatus,
  overlayOfBridge,
} from '../protocol/allocation.js';
import type { VtepRecord } from '../protocol/vtep-record.js';
import type { AgentMetrics } from './metrics.js';

export interface ReconcileInputs {
  local: LocalNode;
  remotes: VtepRecord[];
  settings: NetworkSettings;
  /** Delete stale entries vnet owns (the group's full state is known). */
  prune: boolean;
  /** What the local inputs are, as a comparable key, and the allocation's log index. */
  key: string;
  index: number;
}

/** One overlay's outcome, as the node reports it to the masters. */
export interface OverlayOutcome {
  name: string;
  status: OverlayStatus;
  error?: string;
  /** Container ports on the overlay's bridges (the node's address usage). */
  used: AddressUsage;
}

export interface ReconcileResult {
  ok: boolean;
  /** The key and allocation index of the inputs this run used. */
  key: string;
  index: number;
  fixes: number;
  overlays: OverlayOutcome[];
  /** Desired entries by kind after this run. */
  entries: Record<string, number>;
}

export interface ReconcilerEvents {
  reconciled: [ReconcileResult];
}

export type Trigger = 'start' | 'allocation' | 'gossip' | 'kernel' | 'tasks' | 'periodic';

/** The overlay an operation concerns, if any (for per-overlay statuses). */
function overlayOf(op: Operation, local: LocalNode): string | undefined {
  const spec: Record<string, unknown> = { ...op.spec };
  for (const key of ['dev', 'name', 'link', 'master']) {
    const v = spec[key];
    const overlay = typeof v === 'string' ? overlayOfBridge(v) : undefined;
    if (overlay !== undefined) return overlay;
  }
  for (const o of local.overlays) {
    for (const net of [o.net4, o.net6, o.block4, o.block6]) {
      if (net !== undefined && (spec.src === net.text || spec.dst === net.text)) return o.name;
    }
  }
  return undefined;
}

/** The first errors, and how many more: what a status report carries (bounded, into the log). */
function summary(errors: readonly string[]): string {
  const shown = errors.slice(0, 3).map((e) => cut(e, 300));
  const more = errors.length > 3 ? `; and ${errors.length - 3} more` : '';
  return `${shown.join('; ')}${more}`;
}

export class Reconciler extends EventEmitter<ReconcilerEvents> {
  private inputs: ReconcileInputs | undefined;
  private running = false;
  private again: Trigger | undefined;
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last run's outcome. */
  last: ReconcileResult | undefined;
  runs = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    /** Triggers arriving within this many ms are handled by one run. */
    private readonly coalesceMs = 10,
  ) {
    super();
  }

  setInputs(inputs: ReconcileInputs, trigger: Trigger): void {
    this.inputs = inputs;
    this.trigger(trigger);
  }

  trigger(reason: Trigger): void {
    if (this.stopped || !this.inputs) return;
    this.since ??= performance.now();
    if (this.running) {
      this.again = this.again === 'periodic' ? 'periodic' : reason;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run(reason);
    }, this.coalesceMs);
  }

  private async run(reason: Trigger): Promise<void> {
    const inputs = this.inputs;
    if (!inputs || this.stopped) return;
    this.running = true;
    const since = this.since;
    this.since = undefined;
    let result: ReconcileResult;
    try {
      result = await this.pass(inputs, reason === 'periodic');
      this.metrics.reconciles.inc({ trigger: reason, result: result.ok ? 'ok' : 'failed' });
      if (result.ok && since !== undefined) {
        this.metrics.lag.observe((performance.now() - since) / 1000);
      }
    } catch (e) {
      this.metrics.reconciles.inc({ trigger: reason, result: 'failed' });
      this.log.error({ err: e }, 'reconcile failed');
      const error = cut((e as Error).message, 1000);
      result = {
        ok: false,
        key: inputs.key,
        index: inputs.index,
        fixes: 0,
        entries: {},
        overlays: inputs.local.overlays.map((o) => ({
          name: o.name,
          status: 'STATUS_FAILED',
          error,
          used: { mesos: 0, docker: 0 },
        })),
      };
    }
    this.running = false;
    this.runs++;
    this.last = result;
    this.emit('reconciled', result);
    const next = this.again;
    this.again = undefined;
    if (next !== undefined) this.trigger(next);
  }

  private async pass(inputs: ReconcileInputs, forceNft: boolean): Promise<ReconcileResult> {
    const desired = desiredState(inputs.local, inputs.remotes, inputs.settings);
    for (const p of desired.problems) this.log.warn({ problem: p }, 'gossip record left out');
    const actual = await this.kernel.dump();
    const plan = planDiff(desired, actual, { prune: inputs.prune });
    for (const c of plan.conflicts) {
      this.log.warn({ desired: c.desired, reason: c.reason }, 'left alone: not vnet-owned');
    }
    // Links first; per-device sysctls need their device; then everything else.
    const ops = plan.operations;
    let split = 0;
    while (split < ops.length && ops[split]!.kind === 'link') split++;
    const results: OperationResult[] = await this.kernel.apply(ops.slice(0, split));
    const errors = new Map<string, string[]>();
    const global: string[] = await this.kernel.sysctls(desired.sysctls);
    results.push(...(await this.kernel.apply(ops.slice(split))));
    for (const r of results) {
      if (r.ok) {
        this.metrics.fixes.inc({ kind: r.operation.kind, action: r.operation.action });
        continue;
      }
      const overlay = overlayOf(r.operation, inputs.local);
      const text = r.error.message;
      if (overlay === undefined) global.push(text);
      else errors.set(overlay, [...(errors.get(overlay) ?? []), text]);
    }
    try {
      if (await this.kernel.nftables(desired.nftables, forceNft)) {
        this.metrics.fixes.inc({ kind: 'nftables', action: 'replace' });
      }
    } catch (e) {
      global.push((e as Error).message);
    }
    for (const g of global) this.log.error({ error: g }, 'kernel change failed');
    const fixes = results.filter((r) => r.ok).length;
    if (fixes > 0) this.log.info({ fixes, prune: inputs.prune }, 'kernel reconciled');
    const entries: Record<string, number> = {
      link: desired.links.length,
      address: desired.addresses.length,
      neighbour: desired.neighbours.length,
      fdb: desired.fdb.length,
      nexthop: desired.nexthops.length,
      route: desired.routes.length,
      rule: desired.rules.length,
    };
    for (const [kind, n] of Object.entries(entries)) this.metrics.entries.set({ kind }, n);
    const ports = (bridge: string): number => {
      const b = actual.links.find((l) => l.name === bridge);
      return b ? actual.links.filter((l) => l.master === b.index).length : 0;
    };
    const overlays = inputs.local.overlays.map((o): OverlayOutcome => {
      const errs = [...global, ...(errors.get(o.name) ?? [])];
      const used = {
        mesos: ports(mesosBridgeName(o.name)),
        docker: ports(dockerBridgeName(o.name)),
      };
      return errs.length > 0
        ? { name: o.name, status: 'STATUS_FAILED', error: summary(errs), used }
        : { name: o.name, status: 'STATUS_OK', used };
    });
    const ok = global.length === 0 && errors.size === 0;
    return { ok, key: inputs.key, index: inputs.index, fixes, overlays, entries };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
