// Three real `vnet master` processes on 127.0.0.1 (LevelDB on disk), started through the CLI,
// and a test client playing many nodes over gRPC: registration through any master, the
// allocation stream, runtime overlays, deletion, exhaustion, every bad request, the token.
import { once } from 'node:events';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { httpApi as api, MasterCluster } from '@vnet/testkit';
import t from 'tap';
import { MasterCallError, MasterClient } from '../../src/api/client.js';
import type { Allocation__Output as AllocationUpdate } from '../../src/protocol/messages.js';
import { VNET } from '../helpers/configs.js';

const CONFIG = `
vtep_subnet: 44.128.0.0/24
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: dcos
    subnet: 9.0.0.0/8
    prefix: 24
  - name: tiny
    subnet: 10.0.0.0/26
    prefix: 28
`;
const TOKEN = 's3cret-token';
const auth = { authorization: `Bearer ${TOKEN}` };

const cluster = await MasterCluster.create({ vnet: VNET, n: 3, config: CONFIG, token: TOKEN });
t.teardown(() => cluster.destroy());
await cluster.startAll();
const [a, b, c] = cluster.masters as [
  (typeof cluster.masters)[0],
  (typeof cluster.masters)[0],
  (typeof cluster.masters)[0],
];
const clients = cluster.masters.map((m) => new MasterClient([m.grpc], { token: TOKEN }));
t.teardown(() => {
  for (const x of clients) x.close();
});

