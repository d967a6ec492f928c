// End to end: a two-host VXLAN overlay built only through the library. An underlay switch
// namespace bridges two host namespaces; each host has `vtep1024` (VNI 1024, UDP 64000, learning
// off), an `m-` bridge with a container namespace on it, and per remote host the permanent ARP
// entry, the FDB entry and a route to the remote host's subnet: an onlink route via its VTEP IP
// (DESIGN.md), or a route through a nexthop object onlink via its VTEP IP. Container to
// container ping works, and stops working once the remote host's entries are deleted. iproute2
// only checks what was built.
import { spawnSync } from 'node:child_process';
import { bridgeJsonSync, ipJsonSync, requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { Netlink, type Operation } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface Host {
  /** 1 or 2; also the id of the nexthop other hosts use to reach this one. */
  id: number;
  name: string;
  nl: Netlink;
  underlayIp: string;
  vtepIp: string;
  vtepMac: string;
  /** The host's overlay block; its lower half is the `m-` bridge's. */
  subnet: string;
  gateway: string;
  container: string;
  containerIp: string;
}

/** The three entries a host needs for a remote host (DESIGN.md, data plane). */
function remoteEntries(remote: Host, action: 'replace' | 'delete'): Operation[] {
  return [
    {
      kind: 'neighbour',
      action,
      spec: { dev: 'vtep1024', address: remote.vtepIp, lladdr: remote.vtepMac },
    },
    {
      kind: 'fdb',
      action,
      spec: { dev: 'vtep1024', lladdr: remote.vtepMac, dst: remote.underlayIp },
    },
    {
      kind: 'route',
      action,
      spec: { dst: remote.subnet, via: remote.vtepIp, dev: 'vtep1024', onlink: true },
    },
  ];
}

function ping(from: string, to: string): boolean {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', from, 'ping', '-c', '3', '-i', '0.2', '-W', '1', to],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0;
}

/** The underlay switch, two hosts with vtep1024 and an `m-` bridge, a container on each. */
async function overlay(t: Test): Promise<[Host, Host]> {
  const sw = netns(t, 'sw');
  const underlay = Netlink.in(sw);
  t.teardown(() => underlay.close());
  await underlay.links.add({ name: 'br0', kind: 'bridge', up: true });

  const hosts: Host[] = [];
  for (const i of [1, 2]) {
    const name = netns(t, `h${i}`);
    const container = netns(t, `c${i}`);
    const nl = Netlink.in(name);
    t.teardown(() => nl.close());
    const host: Host = {
      id: i,
      name,
      nl,
      underlayIp: `192.168.77.${i}`,
      vtepIp: `44.128.0.${i}`,
      vtepMac: `70:b3:d5:80:00:0${i}`,
      subnet: `9.0.${i - 1}.0/24`,
      gateway: `9.0.${i - 1}.1`,
      container,
      containerIp: `9.0.${i - 1}.2`,
    };
    hosts.push(host);

    // Underlay: a veth from the switch bridge into the host.
    await underlay.links.add({
      name: `sw-h${i}`,
      kind: 'veth',
      peer: { name: 'eth0', netns: name },
      master: 'br0',
      up: true,
    });
    await nl.links.set({ link: 'lo', up: true });
    await nl.links.set({ link: 'eth0', up: true });
    await nl.addresses.add({ dev: 'eth0', address: `${host.underlayIp}/24` });

    // The VTEP: MTU underlay - 50, MAC derived from the VTEP IP.
    await nl.links.add({
      name: 'vtep1024',
      kind: 'vxlan',
      mtu: 1450,
      address: host.vtepMac,
      vxlan: { vni: 1024, port: 64000, learning: false, local: host.underlayIp, dev: 'eth0' },
      up: true,
    });
    await nl.addresses.add({ dev: 'vtep1024', address: `${host.vtepIp}/20` });

    // The Mesos bridge with the container on it.
    await nl.links.add({ name: 'm-dcos', kind: 'bridge', mtu: 1420, up: true });
    await nl.addresses.add({ dev: 'm-dcos', address: `${host.gateway}/25` });
    await nl.links.set({ link: 'm-dcos', ipv4: { forwarding: true } });
    await nl.links.set({ link: 'vtep1024', ipv4: { forwarding: true } });
    await nl.links.add({
      name: `veth-c${i}`,
      kind: 'veth',
      mtu: 1420,
      master: 'm-dcos',
      up: true,
      peer: { name: 'eth0', netns: container, mtu: 1420 },
    });
    const ctr = Netlink.in(container);
    t.teardown(() => ctr.close());
    await ctr.links.set({ link: 'lo', up: true });
    await ctr.links.set({ link: 'eth0', up: true });
    await ctr.addresses.add({ dev: 'eth0', address: `${host.containerIp}/25` });
    await ctr.routes.add({ dst: 'default', via: host.gateway });
  }
  return hosts as [Host, Host];
}

t.test('two hosts, one overlay: programmed through netlink-ffi only', async (t) => {
  const [h1, h2] = await overlay(t);
  t.notOk(ping(h1.container, h2.containerIp), 'no path before the remote entries exist');

  for (const [local, remote] of [
    [h1, h2],
    [h2, h1],
  ] as const) {
    const results = await local.nl.batch(remoteEntries(remote, 'replace'));
    t.same(
      results.map((r) => r.ok),
      [true, true, true],
      `${local.name}: entries for the remote host`,
    );
  }

  // What iproute2 sees on host 1.
  const vx = ipJsonSync<
    { linkinfo: { info_data: Record<string, unknown> }; mtu: number; address: string }[]
  >(h1.name, '-d', 'link', 'show', 'dev', 'vtep1024')[0];
  t.match(vx?.linkinfo.info_data, {
    id: 1024,
    port: 64000,
    learning: false,
    local: '192.168.77.1',
    link: 'eth0',
  });
  t.equal(vx?.mtu, 1450);
  t.equal(vx?.address, h1.vtepMac);
  t.same(
    ipJsonSync<{ dst: string; lladdr: string; state: string[] }[]>(
      h1.name,
      'neigh',
      'show',
      'dev',
      'vtep1024',
    ).map((n) => [n.dst, n.lladdr, n.state]),
    [[h2.vtepIp, h2.vtepMac, ['PERMANENT']]],
  );
  t.same(
    bridgeJsonSync<{ mac: string; dst: string; flags: string[]; state: string }[]>(
      h1.name,
      'fdb',
      'show',
      'dev',
      'vtep1024',
    ).map((e) => [e.mac, e.dst, e.flags, e.state]),
    [[h2.vtepMac, h2.underlayIp, ['self'], 'permanent']],
  );
  t.same(
    ipJsonSync<{ dst: string; gateway: string; flags: string[] }[]>(
      h1.name,
      'route',
      'show',
      h2.subnet,
    ).map((r) => [r.dst, r.gateway, r.flags]),
    [[h2.subnet, h2.vtepIp, ['onlink']]],
  );

  t.ok(ping(h1.container, h2.containerIp), 'container 1 → container 2 across the overlay');
  t.ok(ping(h2.container, h1.containerIp), 'container 2 → container 1');

  // The remote host goes away: host 1 removes its entries; the path is gone.
  const removed = await h1.nl.batch(remoteEntries(h2, 'delete'));
  t.same(
    removed.map((r) => r.ok),
    [true, true, true],
  );
  t.same(ipJsonSync(h1.name, 'neigh', 'show', 'dev', 'vtep1024'), []);
  t.same(bridgeJsonSync(h1.name, 'fdb', 'show', 'dev', 'vtep1024'), []);
  t.same(ipJsonSync(h1.name, 'route', 'show', h2.subnet), []);
  t.notOk(ping(h1.container, h2.containerIp), 'no path after the remote entries are deleted');

  // Replace semantics: putting the entries back restores the path.
  await h1.nl.batch(remoteEntries(h2, 'replace'));
  t.ok(ping(h1.container, h2.containerIp), 'path restored by the same replace batch');
});

/**
 * The same through a nexthop object: ARP and FDB entries, the nexthop `id` onlink via the VTEP
 * IP, and the route to the remote subnet by that id.
 */
function remoteEntriesByNexthop(remote: Host, action: 'replace' | 'delete'): Operation[] {
  const [neighbour, fdb] = remoteEntries(remote, action) as [Operation, Operation];
  const ops: Operation[] = [
    neighbour,
    fdb,
    {
      kind: 'nexthop',
      action,
      spec: { id: remote.id, via: remote.vtepIp, dev: 'vtep1024', onlink: true },
    },
    { kind: 'route', action, spec: { dst: remote.subnet, nhid: remote.id } },
  ];
  return action === 'delete' ? ops.reverse() : ops;
}

t.test('the same overlay with the remote subnets routed through nexthop objects', async (t) => {
  const [h1, h2] = await overlay(t);
  for (const [local, remote] of [
    [h1, h2],
    [h2, h1],
  ] as const) {
    const results = await local.nl.batch(remoteEntriesByNexthop(remote, 'replace'));
    t.same(
      results.map((r) => r.ok),
      [true, true, true, true],
      `${local.name}: entries for the remote host`,
    );
  }
  t.same(
    ipJsonSync<{ id: number; gateway: string; dev: string; flags: string[] }[]>(
      h1.name,
      'nexthop',
      'show',
    ).map((n) => [n.id, n.gateway, n.dev, n.flags]),
    [[h2.id, h2.vtepIp, 'vtep1024', ['onlink']]],
  );
  const route = () =>
    ipJsonSync<{ dst: string; nhid: number; gateway: string; dev: string }[]>(
      h1.name,
      'route',
      'show',
      h2.subnet,
    ).map((r) => [r.dst, r.nhid, r.gateway, r.dev]);
  t.same(route(), [[h2.subnet, h2.id, h2.vtepIp, 'vtep1024']]);
  t.ok(ping(h1.container, h2.containerIp), 'container 1 → container 2 across the overlay');
  t.ok(ping(h2.container, h1.containerIp), 'container 2 → container 1');

  // Replacing the nexthop re-points the route without touching it: via a VTEP IP nobody
  // answers for (no ARP entry, learning off) the path breaks; back via the right one it works.
  await h1.nl.nexthops.replace({ id: h2.id, via: '44.128.0.99', dev: 'vtep1024', onlink: true });
  t.same(route(), [[h2.subnet, h2.id, '44.128.0.99', 'vtep1024']]);
  t.notOk(ping(h1.container, h2.containerIp), 'no path through the wrong VTEP IP');
  await h1.nl.nexthops.replace({ id: h2.id, via: h2.vtepIp, dev: 'vtep1024', onlink: true });
  t.ok(ping(h1.container, h2.containerIp), 'the path is back once the nexthop is');

  // The remote host goes away.
  const removed = await h1.nl.batch(remoteEntriesByNexthop(h2, 'delete'));
  t.same(
    removed.map((r) => r.ok),
    [true, true, true, true],
  );
  t.same(ipJsonSync(h1.name, 'route', 'show', h2.subnet), []);
  t.same(ipJsonSync(h1.name, 'nexthop', 'show'), []);
  t.same(ipJsonSync(h1.name, 'neigh', 'show', 'dev', 'vtep1024', 'nud', 'permanent'), []);
  t.same(bridgeJsonSync(h1.name, 'fdb', 'show', 'dev', 'vtep1024'), []);
  t.notOk(ping(h1.container, h2.containerIp), 'no path after the remote entries are deleted');
});
