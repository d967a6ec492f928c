import type { NodeId } from './core/types.js';

/** Base class of the errors a RaftNode reports to its callers. */
export class RaftError extends Error {
  override name = 'RaftError';
}

/**
 * This node is not the leader (or lost leadership before the proposal committed). The command was
 * definitely not applied, so retrying it against `leaderId` is safe. The leader may be unknown
 * (empty id) during an election.
 */
export class NotLeaderError extends RaftError {
  override name = 'NotLeaderError';
  constructor(
    readonly leaderId: NodeId,
    readonly leaderAddress: string | undefined,
    detail = 'this node is not the leader',
  ) {
    super(
      leaderId
        ? `${detail}; leader is ${leaderId}${leaderAddress ? ` at ${leaderAddress}` : ''}`
        : `${detail}; no leader is known (election in progress)`,
    );
  }
}

/** The operation did not finish in time. A timed-out proposal may or may not have been applied. */
export class TimeoutError extends RaftError {
  override name = 'TimeoutError';
}

/** The node is stopping or stopped; pending operations are failed with this. */
export class ShuttingDownError extends RaftError {
  override name = 'ShuttingDownError';
  constructor() {
    super('the raft node is shutting down');
  }
}

/** The leader refused a proposal without appending it (e.g. too large, backlog full, change pending). */
export class ProposalRejectedError extends RaftError {
  override name = 'ProposalRejectedError';
}

/**
 * The stored state is damaged; `record` names what is damaged (e.g. "entry 42", or "write-ahead log
 * 000005.log" for damage found in LevelDB's own files, which then also names `file`). Thrown by
 * `RaftNode.start` before anything is changed on disk: the store is left as it was found.
 */
export class CorruptStoreError extends RaftError {
  override name = 'CorruptStoreError';
  constructor(
    readonly path: string,
    readonly record: string,
    readonly detail: string,
    /** The damaged file inside the store's directory, when the damage is in LevelDB's files. */
    readonly file?: string,
  ) {
    super(`raft store at ${path} is damaged: ${record}: ${detail}`);
  }
}
