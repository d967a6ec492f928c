// The record store: the public way to put task, master and leader records into the zones. Changes
// are applied to the compiled table in one batch per microtask (or at flush()), and every batch is
// handed to the delta listeners (the server's UDP worker threads keep their copies in step that way).

import type { RecordSnapshot, RecordSource, SourceEvent } from './source.js';
import { NameError, nameKey } from './wire/name.js';
import {
  type Contribution,
  mastersContribution,
  type SrvData,
  taskContribution,
  ZoneCompiler,
  type ZoneOptions,
} from './zone/compile.js';
import type { NameEntry, ZoneDelta, ZoneWire } from './zone/entry.js';
import { AddressError, canonicalIp } from './zone/ip.js';
import {
  type NormalizedTask,
  normalizeIps,
  normalizeTask,
  type TaskRecord,
  TaskRecordError,
} from './zone/records.js';

export type RecordStoreOptions = ZoneOptions;

export interface LookupResult {
  /** NOERROR (the name exists, maybe without records), NXDOMAIN, or NOTAUTH (not in our zones). */
  status: 'NOERROR' | 'NXDOMAIN' | 'NOTAUTH';
  a: string[];
  aaaa: string[];
  srv: Array<{ port: number; target: string }>;
}

export interface SourceStatus {
  attached: boolean;
  /** A snapshot has been applied since attaching. */
  synced: boolean;
  events: number;
  errors: number;
  lastError?: string;
}

const TASK = 't\0';
const MASTERS = 'm\0masters';
const LEADER = 'm\0leader';

export class RecordStore {
  private readonly compiler: ZoneCompiler;
  private readonly tasksById = new Map<string, NormalizedTask>();
  private mastersList: string[] = [];
  private leaderIp: string | null = null;
  private readonly listeners = new Set<(delta: ZoneDelta) => void>();
  private scheduled = false;
  private detachSource: (() => void) | undefined;
  private readonly status: SourceStatus = { attached: false, synced: false, events: 0, errors: 0 };

  constructor(opts: RecordStoreOptions = {}) {
    this.compiler = new ZoneCompiler(opts);
  }

  /** Adds or replaces a task instance (by id). Throws TaskRecordError on invalid input. */
  upsertTask(task: TaskRecord): void {
    const n = normalizeTask(task);
    let contribution: Contribution;
    try {
      contribution = taskContribution(n, this.compiler.zones);
    } catch (e) {
      if (e instanceof NameError) throw new TaskRecordError(`task "${n.id}": ${e.message}`);
      throw e;
    }
    this.tasksById.set(n.id, n);
    this.compiler.setOwner(TASK + n.id, contribution);
    this.schedule();
  }

  /** Removes a task instance; false when there was none with that id. */
  removeTask(id: string): boolean {
    if (!this.tasksById.delete(id)) return false;
    this.compiler.setOwner(TASK + id, undefined);
    this.schedule();
    return true;
  }

  /** The masters, answered at `master.<zone>`. */
  setMasters(ips: string[]): void {
    this.mastersList = normalizeIps('masters', ips);
    this.compiler.setOwner(
      MASTERS,
      mastersContribution('master', this.mastersList, this.compiler.zones),
    );
    this.schedule();
  }

  /** The leading master, answered at `leader.<zone>`; null when there is none. */
  setLeader(ip: string | null): void {
    let canonical: string | null = null;
    if (ip !== null) {
      try {
        canonical = canonicalIp(ip);
      } catch (e) {
        if (e instanceof AddressError) throw new TaskRecordError(`leader: ${e.message}`);
        throw e;
      }
    }
    this.leaderIp = canonical;
    this.compiler.setOwner(
      LEADER,
      mastersContribution('leader', canonical ? [canonical] : [], this.compiler.zones),
    );
    this.schedule();
  }

