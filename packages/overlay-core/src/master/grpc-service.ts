// The node-facing OverlayMaster gRPC service (@grpc/grpc-js, proto/overlay.proto): Register,
// ReportStatus and Watch. Any master answers: changes go through the Proposer (forwarded to the
// leader from followers); a re-registration or report that changes nothing is answered from the
// state after a ReadIndex, without a log write. Watch streams come from this master's own applied
// state, so a node may stay connected to a follower. Requests are checked here, once; failures
// become statuses through the one error table (src/protocol/errors.ts).
import type * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '@vnet/raft';
import { quote } from '../input.js';
import { normalizeNodeIp } from '../ipam/ipam.js';
import { parseHostPort } from '../net/host-port.js';
import type { OverlayStatusReport } from '../protocol/allocation.js';
import { ERRORS, grpcStatusOf, MasterError } from '../protocol/errors.js';
import {
  type Allocation__Output,
  type Masters,
  type OverlayMasterHandlers,
  overlayMasterService,
  type StatusReply,
} from '../protocol/messages.js';
import { MAX_REPORTED_ERROR, parseOverlayReports } from '../protocol/reports.js';
import { bearerCheck } from '../security/token.js';
import type { CommandResult } from './commands.js';
import type { MasterMetrics } from './metrics.js';
import type { Proposer } from './proposer.js';
import { allocationMessage } from './render.js';
import type { MasterStateMachine } from './state-machine.js';

export interface ServiceDeps {
  node: RaftNode<CommandResult>;
  sm: MasterStateMachine;
  proposer: Proposer;
  metrics: MasterMetrics;
  /** Bearer token required in the `authorization` metadata, when configured. */
  token?: string;
}

function nodeIp(ip: unknown): string {
  try {
    return normalizeNodeIp(ip);
  } catch (e) {
    throw new MasterError('INVALID_NODE_IP', `ip: ${(e as Error).message}`);
  }
}

/** A command's failure as a MasterError with the same code. */
function failure(r: CommandResult): MasterError {
  if (r.ok) return new MasterError('INTERNAL', `unexpected result of ${r.op}`);
  return new MasterError(r.code, r.message);
}

/** How often a WatchMasters stream checks for a membership change (leader changes push at once). */
const MASTERS_CHECK_MS = 5_000;

/** The masters' hosts and the leader's, from the Raft node's view of its members. */
function mastersOf(node: RaftNode<CommandResult>): Masters {
  const s = node.status();
  const host = (address: string | undefined) => (address && parseHostPort(address)?.host) ?? '';
  return {
    masters: Object.values(s.addresses).map(host).filter(Boolean).sort(),
    leader: host(s.leaderAddress),
  };
}

