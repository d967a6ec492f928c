// A running server queried with the real dig over UDP and TCP, on both UDP engines.
import t from 'tap';
import { prometheusRegistry } from '../src/prometheus.js';
import { NavstarServer } from '../src/server/server.js';
import { RecordStore } from '../src/store.js';
import { parseMessage } from '../src/wire/message.js';
import { answers, dig } from './helpers/dig.js';
import { buildQuery, tcpExchange, udpExchange } from './helpers/packets.js';

function fill(store: RecordStore): void {
  store.upsertTask({
    id: 'web.1',
    name: '/prod/web',
    framework: 'marathon',
    agentIp: '10.0.0.1',
    containerIps: ['9.0.1.2', 'fd01:b::2'],
    ports: [{ name: 'http', containerPort: 80 }],
  });
  store.upsertTask({
    id: 'web.2',
    name: '/prod/web',
    framework: 'marathon',
    agentIp: '10.0.0.2',
    containerIps: ['9.0.2.2'],
    ports: [{ name: 'http', containerPort: 80, hostPort: 31000 }],
  });
  store.upsertTask({
    id: 'big.1',
    name: 'big',
    framework: 'marathon',
    agentIp: '10.0.0.3',
    containerIps: Array.from({ length: 100 }, (_, i) => `9.1.0.${i}`),
  });
  store.setMasters(['10.0.0.11', '10.0.0.12']);
  store.setLeader('10.0.0.12');
}

