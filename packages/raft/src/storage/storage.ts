import type { InitialState } from '../core/rawnode.js';
import type { Entry, HardState, Snapshot } from '../core/types.js';

/** One Ready's worth of state to make durable, atomically. */
export interface StorageUpdate {
  /** Entries to store; stored entries from entries[0].index on are replaced. */
  entries: Entry[];
  hardState?: HardState;
  /** A snapshot from the leader: it replaces the whole stored log. */
  snapshot?: Snapshot;
  /** Must be on stable storage (fsync) before the returned promise resolves. */
  sync: boolean;
}

/** Durable home of a node's log, hard state and latest snapshot. */
export interface RaftStorage {
  /** The stored state, or undefined when nothing was ever stored. Verifies what it reads. */
  load(): Promise<InitialState | undefined>;
  save(update: StorageUpdate): Promise<void>;
  /** Stores a snapshot taken locally and drops stored entries up to `compactTo`, atomically. */
  saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void>;
  close(): Promise<void>;
}
