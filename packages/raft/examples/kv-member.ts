// One member of the key-value example: a single gRPC server carrying both the raft transport and
// the kv.v1.KV service, a LevelDB-backed RaftNode and the KvStore state machine.
import type { GrpcTls, Logger, NodeId } from '../src/index.js';
import { GrpcServer, GrpcTransport, RaftNode } from '../src/index.js';
import { addKvService } from './kv-service.js';
import type { KvResult } from './kv-store.js';
import { KvStore } from './kv-store.js';

export interface KvMemberOptions {
  id: NodeId;
  /** Founding members (id -> host:port), including this one. */
  peers?: Record<NodeId, string>;
  join?: boolean;
  dataDir: string;
  /** Where to listen; defaults to this member's address in `peers`. */
  listen?: string;
  tls?: GrpcTls;
  tickMs?: number;
  snapshotEntries?: number;
  logger?: Logger;
}

export interface KvMember {
  node: RaftNode<KvResult>;
  store: KvStore;
  port: number;
  stop(): Promise<void>;
}

export async function startKvMember(opts: KvMemberOptions): Promise<KvMember> {
  const listen = opts.listen ?? opts.peers?.[opts.id];
  if (!listen) throw new Error(`kv member ${opts.id}: no listen address`);
  const transport = new GrpcTransport(opts.tls ? { tls: opts.tls } : {});
  const server = new GrpcServer(opts.tls ? { tls: opts.tls } : {});
  transport.addToServer(server);
  const port = await server.listen(listen);
  const store = new KvStore();
  let node: RaftNode<KvResult>;
  try {
    node = await RaftNode.start<KvResult>({
      id: opts.id,
      ...(opts.peers ? { peers: opts.peers } : {}),
      ...(opts.join ? { join: true } : {}),
      dataDir: opts.dataDir,
      stateMachine: store,
      transport,
      ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      ...(opts.snapshotEntries ? { snapshotEntries: opts.snapshotEntries } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  } catch (e) {
    await server.close(0);
    throw e;
  }
  addKvService(server, node, store);
  return {
    node,
    store,
    port,
    async stop() {
      await node.stop();
      await server.close();
    },
  };
}
