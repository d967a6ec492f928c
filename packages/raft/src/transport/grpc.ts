import { crc32 } from 'node:zlib';
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
import type { ClientCall } from './grpc-client.js';
import { GrpcChannel } from './grpc-client.js';
import type { ClientStreamCall, ClientStreamHandlers, GrpcServerTls } from './grpc-server.js';
import { GrpcServer, GrpcStatus, GrpcStatusError } from './grpc-server.js';
import type { Transport, TransportHandler } from './transport.js';

/*
 * Service raft.v1.Raft, defined by hand (no .proto): payloads are msgpack, passed through gRPC as
 * raw bytes.
 *   Send(stream batch) -> empty               one long-lived stream per peer; each item is a
 *                                              msgpack array of messages (order kept per peer)
 *   InstallSnapshot(stream chunk) -> empty    first item: [message without data, size, crc32];
 *                                              then the snapshot data in chunks
 */
const SEND = '/raft.v1.Raft/Send';
const INSTALL_SNAPSHOT = '/raft.v1.Raft/InstallSnapshot';

const EMPTY = Buffer.alloc(0);
/** Keep each stream item well below gRPC's default 4 MiB message limit. */
const MAX_ITEM_BYTES = 2 * 1024 * 1024;
const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** Stop queueing on a stream this far behind (the peer is not reading); report it unreachable. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** PEM material for mutual TLS between members: every member presents a cert signed by `ca`. */
export type GrpcTls = GrpcServerTls;

export interface GrpcTransportOptions {
  tls?: GrpcTls;
}

function approxSize(m: Message): number {
  let n = 96 + m.context.length;
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}

class Peer {
  private stream: ClientCall | undefined;
  private readonly channel: GrpcChannel;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    tls: GrpcTls | undefined,
    private readonly transport: GrpcTransport,
  ) {
    this.channel = new GrpcChannel(address, tls);
  }

  write(item: Buffer): void {
    if (!this.stream) {
      const call = this.channel.clientStream(SEND, (err) => {
        if (this.stream === call) this.stream = undefined;
        if (err) this.transport.unreachable(this.id);
      });
      if (!call) {
        this.transport.unreachable(this.id);
        return;
      }
      this.stream = call;
    }
    if (this.stream.buffered > MAX_BUFFERED_BYTES) {
      this.transport.unreachable(this.id);
      return;
    }
    if (!this.stream.write(item)) this.transport.unreachable(this.id);
  }

  sendSnapshot(m: Message): void {
    const data = Buffer.from(
      m.snapshot!.data.buffer,
      m.snapshot!.data.byteOffset,
      m.snapshot!.data.byteLength,
    );
    const call = this.channel.clientStream(INSTALL_SNAPSHOT, (err) => {
      this.transport.snapshotDone(this.id, !err);
    });
    if (!call) {
      this.transport.snapshotDone(this.id, false);
      return;
    }
    call.write(pack([messageToTuple(m, false), data.length, crc32(data)]));
    for (let off = 0; off < data.length; off += SNAPSHOT_CHUNK_BYTES) {
      call.write(data.subarray(off, off + SNAPSHOT_CHUNK_BYTES));
    }
    call.end();
  }

  close(): void {
    this.stream?.end();
    this.stream = undefined;
    this.channel.close();
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
  private server: GrpcServer | undefined;

  constructor(private readonly opts: GrpcTransportOptions = {}) {}

  /** Registers the raft.v1.Raft service on a server the embedder runs (next to its own methods). */
  addToServer(server: GrpcServer): void {
    server.clientStream(SEND, (call) => this.serveSend(call));
    server.clientStream(INSTALL_SNAPSHOT, (call) => this.serveSnapshot(call));
  }

  /** Creates, binds and owns a server with only the raft service; returns the bound port. */
  async listen(address: string): Promise<number> {
    if (this.server) throw new Error('grpc transport: already listening');
    const server = new GrpcServer(this.opts.tls ? { tls: this.opts.tls } : {});
    this.addToServer(server);
    const port = await server.listen(address).catch((e: Error) => {
      throw new Error(`grpc transport: ${e.message}`);
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
      this.peers.set(id, new Peer(id, address, this.opts.tls, this));
    }
  }

  send(messages: Message[]): void {
    // Messages to one peer keep their order; each peer gets items of at most MAX_ITEM_BYTES.
    const done = new Set<NodeId>();
    for (let i = 0; i < messages.length; i++) {
      const to = messages[i]!.to;
      if (done.has(to)) continue;
      done.add(to);
      const peer = this.peers.get(to);
      if (!peer) continue;
      let group: Message[] = [];
      let size = 0;
      for (let j = i; j < messages.length; j++) {
        const m = messages[j]!;
        if (m.to !== to) continue;
        if (m.type === MsgType.Snap) {
          peer.sendSnapshot(m);
          continue;
        }
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

  private serveSend(call: ClientStreamCall): ClientStreamHandlers {
    return {
      message: (item) => {
        let msgs: Message[];
        try {
          msgs = decodeMessages(item);
        } catch (e) {
          call.finish(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, (e as Error).message));
          return;
        }
        for (const m of msgs) this.deliver(m);
      },
      end: () => call.finish(EMPTY),
    };
  }

  private serveSnapshot(call: ClientStreamCall): ClientStreamHandlers {
    let header: { m: Message; size: number; crc: number } | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (code: number, details: string) =>
      call.finish(new GrpcStatusError(code, `install snapshot: ${details}`));
    return {
      message: (item) => {
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
            fail(GrpcStatus.INVALID_ARGUMENT, (e as Error).message);
          }
          return;
        }
        received += item.length;
        if (received > header.size) {
          fail(GrpcStatus.INVALID_ARGUMENT, `more than the announced ${header.size} bytes`);
          return;
        }
        chunks.push(item);
      },
      end: () => {
        if (!header) return fail(GrpcStatus.INVALID_ARGUMENT, 'empty stream');
        const data = Buffer.concat(chunks, received);
        if (data.length !== header.size) {
          return fail(GrpcStatus.DATA_LOSS, `received ${data.length} of ${header.size} bytes`);
        }
        if (crc32(data) !== header.crc) return fail(GrpcStatus.DATA_LOSS, 'checksum mismatch');
        header.m.snapshot = { meta: header.m.snapshot!.meta, data };
        this.deliver(header.m);
        call.finish(EMPTY);
      },
    };
  }

  async stop(): Promise<void> {
    this.handler = undefined;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}
