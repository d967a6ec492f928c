// diff(): operations from a kernel dump to the desired state, applied to the in-memory kernel.
import type { Operation } from '@vnet/netlink-ffi';
import t, { type Test } from 'tap';
import { desiredState } from '../../src/dataplane/desired.js';
import { diff, planDiff } from '../../src/dataplane/diff.js';
import type { DesiredState, KernelState } from '../../src/dataplane/types.js';
import {
  agent,
  hostKernel,
  record,
  remote,
  remoteJson,
  share,
} from '../helpers/dataplane-fixtures.js';
import { canonDesired, canonKernel, KernelModel } from '../helpers/kernel-model.js';

type T = Test;
const prune = { prune: true };
const keep = { prune: false };

/** "action kind target" per operation, to compare lists at a glance. */
function words(ops: Operation[]): string[] {
  return ops.map((op) => {
    const s = op.spec as unknown as Record<string, unknown>;
    const target =
      op.kind === 'link'
        ? (s['name'] ?? s['link'])
        : op.kind === 'nexthop'
          ? s['id']
          : op.kind === 'route'
            ? `${s['dst']}@${s['table']}`
            : op.kind === 'rule'
              ? s['src']
              : op.kind === 'fdb'
                ? `${s['lladdr']}${s['dst'] ? `>${s['dst']}` : ''}`
                : (s['address'] ?? '');
    return `${op.action} ${op.kind} ${target}`;
  });
}

/** Applies the diff to a model of `kernel`; asserts no operation fails. */
function apply(t: T, desired: DesiredState, kernel: KernelState, opts = prune) {
  const model = new KernelModel(kernel);
  const ops = diff(desired, model.state, opts);
  t.same(model.applyAll(ops), [], 'every operation succeeds');
  return { model, ops };
}

/** A kernel that holds exactly `desired` (and the host's own objects). */
function converged(t: T, desired: DesiredState): KernelModel {
  return apply(t, desired, hostKernel()).model;
}

function fixedPoint(t: T, desired: DesiredState, kernel: KernelState, opts = prune): void {
  t.same(words(diff(desired, kernel, opts)), [], 'a second diff is empty');
}

/** The kernel's lines minus those of the bare host: what vnet added. */
function owned(m: KernelModel): string[] {
  const host = canonKernel(hostKernel());
  return canonKernel(m.state).filter((line) => {
    const i = host.indexOf(line);
    if (i < 0) return true;
    host.splice(i, 1);
    return false;
  });
}

t.test('from a bare host: everything, in order, then a fixed point', async (t) => {
  const d = desiredState(agent(1), [remote(2), remote(3)]);
  const { model, ops } = apply(t, d, hostKernel());
  t.same(words(ops), [
    'add link vtep1024',
    'add link m-dcos',
    'replace address 44.128.0.1/20',
    'replace address 9.0.1.1/25',
    'replace neighbour 44.128.0.2',
    'replace neighbour 44.128.0.3',
    'replace fdb 70:b3:d5:80:00:02>192.168.0.2',
    'replace fdb 70:b3:d5:80:00:03>192.168.0.3',
    'replace nexthop 100000002',
    'replace nexthop 100000003',
    'replace route 9.0.2.0/24@254',
    'replace route 9.0.3.0/24@254',
    'replace route 192.168.0.2/32@42',
    'replace route 192.168.0.3/32@42',
    'add rule 9.0.0.0/8',
  ]);
  t.same(owned(model), canonDesired(d), 'the kernel holds the desired state');
  fixedPoint(t, d, model.state);
  fixedPoint(t, d, model.state, keep);
});

t.test('dual-stack fixed point', async (t) => {
  const peers = [2, 3, 4, 5].map((n) => remote(n, { dual: true }));
  const d = desiredState(agent(1, { dual: true }), peers);
  const model = converged(t, d);
  t.same(owned(model), canonDesired(d));
  fixedPoint(t, d, model.state);
});

t.test('a peer changes its VTEP IPv6: only its IPv6 nexthop is replaced', async (t) => {
  const peers = [remote(2, { dual: true }), remote(3, { dual: true })];
  const model = converged(t, desiredState(agent(1, { dual: true }), peers));
  peers[0] = record({ ...remoteJson(2, { dual: true }), vtepIp6: 'fd01:a::99' });
  const d = desiredState(agent(1, { dual: true }), peers);
  const ops = diff(d, model.state, keep);
  t.same(words(ops), ['replace neighbour fd01:a::99', 'replace nexthop 200000002']);
  const routes = new Set(model.state.routes);
  t.same(model.applyAll(ops), []);
  t.ok(
    model.state.routes.every((r) => routes.has(r)),
    'every route is the same object: re-pointed by the nexthop',
  );
  t.same(
    words(diff(d, model.state, prune)),
    ['delete neighbour fd01:a::2'],
    'prune: old NDP entry',
  );
});

