// Batches against the kernel: thousands of requests with few sends, per-request results,
// requests that depend on links created earlier in the same batch, lost acks, concurrent calls.

import { bridgeJsonSync, ipJsonSync, requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { Netlink, NetlinkError, NetlinkSpecError, type Operation } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Per remote host i: permanent ARP entry, FDB entry, onlink route (the overlay's triple). */
function remoteHost(
  i: number,
  dev: string | number,
  action: 'replace' | 'delete' = 'replace',
): Operation[] {
  const h = i + 2;
  const vtepIp = `44.128.${h >> 8}.${h & 255}`;
  const mac = `70:b3:d5:80:${hex(h >> 8)}:${hex(h & 255)}`;
  return [
    { kind: 'neighbour', action, spec: { dev, address: vtepIp, lladdr: mac } },
    { kind: 'fdb', action, spec: { dev, lladdr: mac, dst: `192.168.${h >> 8}.${h & 255}` } },
    {
      kind: 'route',
      action,
      spec: { dst: `10.${i >> 8}.${i & 255}.0/24`, via: vtepIp, dev, onlink: true },
    },
  ];
}

async function vtep(t: Test) {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({
    name: 'vtep1024',
    kind: 'vxlan',
    vxlan: { vni: 1024, port: 64000, learning: false },
    up: true,
  });
  await nl.addresses.add({ dev: 'vtep1024', address: '44.128.0.1/16' });
  return { ns, nl };
}

t.test('3000 requests in one batch: all applied, dumps agree with iproute2', async (t) => {
  const { ns, nl } = await vtep(t);
  const ops = Array.from({ length: 1000 }, (_, i) => remoteHost(i, 'vtep1024')).flat();
  const results = await nl.batch(ops);
  t.equal(results.filter((r) => !r.ok).length, 0, 'every request acknowledged');
  t.ok(
    results.every((r, i) => r.operation === ops[i]),
    'results in request order',
  );

  const neigh = ipJsonSync<{ dst: string; lladdr: string }[]>(
    ns,
    '-4',
    'neigh',
    'show',
    'dev',
    'vtep1024',
  );
  const fdb = bridgeJsonSync<{ mac: string; dst: string }[]>(ns, 'fdb', 'show', 'dev', 'vtep1024');
  const routes = ipJsonSync<{ dst: string; gateway?: string }[]>(
    ns,
    '-4',
    'route',
    'show',
    'dev',
    'vtep1024',
  );
  t.equal(neigh.length, 1000);
  t.equal(fdb.length, 1000);
  t.equal(routes.filter((r) => r.gateway).length, 1000);
  t.same(
    (await nl.neighbours.list({ dev: 'vtep1024', family: 4 }))
      .map((n) => `${n.address} ${n.lladdr}`)
      .sort(),
    neigh.map((n) => `${n.dst} ${n.lladdr}`).sort(),
  );
  t.same(
    (await nl.fdb.list({ dev: 'vtep1024' })).map((e) => `${e.lladdr} ${e.dst}`).sort(),
    fdb.map((e) => `${e.mac} ${e.dst}`).sort(),
  );
  t.same(
    (await nl.routes.list({ dev: 'vtep1024', family: 4 })).map((r) => `${r.dst} ${r.via}`).sort(),
    routes.map((r) => `${r.dst.includes('/') ? r.dst : `${r.dst}/32`} ${r.gateway}`).sort(),
  );

  // Replace is idempotent; delete removes exactly what was added.
  t.equal((await nl.batch(ops)).filter((r) => !r.ok).length, 0, 'replaying replaces');
  const del = Array.from({ length: 1000 }, (_, i) => remoteHost(i, 'vtep1024', 'delete')).flat();
  t.equal((await nl.batch(del)).filter((r) => !r.ok).length, 0);
  t.same(ipJsonSync(ns, '-4', 'neigh', 'show', 'dev', 'vtep1024'), []);
  t.same(bridgeJsonSync(ns, 'fdb', 'show', 'dev', 'vtep1024'), []);
});

t.test('partial failures are reported per request; the rest is applied', async (t) => {
  const { ns, nl } = await vtep(t);
  await nl.neighbours.add({ dev: 'vtep1024', address: '44.128.0.9', lladdr: '70:b3:d5:80:00:09' });
  const ops: Operation[] = [
    {
      kind: 'neighbour',
      action: 'add',
      spec: { dev: 'vtep1024', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' },
    },
    {
      kind: 'neighbour',
      action: 'add',
      spec: { dev: 'vtep1024', address: '44.128.0.9', lladdr: '70:b3:d5:80:00:09' },
    },
    {
      kind: 'fdb',
      action: 'replace',
      spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.0.2' },
    },
    {
      kind: 'route',
      action: 'add',
      spec: { dst: '10.0.2.0/24', via: '44.128.0.2', dev: 'missing0' },
    },
    {
      kind: 'route',
      action: 'add',
      spec: { dst: '10.0.3.0/24', via: 'not-an-ip', dev: 'vtep1024' },
    },
    {
      kind: 'route',
      action: 'replace',
      spec: { dst: '10.0.4.0/24', via: '44.128.0.2', dev: 'vtep1024', onlink: true },
    },
    { kind: 'fdb', action: 'delete', spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:77' } },
    { kind: 'widget', action: 'add', spec: {} } as never,
    {
      kind: 'neighbour',
      action: 'replace',
      spec: { dev: 'vtep1024', address: '44.128.0.3', lladdr: '70:b3:d5:80:00:03' },
    },
  ];
  const results = await nl.batch(ops);
  t.same(
    results.map((r) =>
      r.ok ? 'ok' : r.error instanceof NetlinkError ? r.error.code : r.error.name,
    ),
    ['ok', 'EEXIST', 'ok', 'ENODEV', 'NetlinkSpecError', 'ok', 'ENOENT', 'NetlinkSpecError', 'ok'],
  );
  const second = results[1];
  t.match(second?.ok === false && second.error, {
    operation: 'add',
    kind: 'neighbour',
    target: '44.128.0.9 lladdr 70:b3:d5:80:00:09 dev vtep1024',
  });
  const spec = results[4];
  t.type(spec?.ok === false && spec.error, NetlinkSpecError);
  t.match(spec?.ok === false && spec.error, { field: 'route.via' });
  t.same(
    ipJsonSync<{ dst: string }[]>(ns, 'neigh', 'show', 'dev', 'vtep1024')
      .map((n) => n.dst)
      .sort(),
    ['44.128.0.2', '44.128.0.3', '44.128.0.9'],
  );
  t.same(
    ipJsonSync<{ dst: string }[]>(ns, 'route', 'show', '10.0.4.0/24').map((r) => r.dst),
    ['10.0.4.0/24'],
  );
});

t.test('requests may use links created or renamed earlier in the same batch', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  const results = await nl.batch([
    { kind: 'link', action: 'add', spec: { name: 'm-app', kind: 'bridge' } },
    { kind: 'link', action: 'add', spec: { name: 'c0', kind: 'veth', peer: { name: 'c1' } } },
    { kind: 'link', action: 'set', spec: { link: 'c0', master: 'm-app', up: true } },
    { kind: 'address', action: 'add', spec: { dev: 'm-app', address: '9.0.0.1/25' } },
    { kind: 'link', action: 'set', spec: { link: 'm-app', name: 'm-renamed', up: true } },
    { kind: 'address', action: 'add', spec: { dev: 'm-renamed', address: '9.0.0.2/25' } },
    { kind: 'link', action: 'add', spec: { name: 'x1', kind: 'bridge' } },
    {
      kind: 'neighbour',
      action: 'add',
      spec: { dev: 'x1', address: '9.0.0.8', lladdr: '02:00:00:00:00:08' },
    },
    { kind: 'link', action: 'delete', spec: { link: 'x1' } },
    { kind: 'link', action: 'add', spec: { name: 'x1', kind: 'bridge' } },
    {
      kind: 'neighbour',
      action: 'add',
      spec: { dev: 'x1', address: '9.0.0.9', lladdr: '02:00:00:00:00:09' },
    },
  ]);
  t.same(
    results.map((r) => (r.ok ? 'ok' : String(r.error))),
    Array(11).fill('ok'),
  );
  t.equal(
    ipJsonSync<{ master?: string }[]>(ns, 'link', 'show', 'dev', 'c0')[0]?.master,
    'm-renamed',
  );
  t.same(
    ipJsonSync<{ addr_info: { local: string }[] }[]>(
      ns,
      '-4',
      'addr',
      'show',
      'dev',
      'm-renamed',
    )[0]?.addr_info.map((a) => a.local),
    ['9.0.0.1', '9.0.0.2'],
  );
  t.same(
    ipJsonSync<{ dst: string }[]>(ns, 'neigh', 'show', 'dev', 'x1').map((n) => n.dst),
    ['9.0.0.9'],
    'the second x1 got its neighbour by its own ifindex, not the deleted one',
  );
});

t.test(
  'replies lost to a full receive buffer are reported, and the handle keeps working',
  async (t) => {
    const ns = netns(t);
    const tiny = Netlink.in(ns, { receiveBufferBytes: 1024, chunkSize: 400 });
    t.teardown(() => tiny.close());
    await tiny.links.add({ name: 'vx0', kind: 'vxlan', vxlan: { vni: 5 } });
    // Only failures are answered before the chunk's last request: make every other one fail
    // (EEXIST) so that their error replies overflow the tiny receive buffer.
    const address = (i: number) => `10.0.${i >> 8}.${i & 255}`;
    const lladdr = '02:00:00:00:00:01';
    const existing = Array.from(
      { length: 200 },
      (_, i): Operation => ({
        kind: 'neighbour',
        action: 'replace',
        spec: { dev: 'vx0', address: address(2 * i), lladdr },
      }),
    );
    t.equal((await tiny.batch(existing)).filter((r) => !r.ok).length, 0);
    const ops = Array.from(
      { length: 400 },
      (_, i): Operation => ({
        kind: 'neighbour',
        action: i % 2 ? 'replace' : 'add',
        spec: { dev: 'vx0', address: address(i), lladdr },
      }),
    );
    const results = await tiny.batch(ops);
    const codes = results.map((r) => (r.ok ? 'ok' : (r.error as NetlinkError).code));
    t.ok(codes.includes('EEXIST'), 'the error replies that fit were read');
    t.ok(codes.includes('ENOBUFS'), `${codes.filter((c) => c === 'ENOBUFS').length} lost`);
    results.forEach((r, i) => {
      if (r.ok) return;
      if (r.error instanceof NetlinkError && r.error.code === 'EEXIST') {
        t.equal(i % 2, 0, `only adds of existing entries fail (${i})`);
      } else {
        t.match(r.error, {
          code: 'ENOBUFS',
          kind: 'neighbour',
          kernelMessage: /may or may not be applied/,
        });
      }
    });
    t.equal(
      ipJsonSync(ns, 'neigh', 'show', 'dev', 'vx0').length,
      400,
      'the kernel applied them all',
    );
    t.equal((await tiny.links.get('vx0')).name, 'vx0', 'the next request works');
    t.equal((await tiny.neighbours.list({ dev: 'vx0' })).length, 400, 'and so does a dump');
  },
);

t.test('concurrent calls on one handle run one at a time and all complete', async (t) => {
  const { ns, nl } = await vtep(t);
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    calls.push(nl.batch(remoteHost(i, 'vtep1024')));
    calls.push(nl.neighbours.list({ dev: 'vtep1024', family: 4 }));
    calls.push(nl.links.get('vtep1024'));
  }
  const out = await Promise.all(calls);
  t.ok(
    out.filter((_, i) => i % 3 === 0).every((r) => (r as { ok: boolean }[]).every((x) => x.ok)),
    'every batch succeeded',
  );
  t.same(
    out.filter((_, i) => i % 3 === 1).map((r) => (r as unknown[]).length),
    Array.from({ length: 30 }, (_, i) => i + 1),
    'each dump saw exactly the batches called before it',
  );
  t.equal(ipJsonSync(ns, '-4', 'neigh', 'show', 'dev', 'vtep1024').length, 30);
});
