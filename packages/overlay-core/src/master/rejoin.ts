// Bringing back a master whose copy of the log was wiped (after a damaged store): it must not
// simply start again as a founding member, because it has forgotten its votes and the entries it
// helped commit. `vnet master --rejoin` starts it empty and asks the leader to remove its old
// incarnation from the Raft configuration, add it back as a learner, and promote it to voter
// once it has caught up, one membership change at a time.
import * as grpc from '@grpc/grpc-js';
import {
  type GrpcServer,
  GrpcStatus,
  GrpcStatusError,
  pack,
  type RaftNode,
  unpack,
} from '@vnet/raft';
import type { Logger } from 'pino';
import { clientCredentials, type TlsFiles } from '../security/tls.js';

export const PEER_REJOIN = '/vnet.master.v1.Peer/Rejoin';

const bytes = (b: Buffer): Buffer => b;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serves rejoin requests on the Raft peer server (only the leader acts on them). */
export function addRejoinService(
  server: GrpcServer,
  node: RaftNode<unknown>,
  log: Logger,
  catchUpMs = 120_000,
): void {
  server.unary(PEER_REJOIN, async (request) => {
    const v = unpack(request, 'rejoin request') as { id?: unknown; address?: unknown };
    if (typeof v?.id !== 'string' || typeof v.address !== 'string') {
      throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'rejoin request: {id, address}');
    }
    const { id, address } = v as { id: string; address: string };
    if (id === node.id) {
      throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'a master cannot re-add itself');
    }
    if (!node.isLeader()) {
      throw new GrpcStatusError(GrpcStatus.FAILED_PRECONDITION, 'not the leader');
    }
    try {
      const conf = node.status().conf;
      if (conf.voters.includes(id) || conf.learners.includes(id)) {
        log.warn({ member: id }, 'rejoin: removing the old incarnation of the member');
        await node.removeMember(id);
      }
      log.info({ member: id, address }, 'rejoin: adding the member back as a learner');
      await node.addLearner(id, address);
      const deadline = Date.now() + catchUpMs;
      for (;;) {
        const s = node.status();
        if ((s.progress[id]?.match ?? 0) >= s.commit) break;
        if (Date.now() > deadline) {
          throw new Error(`member ${id} did not catch up within ${catchUpMs} ms`);
        }
        await sleep(100);
      }
      await node.addVoter(id, address);
      log.info({ member: id }, 'rejoin: the member is a voter again');
      return pack({ ok: true });
    } catch (e) {
      throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, (e as Error).message);
    }
  });
}

/** Asks the other masters, in turn, until the leader has re-added this one. */
export async function requestRejoin(opts: {
  id: string;
  peers: Record<string, string>;
  tls?: TlsFiles;
  log: Logger;
  timeoutMs?: number;
}): Promise<void> {
  const creds = clientCredentials(opts.tls);
  const others = Object.entries(opts.peers).filter(([id]) => id !== opts.id);
  const clients = others.map(([, addr]) => new grpc.Client(addr, creds));
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  const request = pack({ id: opts.id, address: opts.peers[opts.id] });
  try {
    for (;;) {
      const reasons: string[] = [];
      for (const [i, client] of clients.entries()) {
        const err = await new Promise<grpc.ServiceError | null>((resolve) =>
          client.makeUnaryRequest(
            PEER_REJOIN,
            bytes,
            bytes,
            request,
            new grpc.Metadata(),
            { deadline: Date.now() + 150_000 },
            (e) => resolve(e),
          ),
        );
        if (!err) return;
        reasons.push(`${others[i]![0]}: ${err.details}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`no leader re-added this master: ${reasons.join('; ')}`);
      }
      opts.log.warn({ reasons }, 'rejoin: waiting for a leader to re-add this master');
      await sleep(1000);
    }
  } finally {
    for (const c of clients) c.close();
  }
}
