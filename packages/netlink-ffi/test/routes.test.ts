// Routes through the library, checked against `ip -j route`.

import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Netlink, NetlinkError, NetlinkSpecError, type Route } from '../src/index.js';
import { ipPrefix, netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  flags: string[];
}

const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };
const PROTOCOLS: Record<string, number> = { kernel: 2, boot: 3, static: 4 };
const SCOPES: Record<string, number> = { link: 253, host: 254 };
const TYPES: Record<string, number> = { local: 2, broadcast: 3, multicast: 5, blackhole: 6 };

function view(r: Route, names: Map<number, string>) {
  return {
    dst: r.dst,
    via: r.via,
    dev: r.dev === undefined ? undefined : names.get(r.dev),
    table: r.table,
    protocol: r.protocol,
    scope: r.scope,
    type: r.type,
    metric: r.metric,
    src: r.src,
    onlink: r.onlink,
  };
}

function ipView(routes: IpRoute[], family: 4 | 6) {
  return routes.map((r) => ({
    dst: ipPrefix(r.dst, family),
    via: r.gateway,
    dev: r.dev,
    table: r.table === undefined ? 254 : (TABLES[r.table] ?? Number(r.table)),
    protocol: r.protocol === undefined ? 3 : (PROTOCOLS[r.protocol] ?? Number(r.protocol)),
    scope: r.scope === undefined ? 0 : (SCOPES[r.scope] ?? Number(r.scope)),
    type: r.type === undefined ? 1 : TYPES[r.type],
    metric: r.metric,
    src: r.prefsrc,
    onlink: r.flags.includes('onlink'),
  }));
}

t.test('add (via, dev, onlink, table, metric), replace, append, get, delete, list', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, up: true });
  await nl.links.add({
    name: 'vtep1024',
    kind: 'vxlan',
    vxlan: { vni: 1024, port: 64000 },
    up: true,
  });
  await nl.addresses.add({ dev: 'v0', address: '10.0.0.1/24' });
  await nl.addresses.add({ dev: 'vtep1024', address: '44.128.0.1/32' });
  await nl.addresses.add({ dev: 'v0', address: 'fd00::1/64', flags: 0x02 });

  await nl.routes.add({ dst: '9.0.1.0/24', via: '44.128.0.2', dev: 'vtep1024', onlink: true });
  await nl.routes.add({ dst: '10.9.0.0/16', via: '10.0.0.7', metric: 50 });
  await nl.routes.add({ dst: '10.8.0.0/16', dev: 'v0', table: 100, src: '10.0.0.1' });
  await nl.routes.add({ dst: '10.7.0.0/16', dev: 'v0', table: 1000 });
  await nl.routes.add({ dst: 'default', via: '10.0.0.254' });
  await nl.routes.add({ dst: '203.0.113.0/24', type: 'blackhole' });
  await nl.routes.add({ dst: 'fd01::/64', via: 'fd00::2', dev: 'v0', metric: 1 });

  const links = await nl.links.list();
  const names = new Map(links.map((l) => [l.index, l.name]));
  for (const family of [4, 6] as const) {
    const ours = await nl.routes.list({ family, table: 0 });
    const theirs = ipJsonSync<IpRoute[]>(ns, `-${family}`, 'route', 'show', 'table', 'all');
    t.same(
      ours.map((r) => view(r, names)),
      ipView(theirs, family),
      `IPv${family} dump of every table matches ip -j`,
    );
  }
  t.same(
    (await nl.routes.list({ table: 100 })).map((r) => r.dst),
    ['10.8.0.0/16'],
    'one table',
  );
  t.same(
    (await nl.routes.list({ table: 1000 })).map((r) => r.dst),
    ['10.7.0.0/16'],
    'a table id above 255 (RTA_TABLE)',
  );
  t.same(
    (await nl.routes.list({ dev: 'vtep1024', family: 4 })).map((r) => r.dst),
    ['9.0.1.0/24', '44.128.0.1/32'].filter((d) => d !== '44.128.0.1/32'),
    'filtered by device (main table)',
  );

  const onlink = await nl.routes.get('9.0.1.77');
  t.match(onlink, { dst: '9.0.1.0/24', via: '44.128.0.2', onlink: true, table: 254, protocol: 3 });
  t.equal(names.get(onlink.dev ?? 0), 'vtep1024');

  // Replace moves the route to another gateway; append adds a second one with another metric.
  await nl.routes.replace({ dst: '9.0.1.0/24', via: '44.128.0.3', dev: 'vtep1024', onlink: true });
  let r = ipJsonSync<IpRoute[]>(ns, 'route', 'show', '9.0.1.0/24');
  t.same(
    r.map((x) => x.gateway),
    ['44.128.0.3'],
  );
  await nl.routes.append({
    dst: '9.0.1.0/24',
    via: '44.128.0.4',
    dev: 'vtep1024',
    onlink: true,
    metric: 10,
  });
  r = ipJsonSync<IpRoute[]>(ns, 'route', 'show', '9.0.1.0/24');
  t.same(r.map((x) => x.gateway).sort(), ['44.128.0.3', '44.128.0.4']);
  await nl.routes.replace({
    dst: '9.0.1.0/24',
    via: '44.128.0.5',
    dev: 'vtep1024',
    onlink: true,
    protocol: 4,
  });
  r = ipJsonSync<IpRoute[]>(ns, 'route', 'show', '9.0.1.0/24');
  t.same(r.map((x) => [x.gateway, x.protocol]).sort(), [
    ['44.128.0.4', undefined],
    ['44.128.0.5', 'static'],
  ]);

  await nl.routes.delete({ dst: '9.0.1.0/24', metric: 10 });
  await nl.routes.delete({ dst: '9.0.1.0/24' });
  await nl.routes.delete({ dst: '10.8.0.0/16', table: 100 });
  await nl.routes.delete({ dst: 'fd01::/64', via: 'fd00::2' });
  t.same(ipJsonSync(ns, 'route', 'show', '9.0.1.0/24'), []);
  t.same(ipJsonSync(ns, 'route', 'show', 'table', '100'), []);
  t.same(ipJsonSync(ns, '-6', 'route', 'show', 'fd01::/64'), []);
});

