// Forwarding to a real unbound started on 127.0.0.1 for this test (it serves example.test and
// refuses every other name), plus broken upstreams made of plain sockets for fault injection.
import dgram from 'node:dgram';
import { startUnbound, type Unbound } from '@vnet/testkit';
import t from 'tap';
import { parseUpstream } from '../src/forward/upstream.js';
import { NavstarServer } from '../src/server/server.js';
import { RecordStore } from '../src/store.js';
import { answers, dig } from './helpers/dig.js';

const bigTxt = Array.from(
  { length: 10 },
  (_, i) => `big.example.test. 60 IN TXT "${String(i).repeat(200)}"`,
);

t.test('upstream addresses: ip, ip:port, [ipv6]:port, in canonical text', async (t) => {
  const parsed = (text: string) => {
    const u = parseUpstream(text);
    return [u.address, u.port, u.family];
  };
  t.same(parsed('8.8.8.8'), ['8.8.8.8', 53, 4]);
  t.same(parsed('8.8.8.8:5353'), ['8.8.8.8', 5353, 4]);
  t.same(parsed('2001:DB8:0::1'), ['2001:db8::1', 53, 6]);
  t.same(parsed('[2001:db8::1]:5353'), ['2001:db8::1', 5353, 6]);
  t.same(parsed('[::ffff:192.0.2.1]:53'), ['::ffff:192.0.2.1', 53, 6]);
  for (const [text, message] of [
    ['host:53', 'upstream "host:53": "host" is not an IP address'],
    ['[fe80::1%eth0]:53', 'upstream "[fe80::1%eth0]:53": "fe80::1%eth0" is not an IP address'],
    ['10.0.0.01', 'upstream "10.0.0.01": "10.0.0.01" is not an IP address'],
    ['1.2.3.4:99999', 'upstream "1.2.3.4:99999": bad port'],
  ]) {
    t.throws(() => parseUpstream(text as string), { name: 'UpstreamError', message }, text);
  }
});

async function exampleUnbound(): Promise<Unbound> {
  return startUnbound({
    zones: { 'example.test': 'static' },
    data: [
      'example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 60 60 60 30',
      'www.example.test. 60 IN A 192.0.2.1',
      'www.example.test. 60 IN AAAA 2001:db8::1',
      ...bigTxt,
    ],
    probe: 'www.example.test',
  });
}

