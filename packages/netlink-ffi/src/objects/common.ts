import type { Message, MessageWriter } from '../codec/attributes.js';
import {
  IFNAME_MAX,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
} from '../codec/constants.js';
import { NetlinkSpecError } from '../errors.js';
import type { NetnsRef } from '../netns.js';

/** A link by name or by ifindex (in the namespace of the handle). */
export type LinkRef = string | number;

/** What encoders need from the engine: where to write, link indexes, namespace fds. */
export interface EncodeContext {
  /** Change requests are written here, after the messages already in it. */
  w: MessageWriter;
  /** The ifindex of `ref`; throws `UnresolvedLink` when the engine must look the name up first. */
  index(ref: LinkRef, field: string): number;
  /** An fd for the namespace, kept open until the request has been sent. */
  netnsFd(ref: NetnsRef, field: string): number;
}

/** Thrown by `EncodeContext.index` for a name not looked up yet. */
export class UnresolvedLink {
  constructor(
    readonly name: string,
    readonly field: string,
  ) {}
}

/** The words that name a request in errors. */
export interface Words {
  kind: string;
  operation: string;
  /** Which object, in iproute2-like words (computed only when an error needs it). */
  describe(): string;
}

/** A query (get or dump) encoded on its own, plus the words that name it in errors. */
export interface Request extends Words {
  message: Buffer;
}

/** Finishes a dump request whose filter is described by `parts` (none: 'all'). */
export function listRequest(w: MessageWriter, kind: string, parts: string[]): Request {
  w.finish();
  return { message: w.bytes(), kind, operation: 'list', describe: () => parts.join(' ') || 'all' };
}

/** Turns one kernel reply message into a value (dumps and gets). */
export type Decoder<T> = (msg: Message) => T;

export type WriteAction = 'add' | 'replace' | 'append' | 'delete';

/**
 * Header flags of a change request: add = create exclusively, replace = create or replace. No
 * NLM_F_ACK: the engine asks for an ack on the last request of each datagram only.
 */
export function actionFlags(action: WriteAction | 'set'): number {
  const base = NLM_F_REQUEST;
  switch (action) {
    case 'add':
      return base | NLM_F_CREATE | NLM_F_EXCL;
    case 'replace':
      return base | NLM_F_CREATE | NLM_F_REPLACE;
    case 'append':
      return base | NLM_F_CREATE | NLM_F_APPEND;
    default:
      return base;
  }
}

export function describeLink(ref: LinkRef): string {
  return typeof ref === 'number' ? `ifindex ${ref}` : ref;
}

export function checkLinkRef(ref: unknown, field: string): LinkRef {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref <= 0 || ref > 0x7fffffff) {
      throw new NetlinkSpecError(field, `${ref} is not an ifindex`);
    }
    return ref;
  }
  if (typeof ref !== 'string') throw new NetlinkSpecError(field, 'expected a link name or ifindex');
  checkLinkName(ref, field);
  return ref;
}

export function checkLinkName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > IFNAME_MAX) {
    throw new NetlinkSpecError(
      field,
      `${JSON.stringify(name)} is not a link name (1-${IFNAME_MAX} bytes)`,
    );
  }
  if (/[\s/:\0]/.test(name) || name === '.' || name === '..') {
    throw new NetlinkSpecError(field, `${JSON.stringify(name)} contains a forbidden character`);
  }
  return name;
}

export function checkUint(v: unknown, field: string, max: number, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new NetlinkSpecError(field, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return v;
}

export function checkBool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new NetlinkSpecError(field, 'expected true or false');
  return v;
}

export function checkObject(v: unknown, field: string): void {
  if (typeof v !== 'object' || v === null) throw new NetlinkSpecError(field, 'expected an object');
}
