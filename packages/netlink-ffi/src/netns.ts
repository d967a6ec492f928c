import { closeSync, openSync } from 'node:fs';
import { NetlinkError, NetlinkSpecError } from './errors.js';

/** Where named network namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/var/run/netns';

/**
 * A network namespace: a name under /var/run/netns (a bare string means that too), the namespace
 * of a process, a namespace file (e.g. a bind mount made by a container runtime), or an open fd
 * (borrowed: the library never closes it).
 */
export type NetnsRef =
  | string
  | { name: string }
  | { pid: number }
  | { path: string }
  | { fd: number };

/** The file that names `ref`, or undefined for an fd. */
export function netnsPath(ref: NetnsRef, field = 'netns'): string | undefined {
  if (typeof ref === 'string') return netnsPath({ name: ref }, field);
  if (typeof ref !== 'object' || ref === null) {
    throw new NetlinkSpecError(field, 'expected a namespace name, {name}, {pid}, {path} or {fd}');
  }
  if ('name' in ref) {
    const { name } = ref;
    if (typeof name !== 'string' || !/^[^/\0]+$/.test(name) || name === '.' || name === '..') {
      throw new NetlinkSpecError(field, `${JSON.stringify(name)} is not a namespace name`);
    }
    return `${NETNS_RUN_DIR}/${name}`;
  }
  if ('pid' in ref) {
    if (!Number.isInteger(ref.pid) || ref.pid <= 0) {
      throw new NetlinkSpecError(field, `${JSON.stringify(ref.pid)} is not a process id`);
    }
    return `/proc/${ref.pid}/ns/net`;
  }
  if ('path' in ref) {
    if (typeof ref.path !== 'string' || ref.path === '') {
      throw new NetlinkSpecError(field, 'path must be a non-empty string');
    }
    return ref.path;
  }
  if ('fd' in ref) {
    if (!Number.isInteger(ref.fd) || ref.fd < 0) {
      throw new NetlinkSpecError(field, `${JSON.stringify(ref.fd)} is not a file descriptor`);
    }
    return undefined;
  }
  throw new NetlinkSpecError(field, 'expected a namespace name, {name}, {pid}, {path} or {fd}');
}

export function describeNetns(ref: NetnsRef): string {
  if (typeof ref === 'string') return ref;
  if ('name' in ref) return ref.name;
  if ('pid' in ref) return `pid ${ref.pid}`;
  if ('path' in ref) return ref.path;
  return `fd ${ref.fd}`;
}

/** An fd for the namespace, plus whether the caller must close it. */
export interface NetnsHandle {
  fd: number;
  owned: boolean;
}

export function openNetns(ref: NetnsRef, field = 'netns'): NetnsHandle {
  const path = netnsPath(ref, field);
  if (path === undefined) return { fd: (ref as { fd: number }).fd, owned: false };
  try {
    return { fd: openSync(path, 'r'), owned: true };
  } catch (e) {
    const errno = Math.abs((e as NodeJS.ErrnoException).errno ?? 2);
    throw new NetlinkError({ errno, operation: 'open', kind: 'namespace', target: path });
  }
}

export function releaseNetns(h: NetnsHandle): void {
  if (h.owned) closeSync(h.fd);
}