/** Waits for a stream update that satisfies `pred`. */
function nextUpdate(
  updates: AllocationUpdate[],
  pred: (u: AllocationUpdate) => boolean,
  ms = 10_000,
): Promise<AllocationUpdate> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      const u = updates.find(pred);
      if (u) resolve(u);
      else if (Date.now() > deadline)
        reject(new Error(`no such update in ${JSON.stringify(updates)}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

t.test('registration through any master; re-registration gives the same allocation', async (t) => {
  const agents = await Promise.all(
    Array.from(
      { length: 12 },
      async (_, i) => (await clients[i % 3]!.register(`10.20.0.${i + 1}`, true)).agent!,
    ),
  );
  const subnets = agents.map((x) => x.overlays![0]!.subnet);
  t.equal(new Set(subnets).size, 12, 'every node got its own block');
  t.equal(new Set(agents.map((x) => x.overlays![0]!.backend!.vxlan!.vtep_ip)).size, 12);
  t.equal(new Set(agents.map((x) => x.overlays![0]!.backend!.vxlan!.vtep_mac)).size, 12);
  const again = await Promise.all(
    Array.from(
      { length: 12 },
      async (_, i) => (await clients[(i + 1) % 3]!.register(`10.20.0.${i + 1}`, true)).agent!,
    ),
  );
  t.same(again, agents, 'the same allocation back, from another master');
  const master = (await clients[1]!.register('10.20.1.1', false)).agent!;
  t.notOk(master.overlays![0]!.mesos_bridge, 'a master (no bridges) gets a subnet, no bridges');
  t.ok(master.overlays![0]!.subnet);

  const states = await Promise.all(
    cluster.masters.map((m) => api(m.http, 'GET', '/overlay-master/state')),
  );
  for (const s of states) t.equal(s.status, 200);
  t.same(states[1]!.body, states[0]!.body, 'followers serve the current state (ReadIndex)');
  t.same(states[2]!.body, states[0]!.body);
  t.equal(states[0]!.body.agents.length, 13);
});

t.test('status reports reach the state', async (t) => {
  const r = await clients[2]!.reportStatus('10.20.0.1', [
    { name: 'dcos', status: 'STATUS_OK', used: { mesos: 5, docker: 2 } },
  ]);
  t.equal(r.changed, true);
  const again = await clients[0]!.reportStatus('10.20.0.1', [
    { name: 'dcos', status: 'STATUS_OK', used: { mesos: 5, docker: 2 } },
  ]);
  t.notOk(again.changed, 'an unchanged report writes nothing');
  const node = await api(a.http, 'GET', '/overlay-master/nodes/10.20.0.1');
  t.match(node.body.overlays[0], {
    name: 'dcos',
    status: 'STATUS_OK',
    addresses: { mesos: { capacity: 125, used: 5, free: 120 }, docker: { used: 2 } },
  });
  const state = await api(b.http, 'GET', '/overlay-master/state');
  const entry = state.body.agents.find((x: { ip: string }) => x.ip === '10.20.0.1');
  t.same(entry.overlays[0].state, { status: 'STATUS_OK' }, "the state keeps DC/OS's shape");
});

t.test('a runtime overlay reaches a connected node through the stream', async (t) => {
  const updates: AllocationUpdate[] = [];
  const watcher = new MasterClient([c.grpc], { token: TOKEN });
  const h = watcher.watch(
    '10.20.0.2',
    (u) => updates.push(u),
    () => {},
  );
  t.teardown(() => {
    h.cancel();
    watcher.close();
  });
  const first = await nextUpdate(updates, () => true);
  t.same(
    first.agent!.overlays!.map((o) => o.info?.name),
    ['dcos', 'tiny'],
  );
  // What the node reports is not sent back to it: a status change is not an allocation change.
  const reported = await watcher.reportStatus('10.20.0.2', [
    { name: 'dcos', status: 'STATUS_FAILED', error: 'test', used: { mesos: 1, docker: 0 } },
  ]);
  t.equal(reported.changed, true);
  // Once this master has applied the report, a unary call on the same connection is a barrier:
  // HTTP/2 delivers what the stream was sent before its answer.
  const leader = await cluster.leader();
  const commit = (await api(leader.http, 'GET', '/health')).body.commit as number;
  for (let i = 0; i < 200; i++) {
    if ((await api(c.http, 'GET', '/health')).body.applied >= commit) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await watcher.register('10.20.0.2', true);
  t.equal(updates.length, 1, 'no stream message for a status report');
  const added = await api(
    a.http,
    'POST',
    '/overlay-master/overlays',
    {
      name: 'blue',
      subnet: '10.9.0.0/16',
      prefix: 24,
    },
    auth,
  );
  t.equal(added.status, 201, JSON.stringify(added.body));
  t.match(added.body, { name: 'blue', enabled: true, blocks: { v4: { total: 256, used: 13 } } });
  const u = await nextUpdate(updates, (x) =>
    (x.agent?.overlays ?? []).some((o) => o.info?.name === 'blue'),
  );
  t.match(
    u.agent!.overlays!.find((o) => o.info?.name === 'blue'),
    {
      subnet: /^10\.9\.\d+\.0\/24$/,
      mesos_bridge: { name: 'm-blue' },
    },
  );
  t.same(
    u.network!.overlays!.map((o) => o.name),
    ['dcos', 'tiny', 'blue'],
  );
  t.equal(u.network!.overlay_mtu, 1420);

  const disabled = await api(
    b.http,
    'POST',
    '/overlay-master/overlays/blue/disable',
    undefined,
    auth,
  );
  t.equal(disabled.status, 200);
  await nextUpdate(updates, (x) =>
    (x.network?.overlays ?? []).some((o) => o.name === 'blue' && o.enabled === false),
  );
  const held = await api(c.http, 'DELETE', '/overlay-master/overlays/blue', undefined, auth);
  t.equal(held.status, 409);
  t.equal(held.body.holders.length, 13, 'the holders are listed');
  const removed = await api(
    c.http,
    'DELETE',
    '/overlay-master/overlays/blue?force=true',
    undefined,
    auth,
  );
  t.equal(removed.status, 200, JSON.stringify(removed.body));
  await nextUpdate(
    updates,
    (x) => !(x.network?.overlays ?? []).some((o) => o.name === 'blue') && x.agent !== undefined,
  );
});

t.test('deleting nodes frees their blocks; the deleted node hears of it', async (t) => {
  const blockOf = async (ip: string) =>
    (await api(a.http, 'GET', `/overlay-master/nodes/${ip}`)).body.overlays[0].subnet as string;
  const freed = [await blockOf('10.20.0.3'), await blockOf('10.20.0.4')].sort(
    (x, y) => Number(x.split('.')[2]) - Number(y.split('.')[2]),
  );
  const updates: AllocationUpdate[] = [];
  const h = clients[1]!.watch(
    '10.20.0.3',
    (u) => updates.push(u),
    () => {},
  );
  t.teardown(() => h.cancel());
  await nextUpdate(updates, () => true);
  const before = await api(a.http, 'GET', '/overlay-master/overlays');
  const usedBefore = before.body.overlays[0].blocks.v4.used;
  const r = await api(
    b.http,
    'POST',
    '/overlay-master/agents/delete',
    { agents: ['10.20.0.3', '10.20.0.4'] },
    auth,
  );
  t.equal(r.status, 200);
  t.notOk(
    r.body.agents.some((x: { ip: string }) => x.ip === '10.20.0.3' || x.ip === '10.20.0.4'),
    'the answer is the state without them',
  );
  const after = await api(c.http, 'GET', '/overlay-master/overlays');
  t.equal(after.body.overlays[0].blocks.v4.used, usedBefore - 2);
  await nextUpdate(updates, (u) => u.deleted === true);
  const back = (await clients[0]!.register('10.20.9.9', true)).agent!;
  t.equal(back.overlays![0]!.subnet, freed[0], 'the lowest freed block is handed out again');
});

t.test('exhaustion is visible to the node and in the API', async (t) => {
  // tiny has 4 blocks; 13 nodes were registered above.
  const view = await api(a.http, 'GET', '/overlay-master/overlays/tiny');
  t.equal(view.status, 200);
  t.match(view.body, { blocks: { v4: { total: 4, used: 4, free: 0 } }, nodes: 4 });
  t.ok(view.body.exhausted >= 8, `${view.body.exhausted} nodes found tiny exhausted`);
  const failed = view.body.agents.find((x: { status?: string }) => x.status === 'STATUS_FAILED');
  t.match(
    failed.error,
    /no free subnets in the tiny overlay: all 4 \/28 blocks of 10\.0\.0\.0\/26/,
  );
  const node = (await clients[2]!.register('10.20.7.7', true)).agent!;
  t.match(node.overlays!.find((o) => o.info?.name === 'tiny')!.state, {
    status: 'STATUS_FAILED',
    error: /no free subnets/,
  });
  const metrics = await fetch(`http://${c.http}/metrics`).then((r) => r.text());
  t.match(metrics, /vnet_master_allocation_failures_total\{reason="overlay_exhausted"\} [1-9]/);
  t.match(metrics, /vnet_master_free_blocks\{overlay="tiny",family="ipv4"\} 0/);
  t.match(metrics, /vnet_master_free_vtep_addresses\{family="ipv4"\} \d+/);
  t.match(metrics, /vnet_master_raft_term \d+/);
});

