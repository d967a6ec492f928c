// Core: the pure Raft state machine.
export * from './core/codec.js';
export { hashString, Prng } from './core/prng.js';
export { ProgressState } from './core/progress.js';
export type { RaftConfig } from './core/raft.js';
export { DEFAULT_CONFIG, ProposalDropped } from './core/raft.js';
export * from './core/rawnode.js';
export * from './core/types.js';
// The node driver and its errors.
export * from './errors.js';
export type { Clock } from './node/clock.js';
export { realClock } from './node/clock.js';
export * from './node/node.js';
// Storage and transports.
export * from './storage/level.js';
export type { RaftStorage, StorageUpdate } from './storage/storage.js';
export * from './transport/grpc.js';
export * from './transport/grpc-server.js';
export * from './transport/memory.js';
export type { Transport, TransportHandler } from './transport/transport.js';
