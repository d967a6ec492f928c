/**
 * The leader's view of one follower (etcd's tracker.Progress): how far its log matches, where the
 * next append starts, and the flow-control state that bounds how much is sent before it answers.
 *
 *  - Probe: the leader does not know where the logs match; it sends one append per heartbeat
 *    interval and waits for the answer.
 *  - Replicate: the logs match up to `match`; appends are pipelined optimistically, bounded by the
 *    inflight window.
 *  - Snapshot: the follower needs a snapshot; nothing is sent until it is reported done or failed.
 */
export const ProgressState = { Probe: 0, Replicate: 1, Snapshot: 2 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];
export const PROGRESS_STATE_NAMES = ['probe', 'replicate', 'snapshot'] as const;

/** Sliding window of in-flight appends, by last index and byte size. */
export class Inflights {
  private readonly idx: number[] = [];
  private readonly bytes: number[] = [];
  private totalBytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  add(index: number, bytes: number): void {
    this.idx.push(index);
    this.bytes.push(bytes);
    this.totalBytes += bytes;
  }

  /** Frees every in-flight append whose last index is <= `to`. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.idx.length && this.idx[n]! <= to) {
      this.totalBytes -= this.bytes[n]!;
      n++;
    }
    if (n > 0) {
      this.idx.splice(0, n);
      this.bytes.splice(0, n);
    }
  }

  full(): boolean {
    return (
      this.idx.length >= this.maxCount || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes)
    );
  }

  count(): number {
    return this.idx.length;
  }

  reset(): void {
    this.idx.length = 0;
    this.bytes.length = 0;
    this.totalBytes = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /**
   * Sending is paused: in Probe, an append is out and unanswered; in Replicate, the inflight window
   * is full. A heartbeat response clears it, so one append goes out even to a full window: that
   * recovers a follower whose whole window of appends was lost.
   */
  paused = false;
  /** In Snapshot: index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    public isLearner: boolean,
    maxInflight: number,
    maxInflightBytes: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.paused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an append of `count` entries (`bytes` in size) ending at `lastIndex`. */
  sentEntries(count: number, bytes: number, lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
      this.paused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      this.paused = true;
    }
  }

  /** An accepted append up to `n`; returns whether `match` moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.paused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected append at `rejected`; `matchHint` is where the follower suggests the logs may match.
   * Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.paused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
      case ProgressState.Replicate:
        return this.paused;
      default:
        return true;
    }
  }
}
