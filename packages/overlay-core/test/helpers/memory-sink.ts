// An in-memory TaskSink for the CNI tests (the agent's task table stands behind it in a node).
import type {
  TaskRecordJson,
  TaskReport,
  TaskRuntime,
  TaskSink,
} from '../../src/protocol/task-record.js';

export class MemorySink implements TaskSink {
  readonly tasks = new Map<string, TaskReport>();
  constructor(readonly agentIp = '10.0.0.1') {}
  upsert(task: TaskReport): void {
    this.tasks.set(task.id, task);
  }
  remove(id: string): boolean {
    return this.tasks.delete(id);
  }
  replace(runtime: TaskRuntime, tasks: TaskReport[]): void {
    for (const [id, t] of this.tasks) if (t.runtime === runtime) this.tasks.delete(id);
    for (const t of tasks) this.tasks.set(t.id, t);
  }
  list(): TaskRecordJson[] {
    return [...this.tasks.values()].map((t) => ({ ...t, agentIp: this.agentIp }));
  }
}
