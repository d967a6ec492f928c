// Neighbours (permanent ARP and NDP entries) through the library, checked against `ip -j neigh`.

import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { type Neighbour, Netlink, NetlinkSpecError, NUD_STATES } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  router?: null;
  proxy?: null;
  state?: string[];
}

function stateNames(state: number): string[] {
  return Object.entries(NUD_STATES)
    .filter(([, bit]) => state & bit)
    .map(([name]) => name.toUpperCase());
}

function view(n: Neighbour, names: Map<number, string>) {
  return {
    dst: n.address,
    dev: names.get(n.index),
    lladdr: n.lladdr,
    router: n.router,
    state: stateNames(n.state),
  };
}

function ipView(list: IpNeigh[]) {
  return list.map((n) => ({
    dst: n.dst,
    dev: n.dev,
    lladdr: n.lladdr,
    router: 'router' in n,
    state: n.state ?? [],
  }));
}

t.test('add, replace, get, delete and list ARP and NDP entries', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({
    name: 'vtep1024',
    kind: 'vxlan',
    vxlan: { vni: 1024, port: 64000, learning: false },
  });
  await nl.links.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } });
  const names = new Map((await nl.links.list()).map((l) => [l.index, l.name]));

  await nl.neighbours.add({ dev: 'vtep1024', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' });
  await nl.neighbours.replace({
    dev: 'vtep1024',
    address: '44.128.0.3',
    lladdr: '70:b3:d5:80:00:03',
  });
  await nl.neighbours.add({
    dev: 'v0',
    address: 'fd00::5',
    lladdr: '02:00:00:00:00:05',
    router: true,
  });
  await nl.neighbours.add({
    dev: 'v0',
    address: '10.0.0.5',
    lladdr: '02:00:00:00:00:06',
    state: 'reachable',
  });
  await nl.neighbours.add({ dev: 'v0', address: '10.0.0.9', proxy: true });

  const ours = await nl.neighbours.list();
  t.same(
    ours.map((n) => view(n, names)),
    ipView(ipJsonSync<IpNeigh[]>(ns, 'neigh', 'show')),
    'dump matches ip -j neigh',
  );
  t.same(
    (await nl.neighbours.list({ proxy: true })).map((n) => [n.address, n.proxy]),
    ipJsonSync<IpNeigh[]>(ns, 'neigh', 'show', 'proxy').map((n) => [n.dst, 'proxy' in n]),
    'proxy entries',
  );
  t.same(
    (await nl.neighbours.list({ dev: 'vtep1024', family: 4 })).map((n) => n.address).sort(),
    ['44.128.0.2', '44.128.0.3'],
    'filtered by device',
  );
  t.match(await nl.neighbours.get({ dev: 'vtep1024', address: '44.128.0.2' }), {
    address: '44.128.0.2',
    lladdr: '70:b3:d5:80:00:02',
    state: NUD_STATES.permanent,
  });

  // Replace changes the MAC of an existing entry in place.
  await nl.neighbours.replace({
    dev: 'vtep1024',
    address: '44.128.0.2',
    lladdr: '70:b3:d5:80:00:22',
  });
  t.same(
    ipJsonSync<IpNeigh[]>(ns, 'neigh', 'show', '44.128.0.2', 'dev', 'vtep1024').map(
      (n) => n.lladdr,
    ),
    ['70:b3:d5:80:00:22'],
  );
  await nl.neighbours.delete({ dev: 'vtep1024', address: '44.128.0.2' });
  await nl.neighbours.delete({ dev: 'v0', address: 'fd00::5' });
  await nl.neighbours.delete({ dev: 'v0', address: '10.0.0.9', proxy: true });
  t.same(ipJsonSync(ns, 'neigh', 'show', '44.128.0.2'), []);
  t.same(ipJsonSync(ns, 'neigh', 'show', 'fd00::5'), []);
  t.same(ipJsonSync(ns, 'neigh', 'show', 'proxy'), []);
});

t.test('neighbour errors', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'vx0', kind: 'vxlan', vxlan: { vni: 1 } });
  await nl.neighbours.add({ dev: 'vx0', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' });
  t.match(
    await nl.neighbours
      .add({ dev: 'vx0', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' })
      .catch((e) => e),
    {
      code: 'EEXIST',
      operation: 'add',
      kind: 'neighbour',
      target: '44.128.0.2 lladdr 70:b3:d5:80:00:02 dev vx0',
    },
  );
  t.match(await nl.neighbours.delete({ dev: 'vx0', address: '44.128.0.9' }).catch((e) => e), {
    code: 'ENOENT',
    operation: 'delete',
  });
  t.match(await nl.neighbours.get({ dev: 'vx0', address: '44.128.0.9' }).catch((e) => e), {
    code: 'ENOENT',
    operation: 'get',
  });
  t.match(
    await nl.neighbours.add({ dev: 'vx0', address: '44.128.0.3', lladdr: '70:b3' }).catch((e) => e),
    { code: 'EINVAL', operation: 'add' },
    'a MAC shorter than the device address is refused by the kernel',
  );
  for (const [spec, field] of [
    [{ dev: 'vx0', address: '44.128.0.2' }, 'neighbour.lladdr'],
    [{ dev: 'vx0', address: '44.128.0.256', lladdr: '70:b3:d5:80:00:02' }, 'neighbour.address'],
    [{ dev: 'vx0', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:0g' }, 'neighbour.lladdr'],
    [
      { dev: 'vx0', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02', state: 'sleepy' },
      'neighbour.state',
    ],
  ] as const) {
    const err = await nl.neighbours.add(spec as never).catch((e) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal(err.field, field);
  }
});
