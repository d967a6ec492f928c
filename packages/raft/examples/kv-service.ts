// gRPC front end of the key-value example: service kv.v1.KV (Put, Delete, Get) with msgpack
// payloads, served on the same gRPC server as the raft transport.
import * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '../src/index.js';
import {
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
export const kvServiceDefinition: grpc.ServiceDefinition = {
  Put: KV_PUT,
  Delete: KV_DELETE,
  Get: KV_GET,
};

/** Maps raft errors to gRPC statuses; NotLeader carries the leader in trailing metadata. */
function toStatus(e: unknown): Partial<grpc.ServiceError> {
  if (e instanceof NotLeaderError) {
    const md = new grpc.Metadata();
    md.set('leader-id', e.leaderId);
    if (e.leaderAddress) md.set('leader-address', e.leaderAddress);
    return { code: grpc.status.FAILED_PRECONDITION, details: e.message, metadata: md };
  }
  if (e instanceof TimeoutError) return { code: grpc.status.DEADLINE_EXCEEDED, details: e.message };
  if (e instanceof ShuttingDownError) return { code: grpc.status.UNAVAILABLE, details: e.message };
  if (e instanceof ProposalRejectedError)
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: e.message };
  return { code: grpc.status.INTERNAL, details: (e as Error).message };
}

function parseStrings(req: Buffer, n: number, what: string): string[] {
  const v = unpack(req, what);
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'string')) {
    throw new Error(`${what}: expected ${n} strings`);
  }
  return v as string[];
}

export function addKvService(server: grpc.Server, node: RaftNode<KvResult>, store: KvStore): void {
  const handle =
    (what: string, n: number, run: (args: string[]) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let args: string[];
      try {
        args = parseStrings(call.request, n, what);
      } catch (e) {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        return;
      }
      run(args).then(
        (r) => cb(null, pack(r)),
        (e) => cb(toStatus(e)),
      );
    };
  server.addService(kvServiceDefinition, {
    Put: handle('put request [key, value]', 2, async ([key, value]) => {
      const r = await node.propose(encodeCommand({ op: 'put', key: key!, value: value! }));
      return [r.index, r.prev];
    }),
    Delete: handle('delete request [key]', 1, async ([key]) => {
      const r = await node.propose(encodeCommand({ op: 'delete', key: key! }));
      return [r.index, r.prev];
    }),
    Get: handle('get request [key]', 1, async ([key]) => {
      await node.read();
      return [store.get(key!)];
    }),
  });
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