t.test("route errors, with the kernel's own words where it gives them", async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.set({ link: 'lo', up: true });
  await nl.links.add({ name: 'vx0', kind: 'vxlan', vxlan: { vni: 1 }, up: true });
  await nl.routes.add({ dst: '9.0.1.0/24', via: '44.128.0.2', dev: 'vx0', onlink: true });

  t.match(
    await nl.routes
      .add({ dst: '9.0.1.0/24', via: '44.128.0.2', dev: 'vx0', onlink: true })
      .catch((e) => e),
    {
      code: 'EEXIST',
      operation: 'add',
      kind: 'route',
      target: '9.0.1.0/24 via 44.128.0.2 dev vx0 onlink',
    },
  );
  const noOnlink = await nl.routes
    .add({ dst: '9.0.2.0/24', via: '44.128.0.2', dev: 'vx0' })
    .catch((e) => e);
  t.type(noOnlink, NetlinkError);
  t.equal(noOnlink.code, 'ENETUNREACH');
  t.match(noOnlink.kernelMessage, /gateway/i, 'the extended ack text');
  const hostBits = await nl.routes.add({ dst: '9.0.3.1/24', dev: 'vx0' }).catch((e) => e);
  t.equal(hostBits.code, 'EINVAL');
  t.match(hostBits.kernelMessage, /prefix/i);
  t.match(
    await nl.routes.add({ dst: '9.0.3.1/0', dev: 'vx0' }).catch((e) => e),
    { code: 'EINVAL' },
    'host bits in a /0 prefix too (it is not taken as the default route)',
  );
  t.match(await nl.routes.delete({ dst: '9.9.9.0/24' }).catch((e) => e), {
    code: 'ESRCH',
    operation: 'delete',
  });
  t.match(await nl.routes.get('9.9.9.9').catch((e) => e), {
    code: 'ENETUNREACH',
    operation: 'get',
  });
  for (const [spec, field] of [
    [{ dst: '9.0.0.0/40' }, 'route.dst'],
    [{ dst: 'nowhere' }, 'route.dst'],
    [{ dst: '9.0.0.0/8', via: 'fd00::1' }, 'route.via'],
    [{ dst: '9.0.0.0/8', type: 'teleport' }, 'route.type'],
    [{ dst: '9.0.0.0/8', metric: -1 }, 'route.metric'],
    [{ dst: '9.0.0.0/8', dev: 'vx0', family: 6 }, 'route.dst'],
  ] as const) {
    const err = await nl.routes.add(spec as never).catch((e) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal(err.field, field);
  }
});
