// VXLAN FDB entries (NTF_SELF with a remote dst) and bridge FDB entries through the library,
// checked against `bridge -j fdb`.

import { bridgeJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { type FdbEntry, Netlink, NetlinkSpecError } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface BridgeFdb {
  mac: string;
  dst?: string;
  port?: number;
  vni?: number;
  vlan?: number;
  ifname?: string;
  master?: string;
  flags: string[];
  state: string;
}

function view(e: FdbEntry) {
  return { mac: e.lladdr, dst: e.dst, port: e.port, vni: e.vni, self: e.self };
}

function ipView(list: BridgeFdb[]) {
  return list.map((e) => ({
    mac: e.mac,
    dst: e.dst,
    port: e.port,
    vni: e.vni,
    self: e.flags.includes('self'),
  }));
}

t.test('VXLAN FDB: add, append (several remotes), replace, get, delete, list', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({
    name: 'vtep1024',
    kind: 'vxlan',
    vxlan: { vni: 1024, port: 64000, learning: false },
    up: true,
  });
  await nl.fdb.add({ dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.9.2' });
  await nl.fdb.replace({ dev: 'vtep1024', lladdr: '70:b3:d5:80:00:03', dst: '192.168.9.3' });
  await nl.fdb.append({ dev: 'vtep1024', lladdr: '00:00:00:00:00:00', dst: '192.168.9.2' });
  await nl.fdb.append({
    dev: 'vtep1024',
    lladdr: '00:00:00:00:00:00',
    dst: '192.168.9.3',
    port: 4790,
    vni: 7,
  });

  const ours = await nl.fdb.list({ dev: 'vtep1024' });
  const theirs = bridgeJsonSync<BridgeFdb[]>(ns, 'fdb', 'show', 'dev', 'vtep1024');
  t.same(ours.map(view), ipView(theirs), 'dump matches bridge -j fdb');
  t.ok(
    ours.every((e) => e.self && (e.state & 0x80) !== 0),
    'NTF_SELF, NUD_PERMANENT',
  );
  t.equal(theirs.find((e) => e.dst === '192.168.9.3' && e.mac.startsWith('00'))?.port, 4790);

  t.match(await nl.fdb.get({ dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02' }), {
    lladdr: '70:b3:d5:80:00:02',
    dst: '192.168.9.2',
    self: true,
  });

  // Replace points a MAC at another remote; delete with dst removes one remote of several.
  await nl.fdb.replace({ dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.9.22' });
  await nl.fdb.delete({ dev: 'vtep1024', lladdr: '00:00:00:00:00:00', dst: '192.168.9.2' });
  await nl.fdb.delete({ dev: 'vtep1024', lladdr: '70:b3:d5:80:00:03' });
  const after = bridgeJsonSync<BridgeFdb[]>(ns, 'fdb', 'show', 'dev', 'vtep1024');
  t.same(after.map((e) => `${e.mac} ${e.dst}`).sort(), [
    '00:00:00:00:00:00 192.168.9.3',
    '70:b3:d5:80:00:02 192.168.9.22',
  ]);
});

t.test('bridge FDB: static entries on a port (master) and the full dump', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'br0', kind: 'bridge', up: true });
  await nl.links.add({ name: 'p0', kind: 'veth', peer: { name: 'q0' }, master: 'br0', up: true });
  await nl.fdb.add({ dev: 'p0', lladdr: '02:00:00:00:01:01', master: true, state: 'static' });
  const entries = bridgeJsonSync<BridgeFdb[]>(ns, 'fdb', 'show', 'br', 'br0');
  t.ok(entries.some((e) => e.mac === '02:00:00:00:01:01' && e.state === 'static'));
  const ours = await nl.fdb.list({ master: 'br0' });
  t.same(ours.map((e) => e.lladdr).sort(), entries.map((e) => e.mac).sort(), 'filtered by bridge');
  const all = await nl.fdb.list();
  t.equal(all.length, bridgeJsonSync(ns, 'fdb', 'show').length, 'whole dump');
  await nl.fdb.delete({ dev: 'p0', lladdr: '02:00:00:00:01:01', master: true });
  t.notOk(
    bridgeJsonSync<BridgeFdb[]>(ns, 'fdb', 'show', 'br', 'br0').some(
      (e) => e.mac === '02:00:00:00:01:01',
    ),
  );
});

t.test('FDB errors', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.links.add({ name: 'vx0', kind: 'vxlan', vxlan: { vni: 1, learning: false } });
  await nl.fdb.add({ dev: 'vx0', lladdr: '70:b3:d5:80:00:02', dst: '192.168.9.2' });
  t.match(
    await nl.fdb
      .add({ dev: 'vx0', lladdr: '70:b3:d5:80:00:02', dst: '192.168.9.2' })
      .catch((e) => e),
    {
      code: 'EEXIST',
      operation: 'add',
      kind: 'fdb',
      target: '70:b3:d5:80:00:02 dev vx0 dst 192.168.9.2',
    },
  );
  t.match(
    await nl.fdb.add({ dev: 'vx0', lladdr: '70:b3:d5:80:00:06', dst: 'fd00::6' }).catch((e) => e),
    { code: 'EAFNOSUPPORT', operation: 'add' },
    'an IPv6 remote on an IPv4 VXLAN device',
  );
  t.match(await nl.fdb.delete({ dev: 'vx0', lladdr: '70:b3:d5:80:00:09' }).catch((e) => e), {
    code: 'ENOENT',
    operation: 'delete',
  });
  t.match(await nl.fdb.get({ dev: 'vx0', lladdr: '70:b3:d5:80:00:09' }).catch((e) => e), {
    code: 'ENOENT',
    operation: 'get',
  });
  for (const [spec, field] of [
    [{ dev: 'vx0', lladdr: 'nope', dst: '1.1.1.1' }, 'fdb.lladdr'],
    [{ dev: 'vx0', lladdr: '70:b3:d5:80:00:02', dst: '1.1.1' }, 'fdb.dst'],
    [{ dev: 'vx0', lladdr: '70:b3:d5:80:00:02', vni: 2 ** 24 }, 'fdb.vni'],
    [{ dev: 'vx0', lladdr: '70:b3:d5:80:00:02', state: 'forever' }, 'fdb.state'],
  ] as const) {
    const err = await nl.fdb.add(spec as never).catch((e) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal(err.field, field);
  }
});
