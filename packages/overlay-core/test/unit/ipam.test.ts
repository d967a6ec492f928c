import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, type NetworkConfig } from '../../src/config/types.js';
import {
  AllocationError,
  OverlayExhaustedError,
  VtepExhaustedError,
} from '../../src/ipam/errors.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { agentJson, toStateJson } from '../../src/master/render.js';
import { dcosDefault } from '../helpers/configs.js';

const seedState = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/seed-004-state.json', import.meta.url), 'utf8'),
);

const small = (): NetworkConfig => ({
  vtep_subnet: '44.128.0.0/29', // 6 VTEP addresses
  vtep_mac_oui: '70:B3:D5:00:00:00',
  overlay_mtu: 1420,
  overlays: [
    { name: 'tiny', subnet: '10.0.0.0/26', prefix: 28 }, // 4 node blocks
    { name: 'big', subnet: '10.1.0.0/16', prefix: 24 },
  ],
});

t.test("reproduces seed 004's /overlay-master/state, plus DC/OS's mesos_bridge", async (t) => {
  const ipam = new Ipam({
    vtep_subnet: '198.15.0.0/20',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlay_mtu: 1420,
    overlays: [{ name: 'dcos', subnet: '44.128.0.0/16', prefix: 24 }],
  });
  for (const ip of ['10.10.0.120', '10.10.0.118', '10.10.0.119']) {
    ipam.register(ip);
    ipam.setStatus(ip, 'dcos', { status: 'STATUS_OK' });
  }
  const expected = structuredClone(seedState);
  for (const agent of expected.agents) {
    const o = agent.overlays[0];
    o.mesos_bridge = { name: 'm-dcos', ip: o.subnet.replace('/24', '/25') };
  }
  t.same(toStateJson(ipam), expected);
  t.strictSame(Object.keys(toStateJson(ipam)).sort(), ['agents', 'network']);
});