t.test('bad requests get a clear error and change nothing', async (t) => {
  const before = await api(a.http, 'GET', '/overlay-master/state');
  const cases: [string, string, unknown, number, RegExp][] = [
    ['GET', '/overlay-master/agents/delete', undefined, 405, /use POST/],
    ['POST', '/overlay-master/agents/delete', '{"agents": [', 400, /not valid JSON/],
    ['POST', '/overlay-master/agents/delete', '', 400, /empty/],
    ['POST', '/overlay-master/agents/delete', { nodes: [] }, 400, /agents: expected/],
    ['POST', '/overlay-master/agents/delete', { agents: '10.0.0.1' }, 400, /agents: expected/],
    [
      'POST',
      '/overlay-master/agents/delete',
      { agents: [7] },
      400,
      /agents\[0\]: expected a string/,
    ],
    [
      'POST',
      '/overlay-master/agents/delete',
      { agents: ['10.0.0.1', '10.0.0'] },
      400,
      /agents\[1\]: "10\.0\.0" is not an IPv4/,
    ],
    ['POST', '/overlay-master/overlays', [], 400, /expected a JSON object/],
    ['POST', '/overlay-master/overlays', { name: 'red' }, 400, /subnet/],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'red', subnet: '10.9.0.1/16', prefix: 24 },
      400,
      /subnet: .*host bits/,
    ],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'red', subnet: '9.1.0.0/16', prefix: 24 },
      400,
      /overlaps/,
    ],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'red', subnet: '10.9.0.0/16', prefix: 12 },
      400,
      /prefix/,
    ],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'host', subnet: '10.9.0.0/16', prefix: 24 },
      400,
      /reserved/,
    ],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'red', subnet: '10.9.0.0/16', prefix: 24, colour: 'x' },
      400,
      /colour/,
    ],
    [
      'POST',
      '/overlay-master/overlays',
      { name: 'dcos', subnet: '10.9.0.0/16', prefix: 24 },
      409,
      /exists with other addresses/,
    ],
    ['POST', '/overlay-master/overlays/nope/enable', undefined, 404, /no overlay named "nope"/],
    ['DELETE', '/overlay-master/overlays/nope', undefined, 404, /no overlay named "nope"/],
    [
      'DELETE',
      '/overlay-master/overlays/dcos?force=maybe',
      undefined,
      400,
      /force: expected true or false/,
    ],
    ['DELETE', '/overlay-master/overlays/dcos', undefined, 409, /hold blocks/],
    ['GET', '/overlay-master/nodes/1.2.3', undefined, 400, /not an IPv4/],
    ['GET', '/overlay-master/nodes/1.2.3.4', undefined, 404, /not registered/],
    ['GET', '/overlay-master/whatever', undefined, 404, /no such endpoint/],
    ['PUT', '/overlay-master/state', undefined, 405, /use GET/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const r = await api(b.http, method, path, body, auth);
    t.equal(
      r.status,
      status,
      `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`,
    );
    t.match(r.body.error, message);
  }
  const big = await api(
    a.http,
    'POST',
    '/overlay-master/agents/delete',
    `{"agents": ["${'1'.repeat(1_100_000)}"]}`,
    auth,
  );
  t.equal(big.status, 413);
  t.equal(
    (await api(a.http, 'GET', '/overlay-master/state')).body.agents.length,
    before.body.agents.length,
  );
  t.same((await api(c.http, 'GET', '/overlay-master/state')).body, before.body, 'nothing changed');
  t.equal((await api(a.http, 'GET', '/health')).status, 200, 'the masters are fine');
});

