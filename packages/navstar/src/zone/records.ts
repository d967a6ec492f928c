// The record model the store accepts: one entry per running task instance, plus the masters and
// the leading master. Everything is validated here so that bad input from any source is rejected
// with a message naming the task and the field, before it can reach the zone.
import { MAX_LABEL, taskLabel, toLabel } from '../names.js';
import { AddressError, canonicalIp } from './ip.js';

export type PortProtocol = 'tcp' | 'udp';

export interface TaskPort {
  /** Port name from the task's discovery info; named ports also get `_<name>._<task>._<proto>` SRV. */
  name?: string;
  /** Default 'tcp'. */
  protocol?: PortProtocol;
  /** Port inside the container (reached at the container IP). */
  containerPort?: number;
  /** Port on the agent mapped to the container port (Docker/UCR bridge, host-port discovery). */
  hostPort?: number;
}

export interface TaskRecord {
  /** Unique id of this instance (the Mesos task id); several instances share a name. */
  id: string;
  /** Task name, or a Marathon app path such as `/group/app`. */
  name: string;
  /** Overrides `name` as the DNS name, like Mesos' `discovery.name`. */
  discoveryName?: string;
  /** Framework name, e.g. `marathon`. */
  framework: string;
  /** IP of the agent running the instance. */
  agentIp: string;
  /** The container's IPs (IPv4 and/or IPv6); empty or absent in host networking. */
  containerIps?: string[];
  ports?: TaskPort[];
}

/** A validated, normalised task: labels computed, addresses canonical, defaults filled in. */
export interface NormalizedTask {
  id: string;
  taskLabel: string;
  frameworkLabel: string;
  instanceLabel: string;
  agentIp: string;
  containerIps: string[];
  ports: Array<{
    name?: string;
    protocol: PortProtocol;
    containerPort?: number;
    hostPort?: number;
  }>;
  source: TaskRecord;
}

export class TaskRecordError extends Error {
  override name = 'TaskRecordError';
}

function fail(task: unknown, msg: string): never {
  const id =
    task && typeof task === 'object' && typeof (task as TaskRecord).id === 'string'
      ? `task "${(task as TaskRecord).id}"`
      : 'task';
  throw new TaskRecordError(`${id}: ${msg}`);
}

function checkPort(task: unknown, field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    fail(task, `${field}: ${JSON.stringify(v)} is not a port number (1-65535)`);
  }
  return v;
}

function checkIp(task: unknown, field: string, v: unknown): string {
  if (typeof v !== 'string') fail(task, `${field}: expected an IP address string, got ${typeof v}`);
  try {
    return canonicalIp(v);
  } catch (e) {
    if (e instanceof AddressError) fail(task, `${field}: ${e.message}`);
    throw e;
  }
}

/** Validates a task record; throws TaskRecordError naming the task and the field. */
export function normalizeTask(t: TaskRecord): NormalizedTask {
  if (t === null || typeof t !== 'object') fail(t, 'expected an object');
  if (typeof t.id !== 'string' || t.id.length === 0) fail(t, 'id: expected a non-empty string');
  const rawName = t.discoveryName ?? t.name;
  const nameField = t.discoveryName === undefined ? 'name' : 'discoveryName';
  if (typeof rawName !== 'string') fail(t, `${nameField}: expected a string`);
  const tl = taskLabel(rawName);
  if (tl === '') fail(t, `${nameField}: "${rawName}" has no character usable in a DNS label`);
  if (typeof t.framework !== 'string') fail(t, 'framework: expected a string');
  const fl = toLabel(t.framework);
  if (fl === '') fail(t, `framework: "${t.framework}" has no character usable in a DNS label`);
  const il = toLabel(t.id);
  if (il === '') fail(t, `id: "${t.id}" has no character usable in a DNS label`);
  const agentIp = checkIp(t, 'agentIp', t.agentIp);
  if (t.containerIps !== undefined && !Array.isArray(t.containerIps)) {
    fail(t, 'containerIps: expected an array of IP addresses');
  }
  const containerIps = (t.containerIps ?? []).map((ip, i) => checkIp(t, `containerIps[${i}]`, ip));
  if (t.ports !== undefined && !Array.isArray(t.ports)) fail(t, 'ports: expected an array');
  const ports = (t.ports ?? []).map((p, i) => {
    if (p === null || typeof p !== 'object') fail(t, `ports[${i}]: expected an object`);
    const protocol = p.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') {
      fail(t, `ports[${i}].protocol: ${JSON.stringify(p.protocol)} is not "tcp" or "udp"`);
    }
    const containerPort = checkPort(t, `ports[${i}].containerPort`, p.containerPort);
    const hostPort = checkPort(t, `ports[${i}].hostPort`, p.hostPort);
    if (containerPort === undefined && hostPort === undefined) {
      fail(t, `ports[${i}]: needs a containerPort or a hostPort`);
    }
    let name: string | undefined;
    if (p.name !== undefined) {
      if (typeof p.name !== 'string') fail(t, `ports[${i}].name: expected a string`);
      name = toLabel(p.name);
      // The SRV label is "_" + name, so the name gets one character less.
      if (name === '') fail(t, `ports[${i}].name: "${p.name}" has no character usable in a label`);
      name = name.slice(0, MAX_LABEL - 1).replace(/-+$/, '');
    }
    return { name, protocol, containerPort, hostPort };
  });
  return {
    id: t.id,
    taskLabel: tl,
    frameworkLabel: fl,
    instanceLabel: il,
    agentIp,
    containerIps,
    ports,
    source: t,
  };
}

/** Canonical, de-duplicated list of master IPs; throws TaskRecordError-like errors on bad input. */
export function normalizeIps(what: string, ips: unknown): string[] {
  if (!Array.isArray(ips)) throw new TaskRecordError(`${what}: expected an array of IP addresses`);
  const out = new Set<string>();
  ips.forEach((ip, i) => {
    try {
      out.add(canonicalIp(ip));
    } catch (e) {
      if (e instanceof AddressError) throw new TaskRecordError(`${what}[${i}]: ${e.message}`);
      throw e;
    }
  });
  return [...out];
}
