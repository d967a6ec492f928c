// Every way a master call can fail, and what each becomes on the wire: one table for the gRPC
// status (nodes), the HTTP status (operators) and the `reason` label of
// vnet_master_allocation_failures_total, as etcd keeps one toGRPCErrorMap. The meaning of each
// status for a client (which ones mean "try the next master") is part of the contract too.
// gRPC's status codes without loading gRPC itself (the CLI's commands that need no gRPC start
// faster); the same enum `@grpc/grpc-js` exports as `status`.
import { Status as status } from '@grpc/grpc-js/build/src/constants.js';
import { cut } from '../input.js';

/** A failure's gRPC and HTTP status and its allocation-failure metric reason. */
export interface ErrorInfo {
  grpc: status;
  http: number;
  reason: FailureReason;
}

export type FailureReason =
  | 'overlay_exhausted'
  | 'vtep_exhausted'
  | 'no_config'
  | 'invalid_request'
  | 'unavailable'
  | 'internal';

const entry = (grpc: status, http: number, reason: FailureReason): ErrorInfo => ({
  grpc,
  http,
  reason,
});

export const ERRORS = {
  /** A field of the request is wrong (named in the message). */
  INVALID_ARGUMENT: entry(status.INVALID_ARGUMENT, 400, 'invalid_request'),
  INVALID_NODE_IP: entry(status.INVALID_ARGUMENT, 400, 'invalid_request'),
  INVALID_OVERLAY: entry(status.INVALID_ARGUMENT, 400, 'invalid_request'),
  INVALID_CONFIG: entry(status.INVALID_ARGUMENT, 400, 'invalid_request'),
  /** A log entry the state machine could not decode (refused the same way on every master). */
  BAD_COMMAND: entry(status.INVALID_ARGUMENT, 400, 'invalid_request'),
  UNKNOWN_NODE: entry(status.NOT_FOUND, 404, 'invalid_request'),
  UNKNOWN_OVERLAY: entry(status.NOT_FOUND, 404, 'invalid_request'),
  OVERLAY_EXISTS: entry(status.ALREADY_EXISTS, 409, 'invalid_request'),
  /** Nodes hold blocks of the overlay (removal needs force). */
  OVERLAY_HELD: entry(status.FAILED_PRECONDITION, 409, 'invalid_request'),
  CONFIG_CONFLICT: entry(status.FAILED_PRECONDITION, 409, 'invalid_request'),
  /** No VTEP address is left for a new node. */
  VTEP_EXHAUSTED: entry(status.RESOURCE_EXHAUSTED, 409, 'vtep_exhausted'),
  /** No block of an overlay is left (the node gets its other overlays: not a failed call). */
  OVERLAY_EXHAUSTED: entry(status.RESOURCE_EXHAUSTED, 409, 'overlay_exhausted'),
  UNAUTHENTICATED: entry(status.UNAUTHENTICATED, 401, 'invalid_request'),
  /** The log holds no network config yet. */
  NO_CONFIG: entry(status.UNAVAILABLE, 503, 'no_config'),
  /** The master is starting (catching up, applying its config file). */
  NOT_READY: entry(status.UNAVAILABLE, 503, 'unavailable'),
  /** Surely not applied: no leader or no quorum, the master is stopping. */
  UNAVAILABLE: entry(status.UNAVAILABLE, 503, 'unavailable'),
  /** Asked of a master that does not lead (between masters only: the proposer forwards). */
  NOT_LEADER: entry(status.FAILED_PRECONDITION, 503, 'unavailable'),
  /** The change may or may not have been made (the proposal timed out). */
  OUTCOME_UNKNOWN: entry(status.DEADLINE_EXCEEDED, 504, 'unavailable'),
  /** The leader refused the proposal: too many in flight. */
  OVERLOADED: entry(status.RESOURCE_EXHAUSTED, 429, 'unavailable'),
  INTERNAL: entry(status.INTERNAL, 500, 'internal'),
  /** HTTP only: no such endpoint, a method it does not take, a body over the limit. */
  NO_SUCH_ENDPOINT: entry(status.UNIMPLEMENTED, 404, 'invalid_request'),
  METHOD_NOT_ALLOWED: entry(status.UNIMPLEMENTED, 405, 'invalid_request'),
  BODY_TOO_LARGE: entry(status.RESOURCE_EXHAUSTED, 413, 'invalid_request'),
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * A failure with its code, for any master API. `extra` fields go into the HTTP error body
 * (`holders` of an overlay, `conflicts` of a config).
 */
export class MasterError extends Error {
  override name = 'MasterError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Any thrown value as a MasterError (unexpected ones are INTERNAL). */
export const asMasterError = (e: unknown): MasterError =>
  e instanceof MasterError ? e : new MasterError('INTERNAL', (e as Error)?.message ?? String(e));

/** gRPC status details are metadata: keep them far below gRPC's metadata size limit. */
const MAX_DETAILS = 1024;

/** What a gRPC handler answers for a failure. */
export function grpcStatusOf(e: unknown): { code: status; details: string } {
  const err = asMasterError(e);
  return { code: ERRORS[err.code].grpc, details: cut(err.message, MAX_DETAILS) };
}

/**
 * Statuses after which a client may try another master: the call did not reach a master that
 * could take it (UNAVAILABLE, CANCELLED), or its outcome is unknown (DEADLINE_EXCEEDED; every
 * call is safe to repeat: a known node gets its allocation back, a report is idempotent), or the
 * master failed (UNKNOWN, INTERNAL). Every other status is an answer.
 */
export const RETRY_ELSEWHERE: ReadonlySet<status> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.CANCELLED,
  status.UNKNOWN,
  status.INTERNAL,
]);

/**
 * The HTTP statuses after which an operator's client may try another master: only "surely not
 * done" (a 504's change may have been made; repeating a removal elsewhere would answer 404).
 */
export const HTTP_RETRY_ELSEWHERE: ReadonlySet<number> = new Set([ERRORS.UNAVAILABLE.http]);
