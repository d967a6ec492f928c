// This node's tasks: what the CNI plugin and the Docker watcher report, kept in the data dir (a
// restarted agent publishes them again at once) and published in the gossip group, one record per
// task bound to the node's liveness, so that every node's navstar names them and they vanish with
// the node. An unchanged report publishes nothing.
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  parseTaskReport,
  type TaskRecordJson,
  type TaskReport,
  type TaskRuntime,
  type TaskSink,
  taskKey,
} from '../protocol/task-record.js';
import { JsonFile } from './json-file.js';

/** Where task records go: the node's own keys in the gossip store. */
export interface TaskPublisher {
  put(key: string, value: TaskRecordJson): void;
  delete(key: string): void;
}

export class TaskTable implements TaskSink {
  private readonly tasks = new Map<string, { record: TaskRecordJson; text: string }>();
  private readonly file: JsonFile;

  private constructor(
    private readonly agentIp: string,
    private readonly publisher: TaskPublisher,
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = new JsonFile(join(dataDir, 'tasks.json'), log, 'the task list');
  }

  /** The table as the data dir holds it, every task published again. */
  static async load(
    agentIp: string,
    publisher: TaskPublisher,
    dataDir: string,
    log: Logger,
  ): Promise<TaskTable> {
    const table = new TaskTable(agentIp, publisher, dataDir, log);
    const text = await table.file.read();
    if (text === undefined) return table;
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch (e) {
      throw new Error(`${table.file.path}: ${(e as Error).message}; remove it to start afresh`);
    }
    for (const t of Array.isArray(saved) ? saved : []) {
      try {
        table.set(parseTaskReport(t));
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'dropped a saved task that no longer parses');
      }
    }
    if (table.tasks.size > 0) log.info({ tasks: table.tasks.size }, 'published the saved tasks');
    return table;
  }

  upsert(report: TaskReport): void {
    if (this.set(report)) this.save();
  }

  remove(id: string): boolean {
    if (!this.unset(id)) return false;
    this.save();
    return true;
  }

  replace(runtime: TaskRuntime, reports: TaskReport[]): void {
    const keep = new Set(reports.map((r) => r.id));
    let changed = false;
    for (const { record } of [...this.tasks.values()]) {
      if (record.runtime === runtime && !keep.has(record.id))
        changed = this.unset(record.id) || changed;
    }
    for (const r of reports) changed = this.set({ ...r, runtime }) || changed;
    if (changed) this.save();
  }

  list(): TaskRecordJson[] {
    return [...this.tasks.values()].map((t) => t.record);
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Stores and publishes a task; false when it was already there as it is. */
  private set(report: TaskReport): boolean {
    const record: TaskRecordJson = { ...report, agentIp: this.agentIp };
    const text = JSON.stringify(record);
    if (this.tasks.get(record.id)?.text === text) return false;
    this.tasks.set(record.id, { record, text });
    this.publisher.put(taskKey(this.agentIp, record.id), record);
    this.log.info(
      { task: record.id, name: record.name, ips: record.containerIps },
      'task published',
    );
    return true;
  }

  private unset(id: string): boolean {
    if (!this.tasks.delete(id)) return false;
    this.publisher.delete(taskKey(this.agentIp, id));
    this.log.info({ task: id }, 'task withdrawn');
    return true;
  }

  private save(): void {
    this.file.save(this.list().map(({ agentIp: _own, ...report }) => report));
  }

  flushed(): Promise<void> {
    return this.file.flushed();
  }
}

/** `sink` with `onChange` called after every change a runtime reports (a resync included). */
export function notifying(sink: TaskSink, onChange: () => void): TaskSink {
  return {
    upsert: (t) => {
      sink.upsert(t);
      onChange();
    },
    remove: (id) => {
      const had = sink.remove(id);
      if (had) onChange();
      return had;
    },
    replace: (runtime, tasks) => {
      sink.replace(runtime, tasks);
      onChange();
    },
    list: () => sink.list(),
  };
}
