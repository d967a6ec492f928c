// Links through the library, checked against `ip -j -d link`: vxlan, bridge, veth (peer in
// another namespace), dummy, and every change a link supports; plus the documented errors.

import { ipJsonSync, ipSync, requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { type Link, Netlink, NetlinkError, NetlinkSpecError } from '../src/index.js';
import { netns, succeeds } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address: string;
  master?: string;
  link?: string;
  operstate: string;
  txqlen?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

function ipLink(ns: string, name: string): IpLink {
  return ipJsonSync<IpLink[]>(ns, '-d', 'link', 'show', 'dev', name)[0] as IpLink;
}

function open(t: Test, ns: string): Netlink {
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  return nl;
}

/** The fields both views carry, in iproute2's terms. */
function common(l: Link, names: Map<number, string>) {
  return {
    ifindex: l.index,
    ifname: l.name,
    up: l.up,
    mtu: l.mtu,
    address: l.address,
    master: l.master === undefined ? undefined : names.get(l.master),
    operstate: l.operState?.toUpperCase(),
  };
}

function commonIp(l: IpLink) {
  return {
    ifindex: l.ifindex,
    ifname: l.ifname,
    up: l.flags.includes('UP'),
    mtu: l.mtu,
    address: l.address,
    master: l.master,
    operstate: l.operstate,
  };
}

t.test(
  'vxlan: VNI, port (big-endian on the wire), local, underlay device, learning, TTL',
  async (t) => {
    const ns = netns(t);
    const nl = open(t, ns);
    await nl.links.add({ name: 'u0', kind: 'veth', peer: { name: 'u1' }, up: true });
    await nl.addresses.add({ dev: 'u0', address: '192.168.9.1/24' });
    await nl.links.add({
      name: 'vtep1024',
      kind: 'vxlan',
      mtu: 1450,
      address: '70:b3:d5:80:00:01',
      vxlan: { vni: 1024, port: 64000, local: '192.168.9.1', dev: 'u0', learning: false, ttl: 7 },
      up: true,
    });
    const l = ipLink(ns, 'vtep1024');
    const d = l.linkinfo?.info_data ?? {};
    t.equal(l.linkinfo?.info_kind, 'vxlan');
    t.equal(d.id, 1024);
    t.equal(d.port, 64000, 'the kernel read the port in network byte order');
    t.equal(d.local, '192.168.9.1');
    t.equal(d.link, 'u0');
    t.equal(d.learning, false);
    t.equal(d.ttl, 7);
    t.equal(l.mtu, 1450);
    t.equal(l.address, '70:b3:d5:80:00:01');
    t.ok(l.flags.includes('UP'));

    const ours = await nl.links.get('vtep1024');
    t.equal(ours.kind, 'vxlan');
    t.match(ours.vxlan, {
      vni: 1024,
      port: 64000,
      local: '192.168.9.1',
      link: ipLink(ns, 'u0').ifindex,
      learning: false,
      ttl: 7,
      ageing: d.ageing,
    });
    t.same(ours.vxlan?.portRange, d.port_range);
    t.equal(ours.index, l.ifindex);
    t.equal(ours.up, true);

    // Learning on and a second VNI through the same call, IPv6 local address.
    await nl.links.add({
      name: 'vx6',
      kind: 'vxlan',
      vxlan: { vni: 16777215, port: 4789, local: 'fd00::1', learning: true, udpCsum: false },
    });
    const v6 = ipLink(ns, 'vx6').linkinfo?.info_data ?? {};
    t.equal(v6.id, 16777215);
    t.equal(v6.local6, 'fd00::1');
    t.equal(v6.learning, true);
    t.match((await nl.links.get('vx6')).vxlan, { vni: 16777215, local: 'fd00::1', port: 4789 });
  },
);

t.test('bridge with options; veth enslaved at creation; set master / nomaster', async (t) => {
  const ns = netns(t);
  const nl = open(t, ns);
  await nl.links.add({
    name: 'm-dcos',
    kind: 'bridge',
    bridge: { stp: true, forwardDelay: 400, priority: 4096 },
    up: true,
  });
  const br = ipLink(ns, 'm-dcos');
  t.equal(br.linkinfo?.info_kind, 'bridge');
  t.equal(br.linkinfo?.info_data?.stp_state, 1);
  t.equal(br.linkinfo?.info_data?.forward_delay, 400);
  t.equal(br.linkinfo?.info_data?.priority, 4096);
  t.match((await nl.links.get('m-dcos')).bridge, {
    stpState: 1,
    forwardDelay: 400,
    priority: 4096,
  });

  await nl.links.add({ name: 'va', kind: 'veth', peer: { name: 'vb' }, master: 'm-dcos' });
  t.equal(ipLink(ns, 'va').master, 'm-dcos');
  t.equal(ipLink(ns, 'va').link, 'vb');
  t.equal((await nl.links.get('va')).master, br.ifindex);
  t.equal((await nl.links.get('va')).linkInfo?.slaveKind, 'bridge');

  await nl.links.set({ link: 'va', master: null });
  t.equal(ipLink(ns, 'va').master, undefined);
  await nl.links.set({ link: 'vb', master: 'm-dcos' });
  t.equal(ipLink(ns, 'vb').master, 'm-dcos');
  t.same(
    (await nl.links.list({ master: 'm-dcos' })).map((l) => l.name),
    ['vb'],
    'list filtered by master',
  );
});

t.test('veth pair with the peer created in another namespace (by name, pid, path)', async (t) => {
  const host = netns(t, 'h');
  const ctr = netns(t, 'c');
  const nl = open(t, host);
  await nl.links.add({
    name: 'veth-h',
    kind: 'veth',
    peer: { name: 'eth0', netns: ctr, mtu: 1420 },
  });
  t.equal(ipJsonSync(host, 'link', 'show', 'dev', 'veth-h').length, 1);
  t.notOk(succeeds('ip', ['-n', host, 'link', 'show', 'dev', 'eth0']), 'peer is not in the host');
  const peer = ipLink(ctr, 'eth0');
  t.equal(peer.mtu, 1420);
  const inCtr = Netlink.in({ path: `/var/run/netns/${ctr}` });
  t.teardown(() => inCtr.close());
  t.equal((await inCtr.links.get('eth0')).mtu, 1420);
  t.equal(
    (await nl.links.get('veth-h')).linkNetnsId !== undefined,
    true,
    'peer is in another netns',
  );
});

t.test('set: up/down, MTU, MAC, txqueuelen, alias, rename, move to a namespace', async (t) => {
  const ns = netns(t);
  const other = netns(t, 'o');
  const nl = open(t, ns);
  await nl.links.add({ name: 'a0', kind: 'veth', peer: { name: 'a1' } });
  await nl.links.set({ link: 'a0', up: true, mtu: 9000, address: '02:00:00:00:00:aa' });
  let l = ipLink(ns, 'a0');
  t.ok(l.flags.includes('UP'));
  t.equal(l.mtu, 9000);
  t.equal(l.address, '02:00:00:00:00:aa');
  await nl.links.set({ link: l.ifindex, up: false, txQueueLength: 500, alias: 'uplink' });
  l = ipLink(ns, 'a0');
  t.notOk(l.flags.includes('UP'));
  t.equal(l.txqlen, 500);
  const ours = await nl.links.get('a0');
  t.equal(ours.alias, 'uplink');
  t.equal(ours.txQueueLength, 500);
  t.equal(ours.up, false);

  await nl.links.set({ link: 'a0', name: 'renamed0' });
  t.equal(ipLink(ns, 'renamed0').ifindex, l.ifindex);
  await nl.links.set({ link: 'a1', netns: { name: other } });
  t.equal(ipJsonSync(other, 'link', 'show', 'dev', 'a1').length, 1, 'moved to the other namespace');
  t.notOk(succeeds('ip', ['-n', ns, 'link', 'show', 'dev', 'a1']));
  await nl.links.delete('renamed0');
  t.notOk(succeeds('ip', ['-n', ns, 'link', 'show', 'dev', 'renamed0']));
});

t.test(
  'dummy: created when the kernel has the driver, EOPNOTSUPP like iproute2 when not',
  async (t) => {
    const ns = netns(t);
    const nl = open(t, ns);
    const kernelHasDummy = succeeds('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', 'dummy']);
    if (kernelHasDummy) {
      await nl.links.add({ name: 'd0', kind: 'dummy', mtu: 1400 });
      t.equal(ipLink(ns, 'd0').linkinfo?.info_kind, 'dummy');
      t.equal(ipLink(ns, 'd0').mtu, 1400);
    } else {
      const err = await nl.links.add({ name: 'd0', kind: 'dummy' }).catch((e: unknown) => e);
      t.type(err, NetlinkError);
      t.equal((err as NetlinkError).code, 'EOPNOTSUPP');
      t.equal((err as NetlinkError).operation, 'add');
      t.equal((err as NetlinkError).kind, 'link');
      t.match((err as NetlinkError).message, /add link d0 type dummy: EOPNOTSUPP/);
    }
  },
);

