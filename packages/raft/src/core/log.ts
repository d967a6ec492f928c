import type { Entry, Snapshot } from './types.js';
import { entrySize } from './types.js';

/**
 * The replicated log as one node sees it: the latest snapshot, then the entries after the
 * compaction point `offset`. Entries up to `stabled` are on stable storage, up to `committed` are
 * known committed, and up to `applied` have been handed to the state machine.
 */
export class RaftLog {
  snapshot: Snapshot;
  /** A snapshot received from the leader that is not yet on stable storage. */
  pendingSnapshot: Snapshot | undefined;
  private offset: number;
  private offsetTerm: number;
  private entries: Entry[];
  committed: number;
  applied: number;
  stabled: number;

  constructor(snapshot: Snapshot, entries: Entry[], committed: number) {
    this.snapshot = snapshot;
    const kept = entries.filter((e) => e.index > snapshot.meta.index);
    this.offset = snapshot.meta.index;
    this.offsetTerm = snapshot.meta.term;
    this.entries = kept;
    if (kept.length > 0 && kept[0]!.index !== this.offset + 1) {
      throw new Error(
        `log does not follow its snapshot: first entry ${kept[0]!.index}, snapshot ${this.offset}`,
      );
    }
    this.stabled = this.lastIndex();
    this.committed = Math.min(Math.max(committed, this.offset), this.lastIndex());
    this.applied = this.offset;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  /** Term of the entry at `i`, or undefined when it is compacted away or not there yet. */
  term(i: number): number | undefined {
    if (i === this.offset) return this.offsetTerm;
    if (i < this.offset || i > this.lastIndex()) return undefined;
    return this.entries[i - this.offset - 1]!.term;
  }

  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Whether a log ending at (`lastIndex`, `term`) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lastIndex >= this.lastIndex());
  }

  /** Index of the first of `ents` that is missing or conflicts with this log; 0 when none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: where a log whose entry
   * at `index` has term `term` can possibly match this one (fast backtracking, etcd style).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = Math.min(index, this.lastIndex()); i > this.offset; i--) {
      const t = this.term(i)!;
      if (t <= term) return [i, t];
    }
    const i = Math.min(index, this.offset);
    return [i, i === this.offset ? this.offsetTerm : 0];
  }

  /**
   * Appends `ents` (which follow the entry at `index` with term `logTerm`) if the logs match there,
   * truncating any conflicting suffix. Returns the index of the last new entry, or undefined.
   */
  maybeAppend(
    index: number,
    logTerm: number,
    committed: number,
    ents: Entry[],
  ): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(ci - index - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries, truncating the log first when they overlap it. Returns the last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(
        `cannot truncate committed entries: append after ${after}, committed ${this.committed}`,
      );
    }
    if (after < this.lastIndex()) {
      this.entries.length = after - this.offset;
      this.stabled = Math.min(this.stabled, after);
    } else if (after > this.lastIndex()) {
      throw new Error(`log gap: append after ${after}, last index ${this.lastIndex()}`);
    }
    for (const e of ents) this.entries.push(e);
    return this.lastIndex();
  }

  /** Entries in [lo, hi), at least one, at most `maxBytes` in total beyond the first. */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (lo <= this.offset)
      throw new Error(`entries before ${lo} are compacted (first ${this.firstIndex()})`);
    const end = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.offset - 1]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** True when entries from `i` on are still in memory (not compacted). */
  hasEntriesFrom(i: number): boolean {
    return i > this.offset;
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    if (i > this.lastIndex()) {
      throw new Error(`commit ${i} is out of range (last index ${this.lastIndex()})`);
    }
    this.committed = i;
  }

  /** Commits up to `maxIndex` only if that entry is from `term` (§5.4.2, Figure 8). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i > this.applied) this.applied = i;
  }

  unstableEntries(): Entry[] {
    return this.entries.slice(this.stabled - this.offset);
  }

  /** Committed entries that are stable and not yet applied, up to `maxBytes` (at least one). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.pendingSnapshot) return [];
    const lo = this.applied + 1;
    const hi = Math.min(this.committed, this.stabled) + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return !this.pendingSnapshot && this.applied < Math.min(this.committed, this.stabled);
  }

  stableTo(i: number, t: number): void {
    if (i > this.stabled && this.term(i) === t) this.stabled = i;
  }

  stableSnapTo(i: number): void {
    if (this.pendingSnapshot && this.pendingSnapshot.meta.index === i)
      this.pendingSnapshot = undefined;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.snapshot = s;
    this.pendingSnapshot = s;
    this.offset = s.meta.index;
    this.offsetTerm = s.meta.term;
    this.entries = [];
    this.committed = s.meta.index;
    this.stabled = s.meta.index;
  }

  /** Drops entries up to and including `i` (they must be covered by the snapshot and applied). */
  compact(i: number): void {
    if (i <= this.offset) return;
    if (i > this.applied || i > this.snapshot.meta.index) {
      throw new Error(
        `cannot compact to ${i}: applied ${this.applied}, snapshot ${this.snapshot.meta.index}`,
      );
    }
    this.offsetTerm = this.term(i)!;
    this.entries.splice(0, i - this.offset);
    this.offset = i;
  }

  /** Entries in memory, from `firstIndex()` on (for tests and status). */
  allEntries(): readonly Entry[] {
    return this.entries;
  }
}