t.test('a peer comes back with another VTEP IPv4: new nexthop, routes re-pointed', async (t) => {
  // The id follows the VTEP address (the MAC does too), so a new VTEP IP is a new nexthop.
  const model = converged(t, desiredState(agent(1), [remote(2)]));
  const moved = record({ ...remoteJson(9), underlay: '192.168.0.2', blocks: remoteJson(2).blocks });
  const d = desiredState(agent(1), [moved]);
  const { ops } = apply(t, d, model.state, prune);
  t.same(words(ops), [
    'replace neighbour 44.128.0.9',
    'replace fdb 70:b3:d5:80:00:09>192.168.0.2',
    'replace nexthop 100000009',
    'replace route 9.0.2.0/24@254',
    'replace route 192.168.0.2/32@42',
    'delete nexthop 100000002',
    'delete fdb 70:b3:d5:80:00:02',
    'delete neighbour 44.128.0.2',
  ]);
});

t.test(
  'a peer is removed: its entries go only with prune, routes before the nexthop',
  async (t) => {
    const model = converged(t, desiredState(agent(1), [remote(2), remote(3)]));
    const d = desiredState(agent(1), [remote(3)]);
    t.same(diff(d, model.state, keep), [], 'without prune nothing is torn down');
    const { model: after, ops } = apply(t, d, model.state);
    t.same(words(ops), [
      'delete route 9.0.2.0/24@254',
      'delete route 192.168.0.2/32@42',
      'delete nexthop 100000002',
      'delete fdb 70:b3:d5:80:00:02',
      'delete neighbour 44.128.0.2',
    ]);
    t.same(ops[0]!.spec, { dst: '9.0.2.0/24', table: 254, protocol: 210 }, 'deletes name vnet');
    fixedPoint(t, d, after.state);
  },
);

t.test('an overlay is added, then removed', async (t) => {
  const two = agent(1, {
    overlays: [
      share({ name: 'dcos', net4: '9.0.0.0/8', block4: '9.0.1.0/24' }),
      share({ name: 'blue', net4: '10.1.0.0/16', block4: '10.1.1.0/26', isolated: false }),
    ],
  });
  const json = remoteJson(2);
  const peer = record({ ...json, blocks: { ...json.blocks, blue: { subnet: '10.1.2.0/26' } } });
  const one = converged(t, desiredState(agent(1), [peer]));
  const d2 = desiredState(two, [peer]);
  const { model, ops } = apply(t, d2, one.state);
  t.same(words(ops), [
    'add link m-blue',
    'replace address 10.1.1.1/27',
    'replace route 10.1.2.0/26@254',
    'add rule 10.1.0.0/16',
  ]);
  t.not(d2.nftables, desiredState(agent(1), [peer]).nftables, 'the nftables file changes too');
  const d1 = desiredState(agent(1), [peer]);
  t.same(diff(d1, model.state, keep), [], 'removed: kept until prune');
  const removed = apply(t, d1, model.state);
  t.same(words(removed.ops), [
    'delete rule 10.1.0.0/16',
    'delete route 10.1.2.0/26@254',
    'delete link m-blue',
  ]);
  fixedPoint(t, d1, removed.model.state);
});

t.test('a new VTEP MAC re-creates vtep1024 and re-adds everything on it', async (t) => {
  const peers = [remote(2, { dual: true }), remote(3, { dual: true })];
  const model = converged(t, desiredState(agent(1, { dual: true }), peers));
  const local = agent(1, { dual: true });
  local.vtep = { ...local.vtep, mac: '70:b3:d5:80:00:42' };
  const d = desiredState(local, peers);
  const { model: after, ops } = apply(t, d, model.state, keep);
  const w = words(ops);
  t.same(w.slice(0, 2), ['delete link vtep1024', 'add link vtep1024'], 'never a MAC set on it');
  t.same(
    w.slice(2).map((x) => x.split(' ').slice(0, 2).join(' ')),
    [
      ...Array(2).fill('replace address'),
      ...Array(4).fill('replace neighbour'),
      ...Array(2).fill('replace fdb'),
      ...Array(4).fill('replace nexthop'),
      ...Array(6).fill('replace route'),
    ],
    'its addresses, neighbours, FDB, nexthops and routes; the bridges and rules stay',
  );
  t.same(owned(after), canonDesired(d));
  fixedPoint(t, d, after.state);
});

