// The anchor of the master bench: what a user would pick instead of vnet's master, flannel's way
// of leasing node subnets from etcd (flannel pkg/subnet/etcd: read the taken leases, pick a
// free block at random among the first 100, grant a lease, create-if-absent transaction, retry
// on conflict), against Debian's etcd through its own gRPC API.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../../bench/etcd-kv.proto', import.meta.url));
const PREFIX = '/coreos.com/network/subnets/';
/** The end of the prefix range: the prefix with its last byte incremented. */
const PREFIX_END =
  PREFIX.slice(0, -1) + String.fromCharCode(PREFIX.charCodeAt(PREFIX.length - 1) + 1);

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (e: Error | null, r?: unknown) => void,
) => void;

interface Clients {
  kv: grpc.Client;
  lease: grpc.Client;
}

function call<T>(client: grpc.Client, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Unary>)[method]!.call(
      client,
      req,
      { deadline: Date.now() + 30_000 },
      (e, r) => (e ? reject(e) : resolve(r as T)),
    ),
  );
}

/** Node blocks of `network` (e.g. 9.0.0.0/8 with /24 blocks) leased the way flannel does. */
export class FlannelLeases {
  private readonly clients: Clients[];
  private next = 0;
  /** Transactions that lost a race for a block and were retried. */
  conflicts = 0;

  constructor(
    endpoints: string[],
    private readonly network: { base: number; prefix: number; blockPrefix: number },
  ) {
    const def = protoLoader.loadSync(PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      etcdserverpb: { KV: grpc.ServiceClientConstructor; Lease: grpc.ServiceClientConstructor };
    };
    this.clients = endpoints.map((e) => ({
      kv: new pkg.etcdserverpb.KV(e, grpc.credentials.createInsecure()),
      lease: new pkg.etcdserverpb.Lease(e, grpc.credentials.createInsecure()),
    }));
  }

  private blockKey(index: number): string {
    const addr = (this.network.base + index * 2 ** (32 - this.network.blockPrefix)) >>> 0;
    const ip = [24, 16, 8, 0].map((s) => (addr >>> s) & 255).join('.');
    return `${PREFIX}${ip}-${this.network.blockPrefix}`;
  }

  /** Acquires a block for a node (or returns the one it already holds). */
  async acquire(publicIp: string, mac: string): Promise<string> {
    const c = this.clients[this.next++ % this.clients.length]!;
    const blocks = 2 ** (this.network.blockPrefix - this.network.prefix);
    for (;;) {
      const range = await call<{ kvs: { key: Buffer; value: Buffer }[] }>(c.kv, 'Range', {
        key: Buffer.from(PREFIX),
        range_end: Buffer.from(PREFIX_END),
      });
      const taken = new Set<string>();
      for (const kv of range.kvs) {
        const key = kv.key.toString();
        taken.add(key);
        const lease = JSON.parse(kv.value.toString()) as { PublicIP: string };
        if (lease.PublicIP === publicIp) return key;
      }
      const candidates: string[] = [];
      for (let i = 0; i < blocks && candidates.length < 100; i++) {
        const key = this.blockKey(i);
        if (!taken.has(key)) candidates.push(key);
      }
      if (candidates.length === 0) throw new Error('flannel: no free subnet');
      const key = candidates[Math.floor(Math.random() * candidates.length)]!;
      const grant = await call<{ ID: string }>(c.lease, 'LeaseGrant', { TTL: 86_400 });
      const value = JSON.stringify({
        PublicIP: publicIp,
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: mac },
      });
      const txn = await call<{ succeeded: boolean }>(c.kv, 'Txn', {
        compare: [{ result: 'EQUAL', target: 'CREATE', key: Buffer.from(key), create_revision: 0 }],
        success: [
          { request_put: { key: Buffer.from(key), value: Buffer.from(value), lease: grant.ID } },
        ],
      });
      if (txn.succeeded) return key;
      this.conflicts++;
    }
  }

  close(): void {
    for (const c of this.clients) {
      c.kv.close();
      c.lease.close();
    }
  }
}
