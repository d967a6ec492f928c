// The agent's pure parts: the registration backoff (DC/OS's schedule), the data plane's inputs
// from an allocation and the record it publishes, and which kernel notifications concern vnet.
import type { ChangeEvent } from '@vnet/netlink-ffi';
import t from 'tap';
import { Backoff } from '../../src/agent/backoff.js';
import { inputsKey, localNode, networkSettings, ownRecord } from '../../src/agent/inputs.js';
import { concernsVnet } from '../../src/agent/kernel-watch.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { allocationMessage } from '../../src/master/render.js';
import { ip4 } from '../../src/net/addr.js';
import { parseAllocation } from '../../src/protocol/node-allocation.js';
import { parseRecord, recordJson } from '../../src/protocol/vtep-record.js';
import { dcosDefault } from '../helpers/configs.js';

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

const underlay = { ip: ip4('10.0.0.2')!, dev: 'eth0', mtu: 1500 };

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
  ipam.register('10.0.0.2');
  const a = parseAllocation(allocationMessage(ipam, '10.0.0.2', 7));
  const local = localNode(a, underlay, true)!;
  t.same(
    {
      vtep: [local.vtep.ip.text, local.vtep.prefix, local.vtep.mac],
      overlays: local.overlays.map((o) => [
        o.name,
        o.net4?.text,
        o.block4?.text,
        o.enabled,
        o.isolated,
      ]),
    },
    {
      vtep: ['44.128.0.2', 20, '70:b3:d5:80:00:02'],
      overlays: [
        ['dcos', '9.0.0.0/8', '9.0.1.0/24', true, true],
        ['blue', '10.9.0.0/16', '10.9.1.0/24', true, false],
      ],
    },
  );
  t.same(networkSettings(a), { overlayMtu: 1420 });
  const json = recordJson(ownRecord(local), local.vtep.prefix);
  t.same(json, {
    underlay: '10.0.0.2',
    vtepIp: '44.128.0.2/20',
    mac: '70:b3:d5:80:00:02',
    blocks: { dcos: { subnet: '9.0.1.0/24' }, blue: { subnet: '10.9.1.0/24' } },
  });
  t.same(recordJson(parseRecord(json)!, 20), json, 'the record survives the trip through gossip');

  const none = parseAllocation({
    ...allocationMessage(ipam, '10.0.0.2', 8),
    agent: { ip: '10.0.0.2' },
  });
  t.equal(localNode(none, underlay, true), undefined);
  const kept = localNode(none, underlay, true, a.vtep);
  t.same(kept?.overlays, [], 'with the last overlay gone, the old VTEP still lets it tear down');
});

t.test('the inputs key: what changes the kernel changes it, a status echo does not', async (t) => {
  const ipam = new Ipam(dcosDefault());
  ipam.register('10.0.0.2');
  const key = (index: number) => {
    const a = parseAllocation(allocationMessage(ipam, '10.0.0.2', index));
    return inputsKey(localNode(a, underlay, true)!, networkSettings(a));
  };
  const before = key(3);
  ipam.setStatus('10.0.0.2', 'dcos', { status: 'STATUS_OK', used: { mesos: 3, docker: 0 } });
  t.equal(key(4), before, 'a reported status and a newer index change nothing');
  ipam.setOverlayEnabled('dcos', false);
  t.not(key(5), before, 'a disabled overlay does');
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
