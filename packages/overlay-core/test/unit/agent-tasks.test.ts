// This node's task table (persistence, publishing only what changed, a runtime's resync) and the
// DNS record source over the gossip store (owner deletes at once, a dead node's records after the
// grace, malformed and misattributed records ignored).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceEvent } from '@vnet/navstar';
import type { StoreEntry, StoreEvent } from '@vnet/swim';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { type TaskPublisher, TaskTable } from '../../src/agent/tasks.js';
import { GossipTaskSource } from '../../src/dns/gossip-source.js';
import { nameservers } from '../../src/dns/resolv-conf.js';
import {
  parseTaskReport,
  type TaskRecordJson,
  type TaskReport,
  taskKey,
} from '../../src/protocol/task-record.js';

const log = pino({ level: 'silent' });

const report = (id: string, extra: Partial<TaskReport> = {}): TaskReport => ({
  id,
  name: 'web',
  framework: 'marathon',
  network: 'dcos',
  containerIps: ['9.0.1.2'],
  ports: [{ protocol: 'tcp', containerPort: 80 }],
  runtime: 'cni',
  ...extra,
});

class Recorder implements TaskPublisher {
  readonly ops: string[] = [];
  put(key: string, value: TaskRecordJson): void {
    this.ops.push(`put ${key} ${value.containerIps.join(',')}`);
  }
  delete(key: string): void {
    this.ops.push(`delete ${key}`);
  }
}

const tempDir = (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-tasks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('task reports: checked, addresses canonical, clear errors', async (t) => {
  const r = parseTaskReport({
    ...report('a'),
    containerIps: ['fd01:b:0:0::2'],
    ports: [{ containerPort: 53, protocol: 'udp', hostPort: 5353, name: 'dns' }],
  });
  t.same(r.containerIps, ['fd01:b::2']);
  t.same(r.ports, [{ name: 'dns', protocol: 'udp', containerPort: 53, hostPort: 5353 }]);
  t.same(parseTaskReport({ ...report('b'), ports: undefined }).ports, [], 'ports are optional');
  const bad: [unknown, RegExp][] = [
    [null, /task null is not an object/],
    [{ ...report('c'), runtime: 'rkt' }, /task "c": runtime "rkt" must be "cni" or "docker"/],
    [
      { ...report('d'), containerIps: ['9.0.1.2/25'] },
      /containerIps\[0\] "9.0.1.2\/25" is not an IP/,
    ],
    [{ ...report('e'), ports: [{ containerPort: 0 }] }, /ports\[0\].containerPort 0 is not a port/],
    [
      { ...report('f'), name: 'x'.repeat(100_000) },
      /name "x{64}"… \(100000 characters\) must be a string/,
    ],
    [{ ...report('g'), containerIps: Array(17).fill('9.0.1.2') }, /at most 16 addresses/],
  ];
  for (const [input, msg] of bad) t.throws(() => parseTaskReport(input), msg);
});

t.test('the table publishes what changed, keeps it on disk, and resyncs a runtime', async (t) => {
  const dir = tempDir(t);
  const pub = new Recorder();
  const table = await TaskTable.load('10.0.0.1', pub, dir, log);
  table.upsert(report('cni-1'));
  table.upsert(report('cni-1'));
  t.same(pub.ops, ['put task/10.0.0.1/cni-1 9.0.1.2'], 'the same report publishes once');
  table.upsert(report('cni-1', { containerIps: ['9.0.1.3'] }));
  table.upsert(report('docker-a', { runtime: 'docker', containerIps: ['9.0.1.130'] }));
  table.upsert(report('docker-b', { runtime: 'docker', containerIps: ['9.0.1.131'] }));
  pub.ops.length = 0;
  table.replace('docker', [report('docker-b', { runtime: 'docker', containerIps: ['9.0.1.131'] })]);
  t.same(pub.ops, ['delete task/10.0.0.1/docker-a'], "a resync drops that runtime's others only");
  t.equal(table.remove('cni-1'), true);
  t.equal(table.remove('cni-1'), false, 'removing an unknown task says so');
  t.same(
    table.list().map((r) => [r.id, r.agentIp]),
    [['docker-b', '10.0.0.1']],
  );
  await table.flushed();
  const saved = JSON.parse(readFileSync(join(dir, 'tasks.json'), 'utf8'));
  t.same(
    saved.map((s: TaskReport) => s.id),
    ['docker-b'],
    'saved without the agent IP',
  );

  const again = new Recorder();
  const restarted = await TaskTable.load('10.0.0.1', again, dir, log);
  t.same(
    again.ops,
    ['put task/10.0.0.1/docker-b 9.0.1.131'],
    'a restart publishes the saved tasks',
  );
  restarted.upsert(report('docker-b', { runtime: 'docker', containerIps: ['9.0.1.131'] }));
  t.equal(again.ops.length, 1, 'and a runtime reporting them again publishes nothing twice');
});

t.test('a saved task list that no longer parses', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'tasks.json'), JSON.stringify([report('ok'), { id: 'bad' }]));
  const pub = new Recorder();
  const table = await TaskTable.load('10.0.0.1', pub, dir, log);
  t.same(
    table.list().map((r) => r.id),
    ['ok'],
    'a broken entry is dropped, the rest kept',
  );
  writeFileSync(join(dir, 'tasks.json'), '{not json');
  await t.rejects(TaskTable.load('10.0.0.1', pub, dir, log), /tasks\.json: .*remove it/);
});

