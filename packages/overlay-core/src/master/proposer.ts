// Proposals from any master: the leader proposes to its own Raft node; a follower forwards the
// command to the leader over the Raft peer port (method Peer/Propose on the same gRPC server as
// the Raft transport), so clients may talk to any master. During an election it waits for a
// leader, up to its deadline. Failures are MasterErrors: UNAVAILABLE (surely not applied),
// OUTCOME_UNKNOWN (may have been applied), OVERLOADED (refused by the leader).
import * as grpc from '@grpc/grpc-js';
import {
  type GrpcServer,
  GrpcStatusError,
  NotLeaderError,
  ProposalRejectedError,
  type RaftNode,
  ShuttingDownError,
  TimeoutError,
} from '@vnet/raft';
import { ERRORS, type ErrorCode, MasterError } from '../protocol/errors.js';
import { clientCredentials, type TlsFiles } from '../security/tls.js';
import {
  type CommandResult,
  decodeCommand,
  decodeResult,
  encodeCommand,
  encodeResult,
  type MasterCommand,
} from './commands.js';

export const PEER_PROPOSE = '/vnet.master.v1.Peer/Propose';

const bytes = (b: Buffer): Buffer => b;

/** The code of a failed local proposal. */
function codeOfRaftError(e: unknown): ErrorCode | undefined {
  if (e instanceof NotLeaderError) return 'NOT_LEADER';
  if (e instanceof ShuttingDownError) return 'UNAVAILABLE';
  if (e instanceof ProposalRejectedError) return 'OVERLOADED';
  if (e instanceof TimeoutError) return 'OUTCOME_UNKNOWN';
  return undefined;
}

/** The code of a forwarded proposal's gRPC status (what the leader's handler answered). */
function codeOfPeerStatus(code: grpc.status): ErrorCode {
  switch (code) {
    case ERRORS.NOT_LEADER.grpc:
    case ERRORS.UNAVAILABLE.grpc:
      // Not applied: no leader there (any more), or it could not be reached.
      return 'UNAVAILABLE';
    case ERRORS.OVERLOADED.grpc:
      return 'OVERLOADED';
    case ERRORS.BAD_COMMAND.grpc:
      return 'BAD_COMMAND';
    default:
      return 'OUTCOME_UNKNOWN';
  }
}

export interface ProposerOptions {
  tls?: TlsFiles;
  /** How long a proposal may take, elections included (default 10 s). */
  timeoutMs?: number;
}

export class Proposer {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly credentials: grpc.ChannelCredentials;
  /** How long a proposal may take, elections included. */
  readonly timeoutMs: number;

  constructor(
    private readonly node: RaftNode<CommandResult>,
    opts: ProposerOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.credentials = clientCredentials(opts.tls);
  }

  /** Serves forwarded proposals on the Raft peer server. */
  addToServer(server: GrpcServer): void {
    server.unary(PEER_PROPOSE, async (request) => {
      try {
        decodeCommand(request);
      } catch (e) {
        throw new GrpcStatusError(ERRORS.BAD_COMMAND.grpc, (e as Error).message);
      }
      try {
        return encodeResult(await this.node.propose(request));
      } catch (e) {
        const code = codeOfRaftError(e) ?? 'OUTCOME_UNKNOWN';
        throw new GrpcStatusError(ERRORS[code].grpc, (e as Error).message);
      }
    });
  }

  async propose(command: MasterCommand): Promise<CommandResult> {
    const bytesOut = encodeCommand(command);
    const deadline = Date.now() + this.timeoutMs;
    let lastError = 'no leader elected';
    for (;;) {
      try {
        // The leader's own proposals skip status(), which copies the progress and address maps.
        if (this.node.isLeader()) return await this.node.propose(bytesOut);
        const status = this.node.status();
        if (status.leader && status.leaderAddress) {
          return await this.forward(status.leaderAddress, bytesOut, deadline);
        }
      } catch (e) {
        const code = e instanceof MasterError ? e.code : codeOfRaftError(e);
        if (code === undefined) throw e;
        // Without a leader (or with a stale one), wait for the next; anything else is final.
        if (code !== 'NOT_LEADER' && code !== 'UNAVAILABLE') {
          throw e instanceof MasterError ? e : new MasterError(code, (e as Error).message);
        }
        if (e instanceof ShuttingDownError) throw new MasterError('UNAVAILABLE', e.message);
        lastError = (e as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new MasterError('UNAVAILABLE', `no leader could take the change: ${lastError}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private forward(address: string, command: Buffer, deadline: number): Promise<CommandResult> {
    let client = this.clients.get(address);
    if (!client) {
      client = new grpc.Client(address, this.credentials);
      this.clients.set(address, client);
    }
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        PEER_PROPOSE,
        bytes,
        bytes,
        command,
        new grpc.Metadata(),
        { deadline },
        (err, reply) => {
          if (!err) {
            try {
              resolve(decodeResult(reply!));
            } catch (e) {
              reject(
                new MasterError('OUTCOME_UNKNOWN', `the leader's answer: ${(e as Error).message}`),
              );
            }
            return;
          }
          reject(
            new MasterError(codeOfPeerStatus(err.code), `leader at ${address}: ${err.details}`),
          );
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