t.test(
  'oversized inputs are refused quickly, quoted short, and the connection goes on',
  async (t) => {
    // A short deadline: a status that does not fit gRPC's metadata stalled calls for seconds.
    const quick = new MasterClient([a.grpc], { token: TOKEN, callTimeoutMs: 5_000 });
    t.teardown(() => quick.close());
    const huge = await quick.register(`10.${'1'.repeat(100_000)}`, true).catch((e) => e);
    t.ok(huge instanceof MasterCallError, String(huge));
    t.equal(huge.code, grpc.status.INVALID_ARGUMENT);
    t.ok(huge.message.length < 300, `the message quotes a prefix: ${huge.message}`);
    t.match(huge.message, /\(100003 characters\)/);
    const fine = await quick.register('10.20.0.1', true);
    t.ok(fine.agent?.overlays?.length, 'a valid call on the same connection is answered');
    const unknown = await quick
      .reportStatus('10.20.0.1', [{ name: 'nope', status: 'STATUS_OK' }])
      .catch((e) => e);
    t.equal(unknown.code, grpc.status.NOT_FOUND, 'a report about an overlay the node lacks');
    t.match(unknown.message, /holds no overlay named "nope"/);

    const path = await api(a.http, 'GET', `/overlay-master/${'x'.repeat(10_000)}`);
    t.equal(path.status, 404);
    t.ok(path.body.error.length < 200, path.body.error);
  },
);