for (const engine of ['mmsg', 'dgram'] as const) {
  t.test(`${engine} engine`, async (t) => {
    const store = new RecordStore();
    fill(store);
    const server = await NavstarServer.start({
      store,
      listen: [{ address: '127.0.0.1', port: 0 }],
      udpEngine: engine,
    });
    t.teardown(() => server.close());
    const port = server.addresses[0].port;
    t.equal(server.addresses[0].udpEngine, engine);

    t.test('A, AAAA, SRV over UDP and TCP', async (t) => {
      for (const tcp of [[], ['+tcp']]) {
        const how = tcp.length ? 'TCP' : 'UDP';
        for (const zone of ['dcos', 'dcos.thisdcos.directory']) {
          const agent = await dig(port, [...tcp, `web-prod.marathon.agentip.${zone}`]);
          t.equal(agent.transport, how);
          t.equal(agent.status, 'NOERROR');
          t.ok(agent.flags.includes('aa'), 'authoritative');
          t.same(answers(agent), ['10.0.0.1', '10.0.0.2'], `agentip.${zone} over ${how}`);
          t.same([...new Set(agent.answer.map((a) => a.ttl))], [5], 'TTL 5');
          t.same(answers(await dig(port, [...tcp, `web-prod.marathon.containerip.${zone}`])), [
            '9.0.1.2',
            '9.0.2.2',
          ]);
          t.same(answers(await dig(port, [...tcp, `web-prod.marathon.autoip.${zone}`])), [
            '10.0.0.2',
            '9.0.1.2',
          ]);
        }
        t.same(
          answers(await dig(port, [...tcp, 'web-prod.marathon.autoip.dcos', 'AAAA']), 'AAAA'),
          ['fd01:b::2'],
        );
        const srv = await dig(port, [...tcp, '_http._web-prod._tcp.marathon.dcos', 'SRV']);
        t.same(answers(srv, 'SRV'), [
          '0 1 31000 web-2.web-prod.marathon.agentip.dcos.',
          '0 1 80 web-1.web-prod.marathon.containerip.dcos.',
        ]);
        t.equal(srv.additional.length, 3, 'glue for the targets');
        t.same(answers(await dig(port, [...tcp, 'leader.dcos'])), ['10.0.0.12']);
        t.same(answers(await dig(port, [...tcp, 'master.dcos.thisdcos.directory'])), [
          '10.0.0.11',
          '10.0.0.12',
        ]);
      }
    });

    t.test('NXDOMAIN, no data, EDNS', async (t) => {
      const nx = await dig(port, ['nope.marathon.agentip.dcos']);
      t.equal(nx.status, 'NXDOMAIN');
      t.equal(nx.authority[0]?.type, 'SOA');
      t.equal(nx.authority[0]?.name, 'dcos.');
      t.equal(nx.ednsUdp, 1232, 'our EDNS payload size');
      const nodata = await dig(port, ['web-prod.marathon.agentip.dcos', 'TXT']);
      t.equal(nodata.status, 'NOERROR');
      t.equal(nodata.answer.length, 0);
      t.equal(nodata.authority[0]?.type, 'SOA');
      const noedns = await dig(port, ['+noedns', 'web-prod.marathon.agentip.dcos']);
      t.equal(noedns.ednsUdp, undefined, 'no OPT back without EDNS');
      t.equal(noedns.answer.length, 2);
    });

    t.test('truncation and TCP fallback', async (t) => {
      const full = await dig(port, ['big.marathon.containerip.dcos']);
      t.ok(full.retriedTcp, 'dig saw TC over UDP and retried over TCP');
      t.equal(full.transport, 'TCP');
      t.equal(full.answer.length, 100);
      const tc = await dig(port, ['+ignore', '+bufsize=4096', 'big.marathon.containerip.dcos']);
      t.ok(tc.flags.includes('tc'), 'TC set when the answer exceeds our 1232 bytes');
      t.equal(tc.answer.length, 0);
    });

    t.test('changes are answered at once', async (t) => {
      store.upsertTask({ id: 'new.1', name: 'new', framework: 'marathon', agentIp: '10.0.0.7' });
      t.same(answers(await dig(port, ['new.marathon.agentip.dcos'])), ['10.0.0.7']);
      store.removeTask('new.1');
      t.equal((await dig(port, ['new.marathon.agentip.dcos'])).status, 'NXDOMAIN');
      t.equal((await dig(port, ['+tcp', 'new.marathon.agentip.dcos'])).status, 'NXDOMAIN');
    });

    t.test('TCP pipelining: many queries on one connection', async (t) => {
      const names = [
        'web-prod.marathon.agentip.dcos',
        'nope.dcos',
        'leader.dcos',
        'big.marathon.containerip.dcos',
      ];
      const qs = Array.from({ length: 40 }, (_, i) =>
        buildQuery({ id: 1000 + i, name: names[i % names.length] }),
      );
      const replies = await tcpExchange(port, qs);
      t.equal(replies.length, 40, 'every query answered');
      const byId = new Map(replies.map((r) => [r.readUInt16BE(0), parseMessage(r)]));
      for (let i = 0; i < 40; i++) {
        const m = byId.get(1000 + i);
        t.ok(m, `reply ${i}`);
        if (names[i % names.length] === 'big.marathon.containerip.dcos')
          t.equal(m?.answers.length, 100, 'no size limit on TCP');
      }
      const framed = await tcpExchange(port, [Buffer.alloc(5)], 1, 1000);
      t.same(framed, [], 'a frame too short for a header: connection closed without reply');
    });

    t.test('metrics', async (t) => {
      await udpExchange(port, Buffer.from('junk'));
      const m = server.metrics();
      t.ok(m.queries.udp > 10 && m.queries.tcp > 10, 'UDP and TCP queries counted');
      t.ok(m.responses.NOERROR > 0 && m.responses.NXDOMAIN > 0);
      t.ok(m.authoritative > 0);
      t.ok(m.truncated > 0);
      t.ok(m.malformed >= 1 && m.dropped >= 1, 'the junk datagram');
      t.equal(m.internalErrors, 0);
      t.equal(m.records.tasks, 3);
      const text = await prometheusRegistry(server).metrics();
      t.match(text, /navstar_queries_total\{transport="udp"\} \d+/);
      t.match(text, /navstar_responses_total\{rcode="NXDOMAIN"\} [1-9]/);
      t.match(text, /navstar_tasks 3/);
      t.match(text, /navstar_cache_hits_total 0/);
    });
  });
}