  /**
   * Makes the store hold exactly `snapshot`. Invalid tasks are skipped and returned as errors; the
   * rest applies. Queries never see an intermediate state with the unchanged names missing.
   */
  replaceAll(snapshot: RecordSnapshot): TaskRecordError[] {
    const errors: TaskRecordError[] = [];
    const keep = new Set<string>();
    for (const t of snapshot.tasks ?? []) {
      try {
        this.upsertTask(t);
        keep.add(t.id);
      } catch (e) {
        if (!(e instanceof TaskRecordError)) throw e;
        errors.push(e);
      }
    }
    for (const id of [...this.tasksById.keys()]) if (!keep.has(id)) this.removeTask(id);
    const guard = (f: () => void) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof TaskRecordError)) throw e;
        errors.push(e);
      }
    };
    guard(() => this.setMasters(snapshot.masters ?? []));
    guard(() => this.setLeader(snapshot.leader ?? null));
    return errors;
  }

  getTask(id: string): TaskRecord | undefined {
    return this.tasksById.get(id)?.source;
  }

  tasks(): TaskRecord[] {
    return [...this.tasksById.values()].map((t) => t.source);
  }

  get taskCount(): number {
    return this.tasksById.size;
  }

  get masters(): string[] {
    return [...this.mastersList];
  }

  get leader(): string | null {
    return this.leaderIp;
  }

  /** Number of names in the table (with records or empty non-terminals, apexes included). */
  get nameCount(): number {
    return this.compiler.table.size;
  }

  /** The SOA serial; it grows by one on every applied batch. */
  get serial(): number {
    return this.compiler.serial;
  }

  /** The compiled table (after any pending flush). Read-only. */
  get table(): ReadonlyMap<string, NameEntry> {
    this.flush();
    return this.compiler.table;
  }

  /** The zones with their SOA records, longest first. */
  zoneWires(): ZoneWire[] {
    return this.compiler.zoneWires();
  }

  get zones(): string[] {
    return this.compiler.zones.map((z) => z.name);
  }

  get ttl(): number {
    return this.compiler.ttl;
  }

  /** Applies pending changes now and notifies listeners. */
  flush(): void {
    this.scheduled = false;
    const delta = this.compiler.flush();
    if (!delta) return;
    for (const l of this.listeners) l(delta);
  }

  /** Calls `listener` with every applied batch of changes; returns an unsubscribe function. */
  onDelta(listener: (delta: ZoneDelta) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** What a name holds (for diagnostics and HTTP APIs; DNS queries use the table). */
  lookup(name: string): LookupResult {
    this.flush();
    const result: LookupResult = { status: 'NOTAUTH', a: [], aaaa: [], srv: [] };
    let key: string;
    try {
      key = nameKey(name);
    } catch {
      return result;
    }
    if (!this.compiler.zoneOf(key)) return result;
    if (!this.compiler.table.has(key)) return { ...result, status: 'NXDOMAIN' };
    const d = this.compiler.dataOf(key);
    return {
      status: 'NOERROR',
      a: d?.v4 ?? [],
      aaaa: d?.v6 ?? [],
      srv: (d?.srv ?? []).map((s: SrvData) => ({ port: s.port, target: s.target })),
    };
  }

  /** Every record in zone-file form, sorted. */
  dump(): string[] {
    this.flush();
    return this.compiler.dump();
  }

  /**
   * Feeds the store from `source` (snapshot, then changes). Bad records and protocol errors are
   * counted, passed to `onError`, and skipped; they never stop the feed. Returns a detach function.
   */
  attach(source: RecordSource, onError?: (err: Error) => void): () => void {
    if (this.detachSource) throw new Error('a record source is already attached; detach it first');
    const st = this.status;
    st.attached = true;
    st.synced = false;
    const report = (err: Error) => {
      st.errors++;
      st.lastError = err.message;
      onError?.(err);
    };
    const onEvent = (ev: SourceEvent) => {
      st.events++;
      try {
        if (ev.type === 'snapshot') {
          for (const e of this.replaceAll(ev)) report(e);
          st.synced = true;
          return;
        }
        if (!st.synced) {
          report(new Error(`record source sent "${ev.type}" before its snapshot; ignored`));
          return;
        }
        switch (ev.type) {
          case 'upsert':
            this.upsertTask(ev.task);
            break;
          case 'remove':
            this.removeTask(ev.id);
            break;
          case 'masters':
            this.setMasters(ev.ips);
            break;
          case 'leader':
            this.setLeader(ev.ip);
            break;
          default:
            report(
              new Error(
                `record source sent an unknown event type ${JSON.stringify((ev as { type: unknown }).type)}`,
              ),
            );
        }
      } catch (e) {
        report(e instanceof Error ? e : new Error(String(e)));
      }
    };
    let unsubscribe: (() => void) | undefined;
    const detach = () => {
      if (this.detachSource !== detach) return;
      unsubscribe?.();
      this.detachSource = undefined;
      st.attached = false;
    };
    this.detachSource = detach;
    try {
      unsubscribe = source.subscribe(onEvent);
    } catch (e) {
      this.detachSource = undefined;
      st.attached = false;
      throw e;
    }
    return detach;
  }

  sourceStatus(): SourceStatus {
    return { ...this.status };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      if (this.scheduled) this.flush();
    });
  }
}
