// How records reach the store from elsewhere. A source delivers a full snapshot first, then
// changes; a later snapshot (after a reconnect, say) replaces everything. The vnet agent will
// implement this over its gossip store; ManualSource is an in-process one.
import type { TaskRecord } from './zone/records.js';

export interface RecordSnapshot {
  tasks: TaskRecord[];
  masters?: string[];
  leader?: string | null;
}

export type SourceEvent =
  | ({ type: 'snapshot' } & RecordSnapshot)
  | { type: 'upsert'; task: TaskRecord }
  | { type: 'remove'; id: string }
  | { type: 'masters'; ips: string[] }
  | { type: 'leader'; ip: string | null };

export interface RecordSource {
  /**
   * Starts delivering events to `onEvent`: a snapshot first, then changes. Returns a function that
   * stops delivery. Events may be delivered synchronously from inside `subscribe`.
   */
  subscribe(onEvent: (event: SourceEvent) => void): () => void;
}

/** A source fed by hand: keeps the current state and replays it as a snapshot to new subscribers. */
export class ManualSource implements RecordSource {
  private readonly tasks = new Map<string, TaskRecord>();
  private masters: string[] = [];
  private leader: string | null = null;
  private readonly subscribers = new Set<(event: SourceEvent) => void>();

  subscribe(onEvent: (event: SourceEvent) => void): () => void {
    this.subscribers.add(onEvent);
    onEvent(this.snapshot());
    return () => {
      this.subscribers.delete(onEvent);
    };
  }

  snapshot(): SourceEvent {
    return {
      type: 'snapshot',
      tasks: [...this.tasks.values()],
      masters: [...this.masters],
      leader: this.leader,
    };
  }

  upsertTask(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    this.emit({ type: 'upsert', task });
  }

  removeTask(id: string): void {
    this.tasks.delete(id);
    this.emit({ type: 'remove', id });
  }

  setMasters(ips: string[]): void {
    this.masters = [...ips];
    this.emit({ type: 'masters', ips: [...ips] });
  }

  setLeader(ip: string | null): void {
    this.leader = ip;
    this.emit({ type: 'leader', ip });
  }

  /** Replaces the whole state and sends subscribers a new snapshot. */
  reset(state: RecordSnapshot): void {
    this.tasks.clear();
    for (const t of state.tasks) this.tasks.set(t.id, t);
    this.masters = [...(state.masters ?? [])];
    this.leader = state.leader ?? null;
    this.emit(this.snapshot());
  }

  private emit(event: SourceEvent): void {
    for (const s of this.subscribers) s(event);
  }
}
