// Nexthop objects and routes that use them (nhid) through the library, checked against
// `ip -j nexthop` and `ip -j route`.

import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { Netlink, NetlinkError, NetlinkSpecError, type Nexthop } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  scope?: string;
  protocol?: string;
  flags: string[];
  blackhole?: null;
  fdb?: null;
  group?: { id: number; weight?: number }[];
}

interface IpRoute {
  dst: string;
  nhid?: number;
  gateway?: string;
  dev?: string;
  flags: string[];
}

const PROTOCOLS: Record<string, number> = { static: 4, boot: 3 };
const SCOPES: Record<string, number> = { link: 253, host: 254 };

function view(n: Nexthop, names: Map<number, string>) {
  return {
    id: n.id,
    gateway: n.via,
    dev: n.dev === undefined ? undefined : names.get(n.dev),
    protocol: n.protocol || undefined,
    onlink: n.onlink,
    blackhole: n.blackhole,
    fdb: n.fdb,
    group: n.group?.map((m) => (m.weight === 1 ? { id: m.id } : m)),
  };
}

function ipView(list: IpNexthop[]) {
  return list.map((n) => ({
    id: n.id,
    gateway: n.gateway,
    dev: n.dev,
    protocol: n.protocol === undefined ? undefined : PROTOCOLS[n.protocol],
    onlink: n.flags.includes('onlink'),
    blackhole: 'blackhole' in n,
    fdb: 'fdb' in n,
    group: n.group,
  }));
}

async function host(t: Test) {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.set({ link: 'lo', up: true });
  await nl.links.add({ name: 'vtep1024', kind: 'vxlan', vxlan: { vni: 1024 }, up: true });
  await nl.links.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, up: true });
  await nl.links.set({ link: 'v1', up: true });
  await nl.addresses.add({ dev: 'v0', address: '10.0.0.1/24' });
  await nl.addresses.add({ dev: 'v0', address: 'fd00::1/64', flags: 0x02 });
  const names = new Map((await nl.links.list()).map((l) => [l.index, l.name]));
  return { ns, nl, names };
}