t.test('a DC/OS vtep1024 (learning on) or a non-bridge m-dcos is re-created', async (t) => {
  const d = desiredState(agent(1), [remote(2)]);
  const model = converged(t, d);
  const vtep = model.state.links.find((l) => l.name === 'vtep1024')!;
  model.replaceLink(vtep, { ...vtep, vxlan: { ...vtep.vxlan!, learning: true } });
  const br = model.state.links.find((l) => l.name === 'm-dcos')!;
  model.replaceLink(br, { ...br, kind: 'veth' });
  const { ops } = apply(t, d, model.state, keep);
  t.same(words(ops).slice(0, 4), [
    'delete link vtep1024',
    'delete link m-dcos',
    'add link vtep1024',
    'add link m-dcos',
  ]);
});

t.test('MTU and up/down are set in place', async (t) => {
  const d = desiredState(agent(1), [remote(2)]);
  const model = converged(t, d);
  const d2 = desiredState(agent(1), [remote(2)], { vtepMtu: 1400, overlayMtu: 1300 });
  const ops = diff(d2, model.state, prune);
  t.same(ops, [
    { kind: 'link', action: 'set', spec: { link: 'vtep1024', mtu: 1400 } },
    { kind: 'link', action: 'set', spec: { link: 'm-dcos', mtu: 1300 } },
  ]);
  model.setDown('vtep1024'); // the kernel drops its nexthops and their routes
  const { ops: up } = apply(t, d, model.state);
  t.same(words(up), [
    'set link vtep1024',
    'replace nexthop 100000002',
    'replace route 9.0.2.0/24@254',
    'replace route 192.168.0.2/32@42',
  ]);
  t.same(up[0]!.spec, { link: 'vtep1024', up: true });
});

t.test('kernel noise neither is deleted nor causes changes', async (t) => {
  const d = desiredState(agent(1, { dual: true }), [remote(2, { dual: true })]);
  const model = converged(t, d);
  const s = model.state;
  const vtep = s.links.find((l) => l.name === 'vtep1024')!.index;
  const br = s.links.find((l) => l.name === 'm-dcos')!.index;
  const common = { unknown: [] };
  s.addresses.push(
    {
      family: 6,
      index: vtep,
      address: 'fe80::72b3:d5ff:fe80:1',
      prefixLength: 64,
      scope: 253,
      flags: 0x80,
      ...common,
    },
    {
      family: 6,
      index: br,
      address: 'fe80::1',
      prefixLength: 64,
      scope: 253,
      flags: 0x80,
      ...common,
    },
  );
  const neigh = { type: 1, router: false, proxy: false, flags: 0, ...common };
  s.neighbours.push(
    {
      family: 6,
      index: vtep,
      address: 'fe80::72b3:d5ff:fe80:2',
      lladdr: '70:b3:d5:80:00:02',
      state: 0x04,
      ...neigh,
    },
    {
      family: 6,
      index: vtep,
      address: 'fe80::9',
      lladdr: '70:b3:d5:80:00:09',
      state: 0x80,
      ...neigh,
    },
    { family: 4, index: vtep, address: '44.128.0.7', state: 0x20, ...neigh }, // FAILED, resolved by the kernel
    {
      family: 4,
      index: 2,
      address: '192.168.0.7',
      lladdr: '52:54:00:00:00:07',
      state: 0x04,
      ...neigh,
    },
  );
  const fdb = { index: vtep, self: true, flags: 2, state: 0xc0, ...common };
  s.fdb.push(
    { lladdr: '00:00:00:00:00:00', dst: '192.168.0.99', ...fdb },
    { lladdr: '33:33:00:00:00:01', ...fdb },
    { lladdr: '01:00:5e:00:00:01', ...fdb },
    { lladdr: '70:b3:d5:80:00:02', dst: '192.168.0.2', ...fdb, self: false, flags: 4 }, // master entry
  );
  const route = { onlink: false, scope: 253, protocol: 2, type: 1, flags: 0, tos: 0, ...common };
  s.routes.push(
    { family: 4, dst: '44.128.0.0/20', dev: vtep, table: 254, src: '44.128.0.1', ...route },
    { family: 4, dst: '9.0.1.0/25', dev: br, table: 254, src: '9.0.1.1', ...route },
    { family: 6, dst: 'fe80::/64', dev: vtep, table: 254, metric: 256, ...route },
    { family: 6, dst: 'fd01:a::/64', dev: vtep, table: 254, metric: 256, ...route },
    { family: 4, dst: '44.128.0.1/32', dev: vtep, table: 255, ...route, type: 2, scope: 254 },
  );
  t.same(diff(d, s, prune), []);
});