t.test('resolv.conf nameservers', async (t) => {
  t.same(
    nameservers('# c\nsearch x\nnameserver 10.0.0.2\n  nameserver fe80::1%eth0\nnameserver\n'),
    ['10.0.0.2', 'fe80::1'],
  );
});

/** A scripted gossip store: a snapshot on subscribe, then what the test emits. */
class FakeStore {
  listener: ((ev: StoreEvent) => void) | undefined;
  constructor(private readonly initial: StoreEntry[]) {}
  subscribe(_prefix: string, listener: (ev: StoreEvent) => void) {
    this.listener = listener;
    listener({ type: 'snapshot', entries: this.initial });
    return { close: () => (this.listener = undefined) };
  }
  put(entry: StoreEntry) {
    this.listener?.({ type: 'put', entry });
  }
  delete(previous: StoreEntry, ownerGone = false) {
    this.listener?.({ type: 'delete', key: previous.key, previous, ownerGone });
  }
}

const entry = (agent: string, r: TaskReport, owner: string | null = agent): StoreEntry => ({
  key: taskKey(agent, r.id),
  kind: 'register',
  value: { ...r, agentIp: agent },
  owner,
});

t.test(
  'the DNS source: deletes by a live owner at once, a dead node after its grace',
  async (t) => {
    const alive = new Set(['10.0.0.1', '10.0.0.2']);
    let rejected = 0;
    const store = new FakeStore([entry('10.0.0.1', report('a'))]);
    const events: SourceEvent[] = [];
    const stop = new GossipTaskSource({
      store,
      alive: (m) => alive.has(m),
      graceMs: 100,
      masters: ['10.0.0.9'],
      log,
      onRejected: () => rejected++,
    }).subscribe((e) => events.push(e));
    t.teardown(stop);
    t.match(events[0], { type: 'snapshot', masters: ['10.0.0.9'], tasks: [{ id: '10.0.0.1/a' }] });

    const b = entry('10.0.0.2', report('b', { containerIps: ['9.0.2.2'] }));
    store.put(b);
    t.match(events.at(-1), { type: 'upsert', task: { id: '10.0.0.2/b', agentIp: '10.0.0.2' } });
    store.delete(b);
    t.same(events.at(-1), { type: 'remove', id: '10.0.0.2/b' }, 'the task stopped: gone at once');

    alive.delete('10.0.0.1');
    const n = events.length;
    store.delete(entry('10.0.0.1', report('a')));
    t.equal(events.length, n, "a dead node's task still answers during the grace");
    await new Promise((r) => setTimeout(r, 150));
    t.same(events.at(-1), { type: 'remove', id: '10.0.0.1/a' }, 'and goes after it');

    const c = entry('10.0.0.2', report('c'));
    store.put(c);
    alive.delete('10.0.0.2');
    store.delete(c);
    store.put(c);
    await new Promise((r) => setTimeout(r, 150));
    t.match(
      events.at(-1),
      { type: 'upsert', task: { id: '10.0.0.2/c' } },
      'back within the grace: kept',
    );

    store.put({ ...entry('10.0.0.2', report('x')), value: { id: 'x' } });
    store.put(entry('10.0.0.2', report('y'), '10.0.0.66'));
    store.put({
      ...entry('10.0.0.2', report('z')),
      value: { ...report('z'), agentIp: '10.0.0.3' },
    });
    t.equal(rejected, 3, 'malformed, written by another member, naming another agent: ignored');
    t.notOk(
      events.some((e) => e.type === 'upsert' && /\/[xyz]$/.test(e.task.id)),
      'none reached navstar',
    );
  },
);