t.test('add, replace, get, list and delete nexthops; routes that use them', async (t) => {
  const { ns, nl, names } = await host(t);
  await nl.nexthops.add({ id: 1, via: '44.128.0.2', dev: 'vtep1024', onlink: true });
  await nl.nexthops.add({ id: 2, via: '10.0.0.2', dev: 'v0', protocol: 4 });
  await nl.nexthops.add({ id: 3, dev: 'v0' });
  await nl.nexthops.add({ id: 4, blackhole: true });
  await nl.nexthops.add({ id: 5, via: 'fd00::2', dev: 'v0' });
  await nl.nexthops.add({ id: 6, group: [{ id: 1 }, { id: 2, weight: 3 }] });
  await nl.nexthops.replace({ id: 7, via: '192.168.1.1', fdb: true });
  await nl.nexthops.add({ id: 8, group: [{ id: 7 }], fdb: true });

  const ours = await nl.nexthops.list();
  t.same(
    ours.map((n) => view(n, names)),
    ipView(ipJsonSync<IpNexthop[]>(ns, 'nexthop', 'show')),
    'dump matches ip -j nexthop',
  );
  const scopes = ipJsonSync<IpNexthop[]>(ns, 'nexthop', 'show')
    .filter((n) => n.scope)
    .map((n) => [n.id, SCOPES[n.scope as string]]);
  t.same(
    ours.filter((n) => scopes.some(([id]) => id === n.id)).map((n) => [n.id, n.scope]),
    scopes,
    'scopes match',
  );
  t.same(
    (await nl.nexthops.list({ dev: 'v0' })).map((n) => n.id),
    ipJsonSync<IpNexthop[]>(ns, 'nexthop', 'show', 'dev', 'v0').map((n) => n.id),
    'filtered by device',
  );
  t.same(
    (await nl.nexthops.list({ groups: true })).map((n) => n.id),
    ipJsonSync<IpNexthop[]>(ns, 'nexthop', 'show', 'groups').map((n) => n.id),
    'groups only',
  );
  t.same(
    (await nl.nexthops.list({ family: 6 })).map((n) => n.id),
    [5],
    'IPv6 only',
  );
  t.match(await nl.nexthops.get(1), {
    id: 1,
    family: 4,
    via: '44.128.0.2',
    onlink: true,
    scope: 253,
    protocol: 0,
  });
  const group = await nl.nexthops.get(6);
  t.same(group.group, [
    { id: 1, weight: 1 },
    { id: 2, weight: 3 },
  ]);
  t.equal(group.family, undefined, 'a group has no family');
  t.equal(group.groupType, 0, 'multipath');
  t.equal((await nl.nexthops.get(3)).scope, 254, 'a device-only nexthop is scope host');

  // Routes by nexthop id.
  await nl.routes.add({ dst: '9.0.1.0/24', nhid: 1 });
  await nl.routes.replace({ dst: '9.0.2.0/24', nhid: 6 });
  await nl.routes.add({ dst: 'fd01::/64', nhid: 5 });
  await nl.routes.add({ dst: '203.0.113.0/24', nhid: 4 });
  const routes = await nl.routes.list({ family: 4 });
  const theirs = ipJsonSync<IpRoute[]>(ns, '-4', 'route', 'show');
  t.same(
    routes.map((r) => [r.dst, r.nhid, r.via, r.dev === undefined ? undefined : names.get(r.dev)]),
    theirs.map((r) => [r.dst.includes('/') ? r.dst : `${r.dst}/32`, r.nhid, r.gateway, r.dev]),
    'route dump (nhid, and the nexthop as via/dev) matches ip -j route',
  );
  t.match(
    routes.find((r) => r.dst === '9.0.1.0/24'),
    { nhid: 1, via: '44.128.0.2', onlink: true, scope: 0, protocol: 3 },
  );
  t.equal(routes.find((r) => r.dst === '9.0.2.0/24')?.multipath?.length, 2, 'group as multipath');
  t.equal(routes.find((r) => r.dst === '203.0.113.0/24')?.type, 6, 'blackhole via nexthop');
  t.same(
    (await nl.routes.list({ family: 6 })).filter((r) => r.nhid).map((r) => [r.dst, r.via]),
    [['fd01::/64', 'fd00::2']],
  );
  t.match(await nl.routes.get('9.0.1.7'), { dst: '9.0.1.0/24', nhid: 1 });

  // Replacing a nexthop re-points every route that uses it; the routes are not touched.
  await nl.nexthops.replace({ id: 1, via: '44.128.0.7', dev: 'vtep1024', onlink: true });
  t.same(
    ipJsonSync<IpRoute[]>(ns, 'route', 'show', '9.0.1.0/24').map((r) => [r.nhid, r.gateway]),
    [[1, '44.128.0.7']],
    'the route follows the replaced nexthop',
  );

  // Deleting a nexthop deletes the routes that use it and shrinks the groups it is in.
  await nl.nexthops.delete(1);
  t.same(ipJsonSync(ns, 'route', 'show', '9.0.1.0/24'), []);
  t.same((await nl.nexthops.get(6)).group, [{ id: 2, weight: 3 }]);
  await nl.routes.delete({ dst: '9.0.2.0/24', nhid: 6 });
  t.same(ipJsonSync(ns, 'route', 'show', '9.0.2.0/24'), []);

  // In a batch, with the routes that use them.
  const results = await nl.batch([
    {
      kind: 'nexthop',
      action: 'replace',
      spec: { id: 20, via: '44.128.0.20', dev: 'vtep1024', onlink: true },
    },
    { kind: 'route', action: 'replace', spec: { dst: '9.0.20.0/24', nhid: 20 } },
    { kind: 'nexthop', action: 'delete', spec: { id: 8 } },
    { kind: 'nexthop', action: 'delete', spec: { id: 7 } },
  ]);
  t.same(
    results.map((r) => r.ok),
    [true, true, true, true],
  );
  t.same(
    ipJsonSync<IpRoute[]>(ns, 'route', 'show', '9.0.20.0/24').map((r) => [r.nhid, r.gateway]),
    [[20, '44.128.0.20']],
  );
  t.same(
    ipJsonSync<IpNexthop[]>(ns, 'nexthop', 'show').map((n) => n.id),
    [2, 3, 4, 5, 6, 20],
  );
});