t.test('two UDP worker threads stay consistent with every change', async (t) => {
  const store = new RecordStore();
  const server = await NavstarServer.start({
    store,
    listen: [{ address: '127.0.0.1', port: 0 }],
    udpEngine: 'mmsg',
    udpThreads: 2,
  });
  t.teardown(() => server.close());
  const port = server.addresses[0].port;
  let stale = 0;
  for (let i = 0; i < 60; i++) {
    store.upsertTask({
      id: 'app.1',
      name: 'app',
      framework: 'marathon',
      agentIp: `10.0.1.${i + 1}`,
    });
    await Promise.resolve(); // the batch is applied at the end of the microtask
    // Several datagrams from different sockets, so both threads get some.
    const replies = await Promise.all(
      [0, 1, 2, 3].map(() => udpExchange(port, buildQuery({ name: 'app.marathon.agentip.dcos' }))),
    );
    for (const r of replies) {
      const ip = r ? parseMessage(r).answers[0] : undefined;
      if (!r || !ip || r.subarray(ip.rdOffset, ip.rdOffset + 4).join('.') !== `10.0.1.${i + 1}`)
        stale++;
    }
  }
  t.equal(stale, 0, 'no reply ever showed an older address');
  t.equal(server.metrics().queries.udp, 240);
});

t.test('a UDP worker thread that dies is replaced, with the current records', async (t) => {
  const store = new RecordStore();
  store.setLeader('10.0.0.12');
  const server = await NavstarServer.start({
    store,
    listen: [{ address: '127.0.0.1', port: 0 }],
    udpEngine: 'mmsg',
  });
  t.teardown(() => server.close());
  const port = server.addresses[0].port;
  t.ok(await udpExchange(port, buildQuery({ name: 'leader.dcos' })));
  // Reach into the engine to kill its thread, as a crash would.
  const engine = (
    server as unknown as {
      fronts: Array<{ udp: { threads: Array<{ worker: { terminate(): Promise<number> } }> } }>;
    }
  ).fronts[0].udp;
  await engine.threads[0].worker.terminate();
  store.setLeader('10.0.0.13'); // a change while no thread runs
  let reply: Buffer | undefined;
  for (let i = 0; i < 40 && !reply; i++)
    reply = await udpExchange(port, buildQuery({ name: 'leader.dcos' }), 250);
  t.ok(reply, 'answering again');
  const m = parseMessage(reply as Buffer);
  t.equal(
    (reply as Buffer).subarray(m.answers[0].rdOffset, m.answers[0].rdOffset + 4).join('.'),
    '10.0.0.13',
    'with the change made meanwhile',
  );
  t.ok(server.metrics().queries.udp >= 2, "the dead thread's counts were kept");
});

t.test('bad options are refused clearly', async (t) => {
  await t.rejects(
    NavstarServer.start({ listen: [{ address: 'localhost', port: 0 }] }),
    /listen: "localhost" is not an IP address/,
  );
  await t.rejects(
    NavstarServer.start({
      listen: [{ address: '127.0.0.1', port: 0 }],
      upstreams: ['8.8.8.8:99999'],
    }),
    /bad port/,
  );
  await t.rejects(
    NavstarServer.start({ listen: [{ address: '127.0.0.1', port: 0 }], maxUdpPayload: 100 }),
    /maxUdpPayload/,
  );
  const a = await NavstarServer.start({ listen: [{ address: '127.0.0.1', port: 0 }] });
  t.teardown(() => a.close());
  const taken = [{ address: '127.0.0.1', port: a.addresses[0].port }];
  for (const udpEngine of ['mmsg', 'dgram'] as const) {
    await t.rejects(
      NavstarServer.start({ listen: taken, udpEngine }),
      /EADDRINUSE|in use/,
      `${udpEngine}: port taken`,
    );
  }
  t.same(
    (await dig(a.addresses[0].port, ['nope.dcos'])).status,
    'NXDOMAIN',
    'the first server is unharmed',
  );
});
