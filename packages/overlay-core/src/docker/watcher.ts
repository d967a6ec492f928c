// Task records from Docker: follows dockerd's event stream (containers: start, die, destroy;
// networks: connect, disconnect, create, destroy) and reports the containers attached to vnet
// networks to the agent's TaskSink. Every time the stream (re)opens — first start, a dockerd
// restart, a broken connection — the whole set is read again from the container list and
// replaces what was reported (nothing lost, nothing twice). Event handling and resyncs run one
// at a time, in arrival order, so a resync that read the list before a container died cannot
// bring its task back after the `die` was handled.
import type { Logger } from 'pino';
import { Backoff, type BackoffSettings } from '../agent/backoff.js';
import type { TaskReport, TaskSink } from '../protocol/task-record.js';
import type { DockerEngine, DockerEvent } from './engine.js';
import type { DockerMetrics } from './metrics.js';
import type { DockerNetworkSpec } from './networks.js';
import { containerTasks } from './tasks.js';

const EVENT_FILTERS = {
  type: ['container', 'network'],
  event: ['start', 'die', 'destroy', 'connect', 'disconnect', 'create'],
};

export interface WatcherOptions {
  engine: DockerEngine;
  sink: TaskSink;
  log: Logger;
  metrics: DockerMetrics;
  backoff: BackoffSettings;
  /** A full resync this often while connected (cheap insurance; unchanged sets cost nothing). */
  resyncIntervalMs: number;
  /** The stream (re)opened: dockerd may have restarted. */
  onConnect: () => void;
  /** A network of one of vnet's names was created or destroyed by someone. */
  onNetworkChange: (name: string) => void;
}

export class DockerWatcher {
  #networks = new Map<string, DockerNetworkSpec>();
  /** What was reported, by container id: its tasks. */
  #reported = new Map<string, TaskReport[]>();
  #synced = false;
  #connected = false;
  #queue: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #lastError: string | undefined;

  constructor(private readonly o: WatcherOptions) {}

  get connected(): boolean {
    return this.#connected;
  }

  /** Number of tasks reported. */
  get taskCount(): number {
    let n = 0;
    for (const t of this.#reported.values()) n += t.length;
    return n;
  }

  /** The vnet networks whose containers are tasks; a change resyncs. */
  setNetworks(specs: readonly DockerNetworkSpec[]): void {
    const next = new Map(specs.map((s) => [s.name, s]));
    const same =
      next.size === this.#networks.size &&
      [...next].every(([k, v]) => JSON.stringify(this.#networks.get(k)) === JSON.stringify(v));
    this.#networks = next;
    if (!same && this.#connected) this.#enqueue(() => this.#resync('networks'));
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    await this.#queue;
  }

  async #run(): Promise<void> {
    const backoff = new Backoff(this.o.backoff);
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.o.engine.events(
          EVENT_FILTERS,
          () => {
            this.#connected = true;
            this.#lastError = undefined;
            this.o.metrics.connected.set(1);
            backoff.reset();
            this.o.log.info('docker: following the event stream');
            this.#enqueue(() => this.#resync(this.#synced ? 'reconnect' : 'start'));
            this.#schedulePeriodic();
            this.o.onConnect();
          },
          (e) => this.#onEvent(e),
          signal,
        );
        if (!signal.aborted) this.o.log.warn('docker: the event stream ended (dockerd stopped?)');
      } catch (e) {
        this.o.metrics.errors.inc({ op: 'events' });
        // Said once per outage (a node without dockerd would repeat it forever), then at debug.
        const message = (e as Error).message;
        const level = message === this.#lastError ? 'debug' : 'warn';
        this.#lastError = message;
        this.o.log[level]({ err: message }, 'docker: no event stream (retrying)');
      }
      this.#connected = false;
      this.o.metrics.connected.set(0);
      clearTimeout(this.#timer);
      if (signal.aborted) break;
      // Tasks stay as reported while dockerd is away (live-restored containers keep running);
      // the resync on reconnection corrects them.
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, backoff.next());
      });
    }
  }

  #schedulePeriodic(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#connected) return;
      this.#enqueue(() => this.#resync('periodic'));
      this.#schedulePeriodic();
    }, this.o.resyncIntervalMs);
    this.#timer.unref();
  }

  #onEvent(e: DockerEvent): void {
    const id = e.Actor?.ID;
    const attrs = e.Actor?.Attributes ?? {};
    if (e.Type === 'container' && id) {
      if (e.Action === 'start') this.#enqueue(() => this.#update(id));
      else if (e.Action === 'die' || e.Action === 'destroy')
        this.#enqueue(async () => this.#drop(id));
    } else if (e.Type === 'network') {
      const name = attrs.name;
      if (e.Action === 'connect' || e.Action === 'disconnect') {
        const container = attrs.container;
        if (container && name && this.#networks.has(name))
          this.#enqueue(() => this.#update(container));
      } else if (
        (e.Action === 'create' || e.Action === 'destroy') &&
        name &&
        this.#networks.has(name)
      ) {
        this.o.onNetworkChange(name);
      }
    }
  }

  #enqueue(fn: () => Promise<void>): void {
    this.#queue = this.#queue.then(fn).catch((e: Error) => {
      this.o.metrics.errors.inc({ op: 'tasks' });
      this.o.log.warn({ err: e.message }, 'docker: task update failed (resynced on reconnection)');
    });
  }

  #containerTasks(v: unknown): TaskReport[] {
    return containerTasks(v, this.#networks, (m) => this.o.log.warn(`docker: ${m}`));
  }

  /** One container again, from the list (the same fields a resync reads). */
  async #update(id: string): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ id: [id] }));
    const list = await this.o.engine.call('GET', `/containers/json?filters=${filters}`);
    const entry = (Array.isArray(list) ? list : []).find((c) => c?.Id === id);
    const tasks = entry ? this.#containerTasks(entry) : [];
    const before = this.#reported.get(id) ?? [];
    for (const t of before) {
      if (!tasks.some((n) => n.id === t.id)) this.o.sink.remove(t.id);
    }
    for (const t of tasks) {
      const old = before.find((b) => b.id === t.id);
      if (!old || JSON.stringify(old) !== JSON.stringify(t)) this.o.sink.upsert(t);
    }
    if (tasks.length) this.#reported.set(id, tasks);
    else this.#reported.delete(id);
    this.o.metrics.tasks.set(this.taskCount);
  }

  /** A container stopped or went away: its tasks go at once. */
  #drop(id: string): void {
    for (const t of this.#reported.get(id) ?? []) this.o.sink.remove(t.id);
    this.#reported.delete(id);
    this.o.metrics.tasks.set(this.taskCount);
  }

  async #resync(reason: string): Promise<void> {
    const list = await this.o.engine.call('GET', '/containers/json');
    const next = new Map<string, TaskReport[]>();
    for (const c of Array.isArray(list) ? list : []) {
      const tasks = this.#containerTasks(c);
      if (tasks.length) next.set((c as { Id: string }).Id, tasks);
    }
    const flat = (m: Map<string, TaskReport[]>) =>
      JSON.stringify([...m.values()].flat().sort((a, b) => (a.id < b.id ? -1 : 1)));
    if (!this.#synced || flat(next) !== flat(this.#reported)) {
      this.o.sink.replace('docker', [...next.values()].flat());
      this.o.metrics.resyncs.inc({ reason });
      this.o.log.info(
        { reason, tasks: [...next.values()].flat().length },
        'docker: tasks resynced',
      );
    }
    this.#reported = next;
    this.#synced = true;
    this.o.metrics.tasks.set(this.taskCount);
  }
}
