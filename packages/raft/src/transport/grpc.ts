import { crc32 } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import {
  CodecError,
  decodeMessages,
  encodeMessages,
  messageFromTuple,
  messageToTuple,
  pack,
  unpack,
} from '../core/codec.js';
import type { Message, NodeId } from '../core/types.js';
import { MsgType } from '../core/types.js';
import type { Transport, TransportHandler } from './transport.js';

/*
 * Service raft.v1.Raft, defined by hand (no .proto): payloads are msgpack, passed through gRPC as
 * raw bytes.
 *   Send(stream batch) -> empty               one long-lived stream per peer; each item is a
 *                                              msgpack array of messages (order kept per peer)
 *   InstallSnapshot(stream chunk) -> empty    first item: [message without data, size, crc32];
 *                                              then the snapshot data in chunks
 */
const SERVICE = 'raft.v1.Raft';
const bytes = (b: Buffer) => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/${SERVICE}/${name}`,
  requestStream: true,
  responseStream: false,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const SEND = method('Send');
const INSTALL_SNAPSHOT = method('InstallSnapshot');

/** The service definition, for embedders that want to inspect or proxy it. */
export const raftServiceDefinition: grpc.ServiceDefinition = {
  Send: SEND,
  InstallSnapshot: INSTALL_SNAPSHOT,
};

const EMPTY = Buffer.alloc(0);
/** Keep each stream item well below gRPC's default 4 MiB message limit. */
const MAX_ITEM_BYTES = 2 * 1024 * 1024;
const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** Stop queueing on a stream this far behind (the peer is not reading); report it unreachable. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** PEM material for mutual TLS between members: every member presents a cert signed by `ca`. */
export interface GrpcTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface GrpcTransportOptions {
  tls?: GrpcTls;
  /** Extra channel options for the client connections to peers. */
  channelOptions?: grpc.ChannelOptions;
}

function approxSize(m: Message): number {
  let n = 96 + m.context.length;
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}

class Peer {
  private stream: grpc.ClientWritableStream<Buffer> | undefined;
  readonly client: grpc.Client;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    creds: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
    private readonly transport: GrpcTransport,
  ) {
    this.client = new grpc.Client(address, creds, options);
  }

  write(item: Buffer): void {
    if (!this.stream) {
      const call = this.client.makeClientStreamRequest(SEND.path, bytes, bytes, (err) => {
        if (this.stream === call) this.stream = undefined;
        if (err) this.transport.unreachable(this.id);
      });
      call.on('error', () => {});
      this.stream = call;
    }
    if (this.stream.writableLength > MAX_BUFFERED_BYTES) {
      this.transport.unreachable(this.id);
      return;
    }
    this.stream.write(item);
  }

  sendSnapshot(m: Message): void {
    const data = Buffer.from(
      m.snapshot!.data.buffer,
      m.snapshot!.data.byteOffset,
      m.snapshot!.data.byteLength,
    );
    const call = this.client.makeClientStreamRequest(INSTALL_SNAPSHOT.path, bytes, bytes, (err) => {
      this.transport.snapshotDone(this.id, !err);
    });
    call.on('error', () => {});
    call.write(pack([messageToTuple(m, false), data.length, crc32(data)]));
    for (let off = 0; off < data.length; off += SNAPSHOT_CHUNK_BYTES) {
      call.write(data.subarray(off, off + SNAPSHOT_CHUNK_BYTES));
    }
    call.end();
  }

  close(): void {
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }
}

/**
 * Raft messages over gRPC. The service can be added to a server the embedder already runs
 * (`addToServer`, e.g. next to its own services) or to a server of its own (`listen`).
 */
export class GrpcTransport implements Transport {
  private localId: NodeId = '';
  private handler: TransportHandler | undefined;
  private readonly peers = new Map<NodeId, Peer>();
  private server: grpc.Server | undefined;
  private readonly clientCreds: grpc.ChannelCredentials;
  private readonly channelOptions: grpc.ChannelOptions;

  constructor(private readonly opts: GrpcTransportOptions = {}) {
    this.clientCreds = opts.tls
      ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key, opts.tls.cert)
      : grpc.credentials.createInsecure();
    this.channelOptions = {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...opts.channelOptions,
    };
  }

  /** Server credentials matching this transport's TLS settings (for an embedder's own server). */
  serverCredentials(): grpc.ServerCredentials {
    const tls = this.opts.tls;
    return tls
      ? grpc.ServerCredentials.createSsl(
          tls.ca,
          [{ cert_chain: tls.cert, private_key: tls.key }],
          true,
        )
      : grpc.ServerCredentials.createInsecure();
  }

  /** Registers the raft.v1.Raft service on an embedder's server (before it is bound). */
  addToServer(server: grpc.Server): void {
    server.addService(raftServiceDefinition, {
      Send: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        this.serveSend(call, cb),
      InstallSnapshot: (
        call: grpc.ServerReadableStream<Buffer, Buffer>,
        cb: grpc.sendUnaryData<Buffer>,
      ) => this.serveSnapshot(call, cb),
    });
  }

  /** Creates, binds and owns a server with only the raft service; returns the bound port. */
  async listen(address: string): Promise<number> {
    if (this.server) throw new Error('grpc transport: already listening');
    const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
    this.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, this.serverCredentials(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    ).catch((e: Error) => {
      throw new Error(`grpc transport: cannot listen on ${address}: ${e.message}`);
    });
    this.server = server;
    return port;
  }

  async start(localId: NodeId, handler: TransportHandler): Promise<void> {
    this.localId = localId;
    this.handler = handler;
  }

  setPeers(peers: Record<NodeId, string>): void {
    for (const [id, peer] of this.peers) {
      if (peers[id] !== peer.address) {
        peer.close();
        this.peers.delete(id);
      }
    }
    for (const [id, address] of Object.entries(peers)) {
      if (id === this.localId || this.peers.has(id) || !address) continue;
      this.peers.set(id, new Peer(id, address, this.clientCreds, this.channelOptions, this));
    }
  }

  send(messages: Message[]): void {
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (!peer) continue;
      if (m.type === MsgType.Snap) {
        peer.sendSnapshot(m);
        continue;
      }
      let list = byPeer.get(m.to);
      if (!list) {
        list = [];
        byPeer.set(m.to, list);
      }
      list.push(m);
    }
    for (const [id, list] of byPeer) {
      const peer = this.peers.get(id)!;
      let group: Message[] = [];
      let size = 0;
      for (const m of list) {
        const s = approxSize(m);
        if (group.length > 0 && size + s > MAX_ITEM_BYTES) {
          peer.write(encodeMessages(group));
          group = [];
          size = 0;
        }
        group.push(m);
        size += s;
      }
      if (group.length > 0) peer.write(encodeMessages(group));
    }
  }

  unreachable(id: NodeId): void {
    this.handler?.onUnreachable(id);
  }

  snapshotDone(id: NodeId, ok: boolean): void {
    this.handler?.onSnapshotStatus(id, ok);
  }

  private deliver(m: Message): void {
    if (m.to !== this.localId) return;
    this.handler?.onMessage(m);
  }

  private serveSend(
    call: grpc.ServerReadableStream<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ): void {
    let failed = false;
    call.on('data', (item: Buffer) => {
      if (failed) return;
      let msgs: Message[];
      try {
        msgs = decodeMessages(item);
      } catch (e) {
        failed = true;
        cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        return;
      }
      for (const m of msgs) this.deliver(m);
    });
    call.on('end', () => {
      if (!failed) cb(null, EMPTY);
    });
    call.on('error', () => {});
  }

  private serveSnapshot(
    call: grpc.ServerReadableStream<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ): void {
    let header: { m: Message; size: number; crc: number } | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const fail = (code: grpc.status, details: string) => {
      if (done) return;
      done = true;
      cb({ code, details: `install snapshot: ${details}` });
    };
    call.on('data', (item: Buffer) => {
      if (done) return;
      if (!header) {
        try {
          const h = unpack(item, 'snapshot header');
          if (
            !Array.isArray(h) ||
            h.length !== 3 ||
            typeof h[1] !== 'number' ||
            typeof h[2] !== 'number'
          ) {
            throw new CodecError('snapshot header: expected [message, size, crc32]');
          }
          const m = messageFromTuple(h[0], 'snapshot header message');
          if (m.type !== MsgType.Snap || !m.snapshot)
            throw new CodecError('snapshot header: not a snapshot message');
          header = { m, size: h[1], crc: h[2] };
        } catch (e) {
          fail(grpc.status.INVALID_ARGUMENT, (e as Error).message);
        }
        return;
      }
      received += item.length;
      if (received > header.size) {
        fail(grpc.status.INVALID_ARGUMENT, `more than the announced ${header.size} bytes`);
        return;
      }
      chunks.push(item);
    });
    call.on('end', () => {
      if (done) return;
      if (!header) return fail(grpc.status.INVALID_ARGUMENT, 'empty stream');
      const data = Buffer.concat(chunks, received);
      if (data.length !== header.size) {
        return fail(grpc.status.DATA_LOSS, `received ${data.length} of ${header.size} bytes`);
      }
      if (crc32(data) !== header.crc) return fail(grpc.status.DATA_LOSS, 'checksum mismatch');
      done = true;
      header.m.snapshot = { meta: header.m.snapshot!.meta, data };
      this.deliver(header.m);
      cb(null, EMPTY);
    });
    call.on('error', () => {});
  }

  async stop(): Promise<void> {
    this.handler = undefined;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