export function overlayMasterImplementation(deps: ServiceDeps): OverlayMasterHandlers {
  const { node, sm, proposer, metrics } = deps;
  const authorize = bearerCheck(deps.token);

  /** The node's allocation as this master holds it now (after a command, or a ReadIndex). */
  const allocation = (ip: string): Allocation__Output =>
    allocationMessage(sm.ipam!, ip, sm.appliedIndex);

  async function register(ip: string, bridges: boolean): Promise<Allocation__Output> {
    const ipam = sm.ipam;
    if (ipam && !ipam.wouldChange(ip, { bridges })) {
      // Nothing to write: confirm leadership (ReadIndex), then answer from the state.
      await node.read().catch((e) => {
        throw new MasterError('UNAVAILABLE', (e as Error).message);
      });
      if (sm.ipam?.getNode(ip) && !sm.ipam.wouldChange(ip, { bridges })) {
        metrics.registration('unchanged');
        return allocation(ip);
      }
    }
    let result: CommandResult;
    try {
      result = await proposer.propose({ op: 'register', ip, bridges });
    } catch (e) {
      metrics.failure(e instanceof MasterError ? ERRORS[e.code].reason : 'internal');
      throw e;
    }
    if (!result.ok || result.op !== 'register') {
      metrics.registration('failed');
      const err = failure(result);
      metrics.failure(ERRORS[err.code].reason);
      throw err;
    }
    metrics.registration(result.created ? 'created' : result.changed ? 'changed' : 'unchanged');
    const exhausted = (result.agent.overlays ?? []).filter(
      (o) => o.state?.status === 'STATUS_FAILED' && !o.subnet && !o.subnet6,
    ).length;
    if (result.changed && exhausted > 0) metrics.failure('overlay_exhausted', exhausted);
    // The allocation as the entry's apply made it: this master may not have applied it yet.
    return { agent: result.agent, network: result.network, index: result.index };
  }

  async function reportStatus(ip: string, items: OverlayStatusReport[]): Promise<StatusReply> {
    const ipam = sm.ipam;
    const known = ipam?.getNode(ip);
    if (known) {
      // Refused here without a log write; the state machine checks the same.
      const unknown = items.find((r) => !known.overlays.has(r.name));
      if (unknown) {
        throw new MasterError(
          'UNKNOWN_OVERLAY',
          `node ${ip} holds no overlay named ${quote(unknown.name)}; nothing was recorded`,
        );
      }
      const same = items.every(
        (r) =>
          JSON.stringify(ipam!.getStatus(ip, r.name)) ===
          JSON.stringify({
            status: r.status,
            ...(r.error !== undefined && { error: r.error }),
            ...(r.used && { used: r.used }),
          }),
      );
      if (same) {
        metrics.report(false);
        return { changed: false };
      }
    }
    const result = await proposer.propose({ op: 'report', ip, overlays: items });
    if (!result.ok || result.op !== 'report') throw failure(result);
    metrics.report(result.changed);
    return { changed: result.changed };
  }

  /** Runs a unary handler: token first, then the request, failures as statuses. */
  const unary =
    <Req, Res>(fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      Promise.resolve()
        .then(() => {
          authorize(call.metadata.get('authorization')[0]);
          return fn(call.request);
        })
        .then(
          (res) => callback(null, res),
          (err) => callback(grpcStatusOf(err)),
        );
    };

  return {
    Register: unary((req) => {
      const ip = nodeIp(req.ip);
      return register(ip, req.bridges ?? false);
    }),
    ReportStatus: unary((req) => {
      const ip = nodeIp(req.ip);
      return reportStatus(ip, parseOverlayReports(req.overlays, MAX_REPORTED_ERROR));
    }),
    Watch: (call) => {
      let ip: string;
      try {
        authorize(call.metadata.get('authorization')[0]);
        ip = nodeIp(call.request.ip);
      } catch (e) {
        call.emit('error', grpcStatusOf(e));
        return;
      }
      let last = '';
      const push = (index: number, deleted: boolean) => {
        // A node this master does not know yet (a follower that has not applied its
        // registration) waits for it; `deleted` is only said when an entry deleted it.
        if (!sm.ipam || (!deleted && !sm.ipam.getNode(ip))) return;
        const update = allocationMessage(sm.ipam, ip, index);
        const key = JSON.stringify({ ...update, index: 0 });
        if (key === last) return;
        last = key;
        call.write(update);
      };
      push(sm.appliedIndex, false);
      // Status-only changes are what the node itself reported: not pushed back.
      const off = sm.onChange((change) => {
        const deleted = change.deleted.includes(ip);
        if (change.config || change.nodes.includes(ip) || deleted) push(change.index, deleted);
      });
      call.on('cancelled', off);
      call.on('close', off);
      call.on('error', off);
    },
    WatchMasters: (call) => {
      try {
        authorize(call.metadata.get('authorization')[0]);
      } catch (e) {
        call.emit('error', grpcStatusOf(e));
        return;
      }
      let last = '';
      const push = () => {
        const m = mastersOf(node);
        const key = JSON.stringify(m);
        if (key === last) return;
        last = key;
        call.write(m);
      };
      push();
      const onLeader = () => push();
      node.on('leader', onLeader);
      const timer = setInterval(push, MASTERS_CHECK_MS);
      const off = () => {
        node.off('leader', onLeader);
        clearInterval(timer);
      };
      call.on('cancelled', off);
      call.on('close', off);
      call.on('error', off);
    },
  };
}

export function addOverlayMasterService(server: grpc.Server, deps: ServiceDeps): void {
  server.addService(overlayMasterService(), overlayMasterImplementation(deps));
}