t.test('nexthop errors', async (t) => {
  const { nl } = await host(t);
  await nl.links.add({ name: 'down0', kind: 'veth', peer: { name: 'down1' } });
  await nl.nexthops.add({ id: 1, via: '44.128.0.2', dev: 'vtep1024', onlink: true });
  await nl.nexthops.add({ id: 5, dev: 'v0' });
  const err = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e);

  t.match(await err(nl.nexthops.add({ id: 1, via: '44.128.0.2', dev: 'vtep1024', onlink: true })), {
    code: 'EEXIST',
    operation: 'add',
    kind: 'nexthop',
    target: 'id 1 via 44.128.0.2 dev vtep1024 onlink',
  });
  t.match(await err(nl.nexthops.delete(9)), {
    code: 'ENOENT',
    operation: 'delete',
    target: 'id 9',
  });
  t.match(await err(nl.nexthops.get(9)), { code: 'ENOENT', operation: 'get', target: 'id 9' });
  const offLink = await err(nl.nexthops.add({ id: 2, via: '44.128.0.3', dev: 'vtep1024' }));
  t.type(offLink, NetlinkError);
  t.match(
    offLink,
    { code: 'ENETUNREACH', kernelMessage: /invalid gateway/i },
    'a gateway not on-link, without onlink',
  );
  t.match(await err(nl.nexthops.add({ id: 2, dev: 'down0' })), {
    code: 'ENETDOWN',
    kernelMessage: /not up/,
  });
  t.match(await err(nl.nexthops.add({ id: 2, dev: 'nope0' })), {
    code: 'ENODEV',
    kernelMessage: 'no link named "nope0" (nexthop.dev)',
  });
  t.match(await err(nl.nexthops.add({ id: 2, blackhole: true, dev: 'v0' })), {
    code: 'EINVAL',
    kernelMessage: /blackhole/i,
  });
  t.match(await err(nl.nexthops.add({ id: 2, group: [{ id: 1 }, { id: 99 }] })), {
    code: 'EINVAL',
    kernelMessage: /nexthop id/i,
  });
  t.match(
    await err(nl.nexthops.replace({ id: 1, group: [{ id: 5 }] })),
    {
      code: 'EINVAL',
      operation: 'replace',
      kernelMessage: /replace a nexthop with a nexthop group/,
    },
    'a nexthop cannot become a group',
  );
  t.match(await err(nl.routes.add({ dst: '9.0.1.0/24', nhid: 99 })), {
    code: 'EINVAL',
    kind: 'route',
    target: '9.0.1.0/24 nhid 99',
    kernelMessage: /does not exist/,
  });
  t.match(await err(nl.routes.add({ dst: '9.0.1.0/24', nhid: 1, via: '44.128.0.2', dev: 'v0' })), {
    code: 'EINVAL',
    kernelMessage: /mutually exclusive/,
  });

  for (const [spec, field] of [
    [{ id: 0, dev: 'v0' }, 'nexthop.id'],
    [{ id: 1.5, dev: 'v0' }, 'nexthop.id'],
    [{ id: 2 ** 32, dev: 'v0' }, 'nexthop.id'],
    [{ id: 3, via: '44.128.0.300', dev: 'v0' }, 'nexthop.via'],
    [{ id: 3, via: 'fd00::2', dev: 'v0', family: 4 }, 'nexthop.via'],
    [{ id: 3, dev: 'v0', family: 5 }, 'nexthop.family'],
    [{ id: 3, dev: 'v0', onlink: 'yes' }, 'nexthop.onlink'],
    [{ id: 3, dev: 'v0', protocol: 300 }, 'nexthop.protocol'],
    [{ id: 3, group: [] }, 'nexthop.group'],
    [{ id: 3, group: [{ id: 1, weight: 0 }] }, 'nexthop.group[0].weight'],
    [{ id: 3, group: [{ id: 1 }, { id: 2, weight: 257 }] }, 'nexthop.group[1].weight'],
    [{ id: 3, group: [{ id: 1 }], via: '10.0.0.2' }, 'nexthop.via'],
  ] as const) {
    const e = await err(nl.nexthops.add(spec as never));
    t.type(e, NetlinkSpecError, field);
    t.match(e, { field });
  }
  t.match(await err(nl.routes.add({ dst: '9.0.1.0/24', nhid: 0 })), { field: 'route.nhid' });
  t.same(
    (await nl.nexthops.list()).map((n) => n.id),
    [1, 5],
    'nothing else was created',
  );
});
