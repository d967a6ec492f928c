// The node-facing OverlayMaster gRPC service (@grpc/grpc-js, proto/overlay.proto): Register,
// ReportStatus and Watch. Any master answers: changes go through the Proposer (forwarded to the
// leader from followers); a re-registration or report that changes nothing is answered from the
// state after a ReadIndex, without a log write. Watch streams come from this master's own applied
// state, so a node may stay connected to a follower.
import * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '@vnet/raft';
import {
  type AllocationUpdate,
  networkMessage,
  overlayMasterService,
  type RegisterRequest,
  type StatusReport,
  type WatchRequest,
} from '../api/proto.js';
import { normalizeNodeIp, OVERLAY_STATUSES, type OverlayStatus } from '../ipam/ipam.js';
import { type AgentJson, agentJson } from '../ipam/state-json.js';
import type { CommandFailure, CommandResult, OverlayStatusReport } from './commands.js';
import type { MasterMetrics } from './metrics.js';
import { ProposeError, type Proposer } from './proposer.js';
import type { MasterStateMachine } from './state-machine.js';
import { tokenMatches } from './token.js';

export interface ServiceDeps {
  node: RaftNode<CommandResult>;
  sm: MasterStateMachine;
  proposer: Proposer;
  metrics: MasterMetrics;
  /** Bearer token required in the `authorization` metadata, when configured. */
  token?: string;
}

type Callback<T> = (err: Partial<grpc.StatusObject> | null, value?: T) => void;

const statusError = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({
  code,
  details,
});

function failureStatus(f: CommandFailure): Partial<grpc.StatusObject> {
  switch (f.code) {
    case 'NO_CONFIG':
      return statusError(grpc.status.UNAVAILABLE, f.message);
    case 'VTEP_EXHAUSTED':
      return statusError(grpc.status.RESOURCE_EXHAUSTED, f.message);
    case 'UNKNOWN_NODE':
      return statusError(grpc.status.NOT_FOUND, f.message);
    default:
      return statusError(grpc.status.INVALID_ARGUMENT, f.message);
  }
}

function proposeStatus(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof ProposeError) {
    const code =
      e.kind === 'unavailable'
        ? grpc.status.UNAVAILABLE
        : e.kind === 'rejected'
          ? grpc.status.RESOURCE_EXHAUSTED
          : grpc.status.DEADLINE_EXCEEDED;
    return statusError(code, e.message);
  }
  return statusError(grpc.status.INTERNAL, (e as Error).message);
}

function nodeIp(ip: unknown): string {
  try {
    return normalizeNodeIp(ip as string);
  } catch (e) {
    throw statusError(grpc.status.INVALID_ARGUMENT, `ip: ${(e as Error).message}`);
  }
}

function reports(raw: StatusReport['overlays']): OverlayStatusReport[] {
  return (raw ?? []).map((r, i) => {
    const where = `overlays[${i}]`;
    if (typeof r?.name !== 'string' || r.name === '') {
      throw statusError(grpc.status.INVALID_ARGUMENT, `${where}.name: required`);
    }
    const status = r.status ?? 'STATUS_INVALID';
    if (!OVERLAY_STATUSES.includes(status as OverlayStatus)) {
      throw statusError(grpc.status.INVALID_ARGUMENT, `${where}.status: unknown ${status}`);
    }
    const out: OverlayStatusReport = { name: r.name, status: status as OverlayStatus };
    if (r.error !== undefined && r.error !== '') out.error = String(r.error);
    if (r.used) out.used = { mesos: r.used.mesos ?? 0, docker: r.used.docker ?? 0 };
    return out;
  });
}

