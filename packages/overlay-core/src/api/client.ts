// A client of the OverlayMaster gRPC service for nodes (the agent) and tools: it knows every
// master and moves to the next one when the one it uses cannot answer (RETRY_ELSEWHERE: down, no
// quorum, timed out). Any master accepts every call, so no leader has to be found. It can also
// tell when a master that was unreachable is back (its channel becomes ready), so that a node in
// a long registration backoff retries at once.
import * as grpc from '@grpc/grpc-js';
import type { OverlayStatusReport } from '../protocol/allocation.js';
import { RETRY_ELSEWHERE } from '../protocol/errors.js';
import {
  type Allocation__Output,
  type Masters__Output,
  type OverlayMasterClient,
  overlayMasterClient,
  type StatusReply__Output,
} from '../protocol/messages.js';
import { clientCredentials, type TlsFiles } from '../security/tls.js';

export interface MasterClientOptions {
  /** PEM material for mutual TLS (ca, cert, key). */
  tls?: TlsFiles;
  /** Bearer token sent with every call. */
  token?: string;
  /** Per-call deadline (default 15 s, longer than a master's own proposal timeout of 10 s). */
  callTimeoutMs?: number;
  /** Longest wait between two connection attempts to a master that is down (default 5 s). */
  reconnectMaxMs?: number;
}

/** A call failed with a status the caller should see (not a reason to try another master). */
export class MasterCallError extends Error {
  override name = 'MasterCallError';
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export interface WatchHandle {
  cancel(): void;
}

/** What a node needs of the masters: the seam the agent is tested through. */
export interface MasterApi {
  /** The master in use (for logs). */
  readonly master: string;
  register(ip: string, bridges: boolean): Promise<Allocation__Output>;
  reportStatus(ip: string, overlays: OverlayStatusReport[]): Promise<StatusReply__Output>;
  /**
   * Opens the allocation stream on the master in use. `onUpdate` gets the current allocation and
   * every change; `onEnd` once the stream ends (the caller reconnects, e.g. after `rotate()`).
   */
  watch(
    ip: string,
    onUpdate: (u: Allocation__Output) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle;
  /** Opens the masters stream on the master in use: the masters and the leader, then changes. */
  watchMasters(
    onUpdate: (m: Masters__Output) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle;
  /** Moves to the next master (after a stream broke, say). */
  rotate(): void;
  /** Calls `onUp` whenever a master that could not be reached becomes reachable; returns a stop. */
  watchReconnects(onUp: (master: string) => void): () => void;
  close(): void;
}

export class MasterClient implements MasterApi {
  private readonly clients: OverlayMasterClient[];
  private current = 0;
  private readonly timeoutMs: number;
  /** Calls that failed on one master and were tried on the next. */
  failovers = 0;
  private readonly watches = new Set<{ stopped: boolean }>();

  constructor(
    readonly masters: readonly string[],
    private readonly opts: MasterClientOptions = {},
  ) {
    if (masters.length === 0) throw new Error('MasterClient: no master address');
    const creds = clientCredentials(opts.tls);
    const channel: grpc.ChannelOptions = {
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': opts.reconnectMaxMs ?? 5_000,
    };
    this.clients = masters.map((m) => overlayMasterClient(m, creds, channel));
    this.timeoutMs = opts.callTimeoutMs ?? 15_000;
  }

  get master(): string {
    return this.masters[this.current]!;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.token !== undefined) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }

  /** One call, trying each master once, starting with the one that answered last. */
  private async call<T>(
    invoke: (
      client: OverlayMasterClient,
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: grpc.requestCallback<T>,
    ) => void,
  ): Promise<T> {
    const reasons: string[] = [];
    for (let tries = 0; tries < this.clients.length; tries++) {
      const i = this.current;
      try {
        return await new Promise<T>((resolve, reject) => {
          invoke(
            this.clients[i]!,
            this.metadata(),
            { deadline: Date.now() + this.timeoutMs },
            (err, res) => (err ? reject(err) : resolve(res as T)),
          );
        });
      } catch (e) {
        const err = e as grpc.ServiceError;
        if (!RETRY_ELSEWHERE.has(err.code)) throw new MasterCallError(err.code, err.details);
        reasons.push(`${this.masters[i]}: ${err.details || grpc.status[err.code]}`);
        this.current = (i + 1) % this.clients.length;
        this.failovers++;
      }
    }
    throw new MasterCallError(grpc.status.UNAVAILABLE, `no master answered: ${reasons.join('; ')}`);
  }

  register(ip: string, bridges: boolean): Promise<Allocation__Output> {
    return this.call((c, md, opts, cb) => c.Register({ ip, bridges }, md, opts, cb));
  }

  reportStatus(ip: string, overlays: OverlayStatusReport[]): Promise<StatusReply__Output> {
    return this.call((c, md, opts, cb) => c.ReportStatus({ ip, overlays }, md, opts, cb));
  }

  watch(
    ip: string,
    onUpdate: (u: Allocation__Output) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    return this.follow(this.clients[this.current]!.Watch({ ip }, this.metadata()), onUpdate, onEnd);
  }

  watchMasters(
    onUpdate: (m: Masters__Output) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    return this.follow(
      this.clients[this.current]!.WatchMasters({}, this.metadata()),
      onUpdate,
      onEnd,
    );
  }

  /** Hands a server stream's messages to `onUpdate`, and its end (not a cancel) to `onEnd`. */
  private follow<T>(
    stream: grpc.ClientReadableStream<T>,
    onUpdate: (m: T) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    stream.on('data', onUpdate);
    stream.on('error', (e: grpc.ServiceError) =>
      end(e.code === grpc.status.CANCELLED ? undefined : e),
    );
    stream.on('end', () => end(undefined));
    return {
      cancel: () => {
        ended = true;
        stream.cancel();
      },
    };
  }

  rotate(): void {
    this.current = (this.current + 1) % this.clients.length;
  }

  watchReconnects(onUp: (master: string) => void): () => void {
    const watch = { stopped: false };
    this.watches.add(watch);
    this.clients.forEach((client, i) => {
      const channel = client.getChannel();
      const { READY, SHUTDOWN } = grpc.connectivityState;
      // Asking for the state with tryToConnect keeps an idle channel connecting (with its own
      // reconnect backoff, at most reconnectMaxMs apart) while this watch lasts.
      const follow = (previous: grpc.connectivityState | undefined) => {
        if (watch.stopped) return;
        const state = channel.getConnectivityState(true);
        if (state === SHUTDOWN) return;
        if (state === READY && previous !== undefined && previous !== READY) {
          onUp(this.masters[i]!);
        }
        channel.watchConnectivityState(state, Date.now() + 60_000, () => follow(state));
      };
      follow(undefined);
    });
    return () => {
      watch.stopped = true;
      this.watches.delete(watch);
    };
  }

  close(): void {
    for (const w of this.watches) w.stopped = true;
    this.watches.clear();
    for (const c of this.clients) c.close();
  }
}