t.test('what vnet does not own is never touched; clashes are reported', async (t) => {
  const d = desiredState(agent(1), [remote(2), remote(3)]);
  const kernel = hostKernel();
  const common = { unknown: [] };
  const foreign = {
    link: {
      index: 9,
      name: 'd-dcos',
      type: 1,
      flags: 1,
      up: true,
      mtu: 1420,
      kind: 'bridge',
      ...common,
    },
    address: {
      family: 4 as const,
      index: 9,
      address: '9.0.1.129',
      prefixLength: 25,
      scope: 0,
      flags: 0,
      ...common,
    },
    nexthop: {
      id: 7,
      family: 4 as const,
      via: '192.168.0.254',
      dev: 2,
      onlink: false,
      blackhole: false,
      fdb: false,
      scope: 0,
      protocol: 0,
      flags: 0,
      ...common,
    },
    route: {
      family: 4 as const,
      dst: '172.16.0.0/16',
      nhid: 7,
      dev: 2,
      onlink: false,
      table: 254,
      scope: 0,
      protocol: 4,
      type: 1,
      flags: 0,
      tos: 0,
      ...common,
    },
    dcosRoute: {
      family: 4 as const,
      dst: '9.0.3.0/24',
      via: '44.128.0.3',
      dev: 2,
      onlink: true,
      table: 254,
      scope: 0,
      protocol: 3,
      type: 1,
      flags: 4,
      tos: 0,
      ...common,
    },
    squatter: {
      id: 100000002,
      family: 4 as const,
      via: '10.0.0.1',
      dev: 2,
      onlink: true,
      blackhole: false,
      fdb: false,
      scope: 0,
      protocol: 11,
      flags: 4,
      ...common,
    },
    rule: {
      family: 4 as const,
      priority: 100,
      table: 100,
      action: 1,
      src: '172.16.0.0/16',
      tos: 0,
      flags: 0,
      invert: false,
      protocol: 4,
      ...common,
    },
  };
  kernel.links.push(foreign.link);
  kernel.addresses.push(foreign.address);
  kernel.nexthops.push(foreign.nexthop, foreign.squatter);
  kernel.routes.push(foreign.route, foreign.dcosRoute);
  kernel.rules.push(foreign.rule);
  const plan = planDiff(d, kernel, prune);
  const { model } = apply(t, d, kernel);
  for (const [what, o] of Object.entries(foreign)) {
    t.notOk(model.removed.has(o) || model.cascaded.has(o), `${what} untouched`);
  }
  t.same(
    plan.conflicts.map((c) => `${c.kind}: ${c.reason}`),
    [
      'nexthop: nexthop 100000002 has protocol 11',
      "route: its nexthop 100000002 is not vnet's",
      'route: a route of protocol 3 holds 9.0.3.0/24',
      "route: its nexthop 100000002 is not vnet's",
    ],
  );
  fixedPoint(t, d, model.state);
});

t.test('stale owned entries on vtep1024 and wrong remotes', async (t) => {
  const d = desiredState(agent(1), [remote(2)]);
  const model = converged(t, d);
  for (const op of [
    {
      kind: 'fdb',
      action: 'append',
      spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.0.77' },
    },
    {
      kind: 'fdb',
      action: 'add',
      spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:05', dst: '192.168.0.5' },
    },
    { kind: 'address', action: 'add', spec: { dev: 'vtep1024', address: '44.128.0.1/19' } },
    {
      kind: 'neighbour',
      action: 'replace',
      spec: { dev: 'vtep1024', address: '44.128.0.5', lladdr: '70:b3:d5:80:00:05' },
    },
  ] as Operation[]) {
    model.apply(op);
  }
  t.same(diff(d, model.state, keep), [], 'without prune: left in place');
  const { model: after, ops } = apply(t, d, model.state);
  t.same(words(ops), [
    'delete address 44.128.0.1/19',
    'delete fdb 70:b3:d5:80:00:02>192.168.0.77',
    'delete fdb 70:b3:d5:80:00:05',
    'delete neighbour 44.128.0.5',
  ]);
  fixedPoint(t, d, after.state);
  // The desired remote replaced by a wrong one: replace rewrites it.
  after.apply({
    kind: 'fdb',
    action: 'replace',
    spec: { dev: 'vtep1024', lladdr: '70:b3:d5:80:00:02', dst: '192.168.0.66' },
  });
  t.same(words(diff(d, after.state, prune)), ['replace fdb 70:b3:d5:80:00:02>192.168.0.2']);
});