t.test('a body over the limit gets its 413, and the connection stays usable', async (t) => {
  const [host, port] = a.http.split(':') as [string, string];
  const socket = net.connect(Number(port), host);
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (d) => (received += d));
  const body = `{"agents": ["${'1'.repeat(2 << 20)}"]}`;
  // The whole body first, as a simple client does, then read: no EPIPE, a 413.
  const written = new Promise<void>((resolve, reject) =>
    socket.write(
      `POST /overlay-master/agents/delete HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      (e) => (e ? reject(e) : resolve()),
    ),
  );
  await written;
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
  };
  await until(() => /\r\n\r\n\{[\s\S]*\}\n$/.test(received));
  t.match(received, /^HTTP\/1\.1 413 /);
  t.notMatch(received, /connection: close/i, 'kept alive: the body was read to its end');
  received = '';
  socket.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\n');
  await until(() => /\r\n\r\n\{[\s\S]*\}\n$/.test(received));
  t.match(received, /^HTTP\/1\.1 200 /, 'the next request on the same connection is answered');

  // Declared far beyond what is drained: answered at once, and the connection closed.
  const far = net.connect(Number(port), host);
  t.teardown(() => far.destroy());
  await once(far, 'connect');
  let farReceived = '';
  far.on('data', (d) => (farReceived += d));
  far.write(
    `POST /overlay-master/agents/delete HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n` +
      `content-length: ${64 << 20}\r\n\r\n{"agents": [`,
  );
  await once(far, 'close');
  t.match(farReceived, /^HTTP\/1\.1 413 /);
  t.match(farReceived, /connection: close/i);
});

t.test('the token guards every change; reads stay open', async (t) => {
  const noToken = await api(a.http, 'POST', '/overlay-master/agents/delete', {
    agents: ['10.20.0.1'],
  });
  t.equal(noToken.status, 401);
  t.equal(noToken.headers.get('www-authenticate'), 'Bearer');
  const wrong = await api(a.http, 'POST', '/overlay-master/overlays/dcos/disable', undefined, {
    authorization: 'Bearer nope',
  });
  t.equal(wrong.status, 401);
  t.equal((await api(a.http, 'GET', '/overlay-master/state')).status, 200);
  const anonymous = new MasterClient([a.grpc]);
  t.teardown(() => anonymous.close());
  const err = await anonymous.register('10.20.5.5', true).catch((e) => e);
  t.ok(err instanceof MasterCallError);
  t.equal(err.code, grpc.status.UNAUTHENTICATED);
  const bad = await clients[0]!.register('10.20.5', true).catch((e) => e);
  t.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  t.match(bad.message, /ip: node IP "10\.20\.5" is not an IPv4 address/);
  const badReport = await clients[0]!
    .reportStatus('10.20.0.1', [{ name: '', status: 'STATUS_OK' }])
    .catch((e) => e);
  t.equal(badReport.code, grpc.status.INVALID_ARGUMENT);
  t.match(badReport.message, /overlays\[0\]\.name: required/);
});

t.test(
  'WatchMasters: every master and the leader, from any master; the token guards it',
  async (t) => {
    const view = await new Promise<{ masters?: string[]; leader?: string }>((resolve, reject) => {
      const h = clients[2]!.watchMasters(
        (m) => {
          h.cancel();
          resolve(m);
        },
        (e) => reject(e ?? new Error('the stream ended without a message')),
      );
    });
    t.same(view, { masters: ['127.0.0.1', '127.0.0.1', '127.0.0.1'], leader: '127.0.0.1' });
    const stranger = new MasterClient([c.grpc]);
    t.teardown(() => stranger.close());
    const err = await new Promise<Error | undefined>((resolve) => {
      stranger.watchMasters(() => resolve(undefined), resolve);
    });
    t.match(err, { code: grpc.status.UNAUTHENTICATED }, 'a node without the token gets nothing');
  },
);

t.test('a restart with a conflicting config file is refused with the way out', async (t) => {
  for (const m of cluster.masters) await cluster.kill(m, 'SIGTERM');
  t.same(
    cluster.masters.map((m) => m.proc!.exitCode),
    [0, 0, 0],
    'SIGTERM stops cleanly',
  );
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    cluster.configFile,
    CONFIG.replace('prefix: 28', 'prefix: 27').replace(/ {2}- name: dcos\n.*\n.*\n/, ''),
  );
  for (const m of cluster.masters) m.output = '';
  for (const m of cluster.masters) cluster.start(m);
  const codes = await Promise.all(cluster.masters.map((m) => m.exit));
  t.same(codes, [3, 3, 3], 'every master refuses');
  const out = a.output;
  t.match(out, /conflicts with the overlay replicated log/);
  t.match(
    out,
    /overlay "dcos" is in the log but missing from the file; 1[0-9] nodes hold blocks of it/,
  );
  t.match(
    out,
    /overlay "tiny" prefix is 28 in the log but 27 in the file; 4 nodes hold blocks of it/,
  );
  t.match(out, /--apply-removals/);
  t.match(out, /vnet overlay remove dcos --force/);

  for (const m of cluster.masters) cluster.start(m, ['--apply-removals']);
  await cluster.ready();
  const state = await api(b.http, 'GET', '/overlay-master/state');
  t.same(
    state.body.network.overlays.map((o: { name: string; prefix: number }) => [o.name, o.prefix]),
    [['tiny', 27]],
  );
  t.equal(
    state.body.agents.filter((x: { overlays?: { subnet?: string }[] }) => x.overlays?.[0]?.subnet)
      .length,
    2,
    're-created tiny: the first two nodes hold its /27 blocks',
  );
  // A plain restart with the same file is fine now.
  for (const m of cluster.masters) await cluster.kill(m, 'SIGTERM');
  for (const m of cluster.masters) cluster.start(m);
  await cluster.ready();
  t.equal((await api(c.http, 'GET', '/health')).status, 200);
});
