// Test containers: namespaces attached to a bridge in a host (the agent's m-<name> bridge).

import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Cluster } from '../src/index.js';
import { rootLinks } from './helpers/root.js';

requireRoot(t, 'network namespaces');

/** What the vnet agent will do: a bridge with the gateway address of the node's Mesos half. */
const fakeMesosBridge = (mtu = 1420) => [
  `link add m-dcos mtu ${mtu} type bridge`,
  'addr add 9.0.0.1/25 dev m-dcos',
  'link set m-dcos up',
];

t.test('a container on m-dcos pings its gateway and has the bridge MTU', async (t) => {
  const before = rootLinks();
  const c = await Cluster.create({ hosts: 1, outside: false, t });
  const h1 = c.host(1);
  await h1.ipBatch(fakeMesosBridge());
  const ct = await h1.addContainer('c1', { address: '9.0.0.2/25' });
  t.equal(ct.ns, `${c.prefix}-h1-c1`, 'namespace named after cluster, host and container');
  t.equal(ct.ip, '9.0.0.2');
  const ping = await ct.ping('9.0.0.1', { count: 2 });
  t.equal(ping.received, 2, 'the container pings its gateway on the bridge');
  const [eth0] = await ct.addresses().then((ls) => ls.filter((l) => l.ifname === 'eth0'));
  t.equal(eth0?.mtu, 1420, "the container's MTU is the bridge's by default");
  const routes = await ct.ipJson<{ dst: string; gateway?: string }[]>('route');
  t.same(
    routes.find((r) => r.dst === 'default'),
    { dst: 'default', gateway: '9.0.0.1', dev: 'eth0', flags: [] },
    'default route via the first address of its subnet',
  );
  const port = await h1.link('ct-c1');
  t.equal(port?.master, 'm-dcos', 'the host side of its veth is a port of m-dcos');
  t.same(rootLinks(), before, 'the root namespace gained no link');

  await ct.remove();
  t.equal(await h1.link('ct-c1'), undefined, 'remove() takes the veth pair away');
  t.notOk(c.namespaces.includes(ct.ns), 'and the namespace');
  t.notOk(h1.containers.has('c1'));
  const again = await h1.addContainer('c1', { address: '9.0.0.3/25' });
  t.equal(
    (await again.ping('9.0.0.1', { count: 1 })).received,
    1,
    'the name can be used again at once',
  );
});

t.test('containers: MTU, IPv6, no gateway, several per bridge', async (t) => {
  const c = await Cluster.create({ hosts: 1, outside: false, t });
  const h1 = c.host(1);
  await h1.ipBatch([...fakeMesosBridge(1500), 'addr add fd01::1/64 dev m-dcos nodad']);
  const a = await h1.addContainer('a', {
    address: '9.0.0.2/25',
    mtu: 1300,
    address6: 'fd01::2/64',
    gateway6: 'fd01::1',
  });
  const b = await h1.addContainer('b', { address: '9.0.0.3/25', gateway: null });
  t.equal((await a.link('eth0'))?.mtu, 1300, 'MTU as given');
  t.equal((await a.ping('9.0.0.3', { count: 1 })).received, 1, 'a pings b over the bridge');
  t.equal((await a.ping('fd01::1', { count: 1 })).received, 1, 'a pings its IPv6 gateway');
  t.equal(a.ip6, 'fd01::2');
  t.same(await b.ipJson('route', 'show', 'default'), [], 'no default route with gateway: null');
  const big = await a.ping('9.0.0.1', { count: 1, size: 1400, dontFragment: true });
  t.equal(big.received, 0, 'a 1428-byte packet with DF does not leave an MTU-1300 container');
  t.equal(big.mtu, 1300, 'ping says why');
  await t.rejects(h1.addContainer('a', { address: '9.0.0.4/25' }), /already has a container a/);
  await t.rejects(
    h1.addContainer('Bad_Name', { address: '9.0.0.4/25' }),
    /container name "Bad_Name"/,
  );
});

t.test('addContainer waits for the bridge, and says so when it never comes', async (t) => {
  const c = await Cluster.create({ hosts: 1, outside: false, t });
  const h1 = c.host(1);
  const later = setTimeout(() => void h1.ipBatch(fakeMesosBridge()), 300);
  t.teardown(() => clearTimeout(later));
  const ct = await h1.addContainer('late', { address: '9.0.0.5/25' });
  t.equal(
    (await ct.ping('9.0.0.1', { count: 1 })).received,
    1,
    'attached once the bridge appeared',
  );
  const start = Date.now();
  await t.rejects(
    h1.addContainer('never', { bridge: 'm-ghost', address: '9.1.0.2/25', bridgeTimeoutMs: 300 }),
    /timed out after \d+ ms \(\d+ tries\) waiting for link m-ghost in h1 \(vc\d+-\d+-h1\); .*links there: .*m-dcos/,
  );
  t.ok(Date.now() - start < 2000, 'gives up after its timeout');
  t.notOk(h1.containers.has('never'), 'nothing is left of the failed container');
});