t.test('DC/OS defaults: lowest free block, halves, VTEP IP and MAC', async (t) => {
  const ipam = new Ipam(dcosDefault());
  const master = ipam.register('172.17.0.2', { bridges: false });
  const agent = ipam.register('172.17.0.4');
  t.ok(master.created && master.changed);
  t.same(master.errors, []);
  const json = toStateJson(ipam);
  t.same(
    json.agents![0],
    {
      ip: '172.17.0.2',
      overlays: [
        {
          info: { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
          subnet: '9.0.0.0/24',
          backend: {
            vxlan: {
              vni: 1024,
              vtep_name: 'vtep1024',
              vtep_ip: '44.128.0.1/20',
              vtep_mac: '70:b3:d5:80:00:01',
            },
          },
        },
      ],
    },
    'a master gets a subnet but no bridges',
  );
  t.same(agentJson(ipam, agent.node).overlays![0], {
    info: { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
    subnet: '9.0.1.0/24',
    mesos_bridge: { name: 'm-dcos', ip: '9.0.1.0/25' },
    docker_bridge: { name: 'd-dcos', ip: '9.0.1.128/25' },
    backend: {
      vxlan: {
        vni: 1024,
        vtep_name: 'vtep1024',
        vtep_ip: '44.128.0.2/20',
        vtep_mac: '70:b3:d5:80:00:02',
      },
    },
  });
});

t.test('re-registration is idempotent and picks up overlays added since', async (t) => {
  const ipam = new Ipam(dcosDefault());
  ipam.register('10.0.0.1');
  const first = toStateJson(ipam);
  const again = ipam.register('10.0.0.1');
  t.notOk(again.created);
  t.notOk(again.changed, 'nothing to write to the log');
  t.same(toStateJson(ipam), first, 'same subnets, same VTEP IP and MAC');

  ipam.addOverlay({ name: 'extra', subnet: '11.0.0.0/16', prefix: 24 });
  ipam.register('10.0.0.2');
  const re = ipam.register('10.0.0.1');
  t.ok(re.changed);
  t.same(
    [...re.node.overlays.keys()],
    ['dcos', 'extra'],
    'the new overlay is allocated on re-registration',
  );
  const state = toStateJson(ipam);
  t.equal(
    state.agents![0]!.overlays![1]!.subnet,
    '11.0.1.0/24',
    'after 10.0.0.2 took the first block',
  );
  t.equal(state.agents![0]!.overlays![0]!.subnet, '9.0.0.0/24', 'the old block is kept');
  t.equal(state.network.overlays!.length, 2);
});

t.test('registering with the bridges flag changed updates the node', async (t) => {
  const ipam = new Ipam(dcosDefault());
  ipam.register('10.0.0.1', { bridges: false });
  const r = ipam.register('10.0.0.1');
  t.ok(r.changed);
  t.ok(toStateJson(ipam).agents![0]!.overlays![0]!.mesos_bridge);
});

t.test('remove frees the blocks and the VTEP for the next node', async (t) => {
  const ipam = new Ipam(dcosDefault());
  ipam.register('10.0.0.1');
  ipam.register('10.0.0.2');
  ipam.register('10.0.0.3');
  t.ok(ipam.remove('10.0.0.2'));
  t.notOk(ipam.remove('10.0.0.2'), 'removing twice is a no-op');
  const n = ipam.register('10.0.0.9');
  const json = agentJson(ipam, n.node);
  t.equal(json.overlays![0]!.subnet, '9.0.1.0/24', 'the lowest free block is reused');
  t.equal(json.overlays![0]!.backend?.vxlan?.vtep_ip, '44.128.0.2/20');
  t.equal(json.overlays![0]!.backend?.vxlan?.vtep_mac, '70:b3:d5:80:00:02');
  t.equal(ipam.getNode('10.0.0.2'), undefined);
});

t.test(
  'overlay exhaustion is a typed error naming the overlay; other overlays still allocate',
  async (t) => {
    const ipam = new Ipam(small());
    for (let i = 1; i <= 4; i++) t.same(ipam.register(`10.9.0.${i}`).errors, []);
    const fifth = ipam.register('10.9.0.5');
    t.equal(fifth.errors.length, 1);
    const err = fifth.errors[0]!;
    t.type(err, OverlayExhaustedError);
    t.equal((err as OverlayExhaustedError).overlay, 'tiny');
    t.equal(err.code, 'OVERLAY_EXHAUSTED');
    t.match(
      err.message,
      /no free subnets in the tiny overlay: all 4 \/28 blocks of 10\.0\.0\.0\/26/,
    );
    const json = agentJson(ipam, fifth.node);
    t.same(
      json.overlays![0]!.state,
      { status: 'STATUS_FAILED', error: err.message },
      'the API sees it',
    );
    t.notOk(json.overlays![0]!.subnet);
    t.notOk(json.overlays![0]!.mesos_bridge);
    t.equal(json.overlays![1]!.subnet, '10.1.4.0/24', 'the big overlay is allocated');

    ipam.remove('10.9.0.2');
    const retry = ipam.register('10.9.0.5');
    t.same(retry.errors, [], 'a freed block is taken on re-registration');
    t.ok(retry.changed);
    t.equal(agentJson(ipam, retry.node).overlays![0]!.subnet, '10.0.0.16/28');
  },
);

t.test(
  'VTEP exhaustion throws a typed error naming vtep_subnet, and leaves no trace',
  async (t) => {
    const ipam = new Ipam(small());
    for (let i = 1; i <= 6; i++) ipam.register(`10.9.1.${i}`);
    t.throws(() => ipam.register('10.9.1.7'), VtepExhaustedError);
    try {
      ipam.register('10.9.1.7');
    } catch (err) {
      t.match(
        (err as Error).message,
        /no free VTEP IP: all 6 addresses of vtep_subnet 44\.128\.0\.0\/29/,
      );
    }
    t.equal(ipam.getNode('10.9.1.7'), undefined);
    t.equal([...ipam.nodes].length, 6);
    t.ok(ipam.register('10.9.1.1'), 'known nodes still re-register');
  },
);

t.test('disabled overlays allocate nothing new and keep what nodes hold', async (t) => {
  const ipam = new Ipam(small());
  ipam.register('10.9.0.1');
  ipam.setOverlayEnabled('tiny', false);
  const b = ipam.register('10.9.0.2');
  t.same([...b.node.overlays.keys()], ['big']);
  t.same(b.errors, [], 'disabled is not an error');
  t.equal(agentJson(ipam, ipam.getNode('10.9.0.1')!).overlays!.length, 2, 'still reserved');
  t.equal(toStateJson(ipam).network.overlays![0]!.enabled, false);
  ipam.setOverlayEnabled('tiny', true);
  t.same([...ipam.register('10.9.0.2').node.overlays.keys()], ['big', 'tiny']);
  t.throws(() => ipam.setOverlayEnabled('nope', true), AllocationError);
});

t.test('isolated is echoed in the state only when the operator set it', async (t) => {
  const config = dcosDefault();
  config.overlays.push({ name: 'open', subnet: '10.0.0.0/8', prefix: 24, isolated: false });
  const ipam = new Ipam(config);
  const overlays = toStateJson(ipam).network.overlays!;
  t.notOk(Object.hasOwn(overlays[0]!, 'isolated'), 'absent stays absent (the seed shape)');
  t.equal(overlays[1]!.isolated, false);
  ipam.register('10.9.0.1');
  t.equal(agentJson(ipam, ipam.getNode('10.9.0.1')!).overlays![1]!.info?.isolated, false);
});

t.test('adding an overlay is validated like the whole config', async (t) => {
  const ipam = new Ipam(small());
  t.throws(() => ipam.addOverlay({ name: 'big', subnet: '10.2.0.0/16', prefix: 24 }), ConfigError);
  t.throws(
    () => ipam.addOverlay({ name: 'other', subnet: '10.1.128.0/17', prefix: 24 }),
    /overlaps overlays\[1\]\.subnet/,
  );
  t.throws(
    () => ipam.addOverlay({ name: 'default', subnet: '10.3.0.0/16', prefix: 24 }),
    /reserved/,
  );
  t.equal(ipam.config.overlays.length, 2, 'nothing was added');
});

t.test('invalid node IPs and configs are refused by name', async (t) => {
  const ipam = new Ipam(small());
  t.throws(() => ipam.register('10.0.0.256'), {
    code: 'INVALID_NODE_IP',
    message: /"10\.0\.0\.256" is not an IPv4 address/,
  });
  t.throws(() => ipam.register('fd00::1'), { code: 'INVALID_NODE_IP' });
  t.throws(() => new Ipam({ ...small(), vtep_subnet: '1.2.3.4/8' }), ConfigError);
});

t.test('IPv6: VTEP IPv6, /81 halves, dual-stack overlays', async (t) => {
  const config = dcosDefault();
  config.vtep_subnet6 = 'fd01:a::/64';
  config.overlays.push({ name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 });
  const ipam = new Ipam(config);
  ipam.register('172.17.0.2', { bridges: false });
  const agent = ipam.register('172.17.0.4');
  const v6 = agentJson(ipam, agent.node).overlays![1]!;
  t.same(
    v6,
    {
      info: { name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 },
      subnet6: 'fd01:b:0:0:1::/80',
      mesos_bridge: { name: 'm-dcos6', ip6: 'fd01:b:0:0:1::/81' },
      docker_bridge: { name: 'd-dcos6', ip6: 'fd01:b::1:8000:0:0/81' },
      backend: {
        vxlan: {
          vni: 1024,
          vtep_name: 'vtep1024',
          vtep_ip: '44.128.0.2/20',
          vtep_mac: '70:b3:d5:80:00:02',
          vtep_ip6: 'fd01:a::2/64',
        },
      },
    },
    'matches the DC/OS docs example',
  );
});

t.test('snapshot and restore', async (t) => {
  const ipam = new Ipam(small());
  for (let i = 1; i <= 5; i++) ipam.register(`10.9.0.${i}`, { bridges: i !== 1 });
  ipam.remove('10.9.0.3');
  const snap = ipam.snapshot();
  const copy = Ipam.restore(JSON.parse(JSON.stringify(snap)));
  t.same(toStateJson(copy), toStateJson(ipam), 'the same state');
  t.same(
    copy.register('10.9.0.6').node.overlays.get('tiny'),
    ipam.register('10.9.0.6').node.overlays.get('tiny'),
    'and the same next allocation',
  );

  const missing = { ...snap.config, overlays: [snap.config.overlays[1]!] };
  t.throws(
    () => Ipam.restore(snap, missing),
    /overlay "tiny" is in the stored state but not in the config; add it back, or remove it from the state with `vnet overlay remove tiny`/,
  );
  const moved = {
    ...snap.config,
    overlays: [{ ...snap.config.overlays[0]!, subnet: '10.0.1.0/26' }, snap.config.overlays[1]!],
  };
  t.throws(
    () => Ipam.restore(snap, moved),
    /overlay "tiny" subnet 10\.0\.0\.0 is not a block of its subnet/,
  );
  const twice = structuredClone(snap);
  twice.nodes[1]!.overlays[0]!.subnet = twice.nodes[0]!.overlays[0]!.subnet;
  t.throws(() => Ipam.restore(twice), /is held by another node/);
});
