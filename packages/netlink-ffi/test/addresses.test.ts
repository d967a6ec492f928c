// IPv4 and IPv6 addresses through the library, checked against `ip -j addr`.

import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { type Address, Netlink, NetlinkError, NetlinkSpecError } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  address?: string;
  broadcast?: string;
  scope: string;
  label?: string;
  valid_life_time?: number;
}

interface IpAddrLink {
  ifindex: number;
  ifname: string;
  addr_info: IpAddrInfo[];
}

const SCOPE: Record<number, string> = { 0: 'global', 253: 'link', 254: 'host' };

function view(a: Address) {
  return {
    index: a.index,
    family: a.family === 4 ? 'inet' : 'inet6',
    local: a.address,
    prefixlen: a.prefixLength,
    scope: SCOPE[a.scope] ?? String(a.scope),
    broadcast: a.broadcast,
    peer: a.peer,
  };
}

function ipView(links: IpAddrLink[]) {
  return links.flatMap((l) =>
    l.addr_info.map((i) => ({
      index: l.ifindex,
      family: i.family,
      local: i.local,
      prefixlen: i.prefixlen,
      scope: i.scope,
      broadcast: i.broadcast,
      peer: i.address,
    })),
  );
}

t.test('add, replace, delete and list IPv4 and IPv6 addresses', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, up: true });
  await nl.addresses.add({
    dev: 'v0',
    address: '10.1.0.1/24',
    broadcast: '10.1.0.255',
    label: 'v0:app',
  });
  await nl.addresses.add({ dev: 'v0', address: '10.1.0.2/24' });
  await nl.addresses.add({ dev: 'v0', address: '192.0.2.1', peer: '192.0.2.2' });
  await nl.addresses.add({ dev: 'v0', address: 'fd00:1::1/64', flags: 0x02 /* nodad */ });
  await nl.addresses.add({ dev: 'lo', address: '127.0.0.53/8', scope: 'host' });

  const ours = await nl.addresses.list();
  // The kernel dumps per family, iproute2 prints per link: compare in one order.
  const order = (a: { index: number; family: string; local: string }, b: typeof a) =>
    a.index - b.index || a.family.localeCompare(b.family) || a.local.localeCompare(b.local);
  t.same(
    ours.map(view).sort(order),
    ipView(ipJsonSync<IpAddrLink[]>(ns, 'addr', 'show')).sort(order),
    'dump matches ip -j',
  );
  const app = ours.find((a) => a.address === '10.1.0.1');
  t.equal(app?.label, 'v0:app');
  t.equal(app?.broadcast, '10.1.0.255');
  t.equal(ours.find((a) => a.address === '192.0.2.1')?.peer, '192.0.2.2');
  t.equal((ours.find((a) => a.address === 'fd00:1::1')?.flags ?? 0) & 0x02, 0x02, 'nodad kept');

  t.same(
    (await nl.addresses.list({ dev: 'v0', family: 6 })).map((a) => a.address).sort(),
    [
      'fd00:1::1',
      ...ours.filter((a) => a.family === 6 && a.address.startsWith('fe80')).map((a) => a.address),
    ].sort(),
    'filtered by device and family',
  );

  // Replace keeps a single address and updates its attributes.
  await nl.addresses.replace({ dev: 'v0', address: '10.1.0.2/24', metric: 77 });
  await nl.addresses.replace({ dev: 'v0', address: '10.1.0.3/24' });
  const v4 = (await nl.addresses.list({ dev: 'v0', family: 4 })).map(
    (a) => `${a.address}/${a.prefixLength}`,
  );
  t.same(v4.sort(), ['10.1.0.1/24', '10.1.0.2/24', '10.1.0.3/24', '192.0.2.1/32']);
  t.equal(
    (await nl.addresses.list({ dev: 'v0' })).find((a) => a.address === '10.1.0.2')?.metric,
    77,
  );

  await nl.addresses.delete({ dev: 'v0', address: '10.1.0.3/24' });
  await nl.addresses.delete({ dev: 'v0', address: 'fd00:1::1/64' });
  const after = ipView(ipJsonSync<IpAddrLink[]>(ns, 'addr', 'show', 'dev', 'v0')).map(
    (a) => a.local,
  );
  t.notOk(after.includes('10.1.0.3'));
  t.notOk(after.includes('fd00:1::1'));
  t.ok(after.includes('10.1.0.1'));
});

t.test('address errors', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'v0', kind: 'veth', peer: { name: 'v1' } });
  await nl.addresses.add({ dev: 'v0', address: '10.1.0.1/24' });
  t.match(await nl.addresses.add({ dev: 'v0', address: '10.1.0.1/24' }).catch((e) => e), {
    name: 'NetlinkError',
    code: 'EEXIST',
    operation: 'add',
    kind: 'address',
    target: '10.1.0.1/24 dev v0',
  });
  const missing = await nl.addresses.delete({ dev: 'v0', address: '10.9.9.9/24' }).catch((e) => e);
  t.type(missing, NetlinkError);
  t.equal(missing.code, 'EADDRNOTAVAIL');
  t.match(await nl.addresses.add({ dev: 'nodev', address: '10.1.0.1/24' }).catch((e) => e), {
    code: 'ENODEV',
    kernelMessage: 'no link named "nodev" (address.dev)',
  });
  for (const [spec, field] of [
    [{ dev: 'v0', address: '10.1.0.1/33' }, 'address.address'],
    [{ dev: 'v0', address: '10.1.0.300/24' }, 'address.address'],
    [{ dev: 'v0', address: 'fd00::1', peer: '10.0.0.1' }, 'address.peer'],
    [{ dev: 'v0', address: '10.1.0.1/24', scope: 'galaxy' }, 'address.scope'],
    [{ dev: '', address: '10.1.0.1/24' }, 'address.dev'],
  ] as const) {
    const err = await nl.addresses.add(spec as never).catch((e) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal(err.field, field);
  }
});
