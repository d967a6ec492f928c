// Full-state exchanges over a stream (TCP push-pull), for joins and anti-entropy:
//
//   initiator                                      responder
//   SyncRequest {members, store digest}      ->    merges members first (so its answer carries
//                                                  any refutation), compares digests
//                                            <-    SyncResponse {members, differing buckets,
//                                                  its key hashes in them}
//   merges members; SyncData {entries the
//   responder lacks or holds differently,    ->    applies entries
//   keys it wants}
//                                            <-    SyncDone {wanted entries}
//   applies entries
//
// When no bucket differs the exchange ends after the response. Also here: EntryPush, which
// carries store entries too large for a datagram.
import type { Membership } from './membership/membership.js';
import type { Runtime, StreamConn, StreamHandler } from './runtime/types.js';
import type { Store } from './store/store.js';
import { DropError, type Envelope } from './wire/envelope.js';
import {
  encodeMessage,
  MessageType,
  parseStreamMessage,
  type StreamMessage,
} from './wire/messages.js';

export interface SyncContext {
  readonly runtime: Runtime;
  readonly envelope: Envelope;
  readonly membership: Membership;
  readonly store: Store;
  readonly tcpTimeout: number;
  /** A frame could not be opened or decoded. */
  dropped(reason: DropError['reason']): void;
  /** Entries learned by a sync changed the store (few enough to gossip onward). */
  learned(entries: unknown[][]): void;
}

/** Most changed entries a sync passes on by gossip; more means a bulk catch-up (a join). */
const RESPREAD_LIMIT = 32;

export type SyncCallback = (error?: Error) => void;

/** Base of a one-shot stream conversation with a deadline. */
abstract class Session implements StreamHandler {
  protected conn: StreamConn | undefined;
  #done = false;
  readonly #timer;
  protected readonly started: number;

  constructor(
    protected readonly ctx: SyncContext,
    private readonly callback: SyncCallback,
  ) {
    this.started = ctx.runtime.now();
    this.#timer = ctx.runtime.setTimer(ctx.tcpTimeout, () =>
      this.finish(new Error(`stream exchange timed out after ${ctx.tcpTimeout} ms`)),
    );
  }

  protected send(m: StreamMessage): void {
    this.conn?.send(this.ctx.envelope.seal(encodeMessage(m)));
  }

  frame(data: Uint8Array): void {
    if (this.#done) return;
    let m: StreamMessage;
    try {
      m = parseStreamMessage(this.ctx.envelope.open(data));
    } catch (err) {
      this.ctx.dropped(err instanceof DropError ? err.reason : 'decode');
      this.finish(err as Error);
      return;
    }
    try {
      this.handle(m);
    } catch (err) {
      if (err instanceof DropError) this.ctx.dropped(err.reason);
      this.finish(err as Error);
    }
  }

  closed(error?: Error): void {
    this.finish(error ?? new Error('stream closed before the exchange completed'));
  }

  protected abstract handle(m: StreamMessage): void;

  protected finish(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#timer.cancel();
    this.conn?.close();
    this.callback(error);
  }

  /** Applies synced entries; returns the keys where we hold more than was sent. */
  protected applyEntries(entries: unknown[][]): string[] {
    const { changed, ahead } = this.ctx.store.mergeSync(entries);
    if (changed.length > 0 && changed.length <= RESPREAD_LIMIT) this.ctx.learned(changed);
    return ahead;
  }
}

class Initiator extends Session {
  #peer = '';

  constructor(ctx: SyncContext, addr: string, join: boolean, callback: SyncCallback) {
    super(ctx, callback);
    this.conn = ctx.runtime.connect(addr, this);
    this.send({
      type: MessageType.syncRequest,
      from: ctx.membership.name,
      join,
      members: ctx.membership.snapshot(),
      digest: ctx.store.digest(),
    });
  }

  protected handle(m: StreamMessage): void {
    if (m.type === MessageType.syncResponse) {
      this.#peer = m.from;
      this.ctx.membership.merge(m.members);
      if (m.buckets.length === 0) {
        this.ctx.store.markSynced(this.#peer, this.started);
        this.finish();
        return;
      }
      const { send, wants } = this.ctx.store.reconcile(m.buckets, m.hashes);
      this.send({ type: MessageType.syncData, entries: send, wants });
    } else if (m.type === MessageType.syncDone && this.#peer) {
      this.applyEntries(m.entries);
      this.ctx.store.markSynced(this.#peer, this.started);
      this.finish();
    } else {
      throw new DropError('decode', `unexpected stream message ${m.type} from a sync responder`);
    }
  }
}

class Responder extends Session {
  #peer = '';

  constructor(ctx: SyncContext, conn: StreamConn) {
    super(ctx, () => {});
    this.conn = conn;
  }

  protected handle(m: StreamMessage): void {
    if (m.type === MessageType.syncRequest && !this.#peer) {
      this.#peer = m.from;
      this.ctx.membership.merge(m.members);
      const buckets = this.ctx.store.differingBuckets(m.digest);
      this.send({
        type: MessageType.syncResponse,
        from: this.ctx.membership.name,
        members: this.ctx.membership.snapshot(),
        buckets,
        hashes: this.ctx.store.hashesIn(buckets),
      });
      if (buckets.length === 0) {
        this.ctx.store.markSynced(this.#peer, this.started);
        this.finish();
      }
    } else if (m.type === MessageType.syncData && this.#peer) {
      // Send back what was asked for, and our state wherever it beats what we were sent (a
      // tombstone the initiator could not know about, since digests cover present keys only).
      const ahead = this.applyEntries(m.entries);
      const keys = new Set([...m.wants, ...ahead]);
      this.send({ type: MessageType.syncDone, entries: this.ctx.store.wireOf([...keys]) });
      this.ctx.store.markSynced(this.#peer, this.started);
      this.finish();
    } else if (m.type === MessageType.entryPush && !this.#peer) {
      // Large entries travel by stream and are passed on while they change something.
      for (const e of m.entries) this.ctx.store.applyRemote(e, true);
      this.finish();
    } else {
      throw new DropError('decode', `unexpected stream message ${m.type} from a sync initiator`);
    }
  }
}

class Pusher extends Session {
  constructor(ctx: SyncContext, addr: string, entries: unknown[][], callback: SyncCallback) {
    super(ctx, callback);
    this.conn = ctx.runtime.connect(addr, this);
    this.send({ type: MessageType.entryPush, from: ctx.membership.name, entries });
  }

  protected handle(m: StreamMessage): void {
    throw new DropError('decode', `unexpected stream message ${m.type} after an entry push`);
  }

  /** The receiver closes the stream once it has applied the entries: that is success. */
  override closed(error?: Error): void {
    this.finish(error);
  }
}

/** Runs a full-state exchange with `addr`; `callback` gets an error if it did not complete. */
export function startSync(
  ctx: SyncContext,
  addr: string,
  join: boolean,
  callback: SyncCallback,
): void {
  new Initiator(ctx, addr, join, callback);
}

/** Pushes store entries to `addr` over a stream; the peer closes once it has applied them. */
export function pushEntries(
  ctx: SyncContext,
  addr: string,
  entries: unknown[][],
  callback: SyncCallback,
): void {
  new Pusher(ctx, addr, entries, callback);
}

/** Serves a stream a peer opened. */
export function acceptStream(ctx: SyncContext, conn: StreamConn): StreamHandler {
  return new Responder(ctx, conn);
}
