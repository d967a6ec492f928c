// A client of the OverlayMaster gRPC service for nodes (the agent) and tools: it knows every
// master and moves to the next one when the one it uses cannot answer (down, no quorum, timed
// out). Any master accepts every call, so no leader has to be found.
import * as grpc from '@grpc/grpc-js';
import type { AgentJson } from '../ipam/state-json.js';
import type { OverlayStatusReport } from '../master/commands.js';
import { type AllocationUpdate, overlayMasterClientConstructor } from './proto.js';

export interface MasterClientOptions {
  /** PEM material for mutual TLS (ca, cert, key). */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
  /** Bearer token sent with every call. */
  token?: string;
  /** Per-call deadline (default 15 s). */
  callTimeoutMs?: number;
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

/** Statuses after which another master may do better. */
const RETRY_ELSEWHERE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  grpc.status.UNKNOWN,
  grpc.status.INTERNAL,
]);

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;

export interface WatchHandle {
  cancel(): void;
}

export class MasterClient {
  private readonly clients: grpc.Client[];
  private current = 0;
  private readonly timeoutMs: number;
  /** Calls that failed on one master and were tried on the next. */
  failovers = 0;

  constructor(
    readonly masters: readonly string[],
    private readonly opts: MasterClientOptions = {},
  ) {
    if (masters.length === 0) throw new Error('MasterClient: no master address');
    const Ctor = overlayMasterClientConstructor();
    const creds = opts.tls
      ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key, opts.tls.cert)
      : grpc.credentials.createInsecure();
    this.clients = masters.map((m) => new Ctor(m, creds));
    this.timeoutMs = opts.callTimeoutMs ?? 15_000;
  }

  /** The master in use. */
  get master(): string {
    return this.masters[this.current]!;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.token !== undefined) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }

  /** One call, trying each master once, starting with the one that answered last. */
  private async call<T>(method: string, req: unknown): Promise<T> {
    const reasons: string[] = [];
    for (let tries = 0; tries < this.clients.length; tries++) {
      const i = this.current;
      const client = this.clients[i] as unknown as Record<string, Unary>;
      try {
        return await new Promise<T>((resolve, reject) => {
          client[method]!.call(
            client,
            req,
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

  register(ip: string, bridges: boolean): Promise<AgentJson> {
    return this.call<AgentJson>('Register', { ip, bridges });
  }

  reportStatus(ip: string, overlays: OverlayStatusReport[]): Promise<{ changed?: boolean }> {
    return this.call('ReportStatus', { ip, overlays });
  }

  /**
   * Opens the allocation stream on the master in use. `onUpdate` gets the current allocation and
   * every change; `onEnd` once the stream ends (the caller reconnects, e.g. after `rotate()`).
   */
  watch(
    ip: string,
    onUpdate: (u: AllocationUpdate) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    const client = this.clients[this.current] as unknown as Record<
      string,
      (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<AllocationUpdate>
    >;
    const stream = client.Watch!.call(client, { ip }, this.metadata());
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    stream.on('data', onUpdate);
    stream.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) end(e);
      else end(undefined);
    });
    stream.on('end', () => end(undefined));
    return {
      cancel: () => {
        ended = true;
        stream.cancel();
      },
    };
  }

  /** Moves to the next master (after a stream broke, say). */
  rotate(): void {
    this.current = (this.current + 1) % this.clients.length;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