t.test('list and get match `ip -j -d link show`', async (t) => {
  const ns = netns(t);
  const nl = open(t, ns);
  await nl.links.add({ name: 'br0', kind: 'bridge', up: true });
  for (let i = 0; i < 5; i++) {
    await nl.links.add({ name: `p${i}`, kind: 'veth', peer: { name: `q${i}` }, master: 'br0' });
  }
  await nl.links.add({ name: 'vx0', kind: 'vxlan', vxlan: { vni: 42, port: 4789 } });
  const ours = await nl.links.list();
  const names = new Map(ours.map((l) => [l.index, l.name]));
  const theirs = ipJsonSync<IpLink[]>(ns, '-d', 'link', 'show');
  t.same(
    ours.map((l) => common(l, names)),
    theirs.map(commonIp),
  );
  t.same(
    ours.map((l) => l.kind),
    theirs.map((l) => l.linkinfo?.info_kind),
    'kinds',
  );
  // By index and by name, the same link (a bridge's live timers may tick between the two gets:
  // compare everything but the raw attributes).
  const stable = ({ unknown, linkInfo, bridge, ...rest }: Link) => rest;
  for (const l of ours) {
    t.same(stable(await nl.links.get(l.index)), stable(await nl.links.get(l.name)), l.name);
  }
  t.same(
    (await nl.links.list({ kind: 'veth' })).map((l) => l.name).sort(),
    ['p0', 'p1', 'p2', 'p3', 'p4', 'q0', 'q1', 'q2', 'q3', 'q4'],
    'list filtered by kind',
  );
});

