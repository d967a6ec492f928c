// One master (with an agent without bridges) and three agents in namespaces, started through the
// `vnet` CLI: containers reach each other across nodes and from the master; NAT to the outside
// and the symmetric host <-> container paths; the MTU; kernel entries someone else deletes are
// repaired at once; overlays are isolated unless configured otherwise; overlays added and removed
// at runtime appear and vanish on every node.

import { requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { Cluster, type Container, type Host, waitFor } from '../src/index.js';
import {
  addContainer,
  agentInfo,
  CONFIG,
  type OverlayCluster,
  startOverlay,
  waitForApplied,
} from './helpers/overlay.js';

requireRoot(t, 'network namespaces');

const cluster = await Cluster.create({ hosts: 4, t });
const oc: OverlayCluster = await startOverlay(cluster, { masters: 1, agents: 3 });
const [h2, h3, h4] = oc.agentHosts as [Host, Host, Host];
const master = oc.masterHosts[0]!;
const c2 = await addContainer(oc, h2, 'c2');
const c3 = await addContainer(oc, h3, 'c3');
const c4 = await addContainer(oc, h4, 'c4');

async function pings(t: Test, from: Container | Host, to: string, want = 3) {
  const r = await from.ping(to, { count: 3, waitS: 2 });
  t.equal(r.received, want, `${from.name} -> ${to}: ${r.output.split('\n').slice(-3).join(' ')}`);
}

t.test('containers on 3 nodes ping each other; a master reaches them', async (t) => {
  for (const [from, to] of [
    [c2, c3],
    [c3, c4],
    [c4, c2],
  ] as const) {
    await pings(t, from, to.ip!);
  }
  await pings(t, master, c3.ip!);
  for (const a of oc.agents.values()) {
    const info = await agentInfo(a);
    t.same(
      info.overlays?.map((o) => [o.info.name, o.state?.status]),
      [
        ['dcos', 'STATUS_OK'],
        ['blue', 'STATUS_OK'],
      ],
      `${a.host.name} reports its overlays configured`,
    );
  }
  const state = await oc.masters[0]!.http('/overlay-master/state');
  const agents = state.json<{
    agents: { ip: string; overlays: { state?: { status: string } }[] }[];
  }>().agents;
  t.ok(
    agents
      .filter((a) => a.ip !== master.ip)
      .every((a) => a.overlays.every((o) => o.state?.status === 'STATUS_OK')),
    "the masters' state shows the agents' statuses",
  );
});

t.test('NAT to the outside; host <-> container paths keep their addresses', async (t) => {
  const outside = cluster.outside!;
  const far = outside.startWhoami(7777);
  await far.ready();
  const seen = await c2.whoami(outside.ip, 7777);
  t.equal(
    seen.address.replace('::ffff:', ''),
    h2.ip,
    'leaving the overlays: masqueraded to the node',
  );
  const udp = await c2.whoami(outside.ip, 7777, 'udp');
  t.equal(udp.address.replace('::ffff:', ''), h2.ip, 'UDP too');

  const onHost = h3.startWhoami(7778);
  await onHost.ready();
  const toHost = await c2.whoami(h3.ip, 7778);
  t.equal(
    toHost.address.replace('::ffff:', ''),
    c2.ip,
    "container -> another node's host: through the tunnel, with the container's address (table 42)",
  );
  const inCt = c2.startWhoami(7779);
  await inCt.ready();
  const vtep3 = (await agentInfo(oc.agents.get(h3.name)!)).overlays![0]!.backend.vxlan.vtep_ip;
  const fromHost = await h3.whoami(c2.ip!, 7779);
  t.equal(
    fromHost.address.replace('::ffff:', ''),
    vtep3.split('/')[0],
    "another node's host -> container: from that node's VTEP address, answered over the tunnel",
  );
  const fromMaster = await master.whoami(c2.ip!, 7779);
  t.match(
    fromMaster.address,
    /^(::ffff:)?44\.128\./,
    'the master reaches containers from its VTEP',
  );
});

t.test(
  'MTU: a packet of exactly the overlay MTU crosses with DF; one byte more is refused locally',
  async (t) => {
    const fits = await c2.ping(c4.ip!, { count: 3, size: 1420 - 28, dontFragment: true, waitS: 2 });
    t.equal(fits.received, 3, fits.output);
    const tooBig = await c2.ping(c4.ip!, {
      count: 1,
      size: 1420 - 27,
      dontFragment: true,
      waitS: 2,
    });
    t.equal(tooBig.received, 0);
    t.match(tooBig.output, /message too long|mtu=1420/i, tooBig.output);
    const vtep = await h2.link('vtep1024');
    t.equal(vtep?.mtu, 1450, 'vtep1024 = underlay MTU - 50');
  },
);

t.test('entries someone else deletes are repaired at once', async (t) => {
  const info2 = await agentInfo(oc.agents.get(h2.name)!);
  const vx = info2.overlays![0]!.backend.vxlan;
  const block = info2.overlays![0]!.subnet!;
  const vtepIp = vx.vtep_ip.split('/')[0]!;
  // A route vnet does not own, to check it is left alone.
  await h3.ipCmd('route', 'add', '192.0.2.0/24', 'via', h4.ip);
  await h3.ipCmd('neigh', 'del', vtepIp, 'dev', 'vtep1024');
  await h3.ipCmd('route', 'del', block);
  await h3.execOk(['bridge', 'fdb', 'del', vx.vtep_mac, 'dev', 'vtep1024', 'dst', h2.ip]);
  const started = Date.now();
  await waitFor(
    'the deleted neighbour, route and FDB entry to be back on h3',
    async () => {
      const neigh = (await h3.exec(['ip', 'neigh', 'show', vtepIp, 'dev', 'vtep1024'])).stdout;
      const route = (await h3.exec(['ip', 'route', 'show', block])).stdout;
      const fdb = (await h3.exec(['bridge', 'fdb', 'show', 'dev', 'vtep1024'])).stdout;
      return { neigh, route, fdb };
    },
    (s) =>
      s.neigh.includes('PERMANENT') && s.route.includes('nhid') && s.fdb.includes(`dst ${h2.ip}`),
    { timeoutMs: 10_000 },
  );
  t.ok(
    Date.now() - started < 10_000,
    `repaired in ${Date.now() - started} ms (the periodic pass is every 120 s)`,
  );
  await pings(t, c3, c2.ip!);
  const foreign = await h3.exec(['ip', 'route', 'show', '192.0.2.0/24']);
  t.match(foreign.stdout, /192\.0\.2\.0\/24 via/, 'a route vnet does not own is left alone');
});

t.test('overlays are isolated from each other unless configured otherwise', async (t) => {
  const b3 = await addContainer(oc, h3, 'b3', 'blue');
  const b4 = await addContainer(oc, h4, 'b4', 'blue');
  await pings(t, b3, b4.ip!);
  await pings(t, c2, b3.ip!, 0);
  await pings(t, b4, c2.ip!, 0);
  await pings(t, b4, c4.ip!, 0); // same node, other overlay: dropped as well

  // Open blue to the other overlays: the file changes, the master restarts and writes it to the
  // log, the agents get it on their allocation stream and replace their nftables table.
  cluster.file(
    'config.yaml',
    CONFIG.replace('prefix: 24\n', 'prefix: 24\n').replace(
      '  - name: blue\n    subnet: 10.99.0.0/16\n    prefix: 24',
      '  - name: blue\n    subnet: 10.99.0.0/16\n    prefix: 24\n    isolated: false',
    ),
  );
  await oc.masters[0]!.restart();
  await oc.masters[0]!.ready({ timeoutMs: 60_000 });
  // Every node's table must have changed before any traffic between the overlays is tried.
  await waitForApplied(oc, 'blue opened', (info) =>
    (info.overlays ?? []).some((o) => o.info.name === 'blue' && o.info.isolated === false),
  );
  await pings(t, c2, b3.ip!);
  await pings(t, b4, c2.ip!);
  await pings(t, b4, c4.ip!);
  const nft = await h3.exec(['nft', 'list', 'table', 'inet', 'vnet']);
  t.notMatch(nft.stdout, /drop/, 'no isolation rule is left');
});

t.test(
  'an overlay added at runtime appears on every node; removed, it is gone everywhere',
  async (t) => {
    const m = oc.masters[0]!;
    const added = await m.http('/overlay-master/overlays', {
      method: 'POST',
      body: JSON.stringify({ name: 'red', subnet: '10.77.0.0/16', prefix: 24 }),
    });
    t.equal(added.status, 201, added.body);
    for (const h of oc.agentHosts) await h.waitLink('m-red', { timeoutMs: 15_000 });
    const r2 = await addContainer(oc, h2, 'r2', 'red');
    const r4 = await addContainer(oc, h4, 'r4', 'red');
    await waitFor(
      'red containers to reach each other',
      () => r2.ping(r4.ip!, { count: 1, waitS: 1 }),
      (r) => r.received === 1,
      { timeoutMs: 15_000 },
    );
    t.pass('containers on the new overlay reach each other across nodes, no restarts');
    await r2.remove();
    await r4.remove();
    const removed = await m.http('/overlay-master/overlays/red?force=true', { method: 'DELETE' });
    t.equal(removed.status, 200, removed.body);
    for (const h of [...oc.agentHosts, master]) {
      await waitFor(
        `red to be gone from ${h.name}`,
        async () => ({
          bridge: await h.link('m-red'),
          routes: (await h.exec(['ip', 'route', 'show', 'root', '10.77.0.0/16'])).stdout,
          nft: (await h.exec(['nft', 'list', 'table', 'inet', 'vnet'])).stdout,
        }),
        (s) => s.bridge === undefined && s.routes.trim() === '' && !s.nft.includes('10.77.'),
        { timeoutMs: 15_000 },
      );
    }
    t.pass('bridge, routes and NAT entries of the removed overlay are gone on every node');
  },
);

t.test(
  'an overlay disabled at runtime leaves every node; enabled, it is back with the same blocks',
  async (t) => {
    const m = oc.masters[0]!;
    const blockOf = async (h: Host) =>
      (await agentInfo(oc.agents.get(h.name)!)).overlays?.find((o) => o.info.name === 'blue')
        ?.subnet;
    const before = await Promise.all(oc.agentHosts.map(blockOf));
    t.equal(
      (await m.http('/overlay-master/overlays/blue/disable', { method: 'POST' })).status,
      200,
    );
    for (const h of oc.agentHosts) {
      await waitFor(
        `m-blue to leave ${h.name}`,
        () => h.link('m-blue'),
        (l) => l === undefined,
        {
          timeoutMs: 15_000,
        },
      );
    }
    t.pass('disabled: no node serves it any more');
    t.equal((await m.http('/overlay-master/overlays/blue/enable', { method: 'POST' })).status, 200);
    for (const h of oc.agentHosts) await h.waitLink('m-blue', { timeoutMs: 15_000 });
    t.same(
      await Promise.all(oc.agentHosts.map(blockOf)),
      before,
      'enabled: the same blocks as before',
    );
  },
);

t.test('a live node deleted by an operator registers again and stays on the overlay', async (t) => {
  const m = oc.masters[0]!;
  const r = await m.http('/overlay-master/agents/delete', {
    method: 'POST',
    body: JSON.stringify({ agents: [h4.ip] }),
  });
  t.equal(r.status, 200);
  const back = await waitFor(
    `${h4.name} to register again`,
    async () =>
      (await m.http('/overlay-master/state'))
        .json<{ agents: { ip: string; overlays: { subnet?: string }[] }[] }>()
        .agents.find((a) => a.ip === h4.ip),
    (a) => a !== undefined,
    { timeoutMs: 20_000 },
  );
  const block = back!.overlays[0]!.subnet!;
  await waitFor(
    `the other nodes to route ${block} to ${h4.name}`,
    () => h2.exec(['ip', 'route', 'show', block]),
    (x) => x.stdout.includes('nhid'),
    { timeoutMs: 15_000 },
  );
  t.pass(`${h4.name} is back with ${block}, routed by the others`);
});

t.test('with every master down, a restarted agent keeps its node on the overlay', async (t) => {
  const m = oc.masters[0]!;
  const agent3 = oc.agents.get(h3.name)!;
  await m.stop();
  await agent3.restart();
  // Not ready (it cannot register), but it publishes its saved allocation to the others.
  await new Promise((r) => setTimeout(r, 6000)); // longer than grace (3 s) + detection
  const block3 = (await h2.exec(['ip', 'route', 'show', 'root', '9.0.0.0/8'])).stdout;
  t.match(
    block3,
    new RegExp(`^${c3.ip!.split('.').slice(0, 3).join('\\.')}\\.0/24 nhid`, 'm'),
    block3,
  );
  const r = await c2.ping(c3.ip!, { count: 3, waitS: 2 });
  t.equal(r.received, 3, 'traffic to the restarted node flows without any master');
  await m.restart();
  await m.ready({ timeoutMs: 60_000 });
  await agent3.ready({ timeoutMs: 30_000 });
  t.pass('the agent registers once a master is back');
});