export function overlayMasterImplementation(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const { node, sm, proposer, metrics } = deps;

  const authorized = (call: { metadata: grpc.Metadata }): boolean => {
    if (deps.token === undefined) return true;
    const header = call.metadata.get('authorization')[0];
    return typeof header === 'string' && tokenMatches(header, deps.token);
  };
  const unauthenticated = statusError(
    grpc.status.UNAUTHENTICATED,
    'a bearer token is required (authorization metadata)',
  );

  async function register(req: RegisterRequest): Promise<AgentJson> {
    const ip = nodeIp(req.ip);
    const bridges = req.bridges ?? false;
    const ipam = sm.ipam;
    if (ipam && !ipam.wouldChange(ip, { bridges })) {
      // Nothing to write: confirm leadership (ReadIndex), then answer from the state.
      await node.read().catch((e) => {
        throw statusError(grpc.status.UNAVAILABLE, (e as Error).message);
      });
      const current = sm.ipam?.getNode(ip);
      if (current && sm.ipam && !sm.ipam.wouldChange(ip, { bridges })) {
        metrics.registration('unchanged');
        return agentJson(sm.ipam, current);
      }
    }
    let result: CommandResult;
    try {
      result = await proposer.propose({ op: 'register', ip, bridges });
    } catch (e) {
      metrics.failure('unavailable');
      throw proposeStatus(e);
    }
    if (!result.ok) {
      metrics.registration('failed');
      metrics.failure(
        result.code === 'VTEP_EXHAUSTED'
          ? 'vtep_exhausted'
          : result.code === 'NO_CONFIG'
            ? 'no_config'
            : 'invalid_request',
      );
      throw failureStatus(result);
    }
    if (result.op !== 'register') throw statusError(grpc.status.INTERNAL, 'unexpected result');
    metrics.registration(result.created ? 'created' : result.changed ? 'changed' : 'unchanged');
    const failed = (result.agent.overlays ?? []).filter(
      (o) => o.state?.status === 'STATUS_FAILED' && !o.subnet && !o.subnet6,
    ).length;
    if (result.changed && failed > 0) metrics.failure('overlay_exhausted', failed);
    return result.agent;
  }

  async function reportStatus(req: StatusReport): Promise<{ changed: boolean }> {
    const ip = nodeIp(req.ip);
    const items = reports(req.overlays);
    const ipam = sm.ipam;
    const same =
      ipam?.getNode(ip) !== undefined &&
      items.every(
        (r) =>
          JSON.stringify(ipam.getStatus(ip, r.name)) ===
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
    let result: CommandResult;
    try {
      result = await proposer.propose({ op: 'report', ip, overlays: items });
    } catch (e) {
      throw proposeStatus(e);
    }
    if (!result.ok) throw failureStatus(result);
    const changed = result.op === 'report' && result.changed;
    metrics.report(changed);
    return { changed };
  }

  const unary =
    <Req, Res>(fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: Callback<Res>): void => {
      if (!authorized(call)) {
        callback(unauthenticated);
        return;
      }
      fn(call.request).then(
        (res) => callback(null, res),
        (err) => callback(err?.code !== undefined ? err : proposeStatus(err)),
      );
    };

  function watch(call: grpc.ServerWritableStream<WatchRequest, AllocationUpdate>): void {
    if (!authorized(call)) {
      call.emit('error', unauthenticated);
      return;
    }
    let ip: string;
    try {
      ip = nodeIp(call.request.ip);
    } catch (e) {
      call.emit('error', e);
      return;
    }
    let last = '';
    const push = (index: number) => {
      const ipam = sm.ipam;
      if (!ipam) return;
      const current = ipam.getNode(ip);
      const update: AllocationUpdate = current
        ? { agent: agentJson(ipam, current), network: networkMessage(ipam.config), index }
        : { deleted: true, network: networkMessage(ipam.config), index };
      const key = JSON.stringify({ ...update, index: 0 });
      if (key === last) return;
      last = key;
      call.write(update);
    };
    push(sm.appliedIndex);
    const off = sm.onChange((change) => {
      if (change.config || change.nodes.includes(ip) || change.deleted.includes(ip)) {
        push(change.index);
      }
    });
    const end = () => off();
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
  }

  return {
    Register: unary(register),
    ReportStatus: unary(reportStatus),
    Watch: watch,
  };
}

export function addOverlayMasterService(server: grpc.Server, deps: ServiceDeps): void {
  server.addService(overlayMasterService(), overlayMasterImplementation(deps));
}
