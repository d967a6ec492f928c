import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

// Aliases share a number; these are the names iproute2 and the kernel use.
const PREFERRED = new Set(['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']);
const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!NAMES.has(value) || PREFERRED.has(name)) NAMES.set(value, name);
}
const TEXT = new Map<number, string>([[95, 'operation not supported']]);
for (const [negative, [, text]] of getSystemErrorMap()) {
  if (!TEXT.has(-negative)) TEXT.set(-negative, text);
}

/** The symbolic name of a positive errno value, e.g. 17 → 'EEXIST'. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `ERRNO_${errno}`;
}

/** What went wrong, in words, for a positive errno value. */
export function errnoText(errno: number): string {
  return TEXT.get(errno) ?? `error ${errno}`;
}

/** Fields of a NetlinkError. */
export interface NetlinkErrorInit {
  /** Positive errno value. */
  errno: number;
  /** What was attempted: add, replace, append, set, delete, get, list, or a syscall name. */
  operation: string;
  /** The kind of object: link, address, route, rule, neighbour, fdb, socket, namespace. */
  kind: string;
  /** Which object, in iproute2-like words (e.g. `10.1.0.0/24 via 44.128.0.2 dev vtep1024`). */
  target: string;
  /** The kernel's extended-ack text, when it sent one. */
  kernelMessage?: string;
  /** Byte offset of the offending attribute in the request, when the kernel named one. */
  attributeOffset?: number;
}

/**
 * The kernel (or a syscall) refused an operation. `code` is the errno name, so callers can
 * branch on `err.code === 'EEXIST'` the way they do for Node's own system errors.
 */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly operation: string;
  readonly kind: string;
  readonly target: string;
  readonly kernelMessage?: string;
  readonly attributeOffset?: number;

  constructor(init: NetlinkErrorInit) {
    const code = errnoName(init.errno);
    const detail = init.kernelMessage ? `: ${init.kernelMessage}` : '';
    super(
      `${init.operation} ${init.kind} ${init.target}: ${code} (${errnoText(init.errno)})${detail}`,
    );
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = init.errno;
    this.operation = init.operation;
    this.kind = init.kind;
    this.target = init.target;
    if (init.kernelMessage !== undefined) this.kernelMessage = init.kernelMessage;
    if (init.attributeOffset !== undefined) this.attributeOffset = init.attributeOffset;
  }
}

/** Bytes from the kernel (or anywhere) that are not a well-formed rtnetlink message. */
export class NetlinkDecodeError extends Error {
  /** Byte offset in the buffer being decoded where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`malformed netlink data at byte ${offset}: ${message}`);
    this.name = 'NetlinkDecodeError';
    this.offset = offset;
  }
}

/** An argument given to the library is invalid; nothing was sent to the kernel. */
export class NetlinkSpecError extends Error {
  /** The offending field, e.g. `route.via`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid ${field}: ${message}`);
    this.name = 'NetlinkSpecError';
    this.field = field;
  }
}
