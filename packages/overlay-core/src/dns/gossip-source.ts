// navstar's record source over the gossip store: every node's task records (`task/<agent>/<id>`,
// see protocol/task-record.ts) become navstar task records, named cluster-wide by their key. A
// record its owner deleted (the task stopped) goes at once; one that vanished because its node
// died or left is kept for the same grace as that node's routes, so a flap does not empty DNS.
// A record that is malformed, or published by another node than the one it names, is ignored.
import type { RecordSource, SourceEvent, TaskRecord } from '@vnet/navstar';
import type { StoreEntry, StoreEvent, Subscription } from '@vnet/swim';
import type { Logger } from 'pino';
import { quote } from '../input.js';
import { parseTaskRecord, TASK_PREFIX, type TaskRecordJson } from '../protocol/task-record.js';

export interface GossipTaskSourceOptions {
  /** The gossip store (subscribe delivers a snapshot first, then changes). */
  store: { subscribe(prefix: string, listener: (ev: StoreEvent) => void): Subscription };
  /** Whether the member of that name (an agent's underlay IP) is alive now. */
  alive(member: string): boolean;
  /** How long the records of a node that is gone still answer. */
  graceMs: number;
  /** The masters' IPs (`master.dcos`) until the masters say (see `setMasters`). */
  masters: string[];
  log: Logger;
  /** Called for every record ignored as malformed or misattributed. */
  onRejected?: () => void;
}

/** The navstar record of a task record, or undefined (with the reason logged) when unusable. */
function toNavstar(entry: StoreEntry, opts: GossipTaskSourceOptions): TaskRecord | undefined {
  const name = entry.key.slice(TASK_PREFIX.length);
  const agent = name.slice(0, name.indexOf('/'));
  let r: TaskRecordJson;
  try {
    r = parseTaskRecord(entry.value);
  } catch (e) {
    opts.log.warn({ key: quote(entry.key), err: (e as Error).message }, 'ignored a task record');
    opts.onRejected?.();
    return undefined;
  }
  if (r.agentIp !== agent || entry.owner !== agent || name !== `${agent}/${r.id}`) {
    opts.log.warn(
      { key: quote(entry.key), owner: entry.owner },
      'ignored a task record not published by the node it names',
    );
    opts.onRejected?.();
    return undefined;
  }
  return {
    id: name,
    name: r.name,
    framework: r.framework,
    agentIp: r.agentIp,
    containerIps: r.containerIps,
    ports: r.ports,
  };
}

export class GossipTaskSource implements RecordSource {
  private masters: string[];
  private leader: string | null = null;
  private readonly subscribers = new Set<(event: SourceEvent) => void>();

  constructor(private readonly opts: GossipTaskSourceOptions) {
    this.masters = opts.masters;
  }

  /** The masters and the leader as the masters say (`master.dcos`, `leader.dcos`). */
  setMasters(masters: string[], leader: string | null): void {
    this.masters = masters;
    this.leader = leader;
    for (const s of this.subscribers) {
      s({ type: 'masters', ips: masters });
      s({ type: 'leader', ip: leader });
    }
  }

  subscribe(onEvent: (event: SourceEvent) => void): () => void {
    const opts = this.opts;
    /** Task ids (keys without the prefix) navstar holds. */
    const held = new Set<string>();
    const leaving = new Map<string, NodeJS.Timeout>();
    const keep = (id: string) => {
      clearTimeout(leaving.get(id));
      leaving.delete(id);
    };
    const drop = (id: string) => {
      keep(id);
      if (held.delete(id)) onEvent({ type: 'remove', id });
    };
    const sub = opts.store.subscribe(TASK_PREFIX, (ev) => {
      if (ev.type === 'snapshot') {
        const tasks = ev.entries.flatMap((e) => toNavstar(e, opts) ?? []);
        for (const id of leaving.keys()) keep(id);
        held.clear();
        for (const t of tasks) held.add(t.id);
        onEvent({ type: 'snapshot', tasks, masters: this.masters, leader: this.leader });
      } else if (ev.type === 'put') {
        const task = toNavstar(ev.entry, opts);
        const id = ev.entry.key.slice(TASK_PREFIX.length);
        if (!task) return drop(id);
        keep(id);
        held.add(id);
        onEvent({ type: 'upsert', task });
      } else {
        const id = ev.key.slice(TASK_PREFIX.length);
        if (!held.has(id) || leaving.has(id)) return;
        const owner = ev.previous.owner;
        // Deleted by its owner: the task stopped. Gone with its owner (the node died or left, or
        // its agent restarted and is about to publish it again): kept a while.
        if (ev.ownerGone || (owner !== null && !opts.alive(owner))) {
          leaving.set(
            id,
            setTimeout(() => drop(id), opts.graceMs),
          );
        } else drop(id);
      }
    });
    this.subscribers.add(onEvent);
    return () => {
      this.subscribers.delete(onEvent);
      sub.close();
      for (const t of leaving.values()) clearTimeout(t);
      leaving.clear();
    };
  }
}
