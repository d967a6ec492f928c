// The agent's pure parts: the registration backoff (DC/OS's schedule), checking gossip records,
// the data plane's inputs from an allocation, and which kernel notifications concern vnet.

import type { ChangeEvent } from '@vnet/netlink-ffi';
import t from 'tap';
import { Backoff } from '../src/agent/backoff.js';
import { parseRecord } from '../src/agent/gossip.js';
import { localNode, ownRecord, remoteNode } from '../src/agent/inputs.js';
import { concernsVnet } from '../src/agent/kernel-watch.js';
import type { Allocation } from '../src/agent/registration.js';
import { networkMessage } from '../src/api/proto.js';
import { Ipam } from '../src/ipam/ipam.js';
import { agentJson } from '../src/ipam/state-json.js';
import { dcosDefault } from './helpers/configs.js';

t.test(
  'backoff: random in [0, max], max doubling from the initial to the cap, reset',
  async (t) => {
    const b = new Backoff({ initialMs: 5000, maxMs: 600_000 }, () => 0.999999);
    const waits = Array.from({ length: 10 }, () => b.next());
    t.same(
      waits.map((w) => Math.round(w / 1000)),
      [5, 10, 20, 40, 80, 160, 320, 600, 600, 600],
    );
    b.reset();
    t.equal(Math.round(b.next() / 1000), 5);
    const zero = new Backoff({ initialMs: 5000, maxMs: 600_000 }, () => 0);
    t.equal(zero.next(), 0, 'the lower bound is 0, as in DC/OS');
    t.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /initial \(10\) <= max \(5\)/);
  },
);

t.test('gossip records: well-formed ones are used, anything else is ignored', async (t) => {
  const good = {
    underlay: '10.0.0.2',
    vtepIp: '44.128.0.2/20',
    vtepIp6: 'fd01:a::2/64',
    mac: '70:b3:d5:80:00:02',
    blocks: { dcos: { subnet: '9.0.1.0/24', subnet6: 'fd01:b:0:0:1::/80' } },
  };
  t.same(parseRecord(good), good);
  const bad: unknown[] = [
    null,
    'x',
    { ...good, underlay: '10.0.0' },
    { ...good, vtepIp: '44.128.0.2' + 'x' },
    { ...good, vtepIp: 'fd01::2/64' },
    { ...good, vtepIp6: '44.128.0.2/20' },
    { ...good, mac: '70:B3:D5:80:00:02:00' },
    { ...good, blocks: null },
    { ...good, blocks: { dcos: { subnet: '9.0.1.1/24' } } },
    { ...good, blocks: { dcos: 7 } },
  ];
  for (const b of bad) t.equal(parseRecord(b), undefined, JSON.stringify(b));
});

t.test('an allocation becomes the data plane inputs and the published record', async (t) => {
  const ipam = new Ipam({
    ...dcosDefault(),
    overlays: [
      { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
      { name: 'blue', subnet: '10.9.0.0/16', prefix: 24, isolated: false },
      { name: 'off', subnet: '10.10.0.0/16', prefix: 24, enabled: false },
    ],
  });
  ipam.register('10.0.0.1');
  const node = ipam.register('10.0.0.2').node;
  const a: Allocation = {
    agent: agentJson(ipam, node),
    network: networkMessage(ipam.config),
    index: 7,
  };
  const local = localNode(a, { ip: '10.0.0.2', dev: 'eth0', mtu: 1500 }, true)!;
  t.same(local, {
    underlayIp: '10.0.0.2',
    underlayDev: 'eth0',
    underlayMtu: 1500,
    bridges: true,
    vtepIp: '44.128.0.2/20',
    vtepMac: '70:b3:d5:80:00:02',
    overlays: [
      {
        name: 'dcos',
        overlaySubnet: '9.0.0.0/8',
        subnet: '9.0.1.0/24',
        enabled: true,
        isolated: true,
      },
      {
        name: 'blue',
        overlaySubnet: '10.9.0.0/16',
        subnet: '10.9.1.0/24',
        enabled: true,
        isolated: false,
      },
    ],
  });
  const record = ownRecord(local);
  t.same(record, {
    underlay: '10.0.0.2',
    vtepIp: '44.128.0.2/20',
    mac: '70:b3:d5:80:00:02',
    blocks: { dcos: { subnet: '9.0.1.0/24' }, blue: { subnet: '10.9.1.0/24' } },
  });
  t.same(remoteNode(parseRecord(record)!), {
    underlayIp: '10.0.0.2',
    vtepIp: '44.128.0.2/20',
    vtepMac: '70:b3:d5:80:00:02',
    blocks: record.blocks,
  });
  const none: Allocation = { ...a, agent: { ip: '10.0.0.2' } };
  t.equal(localNode(none, { ip: '10.0.0.2', dev: 'eth0', mtu: 1500 }, true), undefined);
  const kept = localNode(none, { ip: '10.0.0.2', dev: 'eth0', mtu: 1500 }, true, {
    vtep_ip: '44.128.0.2/20',
    vtep_mac: '70:b3:d5:80:00:02',
  });
  t.same(kept?.overlays, [], 'with the last overlay gone, the old VTEP still lets it tear down');
});

t.test('kernel notifications: only what may concern vnet triggers a reconcile', async (t) => {
  const own = new Set([5]);
  // Only the fields the filter reads; the rest of a decoded object does not matter here.
  const ev = (e: {
    type?: 'new' | 'del';
    kind: ChangeEvent['kind'];
    object: object;
  }): ChangeEvent => ({ type: 'del', portId: 0, seq: 0, ...e }) as unknown as ChangeEvent;
  const yes: ChangeEvent[] = [
    ev({ kind: 'link', object: { name: 'vtep1024', index: 5 } }),
    ev({ kind: 'link', object: { name: 'm-dcos', index: 9 } }),
    ev({ kind: 'neighbour', object: { index: 5, state: 0x80 } }),
    ev({ kind: 'fdb', object: { index: 5 } }),
    ev({ kind: 'route', object: { protocol: 210, table: 254 } }),
    ev({ kind: 'route', object: { protocol: 3, table: 42 } }),
    ev({ kind: 'nexthop', object: { protocol: 0 } }),
    ev({ kind: 'rule', object: { protocol: 210, table: 42 } }),
    ev({ kind: 'address', object: { index: 5 } }),
  ];
  const no: ChangeEvent[] = [
    ev({ kind: 'link', object: { name: 'eth0', index: 2 } }),
    ev({ type: 'new', kind: 'neighbour', object: { index: 5, state: 0x02 } }),
    ev({ kind: 'neighbour', object: { index: 9, state: 0x80 } }),
    ev({ kind: 'route', object: { protocol: 2, table: 254 } }),
    ev({ type: 'new', kind: 'nexthop', object: { protocol: 0 } }),
    ev({ kind: 'address', object: { index: 2 } }),
  ];
  for (const e of yes) t.ok(concernsVnet(e, own), `${e.kind} ${JSON.stringify(e.object)}`);
  for (const e of no) t.notOk(concernsVnet(e, own), `${e.kind} ${JSON.stringify(e.object)}`);
});
