// The Docker integration's test inputs: a node allocation from text, an in-memory TaskSink that
// keeps what it was told, and a wait-until for tests against a real dockerd.
import type { NodeAllocation } from '../../src/protocol/node-allocation.js';
import type {
  TaskRecordJson,
  TaskReport,
  TaskRuntime,
  TaskSink,
} from '../../src/protocol/task-record.js';
import { share } from './dataplane-fixtures.js';

/** A node's allocation holding these overlays (what desiredDocker reads of it). */
export function allocation(
  overlays: Parameters<typeof share>[0][],
  overlayMtu = 1420,
): NodeAllocation {
  return {
    ip: '192.168.0.1',
    index: 1,
    overlays: overlays.map(share),
    overlayMtu,
    message: {} as NodeAllocation['message'],
  };
}

/** DC/OS's default overlay with the node's block 9.0.1.0/24 (Docker half 9.0.1.128/25). */
export const DCOS = { name: 'dcos', net4: '9.0.0.0/8', block4: '9.0.1.0/24' };
/** A dual-stack overlay (Docker halves 10.1.2.128/25 and fd01:b::1:8000:0:0/81). */
export const DUAL = {
  name: 'dual',
  net4: '10.1.0.0/16',
  block4: '10.1.2.0/24',
  net6: 'fd01:b::/64',
  block6: 'fd01:b::1:0:0:0/80',
};

/** A TaskSink that keeps the tasks and a log of the calls. */
export class MemorySink implements TaskSink {
  readonly tasks = new Map<string, TaskReport>();
  readonly calls: string[] = [];

  upsert(task: TaskReport): void {
    this.calls.push(`upsert ${task.id}`);
    this.tasks.set(task.id, task);
  }

  remove(id: string): boolean {
    this.calls.push(`remove ${id}`);
    return this.tasks.delete(id);
  }

  replace(runtime: TaskRuntime, tasks: TaskReport[]): void {
    this.calls.push(`replace ${runtime} ${tasks.map((t) => t.id).join(',')}`);
    for (const [id, t] of this.tasks) if (t.runtime === runtime) this.tasks.delete(id);
    for (const t of tasks) this.tasks.set(t.id, t);
  }

  list(): TaskRecordJson[] {
    return [...this.tasks.values()].map((t) => ({ ...t, agentIp: '192.168.0.1' }));
  }
}

/** Polls `check` until it returns a value (not undefined/false); fails with `what` after `ms`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
  );
}
