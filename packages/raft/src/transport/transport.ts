import type { Message, NodeId } from '../core/types.js';

/** Where a transport delivers what it receives, and what it learns about peers. */
export interface TransportHandler {
  onMessage(message: Message): void;
  /** Sending to `peer` failed: the leader stops pipelining to it until it answers again. */
  onUnreachable(peer: NodeId): void;
  /** A snapshot sent to `peer` was fully delivered (`ok`) or failed. */
  onSnapshotStatus(peer: NodeId, ok: boolean): void;
}

/** Moves Raft messages between nodes. Delivery may drop, delay, duplicate or reorder. */
export interface Transport {
  start(localId: NodeId, handler: TransportHandler): Promise<void>;
  /** The current address book (id -> address) of every member, including this node. */
  setPeers(peers: Record<NodeId, string>): void;
  /** Sends without waiting; messages to one peer keep their order where the medium allows. */
  send(messages: Message[]): void;
  stop(): Promise<void>;
}
