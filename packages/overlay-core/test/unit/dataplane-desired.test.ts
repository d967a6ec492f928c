// The desired kernel state of agents and masters, IPv4 only and dual-stack.
import t from 'tap';
import { desiredState, nexthopId } from '../../src/dataplane/desired.js';
import {
  HOST_ROUTE_TABLE,
  NEXTHOP_BASE_V4,
  NEXTHOP_BASE_V6,
  RULE_PRIORITY,
  VNET_PROTOCOL,
} from '../../src/dataplane/types.js';
import { ip4 } from '../../src/net/addr.js';
import { agent, record, remote, remoteJson, share } from '../helpers/dataplane-fixtures.js';

const P = VNET_PROTOCOL;

t.test('an IPv4 agent with one peer', async (t) => {
  const d = desiredState(agent(1), [remote(1), remote(2)]);
  t.same(d.links, [
    {
      name: 'vtep1024',
      kind: 'vxlan',
      mtu: 1450,
      address: '70:b3:d5:80:00:01',
      up: true,
      vxlan: { vni: 1024, port: 64000, learning: false, local: '192.168.0.1', dev: 'eth0' },
    },
    { name: 'm-dcos', kind: 'bridge', mtu: 1420, up: true },
  ]);
  t.same(d.addresses, [
    { dev: 'vtep1024', address: '44.128.0.1/20' },
    { dev: 'm-dcos', address: '9.0.1.1/25' },
  ]);
  t.same(d.neighbours, [
    { dev: 'vtep1024', address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02', state: 'permanent' },
  ]);
  t.same(d.fdb, [
    {
      dev: 'vtep1024',
      lladdr: '70:b3:d5:80:00:02',
      dst: '192.168.0.2',
      self: true,
      state: 'permanent',
    },
  ]);
  t.same(d.nexthops, [
    { id: 100000002, via: '44.128.0.2', dev: 'vtep1024', onlink: true, protocol: P },
  ]);
  t.same(d.routes, [
    { dst: '9.0.2.0/24', nhid: 100000002, table: 254, protocol: P },
    { dst: '192.168.0.2/32', nhid: 100000002, table: HOST_ROUTE_TABLE, protocol: P },
  ]);
  t.same(d.rules, [
    {
      family: 4,
      priority: RULE_PRIORITY,
      src: '9.0.0.0/8',
      table: 42,
      action: 'lookup',
      protocol: P,
    },
  ]);
  t.same(
    d.sysctls.map((s) => `${s.key}=${s.value}`),
    ['net.ipv4.ip_forward=1'],
  );
  t.match(
    d.nftables,
    /ip saddr @overlays4 ip daddr != @overlays4 oifname != "vtep1024" masquerade/,
  );
  t.same(d.problems, [], 'its own record is ignored silently');
});

t.test('a dual-stack agent', async (t) => {
  const d = desiredState(agent(1, { dual: true }), [remote(2, { dual: true })], {
    overlayMtu: 1400,
    vtepMtu: 1440,
  });
  t.same(
    d.links.map((l) => [l.name, l.mtu]),
    [
      ['vtep1024', 1440],
      ['m-dcos', 1400],
      ['m-dcos6', 1400],
    ],
  );
  t.same(d.addresses, [
    { dev: 'vtep1024', address: '44.128.0.1/20' },
    { dev: 'vtep1024', address: 'fd01:a::1/64', flags: 2 },
    { dev: 'm-dcos', address: '9.0.1.1/25' },
    { dev: 'm-dcos6', address: 'fd01:b::1:0:0:1/81', flags: 2 },
  ]);
  t.same(
    d.neighbours.map((n) => `${n.address} ${n.lladdr}`),
    ['44.128.0.2 70:b3:d5:80:00:02', 'fd01:a::2 70:b3:d5:80:00:02'],
  );
  t.same(d.nexthops, [
    { id: NEXTHOP_BASE_V4 + 2, via: '44.128.0.2', dev: 'vtep1024', onlink: true, protocol: P },
    { id: NEXTHOP_BASE_V6 + 2, via: 'fd01:a::2', dev: 'vtep1024', onlink: true, protocol: P },
  ]);
  t.same(d.routes, [
    { dst: '9.0.2.0/24', nhid: 100000002, table: 254, protocol: P },
    { dst: 'fd01:b:0:0:2::/80', nhid: 200000002, table: 254, protocol: P },
    { dst: '192.168.0.2/32', nhid: 100000002, table: 42, protocol: P },
  ]);
  t.same(
    d.rules.map((r) => r.src),
    ['9.0.0.0/8'],
    'the table-42 rule is IPv4 only',
  );
  t.same(
    d.sysctls.map((s) => `${s.key}=${s.value}`),
    [
      'net.ipv6.conf.vtep1024.disable_ipv6=0',
      'net.ipv6.conf.m-dcos6.disable_ipv6=0',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
    ],
  );
  t.match(d.nftables, /ip6 saddr @overlays6 ip6 daddr != @overlays6/);
});

t.test('a master: VTEP and routes, no bridges, rules or NAT', async (t) => {
  const d = desiredState(agent(3, { bridges: false, dual: true }), [
    remote(1, { dual: true }),
    remote(2, { dual: true }),
  ]);
  t.same(
    d.links.map((l) => l.name),
    ['vtep1024'],
  );
  t.same(
    d.addresses.map((a) => `${a.dev} ${a.address}`),
    ['vtep1024 44.128.0.3/20', 'vtep1024 fd01:a::3/64'],
  );
  t.same(
    d.routes.map((r) => `${r.dst} ${r.nhid} ${r.table}`),
    [
      '9.0.1.0/24 100000001 254',
      'fd01:b:0:0:1::/80 200000001 254',
      '9.0.2.0/24 100000002 254',
      'fd01:b:0:0:2::/80 200000002 254',
    ],
  );
  t.same(d.rules, []);
  t.same(
    d.sysctls.map((s) => s.key),
    ['net.ipv6.conf.vtep1024.disable_ipv6'],
  );
  t.notMatch(d.nftables, /chain/, 'the nftables file only deletes the table');
  t.equal(d.neighbours.length, 4);
  t.equal(d.fdb.length, 2);
});

t.test('disabled overlays, overlays without a block, no overlays', async (t) => {
  const local = agent(1, {
    overlays: [
      share({ name: 'off', net4: '10.0.0.0/8', block4: '10.0.1.0/24', enabled: false }),
      share({ name: 'full', net4: '11.0.0.0/8' }),
    ],
  });
  const peer = record({
    ...remoteJson(2),
    blocks: { off: { subnet: '10.0.2.0/24' }, full: { subnet: '11.0.2.0/24' } },
  });
  const d = desiredState(local, [peer]);
  t.same(
    d.links.map((l) => l.name),
    ['vtep1024'],
    'no bridge for a disabled overlay or one without a block',
  );
  t.same(
    d.routes.map((r) => r.dst),
    ['11.0.2.0/24', '192.168.0.2/32'],
    'the peers of an overlay this node has no block of are still reachable',
  );
  t.same(
    d.rules.map((r) => r.src),
    ['11.0.0.0/8'],
  );
  const none = desiredState(agent(1, { overlays: [] }), [remote(2)]);
  t.same(none.routes, [], 'no overlay, no routes; no rule, no table 42');
  t.equal(none.nexthops.length, 1, 'the peer is still a neighbour of the VTEP');
});

t.test('nexthop ids: VTEP offset in the VTEP subnet, one range per family', async (t) => {
  t.equal(nexthopId(4, 2), 100000002);
  t.equal(nexthopId(6, 2), 200000002);
  const local = agent(1);
  local.vtep = { ...local.vtep, ip: ip4('44.128.16.1')!, prefix: 12 };
  const peer = record({ ...remoteJson(2), vtepIp: '44.129.0.5' });
  const d = desiredState(local, [peer]);
  t.same(
    d.nexthops.map((n) => n.id),
    [NEXTHOP_BASE_V4 + 0x10005],
    '44.129.0.5 is offset 0x10005 in 44.128.0.0/12',
  );
});

t.test('clashing gossip records are left out and reported', async (t) => {
  const records = [
    remoteJson(2),
    { ...remoteJson(3), vtepIp: '44.128.0.2' }, // VTEP IP of node 2
    { ...remoteJson(4), mac: '70:b3:d5:80:00:02' }, // MAC of node 2
    { ...remoteJson(5), vtepIp: '45.0.0.5' }, // outside the VTEP subnet
    { ...remoteJson(8), blocks: { dcos: { subnet: '10.0.8.0/24' } } }, // outside the overlay
    { ...remoteJson(9), blocks: { dcos: { subnet: '9.0.2.0/24' } } }, // node 2's block
    { ...remoteJson(11), blocks: { dcos: { subnet: '9.0.1.0/24' } } }, // this node's block
    { ...remoteJson(12), vtepIp: '44.128.0.1' }, // this node's VTEP IP
    { ...remoteJson(13), mac: '70:b3:d5:80:00:01' }, // this node's MAC
    remoteJson(2), // a second record for node 2
  ].map(record);
  const d = desiredState(agent(1), records);
  t.same(
    d.nexthops.map((n) => n.via),
    ['44.128.0.2', '44.128.0.8', '44.128.0.9', '44.128.0.11'],
    'peers with bad blocks stay reachable as hosts',
  );
  t.same(
    d.routes.filter((r) => r.table === 254).map((r) => r.dst),
    ['9.0.2.0/24'],
  );
  t.equal(d.problems.length, 9, d.problems.join('\n'));
  for (const word of [
    'VTEP IP 44.128.0.2 is already taken',
    'VTEP MAC 70:b3:d5:80:00:02 is already taken',
    'is not in the VTEP subnet 44.128.0.0/20',
    'is not inside the overlay',
    'is already claimed',
    'VTEP IP 44.128.0.1 is already taken',
    'VTEP MAC 70:b3:d5:80:00:01 is already taken',
    'a second record for the same node',
  ]) {
    t.ok(
      d.problems.some((p) => p.includes(word)),
      word,
    );
  }
});
