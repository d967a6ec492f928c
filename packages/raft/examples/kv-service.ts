// gRPC front end of the key-value example: service kv.v1.KV (Put, Delete, Get) with msgpack
// payloads, served on the same gRPC server as the raft transport.
import * as grpc from '@grpc/grpc-js';
import type { GrpcServer, RaftNode } from '../src/index.js';
import {
  GrpcStatus,
  GrpcStatusError,
  NotLeaderError,
  ProposalRejectedError,
  pack,
  ShuttingDownError,
  TimeoutError,
  unpack,
} from '../src/index.js';
import type { KvResult, KvStore } from './kv-store.js';
import { encodeCommand } from './kv-store.js';

const bytes = (b: Buffer) => b;
const unary = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/kv.v1.KV/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});

export const KV_PUT = unary('Put');
export const KV_DELETE = unary('Delete');
export const KV_GET = unary('Get');

/** Maps raft errors to gRPC statuses; NotLeader carries the leader in trailing metadata. */
function toStatus(e: unknown): GrpcStatusError {
  const msg = (e as Error).message;
  if (e instanceof NotLeaderError) {
    const md: Record<string, string> = { 'leader-id': e.leaderId };
    if (e.leaderAddress) md['leader-address'] = e.leaderAddress;
    return new GrpcStatusError(GrpcStatus.FAILED_PRECONDITION, msg, md);
  }
  if (e instanceof TimeoutError) return new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, msg);
  if (e instanceof ShuttingDownError) return new GrpcStatusError(GrpcStatus.UNAVAILABLE, msg);
  if (e instanceof ProposalRejectedError)
    return new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, msg);
  return new GrpcStatusError(GrpcStatus.INTERNAL, msg);
}

function parseStrings(req: Buffer, n: number, what: string): string[] {
  let v: unknown;
  try {
    v = unpack(req, what);
  } catch (e) {
    throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, (e as Error).message);
  }
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'string')) {
    throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, `${what}: expected ${n} strings`);
  }
  return v as string[];
}

export function addKvService(server: GrpcServer, node: RaftNode<KvResult>, store: KvStore): void {
  const handle =
    (what: string, n: number, run: (args: string[]) => Promise<unknown>) =>
    (req: Buffer): Promise<Buffer> => {
      const args = parseStrings(req, n, what);
      return run(args).then(
        (r) => pack(r),
        (e) => {
          throw toStatus(e);
        },
      );
    };
  server.unary(
    KV_PUT.path,
    handle('put request [key, value]', 2, async ([key, value]) => {
      const r = await node.propose(encodeCommand({ op: 'put', key: key!, value: value! }));
      return [r.index, r.prev];
    }),
  );
  server.unary(
    KV_DELETE.path,
    handle('delete request [key]', 1, async ([key]) => {
      const r = await node.propose(encodeCommand({ op: 'delete', key: key! }));
      return [r.index, r.prev];
    }),
  );
  server.unary(
    KV_GET.path,
    handle('get request [key]', 1, async ([key]) => {
      await node.read();
      return [store.get(key!)];
    }),
  );
}

export interface KvClientOptions {
  credentials?: grpc.ChannelCredentials;
  /** Per-call deadline in ms (default 5000). */
  timeoutMs?: number;
}

/** A client that follows NotLeader redirects to the current leader. */
export class KvClient {
  private readonly clients = new Map<string, grpc.Client>();
  private target: string;
  private readonly creds: grpc.ChannelCredentials;
  private readonly timeoutMs: number;

  constructor(
    private readonly addresses: string[],
    opts: KvClientOptions = {},
  ) {
    if (addresses.length === 0) throw new Error('kv client: at least one address is needed');
    this.target = addresses[0]!;
    this.creds = opts.credentials ?? grpc.credentials.createInsecure();
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      c = new grpc.Client(address, this.creds);
      this.clients.set(address, c);
    }
    return c;
  }

  /** One call to one address, no redirects. */
  callOnce(
    address: string,
    m: grpc.MethodDefinition<Buffer, Buffer>,
    req: unknown,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client(address).makeUnaryRequest(
        m.path,
        bytes,
        bytes,
        pack(req),
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, res) => (err ? reject(err) : resolve(unpack(res!, 'kv response'))),
      );
    });
  }

  private async call(m: grpc.MethodDefinition<Buffer, Buffer>, req: unknown): Promise<unknown> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        return await this.callOnce(this.target, m, req);
      } catch (e) {
        lastErr = e;
        const err = e as grpc.ServiceError;
        if (err.code === grpc.status.FAILED_PRECONDITION) {
          const leader = err.metadata?.get('leader-address')[0];
          if (leader) this.target = String(leader);
          else await new Promise((r) => setTimeout(r, 100));
        } else if (err.code === grpc.status.UNAVAILABLE) {
          this.target =
            this.addresses[(this.addresses.indexOf(this.target) + 1) % this.addresses.length]!;
          await new Promise((r) => setTimeout(r, 50));
        } else {
          throw e;
        }
      }
    }
    throw lastErr;
  }

  async put(key: string, value: string): Promise<{ index: number; prev: string | null }> {
    const [index, prev] = (await this.call(KV_PUT, [key, value])) as [number, string | null];
    return { index, prev };
  }

  async delete(key: string): Promise<{ index: number; prev: string | null }> {
    const [index, prev] = (await this.call(KV_DELETE, [key])) as [number, string | null];
    return { index, prev };
  }

  async get(key: string): Promise<string | null> {
    const [value] = (await this.call(KV_GET, [key])) as [string | null];
    return value;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
