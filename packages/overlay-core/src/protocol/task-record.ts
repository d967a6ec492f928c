// A task (a container on an overlay) as this node's agent knows it and publishes it in the gossip
// group, bound to the node's liveness, under `task/<agent IP>/<id>`: what navstar on every node
// turns into `agentip`, `containerip` and `autoip` names. The CNI plugin and the Docker watcher
// report tasks through a `TaskSink`; a record from the network or a socket is checked here once.

import { isObject, quote } from '../input.js';
import { ip4, prefixOf } from '../net/addr.js';

export const TASK_PREFIX = 'task/';
export const taskKey = (agentIp: string, id: string): string => `${TASK_PREFIX}${agentIp}/${id}`;

/** Where a task came from: a CNI runtime (`vnet task run`, podman, Mesos) or Docker. */
export type TaskRuntime = 'cni' | 'docker';

export interface TaskPortJson {
  /** A named port also gets `_<name>._<task>._<proto>` SRV records. */
  name?: string;
  protocol: 'tcp' | 'udp';
  containerPort: number;
  /** The port on the agent mapped to it, if any (then `autoip` is the agent's IP). */
  hostPort?: number;
}

export interface TaskRecordJson {
  /** Unique on its node: `<runtime>-<container id>` (CNI: also the interface, when not eth0). */
  id: string;
  /** The task's name (DNS label source). */
  name: string;
  /** The framework's name (DNS label source); `vnet` when the runtime names none. */
  framework: string;
  /** The overlay it is attached to. */
  network: string;
  /** The node's underlay IP. */
  agentIp: string;
  /** The container's addresses on the overlay (no prefix). */
  containerIps: string[];
  ports: TaskPortJson[];
  runtime: TaskRuntime;
}

/** A task as a runtime reports it; the agent fills in its own IP. */
export type TaskReport = Omit<TaskRecordJson, 'agentIp'>;

/** Where the runtimes' adapters report the tasks of this node. */
export interface TaskSink {
  /** Adds or replaces one task. */
  upsert(task: TaskReport): void;
  /** Removes a task; false when there was none of that id. */
  remove(id: string): boolean;
  /** Replaces every task of one runtime (a resync, e.g. Docker's containers after a reconnect). */
  replace(runtime: TaskRuntime, tasks: TaskReport[]): void;
  /** This node's tasks. */
  list(): TaskRecordJson[];
}

export class TaskRecordError extends Error {
  override name = 'TaskRecordError';
}

const MAX_TEXT = 253;
const MAX_IPS = 16;
const MAX_PORTS = 64;

function text(v: Record<string, unknown>, field: string, where: string): string {
  const s = v[field];
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_TEXT) {
    throw new TaskRecordError(
      `${where}${field} ${quote(s)} must be a string of 1-${MAX_TEXT} characters`,
    );
  }
  return s;
}

function port(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new TaskRecordError(`${field} ${quote(v)} is not a port (1-65535)`);
  }
  return v;
}

function address(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new TaskRecordError(`${field} ${quote(v)} is not an IP address`);
  const p = prefixOf(v, v.includes(':') ? 6 : 4);
  if (!p || v.includes('/')) throw new TaskRecordError(`${field} ${quote(v)} is not an IP address`);
  return p.ip;
}

/** A task report (from a socket or the Docker watcher), checked: addresses canonical. */
export function parseTaskReport(v: unknown): TaskReport {
  if (!isObject(v)) throw new TaskRecordError(`task ${quote(v)} is not an object`);
  const id = text(v, 'id', 'task ');
  const where = `task ${quote(id)}: `;
  const runtime = v.runtime;
  if (runtime !== 'cni' && runtime !== 'docker') {
    throw new TaskRecordError(`${where}runtime ${quote(runtime)} must be "cni" or "docker"`);
  }
  if (!Array.isArray(v.containerIps) || v.containerIps.length > MAX_IPS) {
    throw new TaskRecordError(
      `${where}containerIps must be a list of at most ${MAX_IPS} addresses`,
    );
  }
  const ports = v.ports ?? [];
  if (!Array.isArray(ports) || ports.length > MAX_PORTS) {
    throw new TaskRecordError(`${where}ports must be a list of at most ${MAX_PORTS}`);
  }
  return {
    id,
    name: text(v, 'name', where),
    framework: text(v, 'framework', where),
    network: text(v, 'network', where),
    containerIps: v.containerIps.map((a, i) => address(a, `${where}containerIps[${i}]`)),
    ports: ports.map((p, i) => {
      const at = `${where}ports[${i}]`;
      if (!isObject(p)) throw new TaskRecordError(`${at} ${quote(p)} is not an object`);
      const protocol = p.protocol ?? 'tcp';
      if (protocol !== 'tcp' && protocol !== 'udp') {
        throw new TaskRecordError(`${at}.protocol ${quote(protocol)} must be "tcp" or "udp"`);
      }
      if (p.name !== undefined && (typeof p.name !== 'string' || p.name.length > 63)) {
        throw new TaskRecordError(
          `${at}.name ${quote(p.name)} must be a string of at most 63 characters`,
        );
      }
      return {
        ...(typeof p.name === 'string' && p.name !== '' && { name: p.name }),
        protocol,
        containerPort: port(p.containerPort, `${at}.containerPort`),
        ...(p.hostPort !== undefined && { hostPort: port(p.hostPort, `${at}.hostPort`) }),
      };
    }),
    runtime,
  };
}

/** A task record from the gossip group, checked; it must be published by the node it names. */
export function parseTaskRecord(v: unknown): TaskRecordJson {
  const report = parseTaskReport(v);
  const agentIp = isObject(v) && typeof v.agentIp === 'string' ? ip4(v.agentIp) : undefined;
  if (!agentIp) {
    throw new TaskRecordError(
      `task ${quote(report.id)}: agentIp ${quote(isObject(v) ? v.agentIp : v)} is not an IPv4 address`,
    );
  }
  return { ...report, agentIp: agentIp.text };
}