t.test('errors: typed, with the errno name, the operation and the object', async (t) => {
  const ns = netns(t);
  const nl = open(t, ns);
  await nl.links.add({ name: 'br0', kind: 'bridge' });

  const exists = await nl.links.add({ name: 'br0', kind: 'bridge' }).catch((e: unknown) => e);
  t.type(exists, NetlinkError);
  t.match(exists, {
    code: 'EEXIST',
    errno: 17,
    operation: 'add',
    kind: 'link',
    target: 'br0 type bridge',
  });

  const missing = await nl.links.get('nope0').catch((e: unknown) => e);
  t.match(missing, { code: 'ENODEV', operation: 'get', kind: 'link', target: 'nope0' });
  const missingIndex = await nl.links.get(99999).catch((e: unknown) => e);
  t.match(missingIndex, { code: 'ENODEV', target: 'ifindex 99999' });
  const delMissing = await nl.links.delete('nope0').catch((e: unknown) => e);
  t.match(delMissing, { code: 'ENODEV', operation: 'delete', kind: 'link' });
  const noMaster = await nl.links
    .add({ name: 'v0', kind: 'veth', peer: { name: 'v1' }, master: 'nobr' })
    .catch((e: unknown) => e);
  t.match(noMaster, { code: 'ENODEV', operation: 'add', kind: 'link' });
  t.match((noMaster as Error).message, /no link named "nobr" \(link.master\)/);
  t.equal(ipJsonSync(ns, 'link', 'show', 'dev', 'br0').length, 1);
  t.notOk(succeeds('ip', ['-n', ns, 'link', 'show', 'dev', 'v0']), 'nothing half-created');

  // The kernel's own words (extended ack) end up in the error.
  const tooSmall = await nl.links
    .set({ link: 'br0', mtu: 68 })
    .then(() => nl.links.set({ link: 'br0', mtu: 100000 }))
    .catch((e: unknown) => e);
  t.type(tooSmall, NetlinkError);
  t.equal((tooSmall as NetlinkError).code, 'EINVAL');
  t.match((tooSmall as NetlinkError).kernelMessage, /mtu/i);
  t.match((tooSmall as Error).message, /^set link br0: EINVAL \(.+\): .*mtu/i);

  // Invalid arguments are refused before anything is sent.
  const cases: [() => Promise<unknown>, string][] = [
    [() => nl.links.add({ name: 'x'.repeat(16), kind: 'bridge' }), 'link.name'],
    [() => nl.links.add({ name: 'a b', kind: 'bridge' }), 'link.name'],
    [() => nl.links.add({ name: 'vx', kind: 'vxlan', vxlan: { vni: 1 << 24 } }), 'link.vxlan.vni'],
    [
      () => nl.links.add({ name: 'vx', kind: 'vxlan', vxlan: { vni: 1, port: 70000 } }),
      'link.vxlan.port',
    ],
    [
      () => nl.links.add({ name: 'vx', kind: 'vxlan', vxlan: { vni: 1, local: '1.2.3' } }),
      'link.vxlan.local',
    ],
    [() => nl.links.add({ name: 'b', kind: 'bridge', address: 'zz:00' }), 'link.address'],
    [() => nl.links.add({ name: 'b', kind: 'bridge', mtu: 10 }), 'link.mtu'],
    [() => nl.links.add({ name: 'b', kind: 'nope' } as never), 'link.kind'],
    [() => nl.links.add({ name: 'v', kind: 'veth' } as never), 'link.peer'],
    [() => nl.links.set({ link: 0 }), 'link.link'],
    [() => nl.links.add({ name: 'b', kind: 'bridge', netns: 'no/such' }), 'link.netns'],
  ];
  for (const [call, field] of cases) {
    const err = await call().catch((e: unknown) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal((err as NetlinkSpecError).field, field);
  }
  const gone = await nl.links
    .add({ name: 'b', kind: 'bridge', netns: `nlt-missing-${process.pid}` })
    .catch((e: unknown) => e);
  t.match(gone, { code: 'ENOENT', operation: 'open', kind: 'namespace' });
  t.same(
    ipJsonSync<IpLink[]>(ns, 'link', 'show').map((l) => l.ifname),
    ['lo', 'br0'],
    'no invalid request created anything',
  );
  ipSync(ns, 'link', 'del', 'br0');
});