/** A UDP socket on 127.0.0.1 that answers every query with `answer(query)` (or never, with null). */
async function fakeUpstream(
  answer: (q: Buffer, from: dgram.RemoteInfo) => Buffer | null,
): Promise<{ addr: string; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    const a = answer(m, r);
    if (a) s.send(a, r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return {
    addr: `127.0.0.1:${s.address().port}`,
    close: () => new Promise((r) => s.close(() => r())),
  };
}

const servfail = (q: Buffer) => {
  const r = Buffer.from(q);
  r[2] |= 0x80;
  r[3] = (r[3] & 0xf0) | 2;
  return r;
};

t.test('forwarding to unbound', async (t) => {
  const ub = await exampleUnbound();
  t.teardown(() => ub.stop());
  for (const engine of ['mmsg', 'dgram'] as const) {
    t.test(`${engine} engine`, async (t) => {
      const store = new RecordStore();
      store.upsertTask({ id: 'a.1', name: 'a', framework: 'marathon', agentIp: '10.0.0.1' });
      const server = await NavstarServer.start({
        store,
        listen: [{ address: '127.0.0.1', port: 0 }],
        udpEngine: engine,
        upstreams: [`127.0.0.1:${ub.port}`],
      });
      t.teardown(() => server.close());
      const port = server.addresses[0].port;
      for (const tcp of [[], ['+tcp']]) {
        const a = await dig(port, [...tcp, 'www.example.test']);
        t.equal(a.status, 'NOERROR');
        t.same(answers(a), ['192.0.2.1'], `A over ${tcp.length ? 'TCP' : 'UDP'}`);
        t.ok(a.flags.includes('ra'), 'recursion available');
        t.same(answers(await dig(port, [...tcp, 'www.example.test', 'AAAA']), 'AAAA'), [
          '2001:db8::1',
        ]);
        const nx = await dig(port, [...tcp, 'nope.example.test']);
        t.equal(nx.status, 'NXDOMAIN', 'NXDOMAIN passed through');
        t.equal(nx.authority[0]?.type, 'SOA');
        t.same(
          answers(await dig(port, [...tcp, 'a.marathon.agentip.dcos'])),
          ['10.0.0.1'],
          'our zones still answered locally',
        );
      }
      const m = server.metrics();
      t.ok(m.forwarded >= 6, 'forwarded queries counted');
      t.ok(m.cache.hits >= 3, 'repeated questions came from the cache');
      t.ok(m.cache.misses >= 3);
      t.equal(m.cache.entries, 3, 'three cached answers: A, AAAA, NXDOMAIN');
      const cached = await dig(port, ['www.example.test']);
      t.ok(cached.answer[0].ttl <= 60, 'cached TTL counts down from 60');
      const refused = await dig(port, ['outside.example.org']);
      t.equal(refused.status, 'SERVFAIL', 'upstream REFUSED is not an answer: SERVFAIL');
      t.ok(server.metrics().forwardFailures >= 1);
      t.equal(server.metrics().internalErrors, 0);
    });
  }

  t.test('a truncated upstream answer is fetched again over TCP', async (t) => {
    const server = await NavstarServer.start({
      listen: [{ address: '127.0.0.1', port: 0 }],
      upstreams: [`127.0.0.1:${ub.port}`],
      cache: false,
    });
    t.teardown(() => server.close());
    const r = await dig(server.addresses[0].port, ['big.example.test', 'TXT']);
    t.ok(r.retriedTcp, 'UDP reply was truncated, dig retried over TCP');
    t.equal(r.transport, 'TCP');
    t.equal(r.answer.length, 10, 'all ten TXT records');
  });

  t.test('two upstreams at once: a dead one does not matter', async (t) => {
    const dead = await fakeUpstream(() => null);
    const bad = await fakeUpstream(servfail);
    t.teardown(async () => {
      await dead.close();
      await bad.close();
    });
    const server = await NavstarServer.start({
      listen: [{ address: '127.0.0.1', port: 0 }],
      upstreams: [dead.addr, bad.addr, `127.0.0.1:${ub.port}`],
      cache: false,
      upstreamTimeoutMs: 400,
    });
    t.teardown(() => server.close());
    for (let i = 0; i < 4; i++) {
      t.same(
        answers(await dig(server.addresses[0].port, ['www.example.test'])),
        ['192.0.2.1'],
        `query ${i}`,
      );
    }
    const st = server.upstreams();
    t.ok(
      st.find((u) => u.address === '127.0.0.1' && u.port === ub.port)!.queries >= 4,
      'unbound asked every time',
    );
    t.ok(server.metrics().upstream.errors >= 1, 'the SERVFAIL upstream was counted as an error');
  });

  t.test('forward zones go to their own resolvers', async (t) => {
    const mesos = await startUnbound({
      zones: { mesos: 'static' },
      data: ['leader.mesos. 60 IN A 10.9.9.9'],
      probe: 'leader.mesos',
    });
    t.teardown(() => mesos.stop());
    const server = await NavstarServer.start({
      listen: [{ address: '127.0.0.1', port: 0 }],
      upstreams: [`127.0.0.1:${ub.port}`],
      forwardZones: { mesos: [`127.0.0.1:${mesos.port}`] },
    });
    t.teardown(() => server.close());
    const port = server.addresses[0].port;
    t.same(answers(await dig(port, ['leader.mesos'])), ['10.9.9.9']);
    t.same(answers(await dig(port, ['www.example.test'])), ['192.0.2.1']);
    t.equal(
      (await dig(port, ['www.example.test.mesos'])).status,
      'NXDOMAIN',
      'mesos names never reach the default upstream',
    );
  });
});

t.test('every upstream failing: SERVFAIL after the deadline', async (t) => {
  const dead = await Promise.all([0, 1, 2].map(() => fakeUpstream(() => null)));
  t.teardown(() => Promise.all(dead.map((d) => d.close())));
  const server = await NavstarServer.start({
    listen: [{ address: '127.0.0.1', port: 0 }],
    upstreams: dead.map((d) => d.addr),
    upstreamTimeoutMs: 300,
    forwardTimeoutMs: 1000,
  });
  t.teardown(() => server.close());
  const r = await dig(server.addresses[0].port, ['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  const m = server.metrics();
  t.equal(m.forwardFailures, 1);
  t.equal(m.upstream.timeouts, 3, 'two asked at once, then the third');
  t.equal(m.upstream.queries, 3);
  t.ok(server.upstreams().every((u) => u.failures === 1));
});

t.test('answers from the wrong source or for another question are ignored', async (t) => {
  const liar = dgram.createSocket('udp4');
  await new Promise<void>((r) => liar.bind(0, '127.0.0.1', r));
  const upstream = await fakeUpstream((q, from) => {
    // A correct answer, but from another port (a spoofer guessing the ID)...
    const spoof = Buffer.from(q);
    spoof[2] |= 0x80;
    liar.send(spoof, from.port, from.address);
    // ...and from the upstream itself, an answer for another name.
    const other = Buffer.from(q);
    other[2] |= 0x80;
    other[13] = 0x78;
    return other;
  });
  t.teardown(async () => {
    await upstream.close();
    await new Promise<void>((r) => liar.close(() => r()));
  });
  const server = await NavstarServer.start({
    listen: [{ address: '127.0.0.1', port: 0 }],
    upstreams: [upstream.addr],
    upstreamTimeoutMs: 300,
    forwardTimeoutMs: 600,
  });
  t.teardown(() => server.close());
  const r = await dig(server.addresses[0].port, ['www.example.test']);
  t.equal(r.status, 'SERVFAIL', 'neither is accepted');
  t.equal(
    server.metrics().upstream.errors,
    1,
    'the wrong-question answer counts as an upstream error',
  );
});

t.test('a UDP worker answers SERVFAIL itself when forwarding is backed up', async (t) => {
  const dead = await fakeUpstream(() => null);
  t.teardown(() => dead.close());
  const server = await NavstarServer.start({
    listen: [{ address: '127.0.0.1', port: 0 }],
    udpEngine: 'mmsg',
    upstreams: [dead.addr],
    maxForwardBacklog: 0,
  });
  t.teardown(() => server.close());
  const r = await dig(server.addresses[0].port, ['www.example.test']);
  t.equal(r.status, 'SERVFAIL');
  t.equal(server.metrics().forwardOverload, 1);
  t.equal(server.metrics().upstream.queries, 0, 'nothing was sent upstream');
});
