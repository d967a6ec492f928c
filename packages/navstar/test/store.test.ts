import { mulberry32, testSeed } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { ManualSource } from '../src/source.js';
import { RecordStore } from '../src/store.js';
import { keyToName } from '../src/wire/name.js';
import type { NameEntry, ZoneDelta } from '../src/zone/entry.js';
import { applyDelta } from '../src/zone/entry.js';
import type { TaskRecord } from '../src/zone/records.js';
import { int, pick } from './helpers/random.js';

const web1: TaskRecord = {
  id: 'web.1',
  name: '/prod/web',
  framework: 'marathon',
  agentIp: '10.0.0.1',
  containerIps: ['9.0.1.2', 'fd01:b::2'],
  ports: [{ name: 'http', containerPort: 80 }],
};
const web2: TaskRecord = {
  id: 'web.2',
  name: '/prod/web',
  framework: 'marathon',
  agentIp: '10.0.0.2',
  containerIps: ['9.0.2.2'],
  ports: [{ name: 'http', containerPort: 80, hostPort: 31000 }],
};

t.test('agentip, containerip and autoip in both zones', async (t) => {
  const s = new RecordStore();
  s.upsertTask(web1);
  for (const zone of ['dcos', 'dcos.thisdcos.directory']) {
    t.same(s.lookup(`web-prod.marathon.agentip.${zone}`).a, ['10.0.0.1']);
    t.same(s.lookup(`web-prod.marathon.containerip.${zone}`).a, ['9.0.1.2']);
    t.same(s.lookup(`web-prod.marathon.containerip.${zone}`).aaaa, ['fd01:b::2']);
    t.same(
      s.lookup(`web-prod.marathon.autoip.${zone}`).a,
      ['9.0.1.2'],
      'no host port: the container IP',
    );
  }
  s.upsertTask(web2);
  t.same(s.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.1', '10.0.0.2'], 'every instance');
  t.same(s.lookup('web-prod.marathon.containerip.dcos').a, ['9.0.1.2', '9.0.2.2']);
  t.same(
    s.lookup('web-prod.marathon.autoip.dcos').a,
    ['9.0.1.2', '10.0.0.2'],
    'host port mapped: the agent IP',
  );
  t.same(s.lookup('WEB-PROD.Marathon.AUTOIP.dcos.').a, ['9.0.1.2', '10.0.0.2'], 'case-insensitive');
});

t.test('host networking: containerip and autoip are the agent', async (t) => {
  const s = new RecordStore();
  s.upsertTask({ id: 'h.1', name: 'h', framework: 'marathon', agentIp: '10.0.0.9' });
  t.same(s.lookup('h.marathon.containerip.dcos').a, ['10.0.0.9']);
  t.same(s.lookup('h.marathon.autoip.dcos').a, ['10.0.0.9']);
});

t.test('SRV for ports, with named ports and per-instance targets', async (t) => {
  const s = new RecordStore();
  s.upsertTask(web1);
  s.upsertTask(web2);
  const srv = s.lookup('_web-prod._tcp.marathon.dcos').srv;
  t.same(srv, [
    { port: 80, target: 'web-1.web-prod.marathon.containerip.dcos' },
    { port: 31000, target: 'web-2.web-prod.marathon.agentip.dcos' },
  ]);
  t.same(
    s.lookup('_http._web-prod._tcp.marathon.dcos.thisdcos.directory').srv.length,
    2,
    'named port form',
  );
  t.same(
    s.lookup('web-1.web-prod.marathon.containerip.dcos').a,
    ['9.0.1.2'],
    'targets resolve to one instance',
  );
  t.same(s.lookup('web-2.web-prod.marathon.agentip.dcos').a, ['10.0.0.2']);
  t.equal(s.lookup('_web-prod._udp.marathon.dcos').status, 'NXDOMAIN', 'no udp port');
});

t.test('empty non-terminals, NXDOMAIN, NOTAUTH', async (t) => {
  const s = new RecordStore();
  s.upsertTask(web1);
  for (const n of [
    'marathon.agentip.dcos',
    'agentip.dcos',
    'marathon.dcos',
    '_tcp.marathon.dcos',
    'dcos',
  ]) {
    t.equal(s.lookup(n).status, 'NOERROR', `${n} exists without records`);
  }
  t.equal(s.lookup('other.marathon.agentip.dcos').status, 'NXDOMAIN');
  t.equal(s.lookup('kafka.agentip.dcos').status, 'NXDOMAIN');
  t.equal(s.lookup('example.com').status, 'NOTAUTH');
  t.equal(s.lookup('thisdcos.directory').status, 'NOTAUTH', 'the parent of a zone is not ours');
});

t.test('removing the last task leaves only the zone apexes', async (t) => {
  const s = new RecordStore();
  const apexOnly = [...s.table.keys()].sort();
  s.upsertTask(web1);
  s.upsertTask(web2);
  t.ok(s.table.size > apexOnly.length);
  t.equal(s.removeTask('web.1'), true);
  t.same(s.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.2']);
  t.equal(s.removeTask('web.2'), true);
  t.equal(s.removeTask('web.2'), false, 'unknown id');
  t.same([...s.table.keys()].sort(), apexOnly, 'no empty non-terminal left behind');
  t.equal(s.taskCount, 0);
});

t.test('masters and leader', async (t) => {
  const s = new RecordStore();
  s.setMasters(['10.0.0.11', '10.0.0.12', '10.0.0.11']);
  s.setLeader('10.0.0.12');
  t.same(s.lookup('master.dcos').a, ['10.0.0.11', '10.0.0.12'], 'de-duplicated');
  t.same(s.lookup('leader.dcos.thisdcos.directory').a, ['10.0.0.12']);
  s.setLeader(null);
  t.equal(s.lookup('leader.dcos').status, 'NXDOMAIN', 'no leader, no name');
  t.throws(() => s.setMasters(['10.0.0.1', 'x']), /masters\[1\]: "x"/);
  t.throws(() => s.setLeader('nope'), /leader: "nope"/);
});

t.test('names too long for DNS are refused with the task named', async (t) => {
  const s = new RecordStore({ zones: [`${'z'.repeat(60)}.${'y'.repeat(60)}`] });
  t.throws(
    () =>
      s.upsertTask({
        id: 'x'.repeat(63),
        name: 'n'.repeat(63),
        framework: 'f'.repeat(63),
        agentIp: '10.0.0.1',
        ports: [{ containerPort: 1 }],
      }),
    /task "x{63}": name ".*" is longer than 255 bytes/,
  );
  t.equal(s.taskCount, 0, 'nothing half-applied');
});

t.test('dump is zone-file text', async (t) => {
  const s = new RecordStore({ serial: 7, zones: ['dcos'] });
  s.upsertTask({
    id: 'a.1',
    name: 'a',
    framework: 'marathon',
    agentIp: '10.0.0.1',
    containerIps: ['9.0.0.1'],
  });
  t.same(s.dump(), [
    'dcos. 5 IN SOA ns.spartan. support.mesosphere.com. 8 60 180 86400 1',
    'dcos. 3600 IN NS ns.spartan.',
    'a.marathon.agentip.dcos. 5 IN A 10.0.0.1',
    'a.marathon.autoip.dcos. 5 IN A 9.0.0.1',
    'a.marathon.containerip.dcos. 5 IN A 9.0.0.1',
  ]);
});

t.test('changes batch per microtask and reach listeners as deltas', async (t) => {
  const s = new RecordStore();
  const deltas: ZoneDelta[] = [];
  s.onDelta((d) => deltas.push(d));
  s.upsertTask(web1);
  s.upsertTask(web2);
  t.equal(deltas.length, 0, 'nothing before the microtask');
  await Promise.resolve();
  t.equal(deltas.length, 1, 'one batch');
  t.ok(deltas[0].zones, 'the batch carries the new SOA');
  const serial = s.serial;
  s.upsertTask(web1); // identical
  s.flush();
  t.equal(deltas.length, 1, 'an unchanged record sends nothing');
  t.equal(s.serial, serial, 'and keeps the serial');
  s.replaceAll({ tasks: [web1, web2] });
  s.flush();
  t.equal(deltas.length, 1, 'nor does a snapshot of the same state');
  s.upsertTask({ ...web1, agentIp: '10.0.0.9' });
  s.flush();
  t.equal(deltas.length, 2);
  t.equal(s.serial, serial + 1, 'a real change bumps the serial');
  t.ok(deltas[1].set.length < 12, `only the touched names are sent (${deltas[1].set.length})`);
});

function sameTable(
  t: Test,
  a: ReadonlyMap<string, NameEntry>,
  b: ReadonlyMap<string, NameEntry>,
  what: string,
): boolean {
  const ka = [...a.keys()].sort();
  const kb = [...b.keys()].sort();
  if (ka.join('|') !== kb.join('|')) {
    const extra = ka.filter((k) => !b.has(k)).map(keyToName);
    const missing = kb.filter((k) => !a.has(k)).map(keyToName);
    t.fail(`${what}: names differ; extra ${extra.join(',')} missing ${missing.join(',')}`);
    return false;
  }
  for (const k of ka) {
    const x = a.get(k) as NameEntry;
    const y = b.get(k) as NameEntry;
    for (const f of ['a', 'aaaa', 'srv', 'any', 'ns'] as const) {
      const bx = x[f] ? Buffer.from(x[f]) : null;
      const by = y[f] ? Buffer.from(y[f]) : null;
      if ((bx === null) !== (by === null) || (bx && by && !bx.equals(by))) {
        t.fail(`${what}: ${keyToName(k)} differs in ${f}`);
        return false;
      }
    }
  }
  return true;
}

t.test(
  'property: deltas keep a copy equal to the table, and the table is a function of the state',
  async (t) => {
    const seed = testSeed();
    t.comment(`seed ${seed} (VNET_SEED=${seed} to replay)`);
    const r = mulberry32(seed);
    const s = new RecordStore({ serial: 1 });
    const copy = new Map(s.table);
    s.onDelta((d) => applyDelta(copy, d));
    const ips = ['10.0.0.1', '10.0.0.2', '9.0.0.1', '9.0.0.2', 'fd01::1', 'fd01::2'];
    const randomTask = (): TaskRecord => ({
      id: `id${int(r, 12)}`,
      name: pick(r, ['/a/web', 'web.a', 'db', 'cache', '/x/y/z']),
      framework: pick(r, ['marathon', 'kafka']),
      agentIp: pick(r, ips.slice(0, 2)),
      containerIps: ips.filter(() => r() < 0.3),
      ports:
        r() < 0.5
          ? []
          : [
              {
                name: r() < 0.5 ? 'http' : undefined,
                protocol: pick(r, ['tcp', 'udp'] as const),
                containerPort: 80,
                hostPort: r() < 0.5 ? 31000 + int(r, 3) : undefined,
              },
            ],
    });
    for (let round = 0; round < 300; round++) {
      const ops = 1 + int(r, 5);
      for (let i = 0; i < ops; i++) {
        const x = r();
        if (x < 0.55) s.upsertTask(randomTask());
        else if (x < 0.85) s.removeTask(`id${int(r, 12)}`);
        else if (x < 0.9) s.setMasters(ips.filter(() => r() < 0.4).slice(0, 3));
        else if (x < 0.95) s.setLeader(r() < 0.3 ? null : pick(r, ips));
        else
          s.replaceAll({
            tasks: Array.from({ length: int(r, 6) }, randomTask),
            masters: [pick(r, ips)],
            leader: null,
          });
      }
      s.flush();
      if (!sameTable(t, copy, s.table, `round ${round} (seed ${seed}): copy`)) return;
      const fresh = new RecordStore({ serial: 1 });
      fresh.replaceAll({ tasks: s.tasks(), masters: s.masters, leader: s.leader });
      if (!sameTable(t, fresh.table, s.table, `round ${round} (seed ${seed}): rebuilt`)) return;
    }
    t.pass('300 rounds');
  },
);

t.test('a source: snapshot, then changes; bad input reported, never fatal', async (t) => {
  const s = new RecordStore();
  const src = new ManualSource();
  src.upsertTask(web1);
  src.setMasters(['10.0.0.11']);
  const errors: string[] = [];
  const detach = s.attach(src, (e) => errors.push(e.message));
  t.same(s.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.1'], 'snapshot applied on attach');
  t.same(s.lookup('master.dcos').a, ['10.0.0.11']);
  src.upsertTask(web2);
  src.setLeader('10.0.0.11');
  t.same(s.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.1', '10.0.0.2'], 'changes follow');
  src.upsertTask({ ...web1, id: 'bad', agentIp: 'nope' });
  t.match(errors[0], /task "bad": agentIp/, 'a bad record is reported');
  t.equal(s.sourceStatus().errors, 1);
  src.reset({ tasks: [web2], masters: [] });
  t.same(
    s.lookup('web-prod.marathon.agentip.dcos').a,
    ['10.0.0.2'],
    'a new snapshot replaces everything',
  );
  t.equal(s.lookup('master.dcos').status, 'NXDOMAIN');
  t.throws(() => s.attach(new ManualSource()), /already attached/);
  detach();
  src.upsertTask(web1);
  t.same(s.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.2'], 'nothing after detach');
  t.same(s.sourceStatus().attached, false);
  // A source that sends changes before a snapshot is a protocol error.
  const s2 = new RecordStore();
  const errs2: string[] = [];
  s2.attach(
    {
      subscribe: (on) => {
        on({ type: 'upsert', task: web1 });
        on({ type: 'snapshot', tasks: [web2] });
        return () => {};
      },
    },
    (e) => errs2.push(e.message),
  );
  t.match(errs2[0], /sent "upsert" before its snapshot/);
  t.same(s2.lookup('web-prod.marathon.agentip.dcos').a, ['10.0.0.2']);
});
