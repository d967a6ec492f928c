// Proposals from any master: the leader proposes to its own Raft node; a follower forwards the
// command to the leader over the Raft peer port (method Peer/Propose on the same gRPC server as
// the Raft transport), so clients may talk to any master. During an election it waits for a
// leader, up to its deadline.
import * as grpc from '@grpc/grpc-js';
import {
  type GrpcServer,
  GrpcStatus,
  GrpcStatusError,
  type GrpcTls,
  NotLeaderError,
  ProposalRejectedError,
  type RaftNode,
  ShuttingDownError,
  TimeoutError,
} from '@vnet/raft';
import {
  type CommandResult,
  decodeCommand,
  decodeResult,
  encodeCommand,
  encodeResult,
  type MasterCommand,
} from './commands.js';

export const PEER_PROPOSE = '/vnet.master.v1.Peer/Propose';

/** Why a proposal did not produce a result. */
export class ProposeError extends Error {
  override name = 'ProposeError';
  constructor(
    /** `unavailable`: surely not applied (no leader, shutting down); `unknown`: may have been. */
    readonly kind: 'unavailable' | 'unknown' | 'rejected',
    message: string,
  ) {
    super(message);
  }
}

const bytes = (b: Buffer): Buffer => b;

export interface ProposerOptions {
  tls?: GrpcTls;
  /** How long a proposal may take, elections included (default 10 s). */
  timeoutMs?: number;
}

export class Proposer {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly timeoutMs: number;
  private readonly credentials: grpc.ChannelCredentials;

  constructor(
    private readonly node: RaftNode<CommandResult>,
    opts: ProposerOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.credentials = opts.tls
      ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key, opts.tls.cert)
      : grpc.credentials.createInsecure();
  }

  /** Serves forwarded proposals on the Raft peer server. */
  addToServer(server: GrpcServer): void {
    server.unary(PEER_PROPOSE, async (request) => {
      try {
        decodeCommand(request);
      } catch (e) {
        throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, (e as Error).message);
      }
      try {
        return encodeResult(await this.node.propose(request));
      } catch (e) {
        if (e instanceof NotLeaderError) {
          throw new GrpcStatusError(GrpcStatus.FAILED_PRECONDITION, e.message);
        }
        if (e instanceof ShuttingDownError) {
          throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, e.message);
        }
        if (e instanceof ProposalRejectedError) {
          throw new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, e.message);
        }
        throw new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, (e as Error).message);
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
        const err = e as Error;
        if (err instanceof ProposeError && err.kind !== 'unavailable') throw err;
        if (err instanceof TimeoutError) throw new ProposeError('unknown', err.message);
        if (err instanceof ProposalRejectedError) throw new ProposeError('rejected', err.message);
        if (err instanceof ShuttingDownError) throw new ProposeError('unavailable', err.message);
        if (!(err instanceof NotLeaderError) && !(err instanceof ProposeError)) throw err;
        lastError = err.message;
      }
      if (Date.now() >= deadline) {
        throw new ProposeError('unavailable', `no leader could take the change: ${lastError}`);
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
              reject(new ProposeError('unknown', `the leader's answer: ${(e as Error).message}`));
            }
            return;
          }
          switch (err.code) {
            case grpc.status.FAILED_PRECONDITION:
            case grpc.status.UNAVAILABLE:
              // Not applied: no leader there (any more), or it could not be reached.
              reject(new ProposeError('unavailable', `leader at ${address}: ${err.details}`));
              return;
            case grpc.status.RESOURCE_EXHAUSTED:
              reject(new ProposeError('rejected', err.details));
              return;
            default:
              reject(new ProposeError('unknown', `leader at ${address}: ${err.details}`));
          }
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
